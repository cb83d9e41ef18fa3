# A plain busy loop: must end as TLE (CPU time).
while True:
    pass
