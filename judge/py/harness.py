"""Test-mode harness: runs a user's function, Solution method or design class.

Why this module exists: the judge's zygote imports it once, before any user
code exists, and each sandboxed child calls run_tests() with one request.
It loads the user's code the way LeetCode does (ListNode, TreeNode, the
typing names and the usual collections/heapq/math helpers already in
scope), calls it once per test, and reports each returned value in the
canonical JSON form of harness_values, with its CPU time and any exception.
Expected values never reach this process: comparison happens outside the
sandbox, in C (judge/compare.c).

What it must never do: let one test's exception stop later tests, write
anything but result objects through result_write, show its own frames in a
user's traceback, or do expensive or filesystem work at import time (the
zygote runs in a read-only root with only the standard library).  The
request and result shapes are specified in docs/judge-values.md.
"""

import bisect
import builtins
import collections
import functools
import heapq
import itertools
import json
import linecache
import math
import operator
import string
import sys
import resource
import signal
import time
import traceback
import typing

import harness_values
from harness_values import ListNode, TreeNode, build_arg, decode, encode
from harness_values import new_budget, node_kind

__all__ = ["run_tests", "SOURCE_NAME"]

# The file name user code is compiled under; tracebacks show it.
SOURCE_NAME = "solution.py"

# Frames from these files are the harness's own and are cut from
# tracebacks: the user should see only their code.
_OWN_FILES = frozenset({__file__, harness_values.__file__})

# Bound at import: user code that replaces time.thread_time must not be
# able to rewrite the CPU times the harness reports.  The thread CPU clock
# resolves nanoseconds; a user's own threads are not counted, which is the
# call's own cost (a threaded solution still meets the sandbox's CPU limit).
_process_time = getattr(time, "thread_time", time.process_time)
_getrusage = resource.getrusage
_RUSAGE_SELF = resource.RUSAGE_SELF

# "autorange": calls of a complexity estimate are repeated until they have
# used this much CPU time, and the time per call is reported.
_AUTORANGE_MS = 2.0
_AUTORANGE_MAX = 1 << 20
_BATCH_VALUES = 1 << 21
_json_dumps = json.dumps

MAX_MESSAGE = 4000
MAX_TRACEBACK = 16000


def _public(module, names=None):
    """A module's public names, as `from module import *` would give them,
    minus any that would shadow a builtin (math.pow is no pow(a, b, mod))."""
    names = names if names is not None else getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    return {n: getattr(module, n) for n in names
            if not hasattr(builtins, n)}


def _build_prelude():
    """The names LeetCode's Python environment has in scope without imports.

    Built once at import time (in the zygote) and copied per run.  Order
    matters: collections' real classes must win over typing's aliases of
    the same names.  random is left out on purpose: importing it here would
    seed it once in the zygote and every fork would share that state.
    """
    ns = {}
    ns.update(_public(typing))
    ns.update(_public(itertools))
    ns.update(_public(math))
    ns.update(_public(heapq))
    ns.update(_public(bisect))
    ns.update(_public(functools, ["reduce", "lru_cache", "cache",
                                  "cmp_to_key", "partial", "total_ordering",
                                  "cached_property", "wraps"]))
    ns.update(_public(collections))
    for mod in (bisect, collections, functools, heapq, itertools, math,
                operator, string, typing):
        ns[mod.__name__] = mod
    ns["ListNode"] = ListNode
    ns["TreeNode"] = TreeNode
    return ns


_PRELUDE = _build_prelude()


class _Missing(Exception):
    """The requested function, class or method does not exist (a CE)."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


class _BadRequest(Exception):
    """The request itself is malformed: the judge's fault, never the user's."""


def _utf8_text(text):
    """text made writable as UTF-8: lone surrogates (a user's message may
    hold any) become backslash escapes instead of breaking the JSON line."""
    if text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _safe_str(exc):
    try:
        text = str(exc)
    except BaseException:  # a user __str__ may raise anything
        text = "<exception str() failed>"
    return _utf8_text(text[:MAX_MESSAGE])


def _strip_own(te):
    """Remove the harness's frames from a TracebackException and its chain."""
    seen = set()
    while te is not None and id(te) not in seen:
        seen.add(id(te))
        te.stack[:] = [f for f in te.stack if f.filename not in _OWN_FILES]
        te = te.__cause__ or te.__context__


def _describe(exc):
    """The error object of a result line: type, message, user traceback."""
    name = type(exc).__name__
    mod = type(exc).__module__
    if mod not in ("builtins", "__main__", "solution", None):
        name = mod + "." + name
    try:
        te = traceback.TracebackException(type(exc), exc, exc.__traceback__,
                                          compact=True)
        _strip_own(te)
        text = "".join(te.format())
    except BaseException:  # MemoryError while formatting, or worse
        text = name + ": " + _safe_str(exc) + "\n"
    if len(text) > MAX_TRACEBACK:
        # The end holds the exception line and the innermost frames.
        text = "...\n" + text[-MAX_TRACEBACK:]
    return {"type": name, "message": _safe_str(exc),
            "traceback": _utf8_text(text)}


def _missing_error(exc):
    return {"type": exc.kind, "message": str(exc), "traceback": ""}


def _flush_user_streams():
    # User prints travel on stdout/stderr; flushing after each test keeps
    # them roughly in step with the results.  A user may have closed or
    # replaced the streams, which must not become a harness failure.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


def _unwrap(fn):
    """Follow decorators (functools.cache, wraps) to the annotated function."""
    for _ in range(16):
        inner = getattr(fn, "__wrapped__", None)
        if inner is None:
            break
        fn = inner
    return getattr(fn, "__func__", fn)


def _signature_kinds(fn, skip_self):
    """Node kinds of fn's positional parameters and of its return value."""
    fn = _unwrap(fn)
    code = getattr(fn, "__code__", None)
    try:
        ann = dict(getattr(fn, "__annotations__", None) or {})
    except BaseException:
        ann = {}
    if code is None:
        return [], None
    names = code.co_varnames[:code.co_argcount]
    if skip_self:
        names = names[1:]
    return [node_kind(ann.get(n)) for n in names], node_kind(ann.get("return"))


def _hint(spec, key, default):
    value = spec.get(key) if isinstance(spec, dict) else None
    return default if value is None else value


def _merge_kinds(sig_kinds, *hints):
    """Per-position kinds: a test's "types" beat the request's, which beat
    the user's annotations; a null entry falls through."""
    hints = [h if isinstance(h, list) else None for h in hints]
    n = max([len(sig_kinds)] + [len(h) for h in hints if h])
    out = []
    for i in range(n):
        kind = sig_kinds[i] if i < len(sig_kinds) else None
        for h in reversed(hints):
            if h and i < len(h) and h[i] is not None:
                kind = node_kind(h[i])
                break
        out.append(kind)
    return out


def _ret_kind(sig_ret, request, test):
    hint = _hint(test, "return_type", _hint(request, "return_type", None))
    return node_kind(hint) if hint is not None else sig_ret


def _build_args(raw, kinds, ns):
    if not isinstance(raw, list):
        raise _BadRequest("test args must be a list")
    args = [decode(v) for v in raw]
    return [build_arg(a, kinds[i] if i < len(kinds) else None, ns)
            for i, a in enumerate(args)]


def _load(code, ns):
    """Compile and execute the user's module; errors propagate (CE)."""
    # Registering the source lets tracebacks quote the user's lines without
    # any file existing; linecache never stats entries whose mtime is None.
    lines = code.splitlines(True)
    linecache.cache[SOURCE_NAME] = (len(code), None, lines, SOURCE_NAME)
    obj = compile(code, SOURCE_NAME, "exec", dont_inherit=True)
    exec(obj, ns)


def _resolve(mode, ns, entry, tests):
    """Find what the tests will call; a missing name is a compile error."""
    if not isinstance(entry, str) or not entry:
        raise _BadRequest("entry must be a non-empty string")
    if mode == "function":
        fn = ns.get(entry)
        if not callable(fn):
            raise _Missing("NameError",
                           "function '%s' is not defined" % entry)
        return fn
    if mode == "solution":
        cls = ns.get("Solution")
        if not isinstance(cls, type):
            raise _Missing("NameError", "class 'Solution' is not defined")
        if not callable(getattr(cls, entry, None)):
            raise _Missing("AttributeError",
                           "class 'Solution' has no method '%s'" % entry)
        return cls
    if mode == "design":
        cls = ns.get(entry)
        if not isinstance(cls, type):
            raise _Missing("NameError", "class '%s' is not defined" % entry)
        for test in tests:
            calls = _design_spec(test)[0]
            for name in calls[1:]:
                if not isinstance(name, str):
                    raise _BadRequest("design call names must be strings")
                if not callable(getattr(cls, name, None)):
                    raise _Missing("AttributeError", "class '%s' has no "
                                   "method '%s'" % (entry, name))
        return cls
    raise _BadRequest("unknown mode %r" % (mode,))


def _design_spec(test):
    spec = test.get("args") if isinstance(test, dict) else None
    if not isinstance(spec, dict):
        raise _BadRequest('design args must be {"calls": .., "args": ..}')
    calls, args = spec.get("calls"), spec.get("args")
    if (not isinstance(calls, list) or not isinstance(args, list)
            or len(calls) != len(args) or not calls):
        raise _BadRequest("design calls and args must be lists of one length")
    return calls, args


def _run_call(target, mode, entry, request, test, ns):
    """One function/solution test: returns (value, cpu_ms)."""
    if mode == "solution":
        sig, ret = _signature_kinds(getattr(target, entry), True)
    else:
        sig, ret = _signature_kinds(target, False)
    kinds = _merge_kinds(sig, _hint(request, "types", None),
                         _hint(test, "types", None))
    args = _build_args(test.get("args"), kinds, ns)
    out_arg = _hint(test, "result_arg", _hint(request, "result_arg", None))
    if out_arg is not None and (type(out_arg) is not int
                                or not 0 <= out_arg < len(args)):
        raise _BadRequest("result_arg must index the test's args")
    if mode == "solution":
        def call(a):
            return getattr(target(), entry)(*a)
    else:
        def call(a):
            return target(*a)
    autorange = request.get("autorange")
    raw = test.get("args")
    before = _encode_args(args, kinds) if autorange else None
    value, cpu_ms = _timed(call, [args], None)
    # The result is the first call's: later calls of an estimate only time.
    if out_arg is not None:
        # In-place problems ("modify nums, return nothing"): the result is
        # the argument as the call left it.
        out = encode(args[out_arg], kinds[out_arg])
    else:
        out = encode(value, _ret_kind(ret, request, test))
    if not autorange:
        return out, cpu_ms
    # A call that relinked or changed its arguments must not be timed again
    # on what it left behind (a reversed list, a cycle, sorted input): then
    # every repeat gets arguments built afresh, outside the timed region.
    fresh = _encode_args(args, kinds) != before
    weight = len(_json_dumps(raw)) // 8 + 1 if fresh else 1
    done, total, loops = 1, cpu_ms, 1
    while total < _AUTORANGE_MS and done < _AUTORANGE_MAX:
        loops = done
        while loops > 0:
            # A batch of fresh argument lists holds at most ~2M values.
            count = min(loops, max(1, _BATCH_VALUES // weight)) if fresh else loops
            batch = ([_build_args(raw, kinds, ns) for _ in range(count)]
                     if fresh else [args])
            _, spent = _timed(call, batch, None if fresh else count)
            total += spent * count
            done += count
            loops -= count
    return out, total / done


def _encode_args(args, kinds):
    return [encode(a, k) for a, k in zip(args, kinds)]


def _timed(call, batch, loops):
    """Calls call(a) for each a of batch, or loops times on batch[0]:
    returns the last value and the CPU ms used per call (the whole time
    when loops is None and the batch has one entry)."""
    start = _process_time()
    try:
        if loops is None:
            for a in batch:
                value = call(a)
            n = len(batch)
        else:
            a = batch[0]
            for _ in range(loops):
                value = call(a)
            n = loops
    except BaseException as exc:
        raise _UserError(exc, None, (_process_time() - start) * 1000.0) from None
    return value, (_process_time() - start) * 1000.0 / n


class _UserError(Exception):
    """The user's code raised: carries the cause, the CPU time it used and,
    in design mode, the returns made before the failing call."""

    def __init__(self, cause, values, cpu_ms):
        super().__init__()
        self.cause, self.values, self.cpu_ms = cause, values, cpu_ms


def _run_design(cls, test, ns):
    """One design test: construct, call each method, collect the returns."""
    calls, arg_lists = _design_spec(test)
    budget = new_budget()
    values, cpu = [], 0.0
    obj = None
    for i, (name, raw) in enumerate(zip(calls, arg_lists)):
        fn = cls.__init__ if i == 0 else getattr(cls, name)
        sig, ret = _signature_kinds(fn, True)
        args = _build_args(raw, sig, ns)
        start = _process_time()
        try:
            if i == 0:
                obj = cls(*args)
                value = None
            else:
                value = getattr(obj, name)(*args)
        except BaseException as exc:
            cpu += _process_time() - start
            raise _UserError(exc, values, cpu * 1000.0) from None
        cpu += _process_time() - start
        values.append(None if i == 0 else encode(value, ret, budget))
    return values, cpu * 1000.0


def _run_one(index, target, mode, entry, request, test, ns):
    """Run one test and build its result object; never raises."""
    result = {"test": index, "value": None, "cpu_ms": 0.0, "error": None}
    try:
        if not isinstance(test, dict):
            raise _BadRequest("a test must be an object")
        if mode == "design":
            result["value"], result["cpu_ms"] = _run_design(target, test, ns)
        else:
            result["value"], result["cpu_ms"] = _run_call(
                target, mode, entry, request, test, ns)
    except _UserError as exc:
        result["value"], result["cpu_ms"] = exc.values, exc.cpu_ms
        result["error"] = _describe(exc.cause)
    except (_BadRequest, harness_values.RequestError) as exc:
        result["error"] = {"type": "HarnessError", "message": str(exc),
                           "traceback": ""}
    except BaseException as exc:
        # BaseException on purpose: a user's sys.exit() or a
        # KeyboardInterrupt raised by their code fails this test only.
        result["error"] = _describe(exc)
    return result


class _Capture:
    """A test's sys.stdout or sys.stderr when the request asks for
    "capture": N: keeps the first N characters written, counts the rest."""

    def __init__(self, cap):
        self.cap, self.parts, self.size, self.dropped = cap, [], 0, 0

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("write() argument must be str, not %s"
                            % type(text).__name__)
        room = self.cap - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False

    def text(self):
        return "".join(self.parts)


class TimeLimitExceeded(BaseException):
    """Raised into a test that used more than the request's "test_cpu_ms":
    that test is TLE and the next one runs."""


TimeLimitExceeded.__module__ = "builtins"


def _on_test_timer(signum, frame):
    raise TimeLimitExceeded("the test used more than its CPU time")


def _captured(result, out, err):
    result["stdout"], result["stderr"] = out.text(), err.text()
    if out.dropped or err.dropped:
        result["truncated"] = True


def _one_test(index, target, mode, entry, request, test, ns, cap):
    """One test, its prints captured when the request asks for it."""
    if not cap:
        result = _run_one(index, target, mode, entry, request, test, ns)
        _flush_user_streams()
        return result
    # print() during a test goes to that test's result line; what a test
    # writes to the raw fds still goes to the run's streams.
    saved = sys.stdout, sys.stderr
    out, err = _Capture(cap), _Capture(cap)
    sys.stdout, sys.stderr = out, err
    try:
        result = _run_one(index, target, mode, entry, request, test, ns)
    finally:
        sys.stdout, sys.stderr = saved
    _captured(result, out, err)
    return result


def run_tests(request, result_write):
    """Run every test of one request; report through result_write(obj).

    Writes {"compile": "ok"} or {"compile": "error", "error": {...}} first,
    then one {"test": i, ...} object per test, in order.  A malformed
    request is reported as {"internal": message} alone (the judge's IE).
    """
    try:
        mode, tests, code = request["mode"], request["tests"], request["code"]
        entry = request.get("entry")
        if mode not in ("function", "solution", "design"):
            raise _BadRequest("unknown mode %r" % (mode,))
        if not isinstance(tests, list) or not isinstance(code, str):
            raise _BadRequest("tests must be a list and code a string")
    except (_BadRequest, KeyError, TypeError, AttributeError) as exc:
        result_write({"internal": "bad request: %s" % (_safe_str(exc),)})
        return
    ns = dict(_PRELUDE)
    ns["__name__"] = "solution"
    ns["__builtins__"] = builtins
    try:
        _load(code, ns)
        target = _resolve(mode, ns, entry, tests)
    except _BadRequest as exc:
        result_write({"internal": "bad request: %s" % (_safe_str(exc),)})
        return
    except _Missing as exc:
        result_write({"compile": "error", "error": _missing_error(exc)})
        return
    except BaseException as exc:
        # Syntax errors and anything raised while the module body runs:
        # no test can run, so the submission did not "compile".
        result_write({"compile": "error", "error": _describe(exc)})
        return
    result_write({"compile": "ok"})
    cap = request.get("capture")
    cap = cap if type(cap) is int and cap > 0 else 0
    limit = request.get("test_cpu_ms")
    limit = limit / 1000.0 if type(limit) in (int, float) and limit > 0 else 0
    if limit:
        signal.signal(signal.SIGPROF, _on_test_timer)
    for index, test in enumerate(tests):
        result = None
        try:
            if limit:
                signal.setitimer(signal.ITIMER_PROF, limit)
            result = _one_test(index, target, mode, entry, request, test, ns, cap)
            if limit:
                signal.setitimer(signal.ITIMER_PROF, 0)
        except TimeLimitExceeded as exc:
            # The timer fired after the test's own handler had returned.
            signal.setitimer(signal.ITIMER_PROF, 0)
            if result is None:
                result = {"test": index, "value": None, "cpu_ms": limit * 1000.0,
                          "error": _describe(exc)}
        result["mem_kb"] = _getrusage(_RUSAGE_SELF).ru_maxrss
        result_write(result)
        # "stop_over_ms" (the complexity probe): a test slower than this, or
        # failing, ends the run; the larger inputs after it would be slower.
        stop = request.get("stop_over_ms")
        if type(stop) in (int, float) and (result["error"] is not None
                                           or result["cpu_ms"] > stop):
            break
