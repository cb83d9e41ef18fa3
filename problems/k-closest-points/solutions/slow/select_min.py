def k_closest(points: list[list[int]], k: int) -> list[list[int]]:
    rest = list(points)
    out = []
    for _ in range(k):
        best = 0
        bd = rest[0][0] ** 2 + rest[0][1] ** 2
        for i in range(1, len(rest)):
            d = rest[i][0] ** 2 + rest[i][1] ** 2
            if d < bd:
                best, bd = i, d
        out.append(rest.pop(best))
    return out
