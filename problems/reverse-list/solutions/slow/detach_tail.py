class Solution:
    def reverseList(self, head: Optional[ListNode]) -> Optional[ListNode]:
        # Repeatedly walks to the tail, cuts it off and appends it to the
        # result: quadratic.
        if not head:
            return None
        new_head = tail = None
        while head:
            if head.next is None:
                node, head = head, None
            else:
                before = head
                while before.next.next:
                    before = before.next
                node = before.next
                before.next = None
            if new_head is None:
                new_head = tail = node
            else:
                tail.next = node
                tail = node
        return new_head
