def count_below(nums, t):
    c = 0
    for x in nums:
        if x < t:
            c += 1
    return c
