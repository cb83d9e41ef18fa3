import random


def make(n, seed):
    """n values from a range about 4n wide, so roughly one in nine repeats."""
    rng = random.Random(seed)
    return [[rng.randint(-2 * n, 2 * n) for _ in range(n)]]
