import random


def make(n, seed):
    """n values, about half of them zeros."""
    rng = random.Random(seed)
    return [[0 if rng.random() < 0.5 else rng.randint(-99, 99) for _ in range(n)]]
