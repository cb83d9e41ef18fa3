class Solution:
    def sortedListToBST(self, head: Optional[ListNode]) -> Optional[TreeNode]:
        # Walks from the head to the middle of every run: quadratic.
        def nth(i):
            node = head
            for _ in range(i):
                node = node.next
            return node.val

        def build(lo, hi):
            if lo >= hi:
                return None
            mid = (lo + hi) // 2
            return TreeNode(nth(mid), build(lo, mid), build(mid + 1, hi))

        length = 0
        node = head
        while node:
            length += 1
            node = node.next
        return build(0, length)
