import random
from collections import deque


def make(n, seed):
    """A search tree made by inserting n distinct values in random order,
    in LeetCode's level order."""
    rng = random.Random(seed)
    values = rng.sample(range(-n - 5, n + 5), n)
    left, right = {}, {}
    root = values[0] if values else None
    for v in values[1:]:
        node = root
        while True:
            side = left if v < node else right
            if node in side:
                node = side[node]
            else:
                side[node] = v
                break
    out = []
    queue = deque([root])
    while queue:
        node = queue.popleft()
        out.append(node)
        if node is not None:
            queue.append(left.get(node))
            queue.append(right.get(node))
    while out and out[-1] is None:
        out.pop()
    return [out]
