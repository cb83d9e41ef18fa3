import random


def make(n, seed):
    """n sorted values, a few of them repeated."""
    rng = random.Random(seed)
    return [sorted(rng.randint(-2 * n, 2 * n) for _ in range(n))]
