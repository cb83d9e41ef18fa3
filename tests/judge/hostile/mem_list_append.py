# A list grown one small int at a time (the list's own array is reallocated as it grows): MLE.
keep = []
while True:
    keep.append(len(keep))
