def group_anagrams(words: list[str]) -> list[list[str]]:
    # Mistake: keys on the set of letters, so "aab" joins "abb".
    groups = {}
    for w in words:
        groups.setdefault(frozenset(w), []).append(w)
    return list(groups.values())
