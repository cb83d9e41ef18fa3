import heapq


class MedianFinder:
    # Mistake: the mean of the two middle values uses integer division.
    def __init__(self):
        self.low = []
        self.high = []

    def addNum(self, num: int) -> None:
        heapq.heappush(self.low, -heapq.heappushpop(self.high, num))
        if len(self.low) > len(self.high):
            heapq.heappush(self.high, -heapq.heappop(self.low))

    def findMedian(self) -> float:
        if len(self.high) > len(self.low):
            return self.high[0]
        return (self.high[0] - self.low[0]) // 2
