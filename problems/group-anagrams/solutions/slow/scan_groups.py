def group_anagrams(words: list[str]) -> list[list[str]]:
    keys = []
    groups = []
    for w in words:
        key = sorted(w)
        for i in range(len(keys)):
            if keys[i] == key:
                groups[i].append(w)
                break
        else:
            keys.append(key)
            groups.append([w])
    return groups
