def count_below(nums, t):
    c = 0
    n = len(nums)
    for i in range(n):
        for j in range(n):
            if nums[i] < t and j == 0:
                c += 1
    return c
