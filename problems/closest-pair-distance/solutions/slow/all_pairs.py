import math


def closest_distance(points: list[list[int]]) -> float:
    best = None
    n = len(points)
    for i in range(n):
        x, y = points[i]
        for j in range(i + 1, n):
            dx = points[j][0] - x
            dy = points[j][1] - y
            d = dx * dx + dy * dy
            if best is None or d < best:
                best = d
    return math.sqrt(best)
