import random


def make(n, seed):
    """n integers in [-n, n] and a target that is the sum of two of them."""
    rng = random.Random(seed)
    nums = [rng.randint(-n, n) for _ in range(n)]
    target = nums[0] + nums[-1] if n >= 2 else rng.randint(-n, n)
    return [nums, target]
