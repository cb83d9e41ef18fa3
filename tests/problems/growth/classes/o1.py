def count_below(nums, t):
    return len(nums) // 2 if nums and nums[0] < t else 0
