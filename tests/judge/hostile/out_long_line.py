# One 100 MB line with no newline, in one write: OLE.
import sys

sys.stdout.write("y" * (100 * 1024 * 1024))
