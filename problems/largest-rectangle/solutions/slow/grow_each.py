class Solution:
    def largestRectangleArea(self, heights: List[int]) -> int:
        n = len(heights)
        best = 0
        for i in range(n):
            h = heights[i]
            lo = i
            while lo > 0 and heights[lo - 1] >= h:
                lo -= 1
            hi = i
            while hi + 1 < n and heights[hi + 1] >= h:
                hi += 1
            best = max(best, h * (hi - lo + 1))
        return best
