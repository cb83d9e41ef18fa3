class MinStack:
    def __init__(self):
        self.items = []

    def push(self, val: int) -> None:
        low = val if not self.items or val < self.items[-1][1] else self.items[-1][1]
        self.items.append((val, low))

    def pop(self) -> None:
        self.items.pop()

    def top(self) -> int:
        return self.items[-1][0]

    def getMin(self) -> int:
        return self.items[-1][1]
