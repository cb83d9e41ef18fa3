import random


def make(n, seed):
    """n random points in a square of side about 20n."""
    rng = random.Random(seed)
    span = 10 * max(n, 1)
    return [[[rng.randint(-span, span), rng.randint(-span, span)]
             for _ in range(max(n, 2))]]
