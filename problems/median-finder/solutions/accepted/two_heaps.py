import heapq


class MedianFinder:
    def __init__(self):
        self.low = []    # max-heap of the smaller half, negated
        self.high = []   # min-heap of the larger half

    def addNum(self, num: int) -> None:
        heapq.heappush(self.low, -heapq.heappushpop(self.high, num))
        if len(self.low) > len(self.high):
            heapq.heappush(self.high, -heapq.heappop(self.low))

    def findMedian(self) -> float:
        if len(self.high) > len(self.low):
            return float(self.high[0])
        return (self.high[0] - self.low[0]) / 2
