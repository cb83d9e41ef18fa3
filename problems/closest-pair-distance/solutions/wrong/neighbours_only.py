import math


def closest_distance(points: list[list[int]]) -> float:
    # Mistake: after sorting by x only neighbours are compared.
    pts = sorted(points)
    best = math.inf
    for a, b in zip(pts, pts[1:]):
        best = min(best, math.dist(a, b))
    return best
