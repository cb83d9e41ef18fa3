def merge_intervals(intervals: list[list[int]]) -> list[list[int]]:
    merged = []
    for s, e in intervals:
        keep = []
        for a, b in merged:
            if a <= e and s <= b:
                s, e = min(s, a), max(e, b)
            else:
                keep.append([a, b])
        keep.append([s, e])
        merged = keep
    merged.sort()
    return merged
