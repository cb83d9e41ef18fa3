def merge_sort(a):
    if len(a) <= 1:
        return a
    m = len(a) // 2
    left, right = merge_sort(a[:m]), merge_sort(a[m:])
    out, i, j = [], 0, 0
    while i < len(left) and j < len(right):
        if left[i] <= right[j]:
            out.append(left[i])
            i += 1
        else:
            out.append(right[j])
            j += 1
    out.extend(left[i:])
    out.extend(right[j:])
    return out


def count_below(nums, t):
    # nums arrives sorted, where each merge stops once one half runs out:
    # half the merge work.  A fixed scramble (a multiplicative hash as the
    # key of a sort done in C) makes every merge interleave its halves.
    scrambled = sorted(nums, key=lambda x: x * 2654435761 % 4294967296)
    return sum(1 for x in merge_sort(scrambled) if x < t)
