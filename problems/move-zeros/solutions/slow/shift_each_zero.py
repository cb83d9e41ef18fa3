def move_zeros(nums: list[int]) -> None:
    end = len(nums)
    i = 0
    while i < end:
        if nums[i] == 0:
            for j in range(i, end - 1):
                nums[j] = nums[j + 1]
            nums[end - 1] = 0
            end -= 1
        else:
            i += 1
