class Solution:
    def toSortedList(self, root: Optional[TreeNode]) -> Optional[ListNode]:
        # Inserts every value into a sorted list by walking it: quadratic.
        dummy = ListNode(None)
        stack = [root] if root else []
        while stack:
            node = stack.pop()
            prev = dummy
            while prev.next is not None and prev.next.val < node.val:
                prev = prev.next
            prev.next = ListNode(node.val, prev.next)
            if node.right:
                stack.append(node.right)
            if node.left:
                stack.append(node.left)
        return dummy.next
