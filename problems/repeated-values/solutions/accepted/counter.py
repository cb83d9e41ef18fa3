def repeated_values(nums: list[int]) -> list[int]:
    seen = set()
    out = set()
    for x in nums:
        if x in seen:
            out.add(x)
        else:
            seen.add(x)
    return list(out)
