class Solution:
    def mergeKLists(self, lists: List[Optional[ListNode]]) -> Optional[ListNode]:
        heads = list(lists)
        dummy = tail = ListNode(0)
        while True:
            best = -1
            for i in range(len(heads)):
                h = heads[i]
                if h is not None and (best < 0 or h.val < heads[best].val):
                    best = i
            if best < 0:
                break
            tail.next = heads[best]
            tail = tail.next
            heads[best] = heads[best].next
        return dummy.next
