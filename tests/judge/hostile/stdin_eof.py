# Reads stdin to EOF: with no input given it must see EOF at once, not hang.
import sys

data = sys.stdin.buffer.read()
print("STDIN", len(data))
