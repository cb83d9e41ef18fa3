import random


def make(n, seed):
    r = random.Random(seed)
    nums = [r.randrange(0, 10 * n + 10) * 2 for _ in range(n)]
    nums[-1], nums[-2] = 1, 2 * 10 * n + 100
    return [nums, 2 * 10 * n + 101]
