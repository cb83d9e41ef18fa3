class LRUCache:
    # Mistake: only put refreshes a key; get leaves it where it was, so the
    # cache evicts in insertion order.
    def __init__(self, capacity: int):
        self.capacity = capacity
        self.data = {}

    def get(self, key: int) -> int:
        return self.data.get(key, -1)

    def put(self, key: int, value: int) -> None:
        if key in self.data:
            del self.data[key]
        elif len(self.data) >= self.capacity:
            del self.data[next(iter(self.data))]
        self.data[key] = value
