class Solution:
    def trap(self, height: List[int]) -> int:
        n = len(height)
        water = 0
        for i in range(n):
            left = 0
            for k in range(i + 1):
                if height[k] > left:
                    left = height[k]
            right = 0
            for k in range(i, n):
                if height[k] > right:
                    right = height[k]
            water += min(left, right) - height[i]
        return water
