class Solution:
    def toSortedList(self, root: Optional[TreeNode]) -> Optional[ListNode]:
        # Mistake: visits the tree level by level, which is not sorted order.
        dummy = tail = ListNode(0)
        queue = deque([root] if root else [])
        while queue:
            node = queue.popleft()
            tail.next = ListNode(node.val)
            tail = tail.next
            if node.left:
                queue.append(node.left)
            if node.right:
                queue.append(node.right)
        return dummy.next
