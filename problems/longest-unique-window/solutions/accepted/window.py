def longest_unique(nums: list[int]) -> int:
    last = {}
    start = 0
    best = 0
    for i, x in enumerate(nums):
        j = last.get(x, -1)
        if j >= start:
            start = j + 1
        last[x] = i
        if i - start + 1 > best:
            best = i - start + 1
    return best
