import random


def make(n, seed):
    """n points with pairwise different distances to the origin, k = n / 2."""
    rng = random.Random(seed)
    span = 10000
    seen = set()
    points = []
    while len(points) < n:
        x, y = rng.randint(-span, span), rng.randint(-span, span)
        d = x * x + y * y
        if d not in seen:
            seen.add(d)
            points.append([x, y])
    return [points, n // 2]
