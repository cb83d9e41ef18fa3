def has_pair_sum(root: Optional[TreeNode], target: int) -> bool:
    # Mistake: a node may pair with itself (5 + 5 for target 10).
    seen = set()
    stack = [root] if root else []
    while stack:
        node = stack.pop()
        seen.add(node.val)
        if node.left:
            stack.append(node.left)
        if node.right:
            stack.append(node.right)
    return any(target - v in seen for v in seen)
