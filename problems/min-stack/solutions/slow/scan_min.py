class MinStack:
    def __init__(self):
        self.items = []

    def push(self, val: int) -> None:
        self.items.append(val)

    def pop(self) -> None:
        self.items.pop()

    def top(self) -> int:
        return self.items[-1]

    def getMin(self) -> int:
        # Walks the whole stack on every call.
        low = self.items[0]
        for v in self.items:
            if v < low:
                low = v
        return low
