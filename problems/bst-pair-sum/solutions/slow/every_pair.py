def has_pair_sum(root: Optional[TreeNode], target: int) -> bool:
    values = []

    def walk(node):
        if node:
            walk(node.left)
            values.append(node.val)
            walk(node.right)

    walk(root)
    n = len(values)
    for i in range(n):
        for j in range(i + 1, n):
            if values[i] + values[j] == target:
                return True
    return False
