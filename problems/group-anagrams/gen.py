import random


def make(n, seed):
    """n words of 3 to 8 letters; about one in ten is a shuffle of an
    earlier fresh word, so most groups are single words and there are
    many groups."""
    rng = random.Random(seed)
    fresh = []
    words = []
    for _ in range(n):
        if fresh and rng.random() < 0.1:
            letters = list(rng.choice(fresh))
            rng.shuffle(letters)
            words.append("".join(letters))
        else:
            k = rng.randint(3, 8)
            w = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(k))
            fresh.append(w)
            words.append(w)
    return [words]
