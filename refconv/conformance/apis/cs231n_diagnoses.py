"""The cs231n profile's corpus, diagnoses and reproduction snippets.

Diagnoses follow the engine's rule (:func:`refconv.conformance.diagnose.explain`): a text is
printed only when a *bug model* (the output a known buggy variant computes on this very input)
reproduces the actual output, or the failure itself proves it (an exception, a wrong shape), and
fresh random values of the same shapes fail the same way. The texts are named constants, so that
tests import them instead of retyping fragments.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from refconv import functional as F
from refconv._windows import output_length
from refconv.conformance import diagnose, ties
from refconv.conformance.guard import ConformanceFailure
from refconv.conformance.snippets import Snippet
from refconv.problems import Cs231nConvProblem, Cs231nPoolProblem

#: Where a backward's cache comes from: the target's own forward, or the checker.
OWN_CACHE = "own"
DOCUMENTED_CACHE = "documented"

# --- named diagnosis texts

FLIPPED_KERNEL = (
    "kernel flipped: a true convolution (w[:, :, ::-1, ::-1]) instead of the cross-correlation "
    "conv layers compute"
)
BIAS_MISSING = "the bias b[f] is never added"
BIAS_PER_PRODUCT = "the bias is added to every product inside the sum, not once per output"
KERNEL_TRANSPOSED = "the kernel is transposed (HH and WW swapped when indexing w)"
OUT_SIZES_SWAPPED = "H' and W' swapped in the output shape"
STRIDE_IGNORED_WIDTH = "stride ignored along the width (windows move by 1 horizontally)"
STRIDE_IGNORED_HEIGHT = "stride ignored along the height (windows move by 1 vertically)"
PADDING_IGNORED = "padding ignored: x was not zero-padded by pad on each side"
PADDING_ONE_SIDE = "padded on one side only: pad (pad, pad) on each spatial axis"
POOL_SIZES_SWAPPED = "pool_height and pool_width swapped"
EMPTY_UNPAD = (
    "empty unpadding at pad 0: dx_pad[:, :, pad:-pad, pad:-pad] is empty when pad == 0; slice "
    "[pad:pad + H, pad:pad + W] instead"
)
BACKWARD_STRIDE_IGNORED = (
    "stride ignored in the backward pass: window (i, j) starts at (i, j), not at "
    "(i * stride, j * stride)"
)
HW_SWAPPED = (
    "height and width swapped: the result has shape (..., W, H) (x.shape unpacked as N, C, W, H?)"
)
LAST_WINDOW_MISSING = (
    "the last output row or column stays zero: a loop stops one window early "
    "(range(0, H + 2 * pad - HH, stride) needs + 1)"
)
POOL_MAX_NO_AXIS = (
    "np.max(window) without axis=(2, 3): one maximum over every example and channel instead of "
    "one per (n, c)"
)
POOL_SQUARE_OUTPUT = "the output is assumed square: W' computed like H' (from H and pool_height)"
POOL_STRIDE_IS_SIZE = "the windows step by the pool size, not by the stride"
TRUE_DIVISION = (
    "an output size computed with / is a float in Python 3: use // (or int(...)), as in "
    "H' = 1 + (H + 2 * pad - HH) // stride"
)
DX_ASSIGNED = (
    "windows overlap (stride < kernel) and dx was assigned (=), not accumulated (+=), where "
    "windows overlap"
)
DW_LAST_EXAMPLE = "dw holds only the last example's gradient: it is not accumulated over the batch"
DB_WRONG_AXES = "db must have the shape of b, (F,): sum dout over the axes (0, 2, 3)"
DW_SHAPE = "dw must have the shape of w, (F, C, HH, WW)"
POOL_DX_ASSIGNED = (
    "pooling windows overlap (stride < pool size) and the window's gradient was assigned (=) "
    "over the whole window, overwriting what earlier windows put there"
)
POOL_ALL_TIES = (
    "tied maxima each receive the full gradient (mask = window == max); torch gives it to the "
    "first maximum only (--ties all accepts this)"
)
POOL_LAST_MAX = "ties go to the last maximum; torch gives the gradient to the first maximum"
POOL_INPUT_TIMES_MASK = "the gradient is the mask times the input x, not times dout"
CACHE_LAYOUT = (
    "the backward relies on a cache other than the documented one: it works with its own "
    "forward's cache only; keep the skeleton's cache layout"
)


# --- the corpus


def _normal(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return np.round(rng.standard_normal(shape), 2)


def _conv(
    rng: np.random.Generator,
    n: int,
    c: int,
    f: int,
    kernel: tuple[int, int],
    stride: int,
    pad: int,
    out: tuple[int, int],
) -> Cs231nConvProblem:
    (hh, ww), (oh, ow) = kernel, out
    h, w = (oh - 1) * stride + hh - 2 * pad, (ow - 1) * stride + ww - 2 * pad
    return Cs231nConvProblem(
        _normal(rng, n, c, h, w),
        _normal(rng, f, c, hh, ww),
        _normal(rng, f),
        stride,
        pad,
        _normal(rng, n, f, oh, ow),
    )


def _pool(
    rng: np.random.Generator,
    n: int,
    c: int,
    kernel: tuple[int, int],
    stride: int,
    out: tuple[int, int],
    integers: bool = False,
) -> Cs231nPoolProblem:
    (ph, pw), (oh, ow) = kernel, out
    h, w = (oh - 1) * stride + ph, (ow - 1) * stride + pw
    x = (
        rng.integers(-2, 3, (n, c, h, w)).astype(np.float64)
        if integers
        else _normal(rng, n, c, h, w)
    )
    return Cs231nPoolProblem(x, ph, pw, stride, _normal(rng, n, c, oh, ow))


@functools.cache
def corpus(function: str) -> tuple[Any, ...]:
    """The explicit problems replayed first: the blind spots of the course's own checks
    (square shapes only, stride 1 for conv backward, non-overlapping pools without ties)."""
    rng = np.random.default_rng(231)
    if function.startswith("conv"):
        return (
            _conv(rng, 2, 3, 2, (3, 2), 1, 0, (3, 4)),  # rectangular kernel, pad 0, H != W
            _conv(rng, 2, 2, 3, (2, 3), 2, 1, (3, 2)),  # stride 2 with padding, overlap in W
            _conv(rng, 1, 2, 2, (2, 2), 3, 0, (3, 3)),  # stride > kernel: gaps
            _conv(rng, 2, 1, 2, (3, 3), 2, 2, (4, 3)),  # pad >= kernel - 1, three+ windows
        )
    return (
        _pool(rng, 2, 2, (3, 2), 1, (3, 4)),  # overlapping, rectangular, H != W
        _pool(rng, 1, 3, (2, 3), 2, (3, 2)),  # overlap along the width only
        _pool(rng, 2, 1, (2, 2), 3, (2, 3)),  # gaps
        _pool(rng, 1, 2, (2, 2), 1, (3, 3), integers=True),  # tied maxima, overlapping
        _pool(rng, 2, 2, (2, 2), 2, (3, 2)),  # the course's case, three windows per axis
    )


# --- bug models

Model = tuple[str, Callable[[], Any]]


def _conv_forward_models(p: Cs231nConvProblem) -> list[Model]:
    x, w, b = (a.astype(np.float64) for a in (p.x, p.w, p.b))
    kwargs = {"stride": p.stride, "padding": p.pad}
    c, hh, ww = w.shape[1:]
    models = [
        (FLIPPED_KERNEL, lambda: F.conv2d(x, w[:, :, ::-1, ::-1], b, **kwargs)),
        (BIAS_MISSING, lambda: F.conv2d(x, w, None, **kwargs)),
        (
            BIAS_PER_PRODUCT,
            lambda: F.conv2d(x, w, None, **kwargs) + (c * hh * ww * b)[None, :, None, None],
        ),
    ]
    if hh == ww:
        models.append((KERNEL_TRANSPOSED, lambda: F.conv2d(x, w.swapaxes(2, 3), b, **kwargs)))
    if p.pad:
        models.append((PADDING_ONE_SIDE, lambda: F.conv2d(_one_side(x, p.pad), w, b, p.stride)))
    return models + _last_window_models(F.conv2d(x, w, b, **kwargs))


def _one_side(x: np.ndarray, pad: int) -> np.ndarray:
    """``x`` padded by ``2 * pad`` at the bottom and right only (copied into the top-left)."""
    return np.pad(x, ((0, 0), (0, 0), (0, 2 * pad), (0, 2 * pad)))


def _last_window_models(expected: np.ndarray) -> list[Model]:
    """The right output with its last row, last column, or both left at zero."""
    models = []
    for rows, cols in ((True, False), (False, True), (True, True)):
        out = expected.copy()
        if rows:
            out[:, :, -1, :] = 0
        if cols:
            out[:, :, :, -1] = 0
        models.append((LAST_WINDOW_MISSING, lambda out=out: out))
    return models


def _conv_backward_loops(
    p: Cs231nConvProblem,
    *,
    stride_in_dx: bool = True,
    stride_in_dw: bool = True,
    assign: bool = False,
) -> dict[str, Any]:
    """The four nested loops of the course's backward, with one of its common slips."""
    x, w, dout = (a.astype(np.float64) for a in (p.x, p.w, p.dout))
    s, pad = p.stride, p.pad
    _, _, hh, ww = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    n, f, oh, ow = dout.shape
    for i in range(n):
        for k in range(f):
            for r in range(oh):
                for q in range(ow):
                    rx, qx = (r * s, q * s) if stride_in_dx else (r, q)
                    rw, qw = (r * s, q * s) if stride_in_dw else (r, q)
                    g = w[k] * dout[i, k, r, q]
                    if assign:
                        dxp[i, :, rx : rx + hh, qx : qx + ww] = g
                    else:
                        dxp[i, :, rx : rx + hh, qx : qx + ww] += g
                    dw[k] += xp[i, :, rw : rw + hh, qw : qw + ww] * dout[i, k, r, q]
    h, wd = x.shape[2:]
    return {"dx": dxp[:, :, pad : pad + h, pad : pad + wd], "dw": dw}


def _conv_backward_models(p: Cs231nConvProblem, name: str) -> list[Model]:
    x, w, b, dout = (a.astype(np.float64) for a in (p.x, p.w, p.b, p.dout))
    kwargs = {"stride": p.stride, "padding": p.pad}
    index = {"dx": 0, "dw": 1, "db": 2}[name]
    models: list[Model] = []
    if name == "dx":
        models += [
            (BACKWARD_STRIDE_IGNORED, lambda: _conv_backward_loops(p, stride_in_dx=False)["dx"]),
            (DX_ASSIGNED, lambda: _conv_backward_loops(p, assign=True)["dx"]),
        ]
    if name == "dw":
        models += [
            (BACKWARD_STRIDE_IGNORED, lambda: _conv_backward_loops(p, stride_in_dw=False)["dw"]),
            (
                DW_LAST_EXAMPLE,
                lambda: F.conv2d_backward(dout[-1:], x[-1:], w, b, **kwargs)[1],
            ),
        ]
        if p.pad:
            models.append(
                (
                    PADDING_ONE_SIDE,
                    lambda: F.conv2d_backward(dout, _one_side(x, p.pad), w, b, p.stride)[1],
                )
            )
    flipped = w[:, :, ::-1, ::-1]
    models.append(
        (
            FLIPPED_KERNEL,
            lambda: _flip_grad(F.conv2d_backward(dout, x, flipped, b, **kwargs), index),
        )
    )
    return models


def _flip_grad(grads: tuple[Any, ...], index: int) -> Any:
    """A flipped-kernel forward's gradient, in the unflipped weight's frame for dw."""
    grad = grads[index]
    return grad[:, :, ::-1, ::-1] if index == 1 else grad


def nhwc(a: np.ndarray) -> np.ndarray:
    """An NCHW array as a float64 NHWC view (what the tie references and geometry read)."""
    return np.moveaxis(np.asarray(a, dtype=np.float64), 1, 3)


def nchw(a: np.ndarray) -> np.ndarray:
    """An NHWC array back in the API's NCHW layout."""
    return np.moveaxis(a, 3, 1)


def _pool_windows_at(p: Cs231nPoolProblem, step: tuple[int, int]) -> np.ndarray:
    """Max pooling with windows starting at ``(i * step[0], j * step[1])`` (clipped)."""
    x = p.x.astype(np.float64)
    out = np.zeros(p.out_shape)
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            hs, ws = i * step[0], j * step[1]
            window = x[:, :, hs : hs + p.pool_height, ws : ws + p.pool_width]
            out[:, :, i, j] = window.max(axis=(2, 3))  # raises on an empty window: no model
    return out


def _pool_forward_models(p: Cs231nPoolProblem) -> list[Model]:
    x = p.x.astype(np.float64)
    kernel = (p.pool_height, p.pool_width)
    expected = F.max_pool2d(x, kernel, p.stride)
    return [
        (POOL_SIZES_SWAPPED, lambda: F.max_pool2d(x, kernel[::-1], p.stride)),
        (POOL_MAX_NO_AXIS, lambda: np.broadcast_to(expected.max(axis=(0, 1)), expected.shape)),
        (POOL_STRIDE_IS_SIZE, lambda: _pool_windows_at(p, kernel)),
        *_last_window_models(expected),
    ]


def _pool_backward_assign(p: Cs231nPoolProblem) -> np.ndarray:
    x, dout = p.x.astype(np.float64), p.dout.astype(np.float64)
    dx = np.zeros_like(x)
    s, ph, pw = p.stride, p.pool_height, p.pool_width
    n, c, oh, ow = dout.shape
    for i in range(n):
        for k in range(c):
            for r in range(oh):
                for q in range(ow):
                    window = x[i, k, r * s : r * s + ph, q * s : q * s + pw]
                    mask = np.zeros(window.shape)
                    mask[np.unravel_index(np.argmax(window), window.shape)] = 1  # torch's rule
                    dx[i, k, r * s : r * s + ph, q * s : q * s + pw] = mask * dout[i, k, r, q]
    return dx


def _pool_backward_models(p: Cs231nPoolProblem) -> list[Model]:
    geometry = p.geometry
    x, dout = nhwc(p.x), nhwc(p.dout)
    max_sets = ties.window_max_sets(x, geometry)

    def scatter(weights: np.ndarray) -> np.ndarray:
        return nchw(ties.scatter_windows(x.shape, geometry, weights))

    windows = geometry.windows(x)
    first = ties.first_maximum(max_sets)
    return [
        (POOL_DX_ASSIGNED, lambda: _pool_backward_assign(p)),
        (POOL_ALL_TIES, lambda: nchw(ties.all_ties_gradient(x, geometry, dout))),
        (
            POOL_LAST_MAX,
            lambda: scatter(ties.first_maximum(max_sets, last=True) * dout[:, :, :, None, None, :]),
        ),
        (POOL_INPUT_TIMES_MASK, lambda: scatter(first * windows)),
        (
            POOL_SIZES_SWAPPED,
            lambda: F.max_pool2d_backward(
                p.dout.astype(np.float64),
                p.x.astype(np.float64),
                (p.pool_width, p.pool_height),
                p.stride,
            ),
        ),
    ]


def _models(failure: ConformanceFailure, name: str) -> list[Model]:
    p, function = failure.problem, failure.function
    if function == "conv_forward_naive":
        return _conv_forward_models(p)
    if function == "conv_backward_naive":
        return _conv_backward_models(p, name)
    if function == "max_pool_forward_naive":
        return _pool_forward_models(p)
    if function == "max_pool_backward_naive":
        return _pool_backward_models(p)
    return []


def _from_models(failure: ConformanceFailure) -> list[str]:
    """Every bug model that reproduces the actual output exactly (and not the expected one)."""
    if failure.kind != "value" or failure.mismatch is None:
        return []
    name = failure.mismatch.name
    actual, expected = failure.actual.get(name), failure.expected.get(name)
    found = []
    for text, model in _models(failure, name):
        try:
            output = model()
            if diagnose.same_values(actual, output) and not (
                expected is not None and diagnose.same_values(output, expected)
            ):
                found.append(text)
        except Exception:  # noqa: BLE001 - a model that does not apply to this input
            continue
    return found


def _from_shape(failure: ConformanceFailure) -> str | None:
    if failure.kind != "shape":
        return None
    p, function = failure.problem, failure.function
    actual = next(iter(failure.actual.values()), None)
    if actual is None:
        return None
    shape = tuple(actual.shape)
    name = next(iter(failure.actual))
    expected_shape = {"dx": p.x.shape, "dw": getattr(p, "w", p.x).shape}.get(name)
    if expected_shape is not None and len(shape) == 4 and shape != tuple(expected_shape):
        if shape == (*expected_shape[:2], expected_shape[3], expected_shape[2]):
            return HW_SWAPPED
    if function == "conv_backward_naive":
        if "dx" in failure.actual and p.pad == 0 and 0 in shape:
            return EMPTY_UNPAD
        if "db" in failure.actual:
            return DB_WRONG_AXES
        if "dw" in failure.actual:
            return DW_SHAPE
    if function in ("conv_forward_naive", "max_pool_forward_naive") and len(shape) == 4:
        expected = p.out_shape
        if shape[2:] == expected[3:1:-1]:
            return OUT_SIZES_SWAPPED
        if expected[2] != expected[3] and shape[2:] in ((expected[2],) * 2, (expected[3],) * 2):
            return POOL_SQUARE_OUTPUT
        _, _, h, w = p.x.shape
        if function == "conv_forward_naive":
            (kh, kw), pad = p.w.shape[2:], p.pad
        else:
            (kh, kw), pad = (p.pool_height, p.pool_width), 0
            if shape[2:] == (
                output_length(h, kw, p.stride, 0, 0),
                output_length(w, kh, p.stride, 0, 0),
            ):
                return POOL_SIZES_SWAPPED
        if pad and shape[2:] == (
            output_length(h, kh, p.stride, 0, 0),
            output_length(w, kw, p.stride, 0, 0),
        ):
            return PADDING_IGNORED
        if pad and shape[2:] == (
            output_length(h, kh, p.stride, pad, 0),
            output_length(w, kw, p.stride, pad, 0),
        ):
            return PADDING_ONE_SIDE
        if shape[3] == output_length(w, kw, 1, pad, pad) and shape[3] != expected[3]:
            return STRIDE_IGNORED_WIDTH
        if shape[2] == output_length(h, kh, 1, pad, pad) and shape[2] != expected[2]:
            return STRIDE_IGNORED_HEIGHT
    return None


def _from_cache(failure: ConformanceFailure) -> str | None:
    own_passed = any("with the cache of the target's own" in note for note in failure.notes)
    if failure.variant == DOCUMENTED_CACHE and own_passed and failure.kind in ("exception", "type"):
        return CACHE_LAYOUT
    return None


def _from_exception(failure: ConformanceFailure) -> str | None:
    text = str(failure.exception or "")
    if "'float' object cannot be interpreted as an integer" in text or (
        "slice indices must be integers" in text
    ):
        return TRUE_DIVISION
    return None


def candidates(failure: ConformanceFailure) -> list[str]:
    """Every explanation the rules find for ``failure``, most specific first."""
    found: list[str] = []
    rules = (_from_cache, _from_exception, diagnose.facts_from_exception, _from_shape, _from_models)
    for rule in rules:
        try:
            result = rule(failure)
        except Exception:  # noqa: BLE001 - a diagnosis is a bonus, never a crash
            result = None
        found += result if isinstance(result, list) else [result] if result else []
    return found


def fresh(problem: Any, rng: np.random.Generator) -> Any:
    """Fresh random values of the same shapes; a max-pool problem keeps its maximal cells (the
    others are lowered), so that each window has the same tie structure."""
    if not isinstance(problem, Cs231nPoolProblem):
        return diagnose.randomized(problem, rng)
    x = nhwc(problem.x)
    max_sets = ties.window_max_sets(x, problem.geometry)
    keep = nchw(ties.scatter_windows(x.shape, problem.geometry, max_sets.astype(np.float64)) > 0)
    lowered = problem.x - np.abs(rng.standard_normal(problem.x.shape)) - 0.5
    fields = dict(problem.__dict__)
    fields["x"] = np.where(keep, problem.x, lowered).astype(problem.x.dtype)
    fields["dout"] = rng.standard_normal(problem.dout.shape).astype(problem.dout.dtype)
    return type(problem)(**fields)


explain = functools.partial(diagnose.explain, candidates=candidates, fresh=fresh)


# --- reproduction snippets


class Cs231nSnippet(Snippet):
    """The calls of a cs231n check, in the snippet's words."""

    def parameters(self) -> list[str]:
        if isinstance(self.problem, Cs231nConvProblem):
            return ['conv_param = {"stride": stride, "pad": pad}']
        return [
            'pool_param = {"pool_height": pool_height, "pool_width": pool_width, "stride": stride}'
        ]

    def calls(self) -> list[str]:
        p, function = self.problem, self.failure.function
        conv = isinstance(p, Cs231nConvProblem)
        forward_name = "conv_forward_naive" if conv else "max_pool_forward_naive"
        inputs = ("x", "w", "b", "conv_param") if conv else ("x", "pool_param")
        forward = f"impl.{forward_name}({', '.join(inputs)})"
        documented = f"({', '.join(inputs)})"
        self.use("unpack")
        if function == forward_name:
            lines = self.call(function, "result", forward, inputs)
            return [
                *lines,
                "out, cache = unpack(result, 2, 'must return (out, cache)')",
                self.output("out", p.out_shape) + "  # (N, F or C, H', W')",
            ]
        if self.failure.variant == OWN_CACHE or self.failure.variant == "" and self.has_forward:
            lines = self.forward_cache(forward_name, forward, inputs, documented)
        else:
            lines = [f"cache = {documented}  # the documented cache, as refconv check built it"]
        if conv:
            lines += self.call(
                function, "grads", "impl.conv_backward_naive(dout, cache)", ("dout", "cache")
            )
            return [
                *lines,
                "dx, dw, db = unpack(grads, 3, 'must return (dx, dw, db)')",
                self.output("dx", p.x.shape),
                self.output("dw", p.w.shape),
                self.output("db", p.b.shape),
            ]
        lines += self.call(
            function, "dx", "impl.max_pool_backward_naive(dout, cache)", ("dout", "cache")
        )
        return [*lines, self.output("dx", p.x.shape)]


def repro(failure: ConformanceFailure, loader: str, has_forward: bool = True) -> str:
    """Standalone Python that re-runs the failing calls on the counterexample (see
    :func:`refconv.conformance.snippets.repro_snippet`)."""
    return Cs231nSnippet(failure, has_forward).source(loader)
