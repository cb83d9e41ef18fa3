# One 10 GB allocation, touched: MemoryError or an OOM kill, both MLE.
b = bytearray(10 * 1024**3)
for i in range(0, len(b), 4096):
    b[i] = 1
print("ALLOWED bytearray", len(b))
