"""The cs231n profile: CS231n assignment 2's naive conv and max-pool layers.

``conv_forward_naive(x, w, b, conv_param) -> (out, cache)``, ``conv_backward_naive(dout,
cache) -> (dx, dw, db)``, ``max_pool_forward_naive(x, pool_param) -> (out, cache)``,
``max_pool_backward_naive(dout, cache) -> dx``; NCHW, ``w`` of shape ``(F, C, HH, WW)``, ``b`` of
shape ``(F,)``, caches ``(x, w, b, conv_param)`` and ``(x, pool_param)`` as the skeleton fixes
them (README "The cs231n profile"). Problems come from :mod:`refconv.strategies.cs231n`;
expected values from the oracle's ``conv2d`` / ``max_pool2d``.

Each backward is judged twice on every problem: fed the cache of the target's own forward (as
the course's notebook runs it), and fed a cache the checker builds in the documented layout. A
forward bug that the backward compensates (a consistent but wrong pair) therefore still fails the
backward, and a backward that needs extra items in the cache is told so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from refconv import API_FUNCTIONS, oracle
from refconv import functional as F
from refconv.conformance import ties
from refconv.conformance.apis import Api
from refconv.conformance.apis import cs231n_diagnoses as diagnoses
from refconv.conformance.apis.cs231n_diagnoses import DOCUMENTED_CACHE, OWN_CACHE, nchw, nhwc
from refconv.conformance.guard import (
    ConformanceFailure,
    Context,
    as_output,
    judge,
    own_cache,
    pair,
    start,
)
from refconv.conformance.tolerance import compare, dot_bound, working_dtype
from refconv.problems import Cs231nConvProblem, Cs231nPoolProblem
from refconv.strategies import cs231n_conv_problems, cs231n_pool_problems

FUNCTIONS = API_FUNCTIONS["cs231n"]

FORWARDS = {
    "conv_backward_naive": "conv_forward_naive",
    "max_pool_backward_naive": "max_pool_forward_naive",
}
DOCUMENTED_LAYOUT = {
    "conv_backward_naive": "(x, w, b, conv_param)",
    "max_pool_backward_naive": "(x, pool_param)",
}


# --- convolution


def _conv_args(problem: Cs231nConvProblem) -> list[tuple[str, Any]]:
    return [
        ("x", problem.x),
        ("w", problem.w),
        ("b", problem.b),
        ("conv_param", problem.conv_param),
    ]


def _conv_kwargs(problem: Cs231nConvProblem) -> dict[str, Any]:
    return {"stride": problem.stride, "padding": problem.pad}


def check_conv_forward(impl: Any, problem: Cs231nConvProblem, ctx: Context) -> None:
    function = "conv_forward_naive"
    finish = start(ctx, impl, function, _conv_args(problem), problem)
    # the expected values while the target runs
    x, w, b = (a.astype(np.float64) for a in (problem.x, problem.w, problem.b))
    expected = oracle.functional("conv2d", (x, w, b), _conv_kwargs(problem))
    magnitude = F.conv2d(np.abs(x), np.abs(w), np.abs(b), **_conv_kwargs(problem))
    c, hh, ww = problem.w.shape[1:]
    dtype = working_dtype(problem.x, problem.w, problem.b)
    bound = dot_bound(magnitude, c * hh * ww + 1, dtype)
    result = pair(ctx, function, finish(), problem, "must return (out, cache)")
    actual = as_output(ctx, function, "out", result[0], problem.out_shape, problem)
    judge(ctx, function, problem, [("out", actual, expected, bound)])


def _conv_backward_expected(problem: Cs231nConvProblem) -> list[tuple[str, Any, Any]]:
    x, w, b, dout = (a.astype(np.float64) for a in (problem.x, problem.w, problem.b, problem.dout))
    kwargs = _conv_kwargs(problem)
    expected = oracle.functional_backward("conv2d", dout, (x, w, b), kwargs)
    mx, mw, mb = F.conv2d_backward(np.abs(dout), np.abs(x), np.abs(w), np.abs(b), **kwargs)
    f, _, hh, ww = problem.w.shape
    positions = int(np.prod(problem.out_shape)) // f  # N * H' * W'
    dtype = working_dtype(problem.x, problem.w, problem.b, problem.dout)
    bounds = [
        dot_bound(mx, f * hh * ww, dtype),
        dot_bound(mw, positions, dtype),
        dot_bound(mb, positions, dtype),
    ]
    return list(zip(("dx", "dw", "db"), expected, bounds, strict=True))


def _judge_backward(function: str, problem: Any, ctx: Context, run: Any, has_forward: bool) -> None:
    """``run(kind)`` with the target's own forward's cache, then with the documented one."""
    for kind in (OWN_CACHE, DOCUMENTED_CACHE) if has_forward else (DOCUMENTED_CACHE,):
        try:
            run(kind)
        except ConformanceFailure as failure:
            failure.variant = kind
            failure.notes.append(_cache_note(function, kind, has_forward))
            raise


def _cache_note(function: str, kind: str, has_forward: bool) -> str:
    forward = FORWARDS[function]
    if kind == OWN_CACHE:
        return f"the backward was fed the cache returned by the target's own {forward}"
    layout = DOCUMENTED_LAYOUT[function]
    if not has_forward:
        return f"the backward was fed the documented cache {layout}, built by the checker"
    return (
        f"the backward was fed the documented cache {layout}, built by the checker: the "
        f"skeleton fixes this layout (with the cache of the target's own {forward} it passed)"
    )


def check_conv_backward(impl: Any, problem: Cs231nConvProblem, ctx: Context) -> None:
    function = "conv_backward_naive"
    expected: list[tuple[str, Any, Any]] = []
    documented = (problem.x, problem.w, problem.b, problem.conv_param)
    has_forward = impl.present("conv_forward_naive")

    def run(kind: str) -> None:
        if kind == OWN_CACHE:
            cache = own_cache(
                ctx, impl, "conv_forward_naive", _conv_args(problem), documented, problem, function
            )
        else:
            cache = documented
        finish = start(ctx, impl, function, [("dout", problem.dout), ("cache", cache)], problem)
        if not expected:  # once, while the target runs
            expected.extend(_conv_backward_expected(problem))
        result = pair(ctx, function, finish(), problem, "must return (dx, dw, db)", length=3)
        shapes = {"dx": problem.x.shape, "dw": problem.w.shape, "db": problem.b.shape}
        actual = [
            as_output(ctx, function, n, r, shapes[n], problem)
            for n, r in zip(shapes, result, strict=True)
        ]
        judge(
            ctx,
            function,
            problem,
            [(n, a, e, bound) for a, (n, e, bound) in zip(actual, expected, strict=True)],
        )

    _judge_backward(function, problem, ctx, run, has_forward)


# --- max pooling


def _pool_args(problem: Cs231nPoolProblem) -> list[tuple[str, Any]]:
    return [("x", problem.x), ("pool_param", problem.pool_param)]


def _pool_kwargs(problem: Cs231nPoolProblem) -> dict[str, Any]:
    return {"kernel_size": (problem.pool_height, problem.pool_width), "stride": problem.stride}


def check_pool_forward(impl: Any, problem: Cs231nPoolProblem, ctx: Context) -> None:
    function = "max_pool_forward_naive"
    finish = start(ctx, impl, function, _pool_args(problem), problem)
    expected = oracle.functional(  # while the target runs
        "max_pool2d", (problem.x.astype(np.float64),), _pool_kwargs(problem)
    )
    result = pair(ctx, function, finish(), problem, "must return (out, cache)")
    actual = as_output(ctx, function, "out", result[0], problem.out_shape, problem)
    judge(ctx, function, problem, [("out", actual, expected, 0.0)])  # a selection: exact


def _pool_backward_bound(problem: Cs231nPoolProblem) -> np.ndarray:
    """Accumulation bound: n = windows covering a cell, magnitude = their |dout| (a superset)."""
    covering = -(-problem.pool_height // problem.stride) * -(-problem.pool_width // problem.stride)
    spread = F.avg_pool2d_backward(
        np.abs(problem.dout.astype(np.float64)),
        problem.x.astype(np.float64),
        divisor_override=1,
        **_pool_kwargs(problem),
    )
    return dot_bound(spread, covering, working_dtype(problem.x, problem.dout))


def run_pool_backward(
    impl: Any, problem: Cs231nPoolProblem, ctx: Context, kind: str, dout: np.ndarray | None = None
) -> np.ndarray:
    """The implementation's dx for ``problem`` (optionally another upstream ``dout``), fed the
    cache of ``kind``."""
    return _start_pool_backward(impl, problem, ctx, kind, dout)()


def _start_pool_backward(
    impl: Any, problem: Cs231nPoolProblem, ctx: Context, kind: str, dout: np.ndarray | None = None
) -> Callable[[], np.ndarray]:
    """:func:`run_pool_backward`, started (see :func:`~refconv.conformance.guard.start`)."""
    function = "max_pool_backward_naive"
    documented = (problem.x, problem.pool_param)
    if kind == OWN_CACHE:
        cache = own_cache(
            ctx, impl, "max_pool_forward_naive", _pool_args(problem), documented, problem, function
        )
    else:
        cache = documented
    dout = problem.dout if dout is None else dout
    finish = start(ctx, impl, function, [("dout", dout), ("cache", cache)], problem)
    return lambda: as_output(ctx, function, "dx", finish(), problem.x.shape, problem)


def check_pool_backward(impl: Any, problem: Cs231nPoolProblem, ctx: Context) -> None:
    function = "max_pool_backward_naive"
    bound = _pool_backward_bound(problem)
    x, dout = problem.x.astype(np.float64), problem.dout.astype(np.float64)
    geometry = problem.geometry
    tied = ctx.policy != "torch" and ties.has_ties(nhwc(x), geometry)
    has_forward = impl.present("max_pool_forward_naive")

    expected: list[np.ndarray] = []

    def run(kind: str) -> None:
        finish = _start_pool_backward(impl, problem, ctx, kind)
        if not tied and not expected:  # once, while the target runs
            kwargs = _pool_kwargs(problem)
            expected.extend(oracle.functional_backward("max_pool2d", dout, (x,), kwargs))
        actual = finish()
        if not tied:
            judge(ctx, function, problem, [("dx", actual, expected[0], bound)])
            return
        if ctx.policy == "all":
            notebook = nchw(ties.all_ties_gradient(nhwc(x), geometry, nhwc(dout)))
            if compare("dx", actual, notebook, bound) is None:
                return
        ties.check_subgradient(
            ctx,
            function,
            problem,
            nhwc(x),
            geometry,
            nhwc(dout),
            nhwc(actual),
            nhwc(bound),
            lambda probe: nhwc(run_pool_backward(impl, problem, ctx, kind, nchw(probe))),
            output="dx",
            nchw=True,
        )

    _judge_backward(function, problem, ctx, run, has_forward)


# --- the profile


def problems(function: str) -> Any:
    """The problems a check of ``function`` draws."""
    if function.startswith("conv"):
        return cs231n_conv_problems()
    return cs231n_pool_problems()


CS231N = Api(
    name="cs231n",
    title="CS231n assignment 2 naive layers (NCHW)",
    functions=FUNCTIONS,
    checks={
        "conv_forward_naive": check_conv_forward,
        "conv_backward_naive": check_conv_backward,
        "max_pool_forward_naive": check_pool_forward,
        "max_pool_backward_naive": check_pool_backward,
    },
    problems=problems,
    corpus=diagnoses.corpus,
    explain=diagnoses.explain,
    repro=diagnoses.repro,
    forwards=FORWARDS,
    cost={
        "conv_backward_naive": 8,
        "max_pool_backward_naive": 7,
        "conv_forward_naive": 6,
        "max_pool_forward_naive": 5,
    },
    layout="NCHW",
    unused_inputs={"conv_forward_naive": ("dout",), "max_pool_forward_naive": ("dout",)},
    contract="The cs231n profile",
)
