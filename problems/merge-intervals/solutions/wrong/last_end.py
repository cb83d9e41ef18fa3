def merge_intervals(intervals: list[list[int]]) -> list[list[int]]:
    # Mistake: an interval inside the previous one shortens it.
    out = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1]:
            out[-1][1] = e
        else:
            out.append([s, e])
    return out
