def move_zeros(nums: list[int]) -> None:
    # Mistake: rebinds the name to a new list; the caller's list is unchanged.
    nums = [x for x in nums if x != 0] + [0] * nums.count(0)
    return nums
