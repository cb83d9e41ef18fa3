"""Run the harness on one request without a sandbox; for tests only.

Why this exists: tests/judge/test-harness.c checks the harness's logic
(modes, value form, tracebacks, caps) by running Debian's python3 -I -S
on this driver with crafted requests, so harness bugs show up apart from
sandbox bugs.  The request is read as JSON from stdin; result objects are
written one per line to file descriptor 3, keeping the user's prints on
stdout and stderr apart from them, as the judge's result pipe does.
Never used by the judge itself.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402  (needs the path set up above)


def main():
    """Read the request, run it, write results to fd 3."""
    request = json.loads(sys.stdin.buffer.read())
    out = os.fdopen(3, "w", encoding="utf-8", buffering=1)

    def result_write(obj):
        # allow_nan=False: the canonical form never needs NaN literals,
        # and a bare NaN would be a harness bug the C side must not see.
        out.write(json.dumps(obj, ensure_ascii=False, allow_nan=False,
                             separators=(",", ":")) + "\n")

    harness.run_tests(request, result_write)
    out.flush()


if __name__ == "__main__":
    main()
