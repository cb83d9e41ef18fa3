def longest_unique(nums: list[int]) -> int:
    best = 0
    n = len(nums)
    for i in range(n):
        seen = set()
        j = i
        while j < n and nums[j] not in seen:
            seen.add(nums[j])
            j += 1
        best = max(best, j - i)
    return best
