from bisect import bisect_right, insort


class Solution:
    def countSmaller(self, nums: List[int]) -> List[int]:
        # Mistake: bisect_right also counts later values equal to nums[i].
        seen = []
        out = []
        for x in reversed(nums):
            out.append(bisect_right(seen, x))
            insort(seen, x)
        return out[::-1]
