def repeated_values(nums: list[int]) -> list[int]:
    # Mistake: a value seen three times is reported twice.
    seen = set()
    out = []
    for x in nums:
        if x in seen:
            out.append(x)
        seen.add(x)
    return out
