import random


def make(n, seed):
    """A list of n small values."""
    rng = random.Random(seed)
    return [[rng.randint(0, 99) for _ in range(n)]]
