"""Canonical JSON value form shared by the Python harness and the C judge.

Why this module exists: a test's arguments enter the sandbox, and its
returned value leaves it, as JSON.  Plain JSON cannot say "tuple", "set",
"an integer wider than 64 bits", "NaN" or "a linked list", and Python's own
json module would silently turn 1.0 into 1-ish ambiguity on the C side or
crash on a cyclic list.  This module turns Python values into a JSON-ready
structure that the C side (judge/values.c) parses without loss, and turns
such structures back into Python values for the arguments.  The format is
specified in docs/judge-values.md; keep the two in step.

It must stay cheap to import (the zygote imports it once, before any user
code exists) and must never touch the filesystem or import anything outside
the standard library.
"""

import binascii
import math
import re
from collections import deque

__all__ = [
    "ListNode", "TreeNode", "encode", "decode", "node_kind", "build_arg",
    "new_budget", "RequestError", "INT64_MIN", "INT64_MAX",
]

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1

# Caps that keep one returned value from hanging or flooding the harness.
# A value that exceeds them is replaced, at the point where it overflowed,
# by a {"$capped": ...} marker, which never equals any expected value.
MAX_NODES = 1 << 20          # values emitted (elements, keys, tree nodes)
MAX_CHARS = 1 << 22          # characters of strings and bytes emitted
MAX_DEPTH = 200              # nesting of containers
MAX_INT_BITS = 13000         # ~3900 digits, under int's str() safety limit
MAX_REPR = 1000              # characters kept of an unknown object's repr()


class ListNode:
    """Singly linked list node, defined as LeetCode defines it.

    Injected into the user's namespace so starter code that refers to
    ListNode without defining it works, and used to build arguments that
    the problem declares as linked lists.
    """

    def __init__(self, val=0, next=None):
        self.val = val
        self.next = next

    def __repr__(self):
        # Bounded and cycle-safe: users print nodes while debugging.
        parts, node, seen = [], self, set()
        while node is not None and len(parts) < 50 and id(node) not in seen:
            seen.add(id(node))
            parts.append(repr(getattr(node, "val", None)))
            node = getattr(node, "next", None)
        if node is not None:
            parts.append("...")
        return "ListNode(" + " -> ".join(parts) + ")"


class TreeNode:
    """Binary tree node, defined as LeetCode defines it (see ListNode)."""

    def __init__(self, val=0, left=None, right=None):
        self.val = val
        self.left = left
        self.right = right

    def __repr__(self):
        return "TreeNode(%r)" % (self.val,)


class _Budget:
    """What one encode() call may still emit; shared across its recursion."""

    __slots__ = ("nodes", "chars", "active")

    def __init__(self):
        self.nodes = MAX_NODES
        self.chars = MAX_CHARS
        # ids of the containers on the current path: a revisit is a cycle.
        self.active = set()


def _capped(reason, x, length=None):
    out = {"reason": reason, "type": type(x).__name__}
    if length is not None:
        out["len"] = length
    return {"$capped": out}


def _plain_key(k):
    """True when a dict key can be a JSON object member name as is.

    "$" is reserved for markers, NUL is refused in keys by jansson, and
    lone surrogates cannot be written as UTF-8.
    """
    if type(k) is not str or k.startswith("$") or "\0" in k:
        return False
    return k.isascii() or _utf8_ok(k)


def _utf8_ok(s):
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _enc_str(s, b):
    n = len(s)
    if n > b.chars:
        return _capped("size", s, n)
    b.chars -= n
    if s.isascii() or _utf8_ok(s):
        return s
    # Lone surrogates: JSON text cannot carry them as UTF-8 and jansson
    # rejects them as escapes, so send code points instead.
    return {"$str": [ord(c) for c in s]}


def _enc_int(i):
    if INT64_MIN <= i <= INT64_MAX:
        return i
    if i.bit_length() > MAX_INT_BITS:
        return _capped("size", i)
    return {"$int": str(i)}


def _enc_float(f):
    if math.isfinite(f):
        return f
    if f != f:
        return {"$float": "nan"}
    return {"$float": "inf" if f > 0 else "-inf"}


def _order_key(v):
    """Total order over encoded values, used to sort set elements.

    Only determinism matters (the C side compares sets as multisets); the
    rank keeps values of different kinds from being compared directly.
    """
    t = type(v)
    if v is None:
        return (0,)
    if t is bool:
        return (1, v)
    if t is int or t is float:
        return (2, 0, v)
    if t is str:
        return (3, v)
    if t is list:
        return (5, tuple(_order_key(e) for e in v))
    if t is dict:
        if len(v) == 1:
            (k, inner), = v.items()
            if k == "$int":
                return (2, 0, int(inner))
            if k == "$float":
                return (2, 1, inner)
            if k == "$str":
                return (3, "".join(map(chr, inner)))
        return (6, tuple(sorted((str(k), repr(x)) for k, x in v.items())))
    return (7, repr(v))


_FLAT_TYPES = frozenset({int, float, str, bool, type(None)})


def _of_type(x, types, t):
    return x if len(types) == 1 else [e for e in x if type(e) is t]


def _enc_flat(x, b):
    """Fast path for a list or set of plain scalars, the common result.

    Checks the whole container with C-speed builtins (map, min, max, join)
    instead of one _enc() call per element; returns None when some element
    needs a marker, and the slow path then handles it.
    """
    types = set(map(type, x))
    if not types <= _FLAT_TYPES:
        return None
    if int in types:
        ints = _of_type(x, types, int)
        if min(ints) < INT64_MIN or max(ints) > INT64_MAX:
            return None
    if float in types:
        if not all(map(math.isfinite, _of_type(x, types, float))):
            return None
    if str in types:
        strs = _of_type(x, types, str)
        total = sum(map(len, strs))
        if total > b.chars:
            return None
        joined = "".join(strs)
        if not (joined.isascii() or _utf8_ok(joined)):
            return None
        b.chars -= total
    return list(x)


def _enc_seq(x, items, n, b, depth, wrap):
    if n > b.nodes:
        return _capped("size", x, n)
    b.nodes -= n
    if items is x and n:
        flat = _enc_flat(x, b)
        if flat is not None:
            return {wrap: flat} if wrap else flat
    key = id(x)
    if key in b.active:
        return _capped("cycle", x)
    b.active.add(key)
    try:
        out = [_enc(e, b, depth + 1) for e in items]
    finally:
        b.active.discard(key)
    return {wrap: out} if wrap else out


def _enc_dict(x, b, depth):
    n = dict.__len__(x)
    if 2 * n > b.nodes:
        return _capped("size", x, n)
    b.nodes -= 2 * n
    key = id(x)
    if key in b.active:
        return _capped("cycle", x)
    b.active.add(key)
    try:
        pairs = list(dict.items(x))
        if all(_plain_key(k) for k, _ in pairs):
            # Keys count against the string budget too; when they do not
            # fit, the $dict form below caps the long ones one by one.
            total = sum(len(k) for k, _ in pairs)
            if total <= b.chars:
                b.chars -= total
                return {k: _enc(v, b, depth + 1) for k, v in pairs}
        return {"$dict": [[_enc(k, b, depth + 1), _enc(v, b, depth + 1)]
                          for k, v in pairs]}
    finally:
        b.active.discard(key)


def _enc_linked(x, b, depth):
    out, seen, node = [], set(), x
    while node is not None:
        if id(node) in seen:
            return _capped("cycle", x, len(out))
        if b.nodes <= 0:
            return _capped("size", x, len(out))
        seen.add(id(node))
        b.nodes -= 1
        out.append(_enc(node.val, b, depth + 1))
        node = node.next
    return out


def _enc_tree(x, b, depth):
    out, seen, queue = [], set(), deque([x])
    while queue:
        node = queue.popleft()
        if node is None:
            out.append(None)
            continue
        if id(node) in seen:
            return _capped("cycle", x, len(out))
        if b.nodes <= 0:
            return _capped("size", x, len(out))
        seen.add(id(node))
        b.nodes -= 1
        out.append(_enc(node.val, b, depth + 1))
        queue.append(node.left)
        queue.append(node.right)
    while out and out[-1] is None:
        out.pop()
    return out


def _is_node(x, name, fields):
    # Users sometimes paste LeetCode's commented-out class definitions, so
    # recognise any class of that name with those fields, not only ours.
    return type(x).__name__ == name and all(hasattr(x, f) for f in fields)


def _enc(x, b, depth):
    t = type(x)
    # Exact types first: they are nearly every value, and checking them
    # before isinstance() keeps bool from being taken for int.
    if x is None or t is bool:
        return x
    if t is int:
        return _enc_int(x)
    if t is float:
        return _enc_float(x)
    if t is str:
        return _enc_str(x, b)
    if depth >= MAX_DEPTH:
        return _capped("depth", x)
    if t is list:
        return _enc_seq(x, x, len(x), b, depth, None)
    if t is tuple:
        return _enc_seq(x, x, len(x), b, depth, "$tuple")
    if t is dict:
        return _enc_dict(x, b, depth)
    if t is set or t is frozenset:
        return _enc_set(x, b, depth)
    if t is bytes or t is bytearray:
        return _enc_bytes(x, b)
    if _is_node(x, "ListNode", ("val", "next")):
        return _enc_linked(x, b, depth)
    if _is_node(x, "TreeNode", ("val", "left", "right")):
        return _enc_tree(x, b, depth)
    # Subclasses (bool is excluded above, IntEnum and friends are not):
    # read them through the base type's own slots so an overridden
    # __iter__ or __len__ cannot lie or loop.
    if isinstance(x, int):
        return _enc_int(int.__index__(x))
    if isinstance(x, float):
        return _enc_float(float(float.__float__(x)))
    if isinstance(x, str):
        return _enc_str(str.__str__(x), b)
    if isinstance(x, list):
        return _enc_seq(x, list.__iter__(x), list.__len__(x), b, depth, None)
    if isinstance(x, tuple):
        return _enc_seq(x, tuple.__iter__(x), tuple.__len__(x), b, depth,
                        "$tuple")
    if isinstance(x, dict):
        return _enc_dict(x, b, depth)
    if isinstance(x, (set, frozenset)):
        return _enc_set(x, b, depth)
    if isinstance(x, (bytes, bytearray)):
        return _enc_bytes(bytes(x), b)
    return _enc_repr(x, b)


_NUMBERS = frozenset({int, float})


def _enc_set(x, b, depth):
    enc = _enc_seq(x, x, len(x), b, depth, "$set")
    items = enc.get("$set")
    if items:
        # Plain numbers or plain strings sort natively, in the same order
        # _order_key gives them, at C speed.
        types = set(map(type, items))
        if types <= _NUMBERS or types == {str}:
            items.sort()
        else:
            items.sort(key=_order_key)
    return enc


def _enc_bytes(x, b):
    n = len(x)
    if 2 * n > b.chars:
        return _capped("size", x, n)
    b.chars -= 2 * n
    return {"$bytes": binascii.b2a_base64(x, newline=False).decode("ascii")}


def _enc_repr(x, b):
    try:
        text = repr(x)
    except Exception as exc:  # a user __repr__ may raise anything
        text = "<%s object; repr() raised %s>" % (type(x).__name__,
                                                  type(exc).__name__)
    text = text[:MAX_REPR]
    if not _utf8_ok(text):
        text = text.encode("utf-8", "backslashreplace").decode("ascii")
    return {"$repr": text}


def new_budget():
    """Caps for one test's value; design mode shares one across its calls."""
    return _Budget()


def encode(x, kind=None, budget=None):
    """Return the canonical JSON-ready form of x (see docs/judge-values.md).

    kind is the declared return kind from node_kind(): a None returned
    where a linked list or tree is declared is the empty list/tree, which
    LeetCode-style expected values write as [].
    """
    if x is None and kind in ("list", "tree"):
        return []
    return _enc(x, budget if budget is not None else _Budget(), 0)


class RequestError(ValueError):
    """A malformed canonical value in a request (a judge or problem bug)."""


def decode(v):
    """Turn a canonical JSON value (as parsed by json) into a Python value."""
    t = type(v)
    if v is None or t in (bool, int, float, str):
        return v
    if t is list:
        return [decode(e) for e in v]
    if t is not dict:
        raise RequestError("not a JSON value: %r" % (t,))
    if len(v) == 1:
        (k, inner), = v.items()
        if k.startswith("$"):
            return _decode_marker(k, inner)
    return {k: decode(e) for k, e in v.items()}


def _decode_marker(k, inner):
    if k == "$tuple":
        return tuple(decode(e) for e in inner)
    if k == "$set":
        return set(_hashable(decode(e)) for e in inner)
    if k == "$dict":
        return {_hashable(decode(p[0])): decode(p[1]) for p in inner}
    if k == "$int":
        return int(inner)
    if k == "$float":
        return float(inner)
    if k == "$str":
        return "".join(map(chr, inner))
    if k == "$bytes":
        return binascii.a2b_base64(inner)
    raise RequestError("marker %s cannot be an argument" % k)


def _hashable(x):
    # Set elements and dict keys must be hashable: {"$set": [[1, 2]]} is
    # read as a set of tuples, never rejected.
    if type(x) is list:
        return tuple(_hashable(e) for e in x)
    if type(x) is set:
        return frozenset(x)
    return x


_DOTTED = re.compile(r"[A-Za-z_][\w]*\.(?=[A-Za-z_])")
_WRAP = re.compile(r"^(Optional|List|list|Sequence|Iterable|Union)\[(.*)\]$")


def node_kind(ann):
    """Map a type annotation (object or string) to a conversion kind.

    Returns "list" (ListNode), "tree" (TreeNode), ("seq", kind) for a list
    of those, or None when the argument is passed as decoded.  Works on the
    text of the annotation so that string annotations, typing objects and
    PEP 604 unions are all handled the same way.
    """
    if ann is None:
        return None
    if isinstance(ann, type):
        text = ann.__name__
    elif isinstance(ann, str):
        text = ann
    else:
        text = repr(ann)
    text = _DOTTED.sub("", text.replace(" ", "").strip("'\""))
    return _kind_of(text)


def _kind_of(text):
    if text == "ListNode":
        return "list"
    if text == "TreeNode":
        return "tree"
    if text.endswith("|None"):
        return _kind_of(text[:-5])
    if text.startswith("None|"):
        return _kind_of(text[5:])
    m = _WRAP.match(text)
    if not m:
        return None
    outer, inner = m.groups()
    if outer == "Optional":
        return _kind_of(inner)
    if outer == "Union":
        parts = [p for p in inner.split(",") if p != "None"]
        return _kind_of(parts[0]) if len(parts) == 1 else None
    sub = _kind_of(inner)
    return ("seq", sub) if sub else None


def build_arg(value, kind, ns):
    """Convert a decoded argument to the declared node kind.

    ns is the user's namespace: if the user defined their own ListNode or
    TreeNode class, arguments are built from it so isinstance() checks in
    their code hold.
    """
    if kind is None or value is None:
        return value
    if kind == "list":
        return _build_list(value, ns.get("ListNode", ListNode))
    if kind == "tree":
        return _build_tree(value, ns.get("TreeNode", TreeNode))
    if isinstance(kind, tuple) and isinstance(value, (list, tuple)):
        return [build_arg(e, kind[1], ns) for e in value]
    return value


def _new_node(cls, val):
    node = cls(val)
    node.val = val
    return node


def _build_list(values, cls):
    if not isinstance(values, (list, tuple)):
        return values
    head = None
    for v in reversed(values):
        node = _new_node(cls, v)
        node.next = head
        head = node
    return head


def _build_tree(values, cls):
    """Build a tree from LeetCode's level-order array (None = no child)."""
    if not isinstance(values, (list, tuple)):
        return values
    if not values or values[0] is None:
        return None
    it = iter(values)
    root = _new_node(cls, next(it))
    root.left = root.right = None
    queue = deque([root])
    while queue:
        node = queue.popleft()
        for side in ("left", "right"):
            v = next(it, None)
            child = None
            if v is not None:
                child = _new_node(cls, v)
                child.left = child.right = None
                queue.append(child)
            setattr(node, side, child)
    return root
