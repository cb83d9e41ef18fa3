class Solution:
    def dailyWait(self, temps: List[int]) -> List[int]:
        # Mistake: an equally warm day ends the wait.
        out = [0] * len(temps)
        stack = []
        for i, t in enumerate(temps):
            while stack and temps[stack[-1]] <= t:
                j = stack.pop()
                out[j] = i - j
            stack.append(i)
        return out
