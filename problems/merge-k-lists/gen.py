import random


def make(n, seed):
    """n values spread over n / 4 sorted lists (at least one list)."""
    rng = random.Random(seed)
    k = max(1, n // 4)
    lists = [[] for _ in range(k)]
    for _ in range(n):
        lists[rng.randrange(k)].append(rng.randint(0, 99999))
    for lst in lists:
        lst.sort()
    return [lists]
