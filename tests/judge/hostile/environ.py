# Prints the environment and flags any variable outside the small allowed set (and any value
# mentioning a secret).
import os

ALLOWED = {"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "PWD", "PYTHONHASHSEED",
           "PYTHONIOENCODING", "PYTHONUTF8", "PYTHONDONTWRITEBYTECODE"}
for k, v in sorted(os.environ.items()):
    print("ENV", k, "=", v)
    if k not in ALLOWED:
        print("LEAK env", k)
    if "TANDEM" in k or "SECRET" in k.upper() or "canary" in v:
        print("LEAK env-secret", k)
print("CHECKED env", len(os.environ))
