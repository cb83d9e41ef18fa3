def k_closest(points: list[list[int]], k: int) -> list[list[int]]:
    # Mistake: sorts by |x| + |y| instead of the Euclidean distance.
    return sorted(points, key=lambda p: abs(p[0]) + abs(p[1]))[:k]
