"""An AST mutator for the mutation campaign (stdlib ``ast`` only).

:func:`mutants` parses a module (by default ``tests/mutation/reference.py``), walks the bodies of
its top-level functions in source order and applies each mutation operator of :data:`OPERATORS`
to every node it fits. A mutant changes exactly one node: its source is the original text with
that node's span replaced by the unparsed replacement, so everything else (comments, layout,
line numbers before the change) stays byte-identical and a diff shows the one change.

Every mutant is checked on construction: its source must parse to exactly the expected mutated
tree (``ast.dump`` equality, so parenthesisation cannot change its meaning). Mutants whose tree
equals the original's or an earlier mutant's are dropped, so the list is of distinct programs,
in a deterministic order (source position, then operator order, then variant).

Command line: ``python tests/mutation/mutate.py [FILE] [--only FUNCTION] [--show INDEX]``
lists the mutants (index, function, line, operator, description) or prints one mutant's diff.
"""

from __future__ import annotations

import argparse
import ast
import copy
import difflib
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REFERENCE = Path(__file__).with_name("reference.py")

#: Operator classes, in the order they are tried at each node.
OPERATORS = (
    "arith",  # + <-> -, * <-> /, // <-> /, on binary operators and augmented assignments
    "compare",  # < <-> <=, > <-> >=, == <-> !=, in <-> not in, is <-> is not
    "constant",  # integer literal n -> n + 1, n - 1 (negative literals as one unit)
    "boolean",  # True <-> False
    "slice_bound",  # a[lo:hi] -> a[lo + 1:hi], a[lo - 1:hi], a[lo:hi + 1], a[lo:hi - 1]
    "offset",  # name = <arithmetic> -> name = <arithmetic> + 1 / - 1 (h * stride + 1, f - 1)
    "hyper",  # a read of f, stride or pad -> (f - 1), (f + 1) ...
    "range_bound",  # range(n) -> range(n + 1), range(n - 1), range(1, n)
    "swap_name",  # one read of h -> w (and w -> h, n_H <-> n_W, i <-> c, ...)
    "swap_tuple",  # adjacent elements of a tuple swapped: indices, shapes, pad widths, caches
    "accumulate",  # x += y -> x = y
    "axis",  # reductions: axis=0 / axis=-1 added (or an existing axis changed)
    "drop_pad",  # a read of pad -> 0
    "call_swap",  # np.max <-> np.min, np.argmax -> np.argmin, np.mean -> np.sum, ...
    "argmax_last",  # np.argmax(x) -> x.size - 1 - np.argmax(x[::-1]) (ties: last, not first)
    "zeros_like",  # np.zeros(X.shape) -> np.zeros_like(X) (keeps an integer input's dtype)
    "dtype",  # dtype=bool -> dropped / dtype=int
    "delete",  # an accumulation, an array store, a self-update or a raise -> pass
)

SWAP_NAMES = {
    "h": "w",
    "w": "h",
    "n_H": "n_W",
    "n_W": "n_H",
    "n_H_prev": "n_W_prev",
    "n_W_prev": "n_H_prev",
    "i": "c",
    "c": "i",
    "n_C": "n_C_prev",
    "n_C_prev": "n_C",
    "vert_start": "horiz_start",
    "horiz_start": "vert_start",
    "vert_end": "horiz_end",
    "horiz_end": "vert_end",
}
HYPER_NAMES = ("f", "stride", "pad")
CALL_SWAPS = {
    "max": ("min",),
    "min": ("max",),
    "argmax": ("argmin",),
    "mean": ("sum", "max"),
    "sum": ("mean",),
    "multiply": ("add",),
    "zeros": ("ones",),
    "ones": ("zeros",),
}
REDUCTIONS = ("sum", "max", "min", "mean", "argmax")
ARITH_SWAPS: dict[type, tuple[type, ...]] = {
    ast.Add: (ast.Sub,),
    ast.Sub: (ast.Add,),
    ast.Mult: (ast.Div,),
    ast.Div: (ast.Mult, ast.FloorDiv),
    ast.FloorDiv: (ast.Div,),
}
COMPARE_SWAPS: dict[type, type] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}


@dataclass(frozen=True)
class Mutant:
    """One mutant of the module: which function, where, what, and the whole mutated source."""

    index: int
    function: str
    line: int
    col: int
    operator: str
    description: str
    source: str

    @property
    def key(self) -> str:
        """A short digest of the mutated source (stable across runs)."""
        return hashlib.sha256(self.source.encode()).hexdigest()[:12]

    def diff(self, original: str) -> str:
        return "".join(
            difflib.unified_diff(
                original.splitlines(keepends=True),
                self.source.splitlines(keepends=True),
                "reference.py",
                f"mutant {self.index}",
            )
        )


# --- tree helpers ---------------------------------------------------------------------------

Path_ = tuple[tuple[str, int | None], ...]


def _children(node: ast.AST) -> Iterator[tuple[str, int | None, ast.AST]]:
    for name, value in ast.iter_fields(node):
        if isinstance(value, ast.AST):
            yield name, None, value
        elif isinstance(value, list):
            for k, item in enumerate(value):
                if isinstance(item, ast.AST):
                    yield name, k, item


def _walk(node: ast.AST, path: Path_ = ()) -> Iterator[tuple[ast.AST, Path_, ast.AST | None]]:
    """Pre-order walk (source order) yielding ``(node, path, parent)``; f-strings are opaque."""
    stack: list[tuple[ast.AST, Path_, ast.AST | None]] = [(node, path, None)]
    while stack:
        current, where, parent = stack.pop()
        yield current, where, parent
        if isinstance(current, ast.JoinedStr):
            continue
        children = list(_children(current))
        for name, k, child in reversed(children):
            stack.append((child, (*where, (name, k)), current))


def _get(root: ast.AST, path: Path_) -> ast.AST:
    node = root
    for name, k in path:
        value = getattr(node, name)
        node = value if k is None else value[k]
    return node


def _dump_replaced(root: ast.AST, path: Path_, new: ast.AST) -> str:
    """``ast.dump(root)`` with the node at ``path`` replaced by ``new`` (``root`` is restored)."""
    parent = _get(root, path[:-1])
    name, k = path[-1]
    old = _get(root, path)
    try:
        if k is None:
            setattr(parent, name, new)
        else:
            getattr(parent, name)[k] = new
        return ast.dump(root)
    finally:
        if k is None:
            setattr(parent, name, old)
        else:
            getattr(parent, name)[k] = old


def _offsets(source: str) -> list[int]:
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


_ATOMS = (ast.Name, ast.Constant, ast.Call, ast.Attribute, ast.Subscript, ast.Tuple)


def _render(new: ast.AST) -> str:
    text = ast.unparse(new)
    if isinstance(new, ast.expr) and not isinstance(new, _ATOMS):
        return f"({text})"
    if isinstance(new, ast.Tuple) and not text.startswith("("):
        return f"({text})"
    return text


def _num(value: int) -> ast.expr:
    return ast.UnaryOp(ast.USub(), ast.Constant(-value)) if value < 0 else ast.Constant(value)


def _plus(expr: ast.expr, k: int) -> ast.expr:
    op = ast.Add() if k > 0 else ast.Sub()
    return ast.BinOp(copy.deepcopy(expr), op, ast.Constant(abs(k)))


def _int_literal(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and type(node.operand.value) is int
    ):
        return -node.operand.value
    return None


def _np_call(node: ast.AST, names: tuple[str, ...] | dict[str, Any]) -> str | None:
    """``X`` when ``node`` is a call ``np.X(...)`` with X in ``names``."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "np"
        and node.func.attr in names
    ):
        return node.func.attr
    return None


def _with_func(node: ast.Call, attr: str) -> ast.Call:
    new = copy.deepcopy(node)
    new.func = ast.Attribute(ast.Name("np", ast.Load()), attr, ast.Load())
    return new


# --- the operators: each yields (site path offset, replacement node, description) -----------
# A site offset of 0 replaces the node itself; 1 replaces its parent (used where the node alone
# cannot be rendered, e.g. a subscript's slice tuple).

Variant = tuple[int, ast.AST, str]


def _arith(node: ast.AST, parent: ast.AST | None) -> Iterator[Variant]:
    if isinstance(node, ast.BinOp):
        for op in ARITH_SWAPS.get(type(node.op), ()):
            new = copy.deepcopy(node)
            new.op = op()
            yield 0, new, ""
    if isinstance(node, ast.AugAssign):
        for op in ARITH_SWAPS.get(type(node.op), ()):
            new = copy.deepcopy(node)
            new.op = op()
            yield 0, new, ""


def _compare(node: ast.AST, parent: ast.AST | None) -> Iterator[Variant]:
    if isinstance(node, ast.Compare):
        for k, op in enumerate(node.ops):
            if type(op) in COMPARE_SWAPS:
                new = copy.deepcopy(node)
                new.ops[k] = COMPARE_SWAPS[type(op)]()
                yield 0, new, ""


def _constant(node: ast.AST, parent: ast.AST | None) -> Iterator[Variant]:
    value = _int_literal(node)
    if value is None:
        return
    if isinstance(node, ast.Constant) and isinstance(parent, ast.UnaryOp):
        return  # mutated as the negative literal it belongs to
    for k in (1, -1):
        yield 0, _num(value + k), ""


def _boolean(node: ast.AST, parent: ast.AST | None) -> Iterator[Variant]:
    if isinstance(node, ast.Constant) and type(node.value) is bool:
        yield 0, ast.Constant(not node.value), ""


def _slice_bound(node: ast.AST, parent: ast.AST | None) -> Iterator[Variant]:
    if isinstance(parent, ast.Slice) and node in (parent.lower, parent.upper):
        if _int_literal(node) is not None:
            return  # the constant operator covers literal bounds
        for k in (1, -1):
            yield 0, _plus(node, k), ""


def _ends_with_constant(expr: ast.AST) -> bool:
    return (
        isinstance(expr, ast.BinOp)
        and isinstance(expr.op, (ast.Add, ast.Sub))
        and _int_literal(expr.right) is not None
    )


def _offset(node: ast.AST, parent: ast.AST | None) -> Iterator[Variant]:
    if (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.BinOp)
        and not _ends_with_constant(node.value)
    ):
        for k in (1, -1):
            new = copy.deepcopy(node)
            new.value = _plus(node.value, k)
            yield 0, new, ""


def _is_load(node: ast.AST, names: Any) -> bool:
    return isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in names


def _hyper(node: ast.AST, parent: ast.AST | None) -> Iterator[Variant]:
    if _is_load(node, HYPER_NAMES):
        if isinstance(parent, ast.Slice):
            return  # the slice_bound operator covers it
        if isinstance(parent, ast.BinOp) and isinstance(parent.op, (ast.Add, ast.Sub)):
            if _int_literal(parent.right) is not None:
                return  # f - 1 - 1 would duplicate the constant operator
        for k in (-1, 1):
            yield 0, _plus(node, k), ""


def _range_bound(node: ast.AST, parent: ast.AST | None) -> Iterator[Variant]:
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "range"
        and len(node.args) == 1
    ):
        (stop,) = node.args
        for new_args in ([_plus(stop, 1)], [_plus(stop, -1)], [ast.Constant(1), stop]):
            new = copy.deepcopy(node)
            new.args = copy.deepcopy(new_args)
            yield 0, new, ""


def _swap_name(node: ast.AST, parent: ast.AST | None) -> Iterator[Variant]:
    if _is_load(node, SWAP_NAMES):
        yield 0, ast.Name(SWAP_NAMES[node.id], ast.Load()), ""


def _swap_tuple(node: ast.AST, parent: ast.AST | None) -> Iterator[Variant]:
    if not (isinstance(node, ast.Tuple) and isinstance(node.ctx, ast.Load)):
        return
    dumps = [ast.dump(e) for e in node.elts]
    for k in range(len(node.elts) - 1):
        if dumps[k] == dumps[k + 1]:
            continue
        new = copy.deepcopy(node)
        new.elts[k], new.elts[k + 1] = new.elts[k + 1], new.elts[k]
        if isinstance(parent, ast.Subscript) and parent.slice is node:
            whole = copy.deepcopy(parent)
            whole.slice = new
            yield 1, whole, f"elements {k} and {k + 1} of the index swapped"
        else:
            yield 0, new, f"elements {k} and {k + 1} swapped"


def _accumulate(node: ast.AST, parent: ast.AST | None) -> Iterator[Variant]:
    if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add):
        yield 0, ast.Assign([copy.deepcopy(node.target)], copy.deepcopy(node.value), lineno=0), ""


def _axis(node: ast.AST, parent: ast.AST | None) -> Iterator[Variant]:
    if _np_call(node, REDUCTIONS) is None:
        return
    assert isinstance(node, ast.Call)
    current = [kw for kw in node.keywords if kw.arg == "axis"]
    if current:
        value = _int_literal(current[0].value)
        choices = [] if value is None else [value + 1, value - 1]
    else:
        choices = [0, -1]
    for axis in choices:
        new = copy.deepcopy(node)
        new.keywords = [kw for kw in new.keywords if kw.arg != "axis"]
        new.keywords.append(ast.keyword("axis", _num(axis)))
        yield 0, new, ""


def _drop_pad(node: ast.AST, parent: ast.AST | None) -> Iterator[Variant]:
    if _is_load(node, ("pad",)):
        yield 0, ast.Constant(0), ""


def _call_swap(node: ast.AST, parent: ast.AST | None) -> Iterator[Variant]:
    name = _np_call(node, CALL_SWAPS)
    if name is not None:
        assert isinstance(node, ast.Call)
        for other in CALL_SWAPS[name]:
            yield 0, _with_func(node, other), ""


def _argmax_last(node: ast.AST, parent: ast.AST | None) -> Iterator[Variant]:
    if _np_call(node, ("argmax",)) is not None:
        assert isinstance(node, ast.Call)
        x = node.args[0]
        reverse = ast.Subscript(copy.deepcopy(x), ast.Slice(None, None, _num(-1)), ast.Load())
        new_call = copy.deepcopy(node)
        new_call.args = [reverse, *new_call.args[1:]]
        size = ast.Attribute(copy.deepcopy(x), "size", ast.Load())
        yield 0, ast.BinOp(ast.BinOp(size, ast.Sub(), ast.Constant(1)), ast.Sub(), new_call), ""


def _zeros_like(node: ast.AST, parent: ast.AST | None) -> Iterator[Variant]:
    if _np_call(node, ("zeros",)) is not None:
        assert isinstance(node, ast.Call)
        arg = node.args[0] if node.args else None
        if isinstance(arg, ast.Attribute) and arg.attr == "shape" and not node.keywords:
            new = _with_func(node, "zeros_like")
            new.args = [copy.deepcopy(arg.value)]
            yield 0, new, ""


def _dtype(node: ast.AST, parent: ast.AST | None) -> Iterator[Variant]:
    if isinstance(node, ast.Call) and any(kw.arg == "dtype" for kw in node.keywords):
        dropped = copy.deepcopy(node)
        dropped.keywords = [kw for kw in dropped.keywords if kw.arg != "dtype"]
        yield 0, dropped, "dtype dropped"
        as_int = copy.deepcopy(node)
        for kw in as_int.keywords:
            if kw.arg == "dtype":
                kw.value = ast.Name("int", ast.Load())
        yield 0, as_int, ""


def _delete(node: ast.AST, parent: ast.AST | None) -> Iterator[Variant]:
    deletable = isinstance(node, (ast.AugAssign, ast.Raise)) or (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and (
            isinstance(node.targets[0], ast.Subscript)
            or (
                isinstance(node.targets[0], ast.Name)
                and any(_is_load(n, (node.targets[0].id,)) for n in ast.walk(node.value))
            )
        )
    )
    if deletable:
        yield 0, ast.Pass(), "statement deleted"


OPERATOR_FUNCTIONS: dict[str, Callable[[ast.AST, ast.AST | None], Iterator[Variant]]] = {
    "arith": _arith,
    "compare": _compare,
    "constant": _constant,
    "boolean": _boolean,
    "slice_bound": _slice_bound,
    "offset": _offset,
    "hyper": _hyper,
    "range_bound": _range_bound,
    "swap_name": _swap_name,
    "swap_tuple": _swap_tuple,
    "accumulate": _accumulate,
    "axis": _axis,
    "drop_pad": _drop_pad,
    "call_swap": _call_swap,
    "argmax_last": _argmax_last,
    "zeros_like": _zeros_like,
    "dtype": _dtype,
    "delete": _delete,
}
assert tuple(OPERATOR_FUNCTIONS) == OPERATORS


# --- the mutants ---------------------------------------------------------------------------


def _short(text: str, limit: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_docstring(node: ast.AST, parent: ast.AST | None) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def mutants(path: str | Path = REFERENCE, only: str | None = None) -> list[Mutant]:
    """Every distinct single-node mutant of the functions of the module at ``path``."""
    source = Path(path).read_text()
    tree = ast.parse(source)
    starts = _offsets(source)
    seen: set[tuple[int, str]] = set()
    found: list[Mutant] = []
    for k, function in enumerate(tree.body):
        if not isinstance(function, ast.FunctionDef):
            continue
        seen.add((k, ast.dump(function)))
        span = (starts[function.lineno - 1], starts[function.end_lineno])
        # Paths are relative to the function: only its copy is rebuilt per mutant.
        for node, where, parent in _walk(function):
            if node is function or _is_docstring(node, parent):
                continue
            if isinstance(node, (ast.arguments, ast.arg)):
                continue
            for operator, apply in OPERATOR_FUNCTIONS.items():
                for up, new, note in apply(node, parent):
                    site_path = where[: len(where) - up] if up else where
                    site = _get(function, site_path)
                    dump = (k, _dump_replaced(function, site_path, new))
                    if dump in seen:
                        continue
                    start = starts[site.lineno - 1] + site.col_offset
                    end = starts[site.end_lineno - 1] + site.end_col_offset
                    text = _render(new)
                    mutated = source[:start] + text + source[end:]
                    # The text outside the function is unchanged: the function's own text must
                    # parse to exactly the expected function.
                    own = source[span[0] : start] + text + source[end : span[1]]
                    parsed = ast.parse(own).body
                    if len(parsed) != 1 or ast.dump(parsed[0]) != dump[1]:
                        raise AssertionError(f"mutant source does not match its tree: {text!r}")
                    seen.add(dump)
                    before = _short(source[start:end])
                    description = f"`{before}` -> `{_short(text)}`"
                    if note:
                        description += f" ({note})"
                    found.append(
                        Mutant(
                            len(found),
                            function.name,
                            site.lineno,
                            site.col_offset + 1,
                            operator,
                            description,
                            mutated,
                        )
                    )
    # Indices are those of the whole list, whichever function is selected.
    return [m for m in found if only is None or m.function == only]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default=str(REFERENCE))
    parser.add_argument("--only", default=None, metavar="FUNCTION")
    parser.add_argument("--show", type=int, default=None, metavar="INDEX")
    args = parser.parse_args(argv)
    found = mutants(args.file, args.only)
    if args.show is not None:
        print(found[args.show].diff(Path(args.file).read_text()), end="")
        return 0
    for m in found:
        where = f"{m.line}:{m.col}"
        print(f"{m.index:4d}  {m.function:<24} {where:>7}  {m.operator:<12} {m.description}")
    counts: dict[str, int] = {}
    for m in found:
        counts[m.operator] = counts.get(m.operator, 0) + 1
    print(f"{len(found)} mutants: " + ", ".join(f"{op} {counts.get(op, 0)}" for op in OPERATORS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
