class Solution:
    def toSortedList(self, root: Optional[TreeNode]) -> Optional[ListNode]:
        dummy = tail = ListNode(0)
        stack = []
        node = root
        while stack or node:
            while node:
                stack.append(node)
                node = node.left
            node = stack.pop()
            tail.next = ListNode(node.val)
            tail = tail.next
            node = node.right
        return dummy.next
