# Reads a given stdin file to EOF and prints its length and CRC-32.
import binascii
import sys

data = sys.stdin.buffer.read()
print("STDIN", len(data), "%08x" % binascii.crc32(data))
