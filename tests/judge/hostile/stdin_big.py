# Reads 4 MB of stdin in small pieces, slowly enough for the judge's writes to block on a full
# pipe: every byte must arrive (the test checks length and byte sum).
import os

total = 0
n = 0
while True:
    chunk = os.read(0, 1000)
    if not chunk:
        break
    total += sum(chunk)
    n += len(chunk)
print("STDIN", n, total & 0xffffffff)
