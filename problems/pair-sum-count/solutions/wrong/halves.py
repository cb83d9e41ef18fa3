from collections import Counter


def count_pairs(nums: list[int], target: int) -> int:
    # Mistake: a value paired with itself counts c * c / 2 instead of
    # c * (c - 1) / 2.
    c = Counter(nums)
    total = 0
    for x, k in c.items():
        total += k * c.get(target - x, 0)
    return total // 2
