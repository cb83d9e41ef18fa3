def max_average(nums: list[int], k: int) -> float:
    best = None
    for i in range(len(nums) - k + 1):
        total = 0
        for j in range(i, i + k):
            total += nums[j]
        if best is None or total > best:
            best = total
    return best / k
