@COMMON@
# Poisons whatever in-memory state a pre-forked interpreter might hand to the next run: builtins,
# every loaded module, the environment, the harness files on disk.  state_check.py, run next by
# the same judge, must find none of it.
import builtins

builtins.TANDEM_POISON = "@MARK@"
os.environ["TANDEM_POISON"] = "@MARK@"
poisoned = 0
for name, mod in list(sys.modules.items()):
    try:
        setattr(mod, "_tandem_poison", "@MARK@")
        poisoned += 1
    except (AttributeError, TypeError):
        pass
sys.path.insert(0, "/tmp/@MARK@")
for path in ("/judge/harness.py", "/judge/zygote.py", "/usr/lib/python3.11/os.py"):
    try:
        with open(path, "a") as f:
            f.write("# @MARK@\n")
        say("ALLOWED", "write_" + os.path.basename(path))
    except OSError as e:
        say("DENIED", "write_" + os.path.basename(path), ename(e.errno))
say("POISONED", poisoned)
