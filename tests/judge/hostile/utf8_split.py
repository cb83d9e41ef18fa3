# 10,000 four-byte characters written in 4097-byte pieces, so that read boundaries fall inside
# characters: the judge must not turn split but valid sequences into U+FFFD.
import os

data = "😀".encode() * 10000 + b"\n"
for i in range(0, len(data), 4097):
    os.write(1, data[i:i + 4097])
