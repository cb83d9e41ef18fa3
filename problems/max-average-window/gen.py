import random


def make(n, seed):
    """n readings in [-10^4, 10^4] and a window of half their length."""
    rng = random.Random(seed)
    n = max(n, 1)
    nums = [rng.randint(-10000, 10000) for _ in range(n)]
    return [nums, max(1, n // 2)]
