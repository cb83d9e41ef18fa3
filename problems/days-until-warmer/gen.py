import random


def make(n, seed):
    """A cold spell: temperatures never rise for n - 1 days (they drift
    down from 99 towards -100), then one hot day at 100, so nearly every
    day waits until the end."""
    rng = random.Random(seed)
    temps = []
    t = 99
    p = min(1.0, 150.0 / max(n, 1))
    for _ in range(n - 1):
        if t > -100 and rng.random() < p:
            t -= 1
        temps.append(t)
    if n:
        temps.append(100)
    return [temps]
