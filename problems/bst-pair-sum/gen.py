import random
from collections import deque


def _level_order(values):
    """Balanced search tree over sorted values, in LeetCode's level order."""
    out = []
    queue = deque([(0, len(values))])
    while queue:
        lo, hi = queue.popleft()
        if lo >= hi:
            out.append(None)
            continue
        mid = (lo + hi) // 2
        out.append(values[mid])
        queue.append((lo, mid))
        queue.append((mid + 1, hi))
    while out and out[-1] is None:
        out.pop()
    return out


def make(n, seed):
    """n distinct even values in a balanced tree; an odd target (no pair)
    for even seeds, the sum of two values for odd seeds."""
    rng = random.Random(seed)
    values = sorted(rng.sample(range(-20 * n - 2, 20 * n + 2, 2), n))
    if seed % 2 == 0 or n < 2:
        target = 2 * rng.randint(-n, n) + 1
    else:
        a, b = rng.sample(values, 2)
        target = a + b
    return [_level_order(values), target]
