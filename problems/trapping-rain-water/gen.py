import random


def make(n, seed):
    """n random wall heights in [0, 1000]."""
    rng = random.Random(seed)
    return [[rng.randint(0, 1000) for _ in range(n)]]
