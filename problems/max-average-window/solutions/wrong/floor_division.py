def max_average(nums: list[int], k: int) -> float:
    # Mistake: integer division drops the fraction (and floors negatives).
    window = sum(nums[:k])
    best = window
    for i in range(k, len(nums)):
        window += nums[i] - nums[i - k]
        best = max(best, window)
    return best // k
