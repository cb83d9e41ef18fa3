@COMMON@
# Runs after state_poison.py in the same judge: none of its poison may be visible.
import builtins

say("LEAK", "builtins") if hasattr(builtins, "TANDEM_POISON") else say("CLEAN", "builtins")
say("LEAK", "environ") if "TANDEM_POISON" in os.environ else say("CLEAN", "environ")
hit = [n for n, m in list(sys.modules.items()) if getattr(m, "_tandem_poison", None) == "@MARK@"]
say("LEAK", "modules", " ".join(hit[:10])) if hit else say("CLEAN", "modules")
say("LEAK", "sys_path") if any("@MARK@" in p for p in sys.path) else say("CLEAN", "sys_path")
