class StockSpanner:
    def __init__(self):
        self.prices = []

    def next(self, price: int) -> int:
        self.prices.append(price)
        i = len(self.prices) - 1
        while i >= 0 and self.prices[i] <= price:
            i -= 1
        return len(self.prices) - 1 - i
