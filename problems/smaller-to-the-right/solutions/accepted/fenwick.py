class Solution:
    def countSmaller(self, nums: List[int]) -> List[int]:
        rank = {v: i + 1 for i, v in enumerate(sorted(set(nums)))}
        size = len(rank)
        tree = [0] * (size + 1)
        out = [0] * len(nums)
        for i in range(len(nums) - 1, -1, -1):
            r = rank[nums[i]] - 1
            total = 0
            while r > 0:
                total += tree[r]
                r -= r & -r
            out[i] = total
            r = rank[nums[i]]
            while r <= size:
                tree[r] += 1
                r += r & -r
        return out
