import math


def closest_distance(points: list[list[int]]) -> float:
    pts = sorted((p[0], p[1]) for p in points)

    def solve(lo, hi):
        """Best squared distance in pts[lo:hi] and those points by y."""
        if hi - lo <= 3:
            best = None
            for i in range(lo, hi):
                for j in range(i + 1, hi):
                    dx = pts[i][0] - pts[j][0]
                    dy = pts[i][1] - pts[j][1]
                    d = dx * dx + dy * dy
                    if best is None or d < best:
                        best = d
            return best, sorted(pts[lo:hi], key=lambda p: p[1])
        mid = (lo + hi) // 2
        midx = pts[mid][0]
        bl, left = solve(lo, mid)
        br, right = solve(mid, hi)
        best = bl if br is None or (bl is not None and bl < br) else br
        merged = []
        i = j = 0
        while i < len(left) and j < len(right):
            if left[i][1] <= right[j][1]:
                merged.append(left[i])
                i += 1
            else:
                merged.append(right[j])
                j += 1
        merged.extend(left[i:])
        merged.extend(right[j:])
        strip = [p for p in merged if (p[0] - midx) ** 2 < best]
        for a in range(len(strip)):
            xa, ya = strip[a]
            for b in range(a + 1, len(strip)):
                dy = strip[b][1] - ya
                if dy * dy >= best:
                    break
                dx = strip[b][0] - xa
                d = dx * dx + dy * dy
                if d < best:
                    best = d
        return best, merged

    return math.sqrt(solve(0, len(pts))[0])
