class Solution:
    def subarraySum(self, nums: List[int], k: int) -> int:
        # Mistake: a shrinking window only works for positive values.
        count = 0
        total = 0
        lo = 0
        for hi, x in enumerate(nums):
            total += x
            while total > k and lo <= hi:
                total -= nums[lo]
                lo += 1
            if total == k and lo <= hi:
                count += 1
        return count
