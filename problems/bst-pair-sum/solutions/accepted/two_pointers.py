def has_pair_sum(root: Optional[TreeNode], target: int) -> bool:
    values = []
    stack = []
    node = root
    while stack or node:
        while node:
            stack.append(node)
            node = node.left
        node = stack.pop()
        values.append(node.val)
        node = node.right
    i, j = 0, len(values) - 1
    while i < j:
        s = values[i] + values[j]
        if s == target:
            return True
        if s < target:
            i += 1
        else:
            j -= 1
    return False
