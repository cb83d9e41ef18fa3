def count_below(nums, t):
    # Walks every subset of nums (2^n calls) before answering.
    def walk(i):
        if i == len(nums):
            return 1
        return walk(i + 1) + walk(i + 1)

    walk(0)
    return sum(1 for x in nums if x < t)
