import random


def make(n, seed):
    """n random values in [-n, n] (some repeat)."""
    rng = random.Random(seed)
    return [[rng.randint(-n, n) for _ in range(n)]]
