"""One conformance check per seed function: call the implementation black-box, judge the result.

A check takes an implementation (any object with some of the eight seed functions as attributes:
refconv itself, refconv.stepwise, a student's module), one problem from
:mod:`refconv.strategies`, and a tie policy. It returns silently when the implementation
conforms and raises :class:`ConformanceFailure` otherwise. The same checks run in refconv's own
property suite (``properties/``), in ``refconv check`` and in the pytest plugin.

Expected values come from torch (:mod:`refconv.oracle`) for conv and pooling, and from plain NumPy
expressions for the helpers; the allowed error from :mod:`refconv.conformance.tolerance`.

User code is called through :mod:`refconv.conformance.calls` (in this process for trusted code,
through the executor for a user's target): its exceptions, hangs (per-call timeout), crashes,
wrong return types, shapes and mutated inputs become failures of that function, never a crash
of the checker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from refconv import oracle
from refconv._executor.wire import Foreign
from refconv._windows import Geometry
from refconv.conformance.calls import Implementation, implementation
from refconv.conformance.tolerance import Mismatch, compare, dot_bound
from refconv.conv import conv2d_backward, conv2d_forward
from refconv.pool import avg_pool2d_backward, avg_pool2d_forward
from refconv.problems import (
    ConvProblem,
    DistributeProblem,
    PadProblem,
    PoolProblem,
    SingleStepProblem,
    WindowProblem,
)

TIE_POLICIES = ("torch", "subgradient", "all")
TIE_POLICY_TEXT = {
    "torch": "torch's rule: the whole gradient goes to the first maximum in row-major order",
    "subgradient": "a subgradient: each window's gradient split over its maximal positions",
    "all": "the notebook's convention (every tied maximum receives the full gradient) or any "
    "subgradient, torch's rule included",
}

#: Default per-call timeout in seconds for user code.
DEFAULT_TIMEOUT = 10.0


@dataclass
class ConformanceFailure(AssertionError):
    """An implementation did not conform on one problem.

    Attributes
    ----------
    function : the seed function that failed
    kind : "exception", "timeout", "crash", "mutation", "type", "shape" or "value"
    message : one-line statement of what is wrong
    problem : the problem (inputs) it failed on
    mismatch : the worst entry, for "value" failures
    expected, actual : the compared arrays by output name (for reports and diagnosis)
    details : user traceback or printed output, when any
    notes : extra lines (diagnosis, tie analysis) filled in after shrinking
    """

    function: str
    kind: str
    message: str
    problem: Any = None
    policy: str = "torch"
    mismatch: Mismatch | None = None
    expected: dict[str, Any] = field(default_factory=dict)
    actual: dict[str, Any] = field(default_factory=dict)
    details: str = ""
    exception: BaseException | None = None
    diagnosis: str | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        head = f"{self.function}: {self.message}"
        if self.mismatch is not None:
            head += f"\n  {self.mismatch.describe()}"
        if self.diagnosis:
            head += f"\n  diagnosis: {self.diagnosis}"
        return head

    __hash__ = object.__hash__

    def __reduce__(self) -> tuple[Any, ...]:
        # An exception pickles as ``cls(*self.args)``, which lacks this dataclass's required
        # fields: rebuild it from all of them (worker processes of ``run_all`` send failures back).
        return (type(self), tuple(getattr(self, f.name) for f in fields(self)))


@dataclass
class Context:
    """How a check calls user code, and the advice it collects.

    ``strict``: behaviour outside the seed API's contract (README "The contract") fails instead
    of being recorded in ``advice`` as ``(topic, text)``.
    """

    policy: str = "torch"
    timeout: float | None = DEFAULT_TIMEOUT
    strict: bool = False
    advice: list[tuple[str, str]] = field(default_factory=list)


def call(
    ctx: Context,
    impl: Implementation,
    function: str,
    args: list[tuple[str, Any]],
    problem: Any,
    *,
    checked: str | None = None,
) -> Any:
    """Call ``impl.<function>(*values)`` guarded; raise a failure of ``checked`` (default
    ``function``) for a timeout, a crash, an exception or a mutated input."""
    checked = checked or function
    outcome = impl.invoke(function, args, ctx.timeout)
    if outcome.timed_out:
        raise ConformanceFailure(
            checked,
            "timeout",
            f"{function}() did not return within {ctx.timeout:g} s (infinite loop?)",
            problem,
            ctx.policy,
            details=outcome.printed[-2000:],
        )
    if outcome.crash:
        raise ConformanceFailure(
            checked,
            "crash",
            f"{function}(): {outcome.crash}",
            problem,
            ctx.policy,
            details=outcome.printed[-2000:],
        )
    if outcome.exception is not None:
        exc = outcome.exception
        message = f"{function}() raised {type(exc).__name__}: {exc}".splitlines()[0]
        raise ConformanceFailure(
            checked,
            "exception",
            message,
            problem,
            ctx.policy,
            details=outcome.traceback,
            exception=exc,
        )
    originals = dict(args)
    for name, value in outcome.mutated:
        original = originals.get(name)
        raise ConformanceFailure(
            checked,
            "mutation",
            f"{function}() modified its input {name} in place",
            problem,
            ctx.policy,
            expected={name: original} if isinstance(original, np.ndarray) else {},
            actual={name: value} if isinstance(value, np.ndarray) else {},
        )
    return outcome.value


def as_output(
    ctx: Context, function: str, name: str, value: Any, shape: tuple[int, ...], problem: Any
) -> np.ndarray:
    """The output ``name`` as a float64 array, after checking its type and shape."""
    if not isinstance(value, (np.ndarray, np.generic)) or value.dtype.kind not in "biuf":
        raise ConformanceFailure(
            function,
            "type",
            f"{name} must be a real NumPy array of shape {shape}, got {_kind_of(value)}",
            problem,
            ctx.policy,
        )
    if value.shape != tuple(shape):
        raise ConformanceFailure(
            function,
            "shape",
            f"{name} has shape {value.shape}, expected {tuple(shape)}",
            problem,
            ctx.policy,
            actual={name: np.asarray(value)},
        )
    return np.asarray(value)


def _kind_of(value: Any) -> str:
    if isinstance(value, Foreign):
        return f"an object of type {value.type_name}: {value.text}"[:160]
    if isinstance(value, (np.ndarray, np.generic)):
        return f"{type(value).__name__} of dtype {value.dtype} and shape {np.shape(value)}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of length {len(value)}"
    return f"{type(value).__name__} {value!r}"[:120]


def judge(
    ctx: Context,
    function: str,
    problem: Any,
    outputs: list[tuple[str, np.ndarray, np.ndarray, np.ndarray | float]],
) -> None:
    """Compare each ``(name, actual, expected, bound)``; raise on the first violation."""
    for name, actual, expected, bound in outputs:
        mismatch = compare(name, actual, expected, bound)
        if mismatch is not None:
            raise ConformanceFailure(
                function,
                "value",
                f"wrong values in {name}",
                problem,
                ctx.policy,
                mismatch=mismatch,
                expected={n: e for n, _, e, _ in outputs},
                actual={n: a for n, a, _, _ in outputs},
            )


def defines(impl: Any, function: str) -> bool:
    """Whether ``impl`` (any object, or an :class:`Implementation`) defines ``function``."""
    return implementation(impl).present(function)


# --- tie handling for max pooling


def _pool_geometry(problem: PoolProblem) -> Geometry:
    _, h, w, _ = problem.A_prev.shape
    return Geometry(h, w, (problem.f, problem.f), (problem.stride, problem.stride), (0, 0, 0, 0))


def window_max_sets(problem: PoolProblem) -> np.ndarray:
    """Boolean ``(m, n_H, n_W, f, f, C)``: which cells of each window hold its maximum."""
    geometry = _pool_geometry(problem)
    windows = geometry.windows(np.asarray(problem.A_prev, dtype=np.float64))
    return windows == windows.max(axis=(3, 4), keepdims=True)


def first_maximum(max_sets: np.ndarray, last: bool = False) -> np.ndarray:
    """One True per window at its first (or last) maximal cell, shape of ``max_sets``."""
    m, n_h, n_w, f, _, c = max_sets.shape
    flat = np.ascontiguousarray(max_sets).reshape(m, n_h, n_w, f * f, c)
    index = np.argmax(flat[:, :, :, ::-1] if last else flat, axis=3)
    if last:
        index = f * f - 1 - index
    mask = np.zeros(flat.shape, dtype=bool)
    np.put_along_axis(mask, index[:, :, :, None, :], True, axis=3)
    return mask.reshape(max_sets.shape)


def has_ties(problem: PoolProblem) -> bool:
    """Whether some max-pooling window has a tied maximum (the policies only differ there)."""
    return bool((window_max_sets(problem).sum(axis=(3, 4)) > 1).any())


def scatter_windows(problem: PoolProblem, weights: np.ndarray) -> np.ndarray:
    """Sum over windows of ``weights`` (m, n_H, n_W, f, f, C) placed at the window cells."""
    geometry = _pool_geometry(problem)
    out = np.zeros(problem.A_prev.shape, dtype=np.float64)
    for k, index in geometry.offsets():
        out[index] += weights[:, :, :, k // problem.f, k % problem.f, :]
    return out


def all_ties_gradient(problem: PoolProblem) -> np.ndarray:
    """The notebook's convention: every tied maximum of a window receives its full dA."""
    weights = window_max_sets(problem) * problem.dA[:, :, :, None, None, :]
    return scatter_windows(problem, weights)


# --- the checks


def _eps_dtype(*arrays: np.ndarray) -> np.dtype:
    """Precision the implementation is expected to keep: float32 only for all-float32 inputs."""
    kinds = [a.dtype for a in arrays if a.dtype.kind == "f"]
    return (
        np.dtype(np.float32)
        if kinds and all(d == np.float32 for d in kinds)
        else np.dtype(np.float64)
    )


def check_zero_pad(impl: Any, problem: PadProblem, ctx: Context) -> None:
    result = call(ctx, impl, "zero_pad", [("X", problem.X), ("pad", problem.pad)], problem)
    p = problem.pad
    expected = np.pad(problem.X, ((0, 0), (p, p), (p, p), (0, 0)))
    actual = as_output(ctx, "zero_pad", "X_pad", result, expected.shape, problem)
    judge(ctx, "zero_pad", problem, [("X_pad", actual, expected, 0.0)])


def check_conv_single_step(impl: Any, problem: SingleStepProblem, ctx: Context) -> None:
    a, w, b = problem.a_slice_prev, problem.W, problem.b
    result = call(
        ctx,
        impl,
        "conv_single_step",
        [("a_slice_prev", a), ("W", w), ("b", b)],
        problem,
    )
    if isinstance(result, (float, int)) and not isinstance(result, bool):
        result = np.float64(result)
    actual = as_output(ctx, "conv_single_step", "Z", result, (), problem)
    a64, w64, b64 = (x.astype(np.float64) for x in (a, w, b))
    expected = np.sum(a64 * w64) + b64.reshape(())
    bound = dot_bound(
        np.sum(np.abs(a64 * w64)) + np.abs(b64.reshape(())), a.size + 1, _eps_dtype(a, w, b)
    )
    judge(ctx, "conv_single_step", problem, [("Z", actual, expected, bound)])


def _conv_expected_forward(problem: ConvProblem) -> tuple[np.ndarray, np.ndarray]:
    A, W, b = (x.astype(np.float64) for x in (problem.A_prev, problem.W, problem.b))
    expected = oracle.conv_forward(A, W, b, problem.stride, problem.pad)
    geometry = _conv_geometry(problem)
    magnitude = conv2d_forward(np.abs(A), np.abs(W), np.abs(b).reshape(-1), geometry)
    f, _, c_in, _ = W.shape
    bound = dot_bound(magnitude, f * f * c_in + 1, _eps_dtype(problem.A_prev, problem.W, problem.b))
    return expected, bound


def _conv_geometry(problem: ConvProblem) -> Geometry:
    _, h, w, _ = problem.A_prev.shape
    f, p, s = problem.W.shape[0], problem.pad, problem.stride
    return Geometry(h, w, (f, f), (s, s), (p, p, p, p))


def check_conv_forward(impl: Any, problem: ConvProblem, ctx: Context) -> None:
    result = call(ctx, impl, "conv_forward", _conv_forward_args(problem), problem)
    result = _pair(ctx, "conv_forward", result, problem, "must return (Z, cache)")
    actual = as_output(ctx, "conv_forward", "Z", result[0], problem.out_shape, problem)
    expected, bound = _conv_expected_forward(problem)
    judge(ctx, "conv_forward", problem, [("Z", actual, expected, bound)])


def _conv_forward_args(problem: ConvProblem) -> list[tuple[str, Any]]:
    """The arguments of ``conv_forward``, named for mutation reports."""
    return [
        ("A_prev", problem.A_prev),
        ("W", problem.W),
        ("b", problem.b),
        ("hparameters", problem.hparameters),
    ]


def _pool_forward_args(problem: PoolProblem) -> list[tuple[str, Any]]:
    """The arguments of ``pool_forward``, named for mutation reports."""
    return [
        ("A_prev", problem.A_prev),
        ("hparameters", problem.hparameters),
        ("mode", problem.mode),
    ]


def _pair(ctx: Context, checked: str, result: Any, problem: Any, expected: str) -> tuple:
    """A forward's ``(output, cache)`` result, or a "type" failure of ``checked``."""
    if not isinstance(result, tuple) or len(result) != 2:
        raise ConformanceFailure(
            checked, "type", f"{expected}, got {_kind_of(result)}", problem, ctx.policy
        )
    return result


def own_cache(
    ctx: Context,
    impl: Any,
    forward: str,
    args: list[tuple[str, Any]],
    seed_cache: tuple,
    problem: Any,
    checked: str,
) -> Any:
    """The implementation's own forward cache; the seed's layout when it has no usable forward.

    A forward that raises, hangs or mutates its inputs is judged by its own check; the backward
    then gets the seed's cache layout so that it is judged on its own. A forward that returns
    something other than an ``(output, cache)`` pair fails the backward check too.
    """
    if not impl.present(forward):
        return seed_cache
    try:
        result = call(ctx, impl, forward, args, problem, checked=checked)
    except ConformanceFailure as failure:
        if failure.kind not in ("exception", "timeout", "crash", "mutation"):
            raise
        # The forward is broken (and fails its own check); judge the backward on its own, fed
        # the cache in the seed's documented layout.
        return seed_cache
    expected = f"{forward}() must return (output, cache) for the backward pass"
    # The cache goes back to the backward as the implementation's own object (through the
    # executor it never leaves the target's process).
    return impl.kept(forward, _pair(ctx, checked, result, problem, expected), 1)


def check_conv_backward(impl: Any, problem: ConvProblem, ctx: Context) -> None:
    seed_cache = (problem.A_prev, problem.W, problem.b, problem.hparameters)
    args = _conv_forward_args(problem)
    cache = own_cache(ctx, impl, "conv_forward", args, seed_cache, problem, "conv_backward")
    result = call(ctx, impl, "conv_backward", [("dZ", problem.dZ), ("cache", cache)], problem)
    if not isinstance(result, tuple) or len(result) != 3:
        raise ConformanceFailure(
            "conv_backward",
            "type",
            f"must return (dA_prev, dW, db), got {_kind_of(result)}",
            problem,
            ctx.policy,
        )
    A, W, b, dZ = (x.astype(np.float64) for x in (problem.A_prev, problem.W, problem.b, problem.dZ))
    c_out = W.shape[3]
    shapes = {"dA_prev": A.shape, "dW": W.shape, "db": (1, 1, 1, c_out)}
    actual = [
        as_output(ctx, "conv_backward", n, r, shapes[n], problem)
        for n, r in zip(shapes, result, strict=True)
    ]
    expected = oracle.conv_backward(dZ, A, W, b, problem.stride, problem.pad)
    geometry = _conv_geometry(problem)
    dx_mag, dw_mag, db_mag = conv2d_backward(np.abs(dZ), np.abs(A), np.abs(W), geometry)
    dtype = _eps_dtype(problem.A_prev, problem.W, problem.b, problem.dZ)
    f = W.shape[0]
    n_positions = int(np.prod(problem.out_shape[:3]))
    bounds = [
        dot_bound(dx_mag, f * f * c_out, dtype),
        dot_bound(dw_mag, n_positions, dtype),
        dot_bound(db_mag.reshape(1, 1, 1, -1), n_positions, dtype),
    ]
    judge(ctx, "conv_backward", problem, list(zip(shapes, actual, expected, bounds, strict=True)))


def _pool_expected_forward(problem: PoolProblem) -> tuple[np.ndarray, np.ndarray | float]:
    A = problem.A_prev.astype(np.float64)
    expected = oracle.pool_forward(A, problem.f, problem.stride, problem.mode)
    if problem.mode == "max":
        return expected, 0.0  # a selection: exact
    magnitude = avg_pool2d_forward(np.abs(A), _pool_geometry(problem), problem.f**2)
    return expected, dot_bound(magnitude, problem.f**2 + 1, _eps_dtype(problem.A_prev))


def check_pool_forward(impl: Any, problem: PoolProblem, ctx: Context) -> None:
    if problem.mode not in ("max", "average"):
        _check_rejects_mode(impl, problem, ctx)
        return
    result = call(ctx, impl, "pool_forward", _pool_forward_args(problem), problem)
    result = _pair(ctx, "pool_forward", result, problem, "must return (A, cache)")
    actual = as_output(ctx, "pool_forward", "A", result[0], problem.out_shape, problem)
    expected, bound = _pool_expected_forward(problem)
    judge(ctx, "pool_forward", problem, [("A", actual, expected, bound)])


def _check_rejects_mode(impl: Any, problem: PoolProblem, ctx: Context) -> None:
    """An unknown mode should raise, not return an array (the notebook's if/elif silently
    returned zeros). The seed API never promised an error: advice, a failure only if strict."""
    try:
        result = call(ctx, impl, "pool_forward", _pool_forward_args(problem), problem)
    except ConformanceFailure as failure:
        if failure.kind == "exception":
            return
        raise
    message = (
        f"pool_forward(mode={problem.mode!r}) returned {_kind_of(result)} instead of raising "
        "an error for the unknown mode"
    )
    if not ctx.strict:
        ctx.advice.append(("unknown mode", message + ": raise ValueError for it"))
        return
    raise ConformanceFailure("pool_forward", "value", message, problem, ctx.policy)


def _pool_backward_bound(problem: PoolProblem) -> np.ndarray:
    """Accumulation bound: n = windows covering a cell, magnitude = their |dA| (superset)."""
    covering = (-(-problem.f // problem.stride)) ** 2  # ceil(f / stride) windows per axis
    spread = avg_pool2d_backward(
        np.abs(problem.dA.astype(np.float64)), problem.A_prev.shape, _pool_geometry(problem), 1.0
    )
    if problem.mode == "average":
        spread = spread / problem.f**2
        covering += 1
    return dot_bound(spread, covering, _eps_dtype(problem.A_prev, problem.dA))


def run_pool_backward(
    impl: Any, problem: PoolProblem, ctx: Context, dA: np.ndarray | None = None
) -> np.ndarray:
    """The implementation's dA_prev for ``problem`` (optionally with another upstream ``dA``)."""
    dA = problem.dA if dA is None else dA
    seed_cache = (problem.A_prev, problem.hparameters)
    args = _pool_forward_args(problem)
    cache = own_cache(ctx, impl, "pool_forward", args, seed_cache, problem, "pool_backward")
    result = call(
        ctx,
        impl,
        "pool_backward",
        [("dA", dA), ("cache", cache), ("mode", problem.mode)],
        problem,
    )
    return as_output(ctx, "pool_backward", "dA_prev", result, problem.A_prev.shape, problem)


def check_pool_backward(impl: Any, problem: PoolProblem, ctx: Context) -> None:
    actual = run_pool_backward(impl, problem, ctx)
    bound = _pool_backward_bound(problem)
    A, dA = problem.A_prev.astype(np.float64), problem.dA.astype(np.float64)
    if problem.mode == "max" and ctx.policy != "torch" and has_ties(problem):
        if ctx.policy == "all":
            # the notebook's convention, or else any subgradient (torch's rule included)
            notebook = all_ties_gradient(problem)
            if compare("dA_prev", actual, notebook, bound) is None:
                return
        _check_subgradient(impl, problem, ctx, actual, bound)
        return
    expected = oracle.pool_backward(dA, A, problem.f, problem.stride, problem.mode)
    judge(ctx, "pool_backward", problem, [("dA_prev", actual, expected, bound)])


def _check_subgradient(
    impl: Any, problem: PoolProblem, ctx: Context, actual: np.ndarray, bound: np.ndarray
) -> None:
    """Each window's gradient lies on its maximal cells with total mass dA (one-hot probes).

    Windows without ties have one maximal cell, so there the gradient is torch's; each tied
    window is probed with a one-hot dA (backward is linear in dA), and the random-dA result must
    be the dA-weighted sum of the probes.
    """
    max_sets = window_max_sets(problem)
    tied = max_sets.sum(axis=(3, 4)) > 1  # (m, n_H, n_W, C)
    f = problem.f
    untied_weights = np.where(
        tied[:, :, :, None, None, :],
        0.0,
        first_maximum(max_sets) * problem.dA[:, :, :, None, None, :],
    )
    combined = scatter_windows(problem, untied_weights)
    for position in zip(*np.nonzero(tied), strict=True):
        probe = np.zeros(problem.dA.shape, dtype=problem.dA.dtype)
        probe[position] = 1
        response = run_pool_backward(impl, problem, ctx, probe)
        i, h, w, c = position
        allowed = np.zeros(problem.A_prev.shape, dtype=bool)
        rows = slice(h * problem.stride, h * problem.stride + f)
        cols = slice(w * problem.stride, w * problem.stride + f)
        allowed[i, rows, cols, c] = max_sets[i, h, w, :, :, c]
        outside = np.abs(np.where(allowed, 0.0, response)).max()
        mass = response.sum()
        if outside > 0 or abs(mass - 1) > 1e-12:
            raise ConformanceFailure(
                "pool_backward",
                "value",
                f"with dA one-hot at {tuple(map(int, position))}, the gradient is "
                + ("neither the notebook's convention nor " if ctx.policy == "all" else "not ")
                + f"a subgradient: mass {mass:.6g} (must be 1), {outside:.3g} placed off the "
                "window's maximal cells",
                problem,
                ctx.policy,
                expected={"allowed_cells": allowed.astype(np.float64)},
                actual={"dA_prev (one-hot probe)": response},
            )
        combined += problem.dA[position] * response
    judge(ctx, "pool_backward", problem, [("dA_prev", actual, combined, bound)])


def check_create_mask_from_window(impl: Any, problem: WindowProblem, ctx: Context) -> None:
    x = problem.x
    result = call(ctx, impl, "create_mask_from_window", [("x", x)], problem)
    actual = as_output(ctx, "create_mask_from_window", "mask", result, x.shape, problem)
    x64 = x.astype(np.float64)
    is_max = x64 == np.max(x64)
    flat = x64.reshape(-1)
    torch_mask = np.zeros(flat.shape, dtype=bool)
    nans = np.flatnonzero(np.isnan(flat))
    torch_mask[nans[-1] if nans.size else int(np.argmax(flat))] = True
    torch_mask = torch_mask.reshape(x.shape)
    ties = int(is_max.sum()) > 1
    if ctx.policy == "all" and ties and compare("mask", actual, is_max) is None:
        return  # the notebook's convention; otherwise any one maximal entry, as below
    if ctx.policy in ("all", "subgradient") and ties:
        marked = actual != 0
        if marked.sum() != 1 or not is_max[marked].all() or not np.all(actual[marked] == 1):
            raise ConformanceFailure(
                "create_mask_from_window",
                "value",
                "the mask must hold exactly one True, on a maximal entry",
                problem,
                ctx.policy,
                expected={"mask": torch_mask.astype(np.float64)},
                actual={"mask": actual},
                mismatch=compare("mask", actual, torch_mask),
            )
    else:
        judge(ctx, "create_mask_from_window", problem, [("mask", actual, torch_mask, 0.0)])


def check_distribute_value(impl: Any, problem: DistributeProblem, ctx: Context) -> None:
    shape = problem.shape
    result = call(
        ctx,
        impl,
        "distribute_value",
        [("dz", problem.dz), ("shape", shape)],
        problem,
    )
    actual = as_output(ctx, "distribute_value", "a", result, tuple(shape), problem)
    n = shape[0] * shape[1]
    expected = np.full(shape, float(problem.dz) / n)
    bound = dot_bound(np.full(shape, abs(float(problem.dz)) / n), 2, np.float64)
    judge(ctx, "distribute_value", problem, [("a", actual, expected, bound)])


CHECKS: dict[str, Callable[[Any, Any, Context], None]] = {
    "zero_pad": check_zero_pad,
    "conv_single_step": check_conv_single_step,
    "conv_forward": check_conv_forward,
    "conv_backward": check_conv_backward,
    "pool_forward": check_pool_forward,
    "create_mask_from_window": check_create_mask_from_window,
    "distribute_value": check_distribute_value,
    "pool_backward": check_pool_backward,
}


def _as_float(problem: Any) -> Any | None:
    """The same problem with its integer arrays as float64, or None if it has none."""
    fields = dict(problem.__dict__)
    converted = False
    for key, value in fields.items():
        if isinstance(value, np.ndarray) and value.dtype.kind in "iub":
            fields[key] = value.astype(np.float64)
            converted = True
    return type(problem)(**fields) if converted else None


def check(
    function: str,
    impl: Any,
    problem: Any,
    policy: str = "torch",
    timeout: float | None = DEFAULT_TIMEOUT,
    strict: bool = False,
) -> list[tuple[str, str]]:
    """Run the conformance check of ``function`` on one problem; raise ConformanceFailure.

    Returns the advice ``(topic, text)`` collected on the way: behaviour outside the seed API's
    contract, which fails only with ``strict``. Integer input is such behaviour: a failure on
    integer-valued input given as an int array is advice when the same values as float64 pass.
    """
    if function not in CHECKS:
        raise ValueError(f"function must be one of {sorted(CHECKS)}, got {function!r}")
    if policy not in TIE_POLICIES:
        raise ValueError(f"policy must be one of {TIE_POLICIES}, got {policy!r}")
    impl = implementation(impl)
    if not impl.present(function):
        raise ValueError(f"the implementation defines no {function}()")
    ctx = Context(policy=policy, timeout=timeout, strict=strict)
    try:
        CHECKS[function](impl, problem, ctx)
    except ConformanceFailure as failure:
        floats = None if strict or failure.kind in ("timeout", "crash") else _as_float(problem)
        if floats is None:
            raise
        CHECKS[function](impl, floats, ctx)  # in the contract: its failure is the verdict
        ctx.advice.append(
            (
                "integer input",
                f"{function} fails on integer input (an int array, {failure.message}) where "
                "the same values as floats pass: convert with np.asarray(x, dtype=float)",
            )
        )
    return ctx.advice
