"""Reproduction snippets of the seed API's failures: standalone Python a user runs on their code.

:func:`repro_snippet` is the ``repro`` of the seed profile (:mod:`refconv.conformance.apis.seed`);
the helpers the snippets print (:data:`HELPERS`) are shared with the other profiles' snippets.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from refconv.conformance import ties
from refconv.conformance.guard import ConformanceFailure
from refconv.problems import (
    ConvProblem,
    DistributeProblem,
    PadProblem,
    PoolProblem,
    SingleStepProblem,
    WindowProblem,
    array_source,
)

# --- reproduction snippets
#
# A snippet is standalone Python: the counterexample, the calls refconv check made (in the same
# order, with the same fallbacks), and a verdict. When the failure reproduces it prints what
# differs and exits with status 1; an implementation that conforms on this input runs silently
# to the end (status 0). Helpers are included only when the snippet uses them.

_HELPERS: dict[str, str] = {
    "fail": """
def fail(message):
    print(message)
    raise SystemExit(1)
""",
    "raised": """
def raised(function, exc):
    traceback.print_exc()
    fail(f"{function}() raised {type(exc).__name__}: {exc}")
""",
    "describe": """
def describe(value):
    if isinstance(value, (np.ndarray, np.generic)):
        return f"{type(value).__name__} of dtype {value.dtype} and shape {np.shape(value)}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of length {len(value)}"
    return f"{type(value).__name__} {value!r}"[:120]
""",
    "unpack": """
def unpack(value, n, what):
    if not isinstance(value, tuple) or len(value) != n:
        fail(f"{what}, got {describe(value)}")
    return value
""",
    "as_output": """
def as_output(name, value, shape):
    if not isinstance(value, (np.ndarray, np.generic)) or value.dtype.kind not in "biuf":
        fail(f"{name} must be a real NumPy array of shape {shape}, got {describe(value)}")
    if value.shape != shape:
        fail(f"{name} has shape {value.shape}, expected {shape}")
    return np.asarray(value, dtype=np.float64)
""",
    "compare": '''
def compare(name, actual, expected, allowed=0.0, quiet=False):
    """Whether |actual - expected| <= allowed everywhere (NaN matches NaN); prints what differs."""
    allowed = np.broadcast_to(np.asarray(allowed, dtype=np.float64), expected.shape)
    with np.errstate(invalid="ignore"):
        diff = np.abs(actual - expected)
        ok = (diff <= allowed) | (np.isnan(actual) & np.isnan(expected))
        ok |= np.isinf(expected) & (actual == expected)
    if ok.all() or quiet:
        return bool(ok.all())
    size = np.where(ok, -1.0, np.nan_to_num(diff, nan=np.inf))
    worst = np.unravel_index(np.argmax(size), ok.shape)
    where = f"{name}[{', '.join(map(str, worst))}]" if worst else name
    limit = f"allowed |error| there {allowed[worst]:.3g}" if allowed.any() else "compared exactly"
    print(f"{np.sum(~ok)} of {ok.size} entries of {name} differ from the expected values")
    print(f"largest difference at {where}: actual {float(actual[worst])!r}, "
          f"expected {float(expected[worst])!r} ({limit})")
    print(f"max |{name} - expected| = {float(diff[worst])!r}")
    return False
''',
    "cells": """
def cells(mask):
    return [tuple(int(i) for i in cell) for cell in np.argwhere(mask)]


def entries(array):
    return {cell: float(array[cell]) for cell in cells(array != 0)}
""",
    "mutation": '''
def changes(name, was, now):
    """(entry, before, after) for each part of an input that the call changed."""
    if isinstance(was, np.ndarray):
        if not isinstance(now, np.ndarray) or (was.shape, was.dtype) != (now.shape, now.dtype):
            return [(name, describe(was), describe(now))]
        differ = was != now
        if was.dtype.kind in "fc":
            differ &= ~(np.isnan(was) & np.isnan(now))
        return [
            (f"{name}[{', '.join(map(str, i))}]" if i else name, was[i].item(), now[i].item())
            for i in (tuple(int(k) for k in cell) for cell in np.argwhere(differ))
        ]
    if isinstance(was, (tuple, list)):
        if not isinstance(now, (tuple, list)) or len(was) != len(now):
            return [(name, describe(was), describe(now))]
        return [c for k, (w, n) in enumerate(zip(was, now)) for c in changes(f"{name}[{k}]", w, n)]
    if isinstance(was, dict):
        keys = sorted(set(was) | set(now), key=repr)
        return [(f"{name}[{k!r}]", was.get(k), now.get(k)) for k in keys
                if was.get(k) != now.get(k)]
    return []


def check_unchanged(function, before, **after):
    for name, was in before.items():
        found = changes(name, was, after[name])
        if found:
            count = f"{len(found)} {'entry' if len(found) == 1 else 'entries'}"
            print(f"{function}() modified its input {name} in place ({count}):")
            for entry, old, new in found[:10]:
                print(f"  {entry}: {old!r} before the call, {new!r} after")
            raise SystemExit(1)
''',
}
_NEEDS = {  # helper -> helpers it calls
    "raised": ("fail",),
    "unpack": ("fail", "describe"),
    "as_output": ("fail", "describe"),
    "mutation": ("describe",),
}

_CONV_HPARAMETERS = 'hparameters = {"stride": stride, "pad": pad}'
_POOL_HPARAMETERS = 'hparameters = {"f": f, "stride": stride}'


class Snippet:
    """Builds the source of one snippet (see :func:`repro_snippet`).

    Other profiles subclass it and override :meth:`calls` (how refconv check called the
    implementation) and :meth:`parameters` (the lines that build the parameter objects).
    """

    def __init__(self, failure: ConformanceFailure, has_forward: bool) -> None:
        self.failure = failure
        self.problem = failure.problem
        self.has_forward = has_forward
        self.helpers: list[str] = []
        self.imports = {"import numpy as np"}
        timeout = re.match(r"(\w+)\(\) did not return within ([0-9.eE+-]+) s", failure.message)
        self.timeout = (timeout.group(1), float(timeout.group(2))) if timeout else None

    def use(self, *names: str) -> None:
        for name in names:
            if name not in self.helpers:
                self.use(*_NEEDS.get(name, ()))
                self.helpers.append(name)
        if "raised" in names:
            self.imports.add("import traceback")
        if "mutation" in names:
            self.imports.add("import copy")

    # -- calls

    def problem_source(self) -> str:
        """Python source that rebuilds the counterexample's arrays and scalars."""
        return self.problem.python_source()

    def parameters(self) -> list[str]:
        """Lines that build the call's parameter objects from the problem's scalars."""
        if isinstance(self.problem, ConvProblem):
            return [_CONV_HPARAMETERS]
        if isinstance(self.problem, PoolProblem):
            return [_POOL_HPARAMETERS]
        return []

    def call(self, function: str, target: str, expression: str, inputs: tuple[str, ...]) -> list:
        """``target = expression`` (a call of ``function``) guarded as refconv check guards it."""
        self.use("raised")
        kind = self.failure.kind if function == self.failure.function else ""
        lines = []
        if kind == "mutation":
            self.use("mutation")
            lines.append(f"before = copy.deepcopy({{{', '.join(f'{n!r}: {n}' for n in inputs)}}})")
        if kind == "timeout" and self.timeout is not None:
            lines += [
                f"print('calling {function}(), which did not return within "
                f"{self.timeout[1]:g} s when checked: it may hang', flush=True)",
                f"time_limit({self.timeout[1]!r})",
            ]
        if kind == "crash":
            lines += [
                f"print({'refconv check: ' + ' '.join(self.failure.message.split())!r})",
                f"print('calling {function}() again: if nothing follows, it ended this process "
                "too', flush=True)",
            ]
        lines += [
            "try:",
            f"    {target} = {expression}",
            "except (Exception, SystemExit) as exc:",
            f"    raised({function!r}, exc)",
        ]
        if kind == "timeout" and self.timeout is not None:
            lines.append("time_limit(0)")
        if kind == "crash":
            lines.append(f"print('{function}() returned this time')")
        if kind == "mutation":
            lines.append(
                f"check_unchanged({function!r}, before, {', '.join(f'{n}={n}' for n in inputs)})"
            )
        return lines

    def output(self, name: str, shape: tuple[int, ...]) -> str:
        self.use("as_output")
        return f"{name} = as_output({name!r}, {name}, {tuple(int(n) for n in shape)})"

    def forward_cache(self, forward: str, call: str, inputs: tuple[str, ...], seed: str) -> list:
        """The backward's cache: its own forward's, or the documented layout ``seed`` when that
        forward raises (as refconv check does: a broken forward fails its own check)."""
        if not self.has_forward:
            return [f"cache = {seed}  # the documented cache layout (no {forward} defined)"]
        self.use("unpack")
        return [
            "try:",
            f"    forward = {call}",
            "except (Exception, SystemExit) as exc:  # it fails its own check",
            f"    print(f'note: {forward}() raised {{type(exc).__name__}}: {{exc}}; "
            "using the documented cache layout')",
            f"    cache = {seed}",
            "else:",
            f"    _, cache = unpack(forward, 2, '{forward}() must return (output, cache) for the "
            "backward pass')",
        ]

    def calls(self) -> list[str]:
        """Lines that call the implementation as refconv check did, and check the types and
        shapes of the outputs."""
        p, function = self.problem, self.failure.function
        if isinstance(p, PadProblem):
            shape = np.pad(p.X, ((0, 0), (p.pad, p.pad), (p.pad, p.pad), (0, 0))).shape
            lines = self.call(function, "X_pad", "impl.zero_pad(X, pad)", ("X", "pad"))
            return [*lines, self.output("X_pad", shape)]
        if isinstance(p, SingleStepProblem):
            expression = "impl.conv_single_step(a_slice_prev, W, b)"
            lines = self.call(function, "Z", expression, ("a_slice_prev", "W", "b"))
            lines += [
                "if isinstance(Z, (float, int)) and not isinstance(Z, bool):",
                "    Z = np.float64(Z)  # a Python number is accepted as a 0-d result",
                self.output("Z", ()),
            ]
            return lines
        if isinstance(p, WindowProblem):
            lines = self.call(function, "mask", "impl.create_mask_from_window(x)", ("x",))
            return [*lines, self.output("mask", p.x.shape)]
        if isinstance(p, DistributeProblem):
            lines = self.call(function, "a", "impl.distribute_value(dz, shape)", ("dz", "shape"))
            return [*lines, self.output("a", tuple(p.shape))]
        if isinstance(p, ConvProblem):
            forward = "impl.conv_forward(A_prev, W, b, hparameters)"
            inputs = ("A_prev", "W", "b", "hparameters")
            if function == "conv_forward":
                self.use("unpack")
                lines = self.call(function, "result", forward, inputs)
                lines += [
                    "Z, cache = unpack(result, 2, 'must return (Z, cache)')",
                    self.output("Z", p.out_shape) + "  # (m, n_H, n_W, n_C)",
                ]
                return lines
            self.use("unpack")
            seed = "(A_prev, W, b, hparameters)"
            lines = self.forward_cache("conv_forward", forward, inputs, seed)
            lines += self.call(function, "grads", "impl.conv_backward(dZ, cache)", ("dZ", "cache"))
            lines += [
                "dA_prev, dW, db = unpack(grads, 3, 'must return (dA_prev, dW, db)')",
                self.output("dA_prev", p.A_prev.shape),
                self.output("dW", p.W.shape),
                self.output("db", (1, 1, 1, p.W.shape[3])),
            ]
            return lines
        if isinstance(p, PoolProblem):
            forward = "impl.pool_forward(A_prev, hparameters, mode=mode)"
            inputs = ("A_prev", "hparameters", "mode")
            if function == "pool_forward":
                self.use("unpack")
                lines = self.call(function, "result", forward, inputs)
                lines += [
                    "A, cache = unpack(result, 2, 'must return (A, cache)')",
                    self.output("A", p.out_shape) + "  # (m, n_H, n_W, n_C)",
                ]
                return lines
            lines = self.forward_cache("pool_forward", forward, inputs, "(A_prev, hparameters)")
            backward = "impl.pool_backward(dA, cache, mode=mode)"
            lines += self.call(function, "dA_prev", backward, ("dA", "cache", "mode"))
            return [*lines, self.output("dA_prev", p.A_prev.shape)]
        return [f"impl.{function}(...)  # no snippet for {type(p).__name__}"]

    # -- verdicts

    def verdict(self) -> list[str]:
        """Lines that compare the outputs of :meth:`calls` with what they must be."""
        failure, p = self.failure, self.problem
        if failure.kind != "value":
            return []  # the guarded calls and output checks show the failure
        if failure.function == "create_mask_from_window" and failure.policy != "torch":
            x = np.asarray(p.x, dtype=np.float64)
            if int((x == np.max(x)).sum()) > 1:
                return self.one_maximum()
        name = failure.mismatch.name if failure.mismatch is not None else ""
        if name not in failure.expected:
            return []
        return [*self.expected(name), "    raise SystemExit(1)"]

    def expected(self, name: str) -> list[str]:
        """``expected_<name>`` and ``allowed_<name>`` literals and the comparison."""
        self.use("compare")
        # fresh C-ordered copies: the literals must not depend on how the values were computed
        # (torch returns transposed views) nor on how they travelled (pickled from a worker)
        expected = np.array(self.failure.expected[name], dtype=np.float64, order="C")
        lines = [f"expected_{name} = {array_source(expected)}"]
        bound = self.failure.bounds.get(name, 0.0)
        bound = np.array(np.broadcast_to(bound, expected.shape), dtype=np.float64, order="C")
        if not bound.any():
            lines.append(f"if not compare({name!r}, {name}, expected_{name}):  # no error allowed")
            return lines
        lines += [
            f"allowed_{name} = {_bound_source(bound)}  # rounding error a correct implementation "
            "may have",
            f"if not compare({name!r}, {name}, expected_{name}, allowed_{name}):",
        ]
        return lines

    def tied_windows(self) -> list[str]:
        """--ties subgradient or all, max pooling with tied windows: refconv check's one-hot
        probes of the tied windows (``--ties all`` first accepts the notebook's convention)."""
        self.use("cells", "compare", "fail")
        body = self.calls()
        bound = self.failure.bounds.get("dA_prev", 0.0)
        lines = [
            "def backward(dA):",
            '    """The implementation\'s dA_prev for the upstream gradient dA."""',
            *("    " + line for line in body),
            "    return dA_prev",
            "",
            "",
            "def windows():",
            '    """Each pooling window: (i, h, w, c), its rows, columns and maximal cells."""',
            "    A = np.asarray(A_prev, dtype=np.float64)",
            "    for i, h, w, c in np.ndindex(*dA.shape):",
            "        rows = slice(h * stride, h * stride + f)",
            "        cols = slice(w * stride, w * stride + f)",
            "        window = A[i, rows, cols, c]",
            "        yield (i, h, w, c), rows, cols, window == window.max()",
            "",
            "",
            "dA_prev = backward(dA)",
            f"allowed_dA_prev = {_bound_source(bound)}  # rounding error a correct "
            "implementation may have",
        ]
        rule = "not a subgradient"
        if self.failure.policy == "all":
            rule = "neither the notebook's convention nor a subgradient"
            lines += [
                "# --ties all: the notebook's convention (every tied maximum receives its window's",
                "# full dA) passes ...",
                "notebook = np.zeros(A_prev.shape)",
                "for (i, h, w, c), rows, cols, maximal in windows():",
                "    notebook[i, rows, cols, c] += maximal * dA[i, h, w, c]",
                "if compare('dA_prev', dA_prev, notebook, allowed_dA_prev, quiet=True):",
                "    raise SystemExit(0)",
                "# ... and so does any subgradient, as under --ties subgradient:",
            ]
        return lines + [
            "# --ties subgradient: each window's dA goes to its maxima, split in any way; a tied",
            "# window's split is its response to a one-hot dA (backward is linear in dA)",
            "expected_dA_prev = np.zeros(A_prev.shape)",
            "for (i, h, w, c), rows, cols, maximal in windows():",
            "    if maximal.sum() < 2:  # one maximum: it receives all of dA",
            "        r, q = np.unravel_index(np.argmax(maximal), maximal.shape)",
            "        expected_dA_prev[i, h * stride + r, w * stride + q, c] += dA[i, h, w, c]",
            "for position, rows, cols, maximal in windows():",
            "    if maximal.sum() < 2:",
            "        continue",
            "    one_hot = np.zeros(dA.shape, dtype=dA.dtype)",
            "    one_hot[position] = 1",
            "    response = backward(one_hot)",
            "    maxima = np.zeros(A_prev.shape, dtype=bool)",
            "    maxima[position[0], rows, cols, position[3]] = maximal",
            "    mass = float(response.sum())",
            "    if np.any(np.where(maxima, 0.0, response)) or abs(mass - 1) > 1e-12:",
            "        print(f'with dA one-hot at {position}, a window with {int(maximal.sum())} '",
            "              'tied maxima, which must share 1:')",
            "        print(f'  gradient mass {mass!r}, at {entries(response)}')",
            "        print(f'  the maxima: {cells(maxima)}')",
            f"        fail({f'pool_backward is {rule} of max pooling there'!r})",
            "    expected_dA_prev += dA[position] * response",
            "if not compare('dA_prev', dA_prev, expected_dA_prev, allowed_dA_prev):",
            "    raise SystemExit(1)",
        ]

    def one_maximum(self) -> list[str]:
        """create_mask_from_window on a tie, --ties subgradient or all: one True on a maximum
        (``--ties all`` also accepts every maximum marked, the notebook's convention)."""
        self.use("cells", "fail")
        lines = [
            "x64 = np.asarray(x, dtype=np.float64)",
            "maximal = x64 == x64.max()",
            "marked = mask != 0",
            "one = marked.sum() == 1 and maximal[marked].all() and np.all(mask[marked] == 1)",
        ]
        if self.failure.policy == "all":
            lines += [
                "# --ties all: every tied maximum marked (the notebook's convention) passes, and",
                "# so does exactly one True (1), on any of them",
                "if not np.array_equal(mask, maximal) and not one:",
            ]
        else:
            lines += [
                "# --ties subgradient: exactly one True (1), on any of the tied maxima",
                "if not one:",
            ]
        return lines + [
            "    print(f'maxima of x: {cells(maximal)}')",
            "    print(f'entries the mask marks: {entries(mask)}')",
            "    fail('the mask must hold exactly one True, on a maximal entry')",
        ]

    def rejects_mode(self) -> list[str]:
        """pool_forward with an unknown mode must raise."""
        self.use("describe", "fail")
        return [
            "try:",
            "    result = impl.pool_forward(A_prev, hparameters, mode=mode)",
            "except (Exception, SystemExit):",
            "    pass  # an error, as there must be for an unknown mode",
            "else:",
            "    fail(f'pool_forward(mode={mode!r}) returned {describe(result)} instead of '",
            "         'raising an error for the unknown mode')",
        ]

    def source(self, loader: str) -> str:
        failure, p = self.failure, self.problem
        if (
            failure.kind == "value"
            and failure.function == "pool_forward"
            and isinstance(p, PoolProblem)
            and p.mode not in ("max", "average")
        ):
            body = self.rejects_mode()
        elif (
            failure.kind == "value"
            and failure.function == "pool_backward"
            and isinstance(p, PoolProblem)
            and p.mode == "max"
            and failure.policy in ("subgradient", "all")
            and ties.has_ties(p.A_prev, p.geometry)
        ):
            body = self.tied_windows()
        else:
            body = self.calls() + self.verdict()
        if self.timeout is not None and failure.kind == "timeout":
            self.imports |= {"import os", "import signal"}
        message = " ".join(failure.message.split())
        head = sorted(self.imports - {"import numpy as np"}) + ["import numpy as np"]
        lines = [*head, loader, ""]
        for name in self.helpers:
            lines += ["", _HELPERS[name].strip(), ""]
        if self.timeout is not None and failure.kind == "timeout":
            lines += [
                "",
                "def on_alarm(signum, frame):",
                f"    print('{self.timeout[0]}() did not return within {self.timeout[1]:g} s', "
                "flush=True)",
                "    os._exit(1)",
                "",
                "",
                "def time_limit(seconds):  # SIGALRM: not on Windows; a hang in C code goes on",
                "    if hasattr(signal, 'setitimer'):",
                "        signal.signal(signal.SIGALRM, on_alarm)",
                "        signal.setitimer(signal.ITIMER_REAL, seconds)",
            ]
        lines += ["", f"# refconv check (ties: {failure.policy}): {message}", self.problem_source()]
        lines += self.parameters()
        lines += ["", *body]
        return "\n".join(lines).replace("\n\n\n\n", "\n\n\n").strip() + "\n"


def repro_snippet(failure: ConformanceFailure, loader: str, has_forward: bool = True) -> str:
    """Standalone Python that re-runs the failing calls on the counterexample, as refconv check
    made them. When the failure reproduces, it prints what differs (the worst value and where,
    with the allowed error; the shape or type; the exception; the changed input; where a tied
    window's gradient goes) and exits with status 1; on an implementation that conforms on this
    input it runs silently to the end.

    ``loader`` binds ``impl`` (a target's ``repro_loader()``); ``has_forward``: whether the
    target defines the forward a backward's cache comes from.
    """
    return Snippet(failure, has_forward).source(loader)


def _bound_source(bound: Any) -> str:
    """An allowed error: one number when it is the same everywhere, else an array literal."""
    bound = np.asarray(bound, dtype=np.float64)
    if bound.size and np.all(bound == bound.flat[0]):
        return repr(float(bound.flat[0]))
    return array_source(np.array(bound, dtype=np.float64, order="C"))  # a fresh copy
