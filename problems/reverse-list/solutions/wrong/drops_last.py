class Solution:
    def reverseList(self, head: Optional[ListNode]) -> Optional[ListNode]:
        # Mistake: the loop stops one node early and loses the old tail.
        if not head:
            return None
        prev = None
        while head.next:
            nxt = head.next
            head.next = prev
            prev, head = head, nxt
        return prev
