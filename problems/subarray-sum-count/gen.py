import random


def make(n, seed):
    """n values in [-20, 20] and a small target."""
    rng = random.Random(seed)
    return [[rng.randint(-20, 20) for _ in range(n)], rng.randint(-30, 30)]
