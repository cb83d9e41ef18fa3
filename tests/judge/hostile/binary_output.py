# Bytes that are not UTF-8 on stdout and stderr: every byte value, lone continuation bytes,
# overlong forms, surrogates, truncated sequences, between valid multibyte text.  The judge must
# return valid JSON with U+FFFD in their place and the valid text intact.
import os

bad = bytes(range(256)) + b"\x80\xbf\xc0\x80\xed\xa0\x80\xf4\x90\x80\x80\xe2\x82\xff\xfe"
good = "héllo €uro 😀 ok".encode()
for fd in (1, 2):
    os.write(fd, b"BEGIN " + good + b"\n" + bad + b"\n" + good + b" END\n")
