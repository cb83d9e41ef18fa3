def longest_unique(nums: list[int]) -> int:
    # Mistake: jumps the window start back to after an old occurrence that
    # is already outside the window.
    last = {}
    start = 0
    best = 0
    for i, x in enumerate(nums):
        if x in last:
            start = last[x] + 1
        last[x] = i
        best = max(best, i - start + 1)
    return best
