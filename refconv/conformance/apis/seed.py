"""The seed profile: the "Convolution model - Step by Step" notebook's eight functions.

NHWC arrays, ``W`` of shape ``(f, f, n_C_prev, n_C)``, ``b`` of shape ``(1, 1, 1, n_C)``,
``hparameters`` dicts and cache tuples (README "The contract"). Expected values come from the
oracle (:mod:`refconv.oracle`) for conv and pooling and from plain NumPy expressions for the
helpers; the allowed error from :mod:`refconv.conformance.tolerance`; the problems from
:mod:`refconv.strategies`; the corpus from :mod:`refconv.conformance.corpus`; the diagnoses from
:mod:`refconv.conformance.diagnose`; the snippets from :mod:`refconv.conformance.snippets`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st

from refconv import SEED_FUNCTIONS, oracle, strategies
from refconv.conformance import diagnose, snippets, ties
from refconv.conformance.apis import Api
from refconv.conformance.corpus import corpus
from refconv.conformance.guard import (
    ConformanceFailure,
    Context,
    as_output,
    call,
    judge,
    kind_of,
    own_cache,
    pair,
    start,
)
from refconv.conformance.tolerance import compare, dot_bound, working_dtype
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
from refconv.strategies._choices import Draw, composite
from refconv.strategies._layouts import draw_input_layout


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
        np.sum(np.abs(a64 * w64)) + np.abs(b64.reshape(())), a.size + 1, working_dtype(a, w, b)
    )
    judge(ctx, "conv_single_step", problem, [("Z", actual, expected, bound)])


def _conv_expected_forward(problem: ConvProblem) -> tuple[np.ndarray, np.ndarray]:
    A, W, b = (x.astype(np.float64) for x in (problem.A_prev, problem.W, problem.b))
    expected = oracle.conv_forward(A, W, b, problem.stride, problem.pad)
    geometry = problem.geometry
    magnitude = conv2d_forward(np.abs(A), np.abs(W), np.abs(b).reshape(-1), geometry)
    f, _, c_in, _ = W.shape
    bound = dot_bound(
        magnitude, f * f * c_in + 1, working_dtype(problem.A_prev, problem.W, problem.b)
    )
    return expected, bound


def check_conv_forward(impl: Any, problem: ConvProblem, ctx: Context) -> None:
    finish = start(ctx, impl, "conv_forward", _conv_forward_args(problem), problem)
    expected, bound = _conv_expected_forward(problem)  # while the target runs
    result = pair(ctx, "conv_forward", finish(), problem, "must return (Z, cache)")
    actual = as_output(ctx, "conv_forward", "Z", result[0], problem.out_shape, problem)
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


def check_conv_backward(impl: Any, problem: ConvProblem, ctx: Context) -> None:
    seed_cache = (problem.A_prev, problem.W, problem.b, problem.hparameters)
    args = _conv_forward_args(problem)
    cache = own_cache(ctx, impl, "conv_forward", args, seed_cache, problem, "conv_backward")
    finish = start(ctx, impl, "conv_backward", [("dZ", problem.dZ), ("cache", cache)], problem)
    expected, bounds = _conv_expected_backward(problem)  # while the target runs
    result = finish()
    if not isinstance(result, tuple) or len(result) != 3:
        raise ConformanceFailure(
            "conv_backward",
            "type",
            f"must return (dA_prev, dW, db), got {kind_of(result)}",
            problem,
            ctx.policy,
        )
    shapes = {
        "dA_prev": problem.A_prev.shape,
        "dW": problem.W.shape,
        "db": (1, 1, 1, problem.W.shape[3]),
    }
    actual = [
        as_output(ctx, "conv_backward", n, r, shapes[n], problem)
        for n, r in zip(shapes, result, strict=True)
    ]
    judge(ctx, "conv_backward", problem, list(zip(shapes, actual, expected, bounds, strict=True)))


def _conv_expected_backward(problem: ConvProblem) -> tuple[Any, list[np.ndarray]]:
    """The oracle's ``(dA_prev, dW, db)`` and the allowed error of each."""
    A, W, b, dZ = (x.astype(np.float64) for x in (problem.A_prev, problem.W, problem.b, problem.dZ))
    expected = oracle.conv_backward(dZ, A, W, b, problem.stride, problem.pad)
    dx_mag, dw_mag, db_mag = conv2d_backward(np.abs(dZ), np.abs(A), np.abs(W), problem.geometry)
    dtype = working_dtype(problem.A_prev, problem.W, problem.b, problem.dZ)
    f, c_out = W.shape[0], W.shape[3]
    n_positions = int(np.prod(problem.out_shape[:3]))
    bounds = [
        dot_bound(dx_mag, f * f * c_out, dtype),
        dot_bound(dw_mag, n_positions, dtype),
        dot_bound(db_mag.reshape(1, 1, 1, -1), n_positions, dtype),
    ]
    return expected, bounds


def _pool_expected_forward(problem: PoolProblem) -> tuple[np.ndarray, np.ndarray | float]:
    A = problem.A_prev.astype(np.float64)
    expected = oracle.pool_forward(A, problem.f, problem.stride, problem.mode)
    if problem.mode == "max":
        return expected, 0.0  # a selection: exact
    magnitude = avg_pool2d_forward(np.abs(A), problem.geometry, problem.f**2)
    return expected, dot_bound(magnitude, problem.f**2 + 1, working_dtype(problem.A_prev))


def check_pool_forward(impl: Any, problem: PoolProblem, ctx: Context) -> None:
    if problem.mode not in ("max", "average"):
        _check_rejects_mode(impl, problem, ctx)
        return
    finish = start(ctx, impl, "pool_forward", _pool_forward_args(problem), problem)
    expected, bound = _pool_expected_forward(problem)  # while the target runs
    result = pair(ctx, "pool_forward", finish(), problem, "must return (A, cache)")
    actual = as_output(ctx, "pool_forward", "A", result[0], problem.out_shape, problem)
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
        f"pool_forward(mode={problem.mode!r}) returned {kind_of(result)} instead of raising "
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
        np.abs(problem.dA.astype(np.float64)), problem.A_prev.shape, problem.geometry, 1.0
    )
    if problem.mode == "average":
        spread = spread / problem.f**2
        covering += 1
    return dot_bound(spread, covering, working_dtype(problem.A_prev, problem.dA))


def run_pool_backward(
    impl: Any, problem: PoolProblem, ctx: Context, dA: np.ndarray | None = None
) -> np.ndarray:
    """The implementation's dA_prev for ``problem`` (optionally with another upstream ``dA``)."""
    return _start_pool_backward(impl, problem, ctx, dA)()


def _start_pool_backward(
    impl: Any, problem: PoolProblem, ctx: Context, dA: np.ndarray | None = None
) -> Callable[[], np.ndarray]:
    """:func:`run_pool_backward`, started (see :func:`~refconv.conformance.guard.start`)."""
    dA = problem.dA if dA is None else dA
    seed_cache = (problem.A_prev, problem.hparameters)
    args = _pool_forward_args(problem)
    cache = own_cache(ctx, impl, "pool_forward", args, seed_cache, problem, "pool_backward")
    finish = start(
        ctx,
        impl,
        "pool_backward",
        [("dA", dA), ("cache", cache), ("mode", problem.mode)],
        problem,
    )
    return lambda: as_output(
        ctx, "pool_backward", "dA_prev", finish(), problem.A_prev.shape, problem
    )


def check_pool_backward(impl: Any, problem: PoolProblem, ctx: Context) -> None:
    finish = _start_pool_backward(impl, problem, ctx)
    bound = _pool_backward_bound(problem)  # while the target runs
    A, dA = problem.A_prev.astype(np.float64), problem.dA.astype(np.float64)
    geometry = problem.geometry
    tied = problem.mode == "max" and ctx.policy != "torch" and ties.has_ties(A, geometry)
    expected = (
        None if tied else oracle.pool_backward(dA, A, problem.f, problem.stride, problem.mode)
    )
    actual = finish()
    if tied:
        if ctx.policy == "all":
            # the notebook's convention, or else any subgradient (torch's rule included)
            notebook = ties.all_ties_gradient(A, geometry, dA)
            if compare("dA_prev", actual, notebook, bound) is None:
                return
        ties.check_subgradient(
            ctx,
            "pool_backward",
            problem,
            A,
            geometry,
            problem.dA,
            actual,
            bound,
            lambda probe: run_pool_backward(impl, problem, ctx, probe),
        )
        return
    judge(ctx, "pool_backward", problem, [("dA_prev", actual, expected, bound)])


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


# --- the problems


def _integer_input(draw: Draw, problem: Any) -> Any:
    """Sometimes pass integer-valued input data as an integer array (the seed accepts ints).

    Only the layer input is converted, never the upstream gradient: an implementation that
    allocates its gradient with ``np.zeros_like(A_prev)`` then truncates it, a real bug.
    """
    if isinstance(problem, (ConvProblem, PoolProblem)):
        A = problem.A_prev
        if A.dtype.kind == "f" and np.all(np.isfinite(A)) and np.all(A == np.round(A)):
            if draw.boolean():
                fields = dict(problem.__dict__)
                fields["A_prev"] = A.astype(np.int64)
                return type(problem)(**fields)
    return problem


@composite
def _as_callers_pass_them(draw: Draw, base: st.SearchStrategy[Any]) -> Any:
    """A problem of ``base``, its input sometimes as integers, in one of the memory layouts
    real callers pass (Fortran order, negative strides, slices, read-only arrays)."""
    return draw_input_layout(draw, _integer_input(draw, draw(base)))


def problem_strategy(function: str) -> st.SearchStrategy[Any]:
    """Problems that exercise ``function`` (float64 data, no NaN: the seed API's domain)."""
    # Shapes stay small: a plain-loop student implementation is checked in seconds, and
    # shrinking a failure is quick. refconv's own property suite explores larger ones.
    conv = {"max_batch": 2, "max_side": 6, "max_channels": 3, "max_f": 4, "max_pad": 2}
    pool = {"max_batch": 2, "max_side": 6, "max_channels": 3, "max_f": 4}
    base = {
        "zero_pad": lambda: strategies.pad_problems(max_batch=2, max_side=5),
        "conv_single_step": strategies.single_step_problems,
        "conv_forward": lambda: strategies.conv_problems(**conv, gradient=False),
        "conv_backward": lambda: strategies.conv_problems(**conv),
        "pool_forward": lambda: strategies.pool_problems(**pool, gradient=False),
        "pool_backward": lambda: strategies.pool_problems(**pool),
        "create_mask_from_window": strategies.window_problems,
        "distribute_value": strategies.distribute_problems,
    }[function]()
    return _as_callers_pass_them(base)


SEED = Api(
    name="seed",
    title='the seed API ("Convolution model - Step by Step", NHWC)',
    functions=SEED_FUNCTIONS,
    checks=CHECKS,
    problems=problem_strategy,
    corpus=corpus,
    explain=diagnose.explain,
    repro=snippets.repro_snippet,
    forwards={"conv_backward": "conv_forward", "pool_backward": "pool_forward"},
    # Functions whose failure usually follows from a failing helper they call (notebook
    # structure).
    helpers={
        "conv_forward": ("zero_pad", "conv_single_step"),
        "conv_backward": ("zero_pad",),
        "pool_backward": ("create_mask_from_window", "distribute_value"),
    },
    # Rough relative cost of checking each function (plain-loop implementations).
    cost={
        "conv_backward": 8,
        "pool_backward": 7,
        "conv_forward": 6,
        "pool_forward": 5,
        "zero_pad": 2,
        "conv_single_step": 1,
        "create_mask_from_window": 1,
        "distribute_value": 1,
    },
    layout="NHWC",
    unused_inputs={"conv_forward": ("dZ",), "pool_forward": ("dA",)},
    contract="The contract",
    oracle_free=("zero_pad", "conv_single_step", "create_mask_from_window", "distribute_value"),
)
