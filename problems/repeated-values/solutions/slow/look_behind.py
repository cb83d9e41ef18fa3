def repeated_values(nums: list[int]) -> list[int]:
    out = []
    for i in range(len(nums)):
        x = nums[i]
        earlier = 0
        for j in range(i):
            if nums[j] == x:
                earlier += 1
        if earlier == 1:
            out.append(x)
    return out
