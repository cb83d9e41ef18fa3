class LRUCache:
    # Keeps the use order in a plain list: every use searches it.
    def __init__(self, capacity: int):
        self.capacity = capacity
        self.data = {}
        self.order = []

    def _touch(self, key):
        for i in range(len(self.order)):
            if self.order[i] == key:
                del self.order[i]
                break
        self.order.append(key)

    def get(self, key: int) -> int:
        if key not in self.data:
            return -1
        self._touch(key)
        return self.data[key]

    def put(self, key: int, value: int) -> None:
        if key not in self.data and len(self.data) >= self.capacity:
            del self.data[self.order.pop(0)]
        self.data[key] = value
        self._touch(key)
