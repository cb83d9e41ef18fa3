import random


def make(n, seed):
    """n short intervals spread over [0, 10n]: many stay apart, some merge."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        s = rng.randint(0, 10 * n)
        out.append([s, s + rng.randint(0, 6)])
    return [out]
