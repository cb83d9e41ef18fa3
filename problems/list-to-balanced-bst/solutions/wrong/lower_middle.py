class Solution:
    def sortedListToBST(self, head: Optional[ListNode]) -> Optional[TreeNode]:
        # Mistake: takes the lower middle, (m - 1) // 2, for even runs.
        values = []
        while head:
            values.append(head.val)
            head = head.next

        def build(lo, hi):
            if lo >= hi:
                return None
            mid = (lo + hi - 1) // 2
            return TreeNode(values[mid], build(lo, mid), build(mid + 1, hi))

        return build(0, len(values))
