class Solution:
    def largestRectangleArea(self, heights: List[int]) -> int:
        # Mistake: only tries single bars and pairs of neighbours.
        best = max(heights, default=0)
        for a, b in zip(heights, heights[1:]):
            best = max(best, 2 * min(a, b))
        return best
