import random


def make(n, seed):
    r = random.Random(seed * 1000003 + n)
    return [sorted(r.randrange(0, 4 * n) for _ in range(n)), 2 * n]
