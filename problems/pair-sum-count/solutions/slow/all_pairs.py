def count_pairs(nums: list[int], target: int) -> int:
    n = len(nums)
    pairs = 0
    for i in range(n):
        a = nums[i]
        for j in range(i + 1, n):
            if a + nums[j] == target:
                pairs += 1
    return pairs
