# 1 GB in total, stdout and stderr interleaved line by line through Python's buffered files: OLE.
import sys

line = "x" * 1023
for i in range(512 * 1024):
    sys.stdout.write(line + "\n")
    sys.stderr.write(line + "\n")
