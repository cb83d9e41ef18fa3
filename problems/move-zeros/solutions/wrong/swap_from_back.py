def move_zeros(nums: list[int]) -> None:
    # Mistake: swapping zeros with values from the back breaks their order.
    i, j = 0, len(nums) - 1
    while i < j:
        if nums[j] == 0:
            j -= 1
        elif nums[i] == 0:
            nums[i], nums[j] = nums[j], nums[i]
            i += 1
            j -= 1
        else:
            i += 1
