import random


def make(n, seed):
    """Mostly distinct values with a handful of repeats, so the longest
    unique slice is a large fraction of n."""
    rng = random.Random(seed)
    nums = rng.sample(range(-3 * n - 3, 3 * n + 3), n)
    for _ in range(min(3, n // 2)):
        i, j = rng.randrange(n), rng.randrange(n)
        nums[i] = nums[j]
    return [nums]
