import random


def make(n, seed):
    """A skyline that mostly rises slowly (small random steps), so the
    rectangles of most bars reach far to the right."""
    rng = random.Random(seed)
    h, out = 1, []
    for _ in range(n):
        h = max(1, min(10000, h + rng.choice((-1, 0, 1, 1))))
        out.append(h)
    return [out]
