def pair_sum(nums, target):
    seen = {}
    for i, x in enumerate(nums):
        if target - x in seen:
            print([seen[target - x], i])
            return None
        seen[x] = i
