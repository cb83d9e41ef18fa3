class Solution:
    def countSmaller(self, nums: List[int]) -> List[int]:
        n = len(nums)
        out = []
        for i in range(n):
            x = nums[i]
            c = 0
            for j in range(i + 1, n):
                if nums[j] < x:
                    c += 1
            out.append(c)
        return out
