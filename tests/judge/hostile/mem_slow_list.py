# Memory that grows slowly (1 MB objects, kept): must end as MLE, not TLE.
keep = []
while True:
    keep.append(bytes(1 << 20) + b"x")
