class Solution:
    def largestRectangleArea(self, heights: List[int]) -> int:
        stack = []   # indices of bars with rising heights
        best = 0
        for i, h in enumerate(heights + [0]):
            while stack and heights[stack[-1]] >= h:
                j = stack.pop()
                left = stack[-1] + 1 if stack else 0
                area = heights[j] * (i - left)
                if area > best:
                    best = area
            stack.append(i)
        return best
