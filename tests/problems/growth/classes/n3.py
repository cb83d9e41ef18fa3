def count_below(nums, t):
    c = 0
    n = len(nums)
    for i in range(n):
        for j in range(n):
            for k in range(n):
                if j == 0 and k == 0 and nums[i] < t:
                    c += 1
    return c
