"""Name the bug behind a failure, where the pattern is recognisable.

Runs once, on the final (shrunk) counterexample. Three kinds of evidence, most specific first:

1. the exception or wrong shape itself (``np.float`` removed, ``float()`` of an array, empty
   ``[pad:-pad]`` at pad 0, ceil instead of floor, a (1, 1, 1) array for a scalar, ...);
2. *bug models*: the output a known buggy variant would give on this very input (gradient
   multiplied by the input slice, the notebook's h/w-swapped average, every tied maximum getting
   the gradient, a flipped kernel, ...); when the actual output equals one, that is the diagnosis;
3. *where* the wrong entries lie: only in cells covered by several windows (assignment instead of
   accumulation), only in the last example, a constant factor, an integer or float32 dtype.

For max-pooling failures on tied maxima it also records whether the failure happens only at ties
and which tie policy (``--ties``) the code does follow.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from refconv import oracle
from refconv._executor.wire import clone_layout
from refconv._windows import Geometry, output_length
from refconv.conformance import ties
from refconv.conformance.guard import ConformanceFailure, Recheck
from refconv.problems import (
    ConvProblem,
    DistributeProblem,
    PoolProblem,
    SingleStepProblem,
    WindowProblem,
)


def same_values(actual: Any, candidate: Any) -> bool:
    """Whether two outputs agree to 1e-9 relative (NaN matches NaN), shapes included."""
    actual, candidate = np.asarray(actual), np.asarray(candidate)
    if actual.shape != candidate.shape:
        return False
    return bool(
        np.allclose(actual.astype(np.float64), candidate, rtol=1e-9, atol=1e-12, equal_nan=True)
    )


# --- 1. exceptions and shapes


def facts_from_exception(failure: ConformanceFailure) -> str | None:
    """What a failure's kind, exception or traceback proves by itself (any API)."""
    exc = failure.exception
    text = f"{type(exc).__name__}: {exc}" if exc is not None else ""
    if failure.kind == "mutation":
        return (
            "the function writes into an array it was given (an in-place operation such as "
            "x *= ..., x += ... or x[...] = ... on an argument); work on a copy"
        )
    if failure.kind == "timeout":
        return "the call never returned within the time limit"
    if "read-only" in text and ("output array" in text or "destination" in text):
        return (
            "the function writes into an array it was given (here a read-only one: "
            "assignment destination is read-only); work on a copy"
        )
    alias = re.search(r"numpy' has no attribute '(float|int|bool|object|complex|str|long)'", text)
    if alias:
        name = alias.group(1)
        sized = {"float": "np.float64", "int": "np.int64", "complex": "np.complex128"}
        instead = f"{name}(...) or {sized[name]}" if name in sized else f"the builtin {name}"
        return f"np.{name} was removed in NumPy 1.24: use {instead}"
    if (
        "only 0-dimensional arrays can be converted" in text
        or "only length-1 arrays" in text
        or "only size-1 arrays" in text
    ):
        return (
            "float() of a (1,1,1) array fails on NumPy >= 2.4: take the bias as a scalar with "
            "b.item() (or np.squeeze(b))"
        )
    problem = failure.problem
    hard_coded = re.search(r"\[\s*([1-9])\s*:\s*-\s*\1\s*[,\]]", failure.details)
    if (
        isinstance(problem, ConvProblem)
        and failure.function == "conv_backward"
        and hard_coded
        and int(hard_coded.group(1)) != problem.pad
    ):
        k = hard_coded.group(1)
        return (
            f"the unpadding is hard-coded as [{k}:-{k}] but pad = {problem.pad} here: slice "
            "[pad:pad + n_H_prev, pad:pad + n_W_prev] instead"
        )
    if (
        isinstance(problem, ConvProblem)
        and problem.pad == 0
        and failure.function == "conv_backward"
    ):
        unpads = ":-pad" in failure.details.replace(" ", "")
        empty = failure.kind == "shape" and 0 in failure.actual.get("dA_prev", np.ones(1)).shape
        if unpads or empty:
            return (
                "empty unpadding at pad 0: X[pad:-pad] is X[0:0] when pad == 0; slice "
                "X[pad:pad + n_H_prev, pad:pad + n_W_prev] instead"
            )
    if (
        failure.function == "pool_forward"
        and isinstance(problem, PoolProblem)
        and problem.mode not in ("max", "average")
    ):
        return (
            "an unknown mode falls through the if/elif and silently returns zeros: raise "
            "ValueError for it"
        )
    # Without a bug model, only what the exception itself proves (the traceback shows where).
    if "zero-size array" in text or "empty sequence" in text:
        return "a reduction (max, sum, ...) was given an empty array: some slice is empty"
    if "broadcast" in text:
        return "two arrays whose shapes do not broadcast were combined (see the traceback)"
    if isinstance(exc, IndexError):
        return "an index ran past the end of an array (see the traceback)"
    if failure.kind == "exception" and "not defined" in text and "NotImplemented" not in text:
        return "the function uses a name it does not define or import"
    return None


def _sizes(
    problem: ConvProblem | PoolProblem, rounding: Callable[[float], float]
) -> tuple[int, int]:
    if isinstance(problem, ConvProblem):
        f, p = problem.W.shape[0], problem.pad
    else:
        f, p = problem.f, 0
    _, h, w, _ = problem.A_prev.shape
    s = problem.stride
    return int(rounding((h + 2 * p - f) / s)) + 1, int(rounding((w + 2 * p - f) / s)) + 1


def _from_shape(failure: ConformanceFailure) -> str | None:
    if failure.kind not in ("shape", "type"):
        return None
    problem = failure.problem
    actual = next(iter(failure.actual.values()), None)
    if failure.function == "conv_single_step" and "scalar" not in failure.message:
        return (
            "conv_single_step must return a scalar, not an array: b has shape (1, 1, 1), "
            "add b.item() (or np.squeeze(b))"
        )
    if actual is None:
        return None
    shape = actual.shape
    if failure.function in ("conv_forward", "pool_forward") and len(shape) == 4:
        expected = problem.out_shape
        ceil, rounded = _sizes(problem, np.ceil), _sizes(problem, round)
        if shape[1:3] != expected[1:3] and shape[1:3] in (ceil, rounded):
            how = {
                (True, False): "rounds up (ceil)",
                (False, True): "uses round()",
                (True, True): "rounds up (ceil, or round(): the same on this input)",
            }[(shape[1:3] == ceil, shape[1:3] == rounded)]
            return f"output size {how}; torch uses floor: (n + 2*pad - f) // stride + 1"
        if shape[1:3] == expected[2:0:-1]:
            return "n_H and n_W swapped"
        if isinstance(problem, ConvProblem) and problem.pad > 0:
            f = problem.W.shape[0]
            unpadded = tuple(
                output_length(n, f, problem.stride, 0, 0) for n in problem.A_prev.shape[1:3]
            )
            if shape[1:3] == unpadded:
                return "padding ignored: the input was not zero-padded before convolving"
        _, h, w, _ = problem.A_prev.shape
        f = problem.W.shape[0] if isinstance(problem, ConvProblem) else problem.f
        p = problem.pad if isinstance(problem, ConvProblem) else 0
        if shape[2] == output_length(w, f, 1, p, p) and shape[2] != expected[2]:
            return "stride ignored along the width (horizontal windows move by 1)"
        if shape[1] == output_length(h, f, 1, p, p) and shape[1] != expected[1]:
            return "stride ignored along the height (vertical windows move by 1)"
    if failure.function == "conv_backward":
        if "db" in failure.actual and shape == (problem.W.shape[3],):
            return "db must keep the shape (1, 1, 1, n_C) of b"
        if "dW" in failure.actual:
            return "dW must have the shape of W, (f, f, n_C_prev, n_C)"
    if failure.function == "zero_pad" and len(shape) == 4:
        X, p = problem.X, problem.pad
        if shape[3] == X.shape[3] + 2 * p:
            return "the channel axis was padded too: pad only height and width"
        if shape[1:3] == (X.shape[1] + p, X.shape[2] + p):
            return "padded on one side only: pad (pad, pad) on each spatial axis"
    return None


# --- 2. bug models


def _pool_backward_loop(
    problem: PoolProblem,
    *,
    assign: bool = False,
    swap_bounds: bool = False,
    window: int | None = None,
) -> np.ndarray:
    """The notebook's pool_backward loop (torch's tie rule) with one of three common slips:
    ``=`` for ``+=``, the loop bounds swapped, or windows of size ``window`` (e.g. the stride)."""
    A = problem.A_prev.astype(np.float64)
    m, _, _, c = A.shape
    _, n_h, n_w, _ = problem.out_shape
    f, s = window or problem.f, problem.stride
    out = np.zeros(A.shape)
    rows, cols = (n_w, n_h) if swap_bounds else (n_h, n_w)
    for i in range(m):
        for h in range(rows):
            for w in range(cols):
                for ch in range(c):
                    window = A[i, h * s : h * s + f, w * s : w * s + f, ch]
                    if window.size == 0 or h >= n_h or w >= n_w:
                        raise IndexError  # the buggy code would have crashed: no model
                    if problem.mode == "max":
                        grad = np.zeros(window.shape)
                        grad.flat[int(np.argmax(window))] = problem.dA[i, h, w, ch]
                    else:
                        grad = np.full(window.shape, problem.dA[i, h, w, ch] / f**2)
                    target = out[i, h * s : h * s + f, w * s : w * s + f, ch]
                    if assign:
                        target[...] = grad
                    else:
                        target += grad
    return out


def _pool_backward_models(problem: PoolProblem) -> list[tuple[str, Callable[[], np.ndarray]]]:
    geometry = problem.geometry
    windows = geometry.windows(problem.A_prev.astype(np.float64))
    dA = problem.dA.astype(np.float64)[:, :, :, None, None, :]
    f = problem.f

    def scatter(_: PoolProblem, weights: np.ndarray) -> np.ndarray:
        return ties.scatter_windows(problem.A_prev.shape, geometry, weights)

    models: list[tuple[str, Callable[[], np.ndarray]]] = []
    if problem.mode == "max":
        max_sets = ties.window_max_sets(problem.A_prev, geometry)
        models += [
            (
                "gradient multiplied by the input slice instead of dA[i, h, w, c] "
                "(mask * a_prev_slice)",
                lambda: scatter(problem, ties.first_maximum(max_sets) * windows),
            ),
            (
                "gradient multiplied by the input slice instead of dA[i, h, w, c], and every tied "
                "maximum marked",
                lambda: scatter(problem, max_sets * windows),
            ),
            (
                "tied maxima each receive the full gradient (mask x == max(x)); torch gives it to "
                "the first maximum only",
                lambda: ties.all_ties_gradient(problem.A_prev, geometry, problem.dA),
            ),
            (
                "ties go to the last maximum; torch gives the gradient to the first maximum in "
                "row-major order",
                lambda: scatter(problem, ties.first_maximum(max_sets, last=True) * dA),
            ),
        ]
    else:
        ones = np.ones(windows.shape)

        def swapped_sum() -> np.ndarray:
            A = problem.A_prev.astype(np.float64)
            s = problem.stride
            _, n_h, n_w, _ = problem.out_shape
            sums = np.zeros(problem.dA.shape)
            for h in range(n_h):
                for w in range(n_w):
                    # NumPy truncates a slice past the end: the notebook's code summed less
                    block = A[:, w * s : w * s + f, h * s : h * s + f, :]
                    sums[:, h, w, :] = block.sum(axis=(1, 2))
            return scatter(problem, ones * sums[:, :, :, None, None, :] / f**2)

        models += [
            (
                "average backward distributes the sum of the input window, with h and w swapped "
                "(the notebook's bug), instead of dA[i, h, w, c]",
                swapped_sum,
            ),
            (
                "average backward distributes the sum of the input window instead of "
                "dA[i, h, w, c]",
                lambda: scatter(problem, ones * windows.sum(axis=(3, 4), keepdims=True) / f**2),
            ),
            ("each window's gradient is dA, not dA / (f*f)", lambda: scatter(problem, ones * dA)),
        ]
    if problem.stride < f:  # without overlap, assigning is accumulating
        models.append(
            (
                "windows overlap (stride < f) and the gradient was assigned (=), not "
                "accumulated (+=)",
                lambda: _pool_backward_loop(problem, assign=True),
            )
        )
    if problem.stride != f:
        models.append(
            (
                "each window ends at vert_start + stride instead of vert_start + f",
                lambda: _pool_backward_loop(problem, window=problem.stride),
            )
        )
    models += [
        (
            "loop bounds n_H and n_W swapped (h runs over range(n_W), w over range(n_H))",
            lambda: _pool_backward_loop(problem, swap_bounds=True),
        ),
    ]
    return models


def _conv_backward_assign(problem: ConvProblem) -> np.ndarray:
    """The notebook's conv_backward with ``=`` instead of ``+=`` into da_prev_pad."""
    A, W, dZ = (x.astype(np.float64) for x in (problem.A_prev, problem.W, problem.dZ))
    p, s, f = problem.pad, problem.stride, W.shape[0]
    m, n_h, n_w, c_out = dZ.shape
    out = np.zeros((m, A.shape[1] + 2 * p, A.shape[2] + 2 * p, A.shape[3]))
    for i in range(m):
        for h in range(n_h):
            for w in range(n_w):
                for c in range(c_out):
                    out[i, h * s : h * s + f, w * s : w * s + f, :] = W[:, :, :, c] * dZ[i, h, w, c]
    return out[:, p : p + A.shape[1], p : p + A.shape[2], :]


def _conv_backward_models(
    problem: ConvProblem, name: str
) -> list[tuple[str, Callable[[], np.ndarray]]]:
    A, W, b, dZ = (x.astype(np.float64) for x in (problem.A_prev, problem.W, problem.b, problem.dZ))
    s, p, f = problem.stride, problem.pad, W.shape[0]
    flipped = "kernel flipped: conv2d here is cross-correlation (torch), W is not flipped"

    def flipped_grads() -> np.ndarray:
        dA, dW, db = oracle.conv_backward(dZ, A, W[::-1, ::-1], b, s, p)
        return {"dA_prev": dA, "dW": dW[::-1, ::-1], "db": db}[name]

    def dW_no_stride() -> np.ndarray:
        padded = np.pad(A, ((0, 0), (p, p), (p, p), (0, 0)))
        _, n_h, n_w, _ = dZ.shape
        dW = np.zeros(W.shape)
        for h in range(n_h):
            for w in range(n_w):
                dW += np.einsum("ixyc,ik->xyck", padded[:, h : h + f, w : w + f, :], dZ[:, h, w, :])
        return dW

    models = [(flipped, flipped_grads)]
    if name == "dA_prev":
        models.append(
            (
                "dA_prev was assigned (=), not accumulated (+=), so overlapping windows "
                "and output channels overwrite each other",
                lambda: _conv_backward_assign(problem),
            )
        )
    if name == "dW":
        models.append(("dW slices the input at h, w instead of h*stride, w*stride", dW_no_stride))
    if name == "db":
        models.append(
            (
                "db was assigned (=) from the last dZ entry, not accumulated (+=)",
                lambda: dZ[-1, -1, -1].reshape(1, 1, 1, -1),
            )
        )
    return models


def _conv_forward_models(problem: ConvProblem) -> list[tuple[str, Callable[[], np.ndarray]]]:
    A, W, b = (x.astype(np.float64) for x in (problem.A_prev, problem.W, problem.b))
    s, p = problem.stride, problem.pad
    f, _, c_in, _ = W.shape
    _, n_h, n_w, _ = problem.out_shape

    def base() -> np.ndarray:
        return oracle.conv_forward(A, W, 0 * b, s, p)

    def strided(sh: int, sw: int) -> Callable[[], np.ndarray]:
        return lambda: oracle.conv_forward(A, W, b, (sh, sw), p)[:, :n_h, :n_w, :]

    def unpadded() -> np.ndarray:
        shifted = np.pad(A, ((0, 0), (0, 2 * p), (0, 2 * p), (0, 0)))
        return oracle.conv_forward(shifted, W, b, s, 0)

    return [
        (
            "kernel flipped: conv2d here is cross-correlation (torch), W is not flipped",
            lambda: oracle.conv_forward(A, W[::-1, ::-1], b, s, p),
        ),
        (
            "kernel height and width axes swapped (W transposed)",
            lambda: oracle.conv_forward(A, W.transpose(1, 0, 2, 3), b, s, p),
        ),
        ("bias not added", base),
        (
            "bias added once per product inside the window sum (f*f*n_C_prev times)",
            lambda: base() + f * f * c_in * b,
        ),
        ("mean instead of sum over the window", lambda: base() / (f * f * c_in) + b),
        ("stride ignored along the width (horizontal windows move by 1)", strided(s, 1)),
        ("stride ignored along the height (vertical windows move by 1)", strided(1, s)),
        ("padding ignored: the windows slide over A_prev instead of the padded input", unpadded),
    ]


def _pool_forward_window(problem: PoolProblem, size: int) -> np.ndarray:
    """pool_forward whose windows end at start + ``size`` (truncated at the input's edge)."""
    A = problem.A_prev.astype(np.float64)
    _, n_h, n_w, _ = problem.out_shape
    s = problem.stride
    reduce = np.max if problem.mode == "max" else np.mean
    out = np.zeros(problem.out_shape)
    for h in range(n_h):
        for w in range(n_w):
            block = A[:, h * s : h * s + size, w * s : w * s + size, :]
            out[:, h, w, :] = reduce(block, axis=(1, 2))
    return out


def _pool_forward_models(problem: PoolProblem) -> list[tuple[str, Callable[[], np.ndarray]]]:
    A = problem.A_prev.astype(np.float64)
    other = "average" if problem.mode == "max" else "max"
    _, n_h, n_w, _ = problem.out_shape
    stride_end = []
    if problem.stride != problem.f:
        stride_end.append(
            (
                "each window ends at vert_start + stride instead of vert_start + f",
                lambda: _pool_forward_window(problem, problem.stride),
            )
        )
    return stride_end + [
        (
            f"mode {problem.mode!r} computes the {other} of the window",
            lambda: oracle.pool_forward(A, problem.f, problem.stride, other),
        ),
        (
            "stride ignored along the width (horizontal windows move by 1)",
            lambda: oracle.pool_forward(A, problem.f, (problem.stride, 1), problem.mode)[
                :, :n_h, :n_w
            ],
        ),
        (
            "stride ignored along the height (vertical windows move by 1)",
            lambda: oracle.pool_forward(A, problem.f, (1, problem.stride), problem.mode)[
                :, :n_h, :n_w
            ],
        ),
    ]


def _single_step_models(problem: SingleStepProblem) -> list[tuple[str, Callable[[], np.ndarray]]]:
    a, W, b = (x.astype(np.float64) for x in (problem.a_slice_prev, problem.W, problem.b))
    total = np.sum(a * W)
    return [
        ("bias not added", lambda: np.float64(total)),
        (
            "bias added to every product inside the sum (f*f*n_C_prev times)",
            lambda: np.float64(total + a.size * b.item()),
        ),
        ("mean instead of sum over the window", lambda: np.float64(np.mean(a * W) + b.item())),
    ]


def _window_models(problem: WindowProblem) -> list[tuple[str, Callable[[], np.ndarray]]]:
    x = problem.x.astype(np.float64)

    def last() -> np.ndarray:
        flat = x.reshape(-1)
        mask = np.zeros(flat.shape, bool)
        mask[flat.size - 1 - int(np.argmax(flat[::-1]))] = True
        return mask.reshape(x.shape)

    return [
        (
            "tied maxima all marked (x == np.max(x)): torch's rule keeps one True, at the first "
            "maximum in row-major order",
            lambda: x == x.max(),
        ),
        ("the mask marks the last maximum; torch's rule marks the first (row-major)", last),
    ]


def _distribute_models(problem: DistributeProblem) -> list[tuple[str, Callable[[], np.ndarray]]]:
    n_h, n_w = problem.shape
    dz = float(problem.dz)
    return [
        (
            "distribute_value divides by n_H + n_W instead of n_H * n_W",
            lambda: np.full((n_h, n_w), dz / (n_h + n_w)),
        ),
        ("distribute_value does not divide dz by n_H * n_W", lambda: np.full((n_h, n_w), dz)),
        ("distribute_value divides by n_H only", lambda: np.full((n_h, n_w), dz / n_h)),
    ]


def _models(
    failure: ConformanceFailure, problem: Any, name: str
) -> list[tuple[str, Callable[[], np.ndarray]]]:
    function = failure.function
    if function == "pool_backward" and isinstance(problem, PoolProblem):
        return _pool_backward_models(problem)
    if function == "pool_forward" and isinstance(problem, PoolProblem):
        return _pool_forward_models(problem)
    if function == "conv_forward" and isinstance(problem, ConvProblem):
        return _conv_forward_models(problem)
    if function == "conv_backward" and isinstance(problem, ConvProblem):
        return _conv_backward_models(problem, name)
    if function == "conv_single_step" and isinstance(problem, SingleStepProblem):
        return _single_step_models(problem)
    if function == "create_mask_from_window" and isinstance(problem, WindowProblem):
        return _window_models(problem)
    if function == "distribute_value" and isinstance(problem, DistributeProblem):
        return _distribute_models(problem)
    return []


def _matching(failure: ConformanceFailure, problem: Any, name: str, actual: Any) -> list[str]:
    """The bug models whose output is the actual one, and differs from the expected one (a
    model that coincides with correct code on this input proves nothing)."""
    expected = failure.expected.get(name)
    found = []
    for text, model in _models(failure, problem, name):
        try:
            output = model()
            if same_values(actual, output) and not (
                expected is not None and same_values(np.asarray(output), expected)
            ):
                found.append(text)
        except Exception:  # noqa: BLE001 - a model that does not apply to this input
            continue
    return found


def randomized(problem: Any, rng: np.random.Generator) -> Any:
    """Same shapes, parameters and dtypes, fresh random values (no accidental ties or zeros)."""
    fields = dict(problem.__dict__)
    for key, value in fields.items():
        if isinstance(value, np.ndarray) and value.dtype.kind in "iuf" and value.size:
            if value.dtype.kind in "iu":
                fresh = rng.integers(-3, 4, size=value.shape)
            else:
                fresh = rng.standard_normal(value.shape)
            # the same memory layout (a read-only or strided input stays one)
            array = clone_layout(value)
            array.flags.writeable = True
            array[...] = fresh.astype(value.dtype)
            array.flags.writeable = value.flags.writeable
            fields[key] = array
    return type(problem)(**fields)


def _from_models(failure: ConformanceFailure) -> list[str]:
    """Every bug model that reproduces the actual output exactly (and not the expected one)."""
    if failure.kind != "value" or failure.mismatch is None:
        return []
    name = failure.mismatch.name
    return _matching(failure, failure.problem, name, failure.actual.get(name))


# --- 3. where the wrong entries are


def _coverage(problem: ConvProblem | PoolProblem) -> np.ndarray:
    """How many windows cover each input cell, shape (H, W)."""
    _, h, w, _ = problem.A_prev.shape
    if isinstance(problem, ConvProblem):
        f, p = problem.W.shape[0], problem.pad
    else:
        f, p = problem.f, 0
    geometry = Geometry(h, w, (f, f), (problem.stride,) * 2, (p, p, p, p))
    ph, pw = geometry.padded_shape
    counts = np.zeros((1, ph, pw, 1))
    for _, index in geometry.offsets():
        counts[index] += 1
    return geometry.crop(counts)[0, :, :, 0]


def _from_location(failure: ConformanceFailure) -> str | None:
    if failure.kind != "value" or failure.mismatch is None:
        return None
    name = failure.mismatch.name
    actual = np.asarray(failure.actual.get(name))
    expected = np.asarray(failure.expected.get(name), dtype=np.float64)
    problem = failure.problem
    if actual.dtype.kind in "iub" and failure.function != "create_mask_from_window":
        return (
            f"{name} has integer dtype {actual.dtype}: an array made with np.zeros_like of "
            "an integer input truncates the result; allocate it with np.zeros(shape)"
        )
    inputs = [a for a in problem.arrays().values() if a.dtype.kind == "f"] if problem else []
    if actual.dtype == np.float32 and inputs and all(a.dtype == np.float64 for a in inputs):
        return (
            f"{name} is float32 for float64 inputs: a float32 array or accumulator loses precision"
        )
    if np.isnan(actual).any() and not np.isnan(expected).any():
        return f"{name} contains NaN where the result is finite"
    wrong = np.abs(actual.astype(np.float64) - expected) > np.abs(expected) * 1e-9 + 1e-12
    if name == "dA_prev" and isinstance(problem, (ConvProblem, PoolProblem)):
        m = actual.shape[0]
        if (
            m > 1
            and not actual[:-1].any()
            and expected[:-1].any()
            and same_values(actual[-1], expected[-1])
        ):
            return (
                "only the last example gets a gradient: dA_prev[i] is assigned after the "
                "loop over examples"
            )
        coverage = _coverage(problem)
        cells = wrong.any(axis=(0, 3))
        if cells.any() and (coverage[cells] > 1).all() and (coverage > 1).any():
            return (
                "windows overlap (stride < f) and the gradient was assigned (=), not "
                "accumulated (+=)"
            )
    nonzero = np.abs(expected) > 1e-9
    if nonzero.any() and np.isfinite(actual).all():
        ratio = actual[nonzero] / expected[nonzero]
        if (
            ratio.size >= 3
            and np.allclose(ratio, ratio[0], rtol=1e-9)
            and not np.isclose(ratio[0], 1.0)
            and ratio[0] != 0
            and same_values(actual[~nonzero], 0 * expected[~nonzero])
        ):
            factor = float(ratio[0])
            if failure.function == "distribute_value" and problem is not None:
                n_h, n_w = problem.shape
                if np.isclose(factor, n_h * n_w / (n_h + n_w)):
                    return "distribute_value divides by n_H + n_W instead of n_H * n_W"
            return f"{name} is off by a constant factor {factor:.6g}"
    if wrong.any() and wrong.ndim >= 2 and actual.shape == expected.shape and actual.ndim == 4:
        transposed = expected.transpose(0, 2, 1, 3)
        if actual.shape[1] == actual.shape[2] and same_values(actual, transposed):
            return "height and width swapped (the result is transposed)"
    if actual.ndim == 4 and actual.shape == expected.shape and problem is not None:
        channels = _computed_channels(actual, expected)
        if channels is not None:
            return _channel_loop_text(name, channels, actual.shape[3], problem)
    return None


def _computed_channels(actual: np.ndarray, expected: np.ndarray) -> int | None:
    """k when the first k channels are right and all the others are zero (0 < k < C)."""
    for k in range(1, actual.shape[3]):
        if (
            same_values(actual[..., :k], expected[..., :k])
            and not actual[..., k:].any()
            and expected[..., k:].any()
        ):
            return k
    return None


def _channel_loop_text(name: str, k: int, total: int, problem: Any) -> str:
    """Which of the problem's sizes equals k (the loop bound the code probably used)."""
    sizes = {}
    for label, array in problem.arrays().items():
        for axis, n in enumerate(array.shape):
            sizes.setdefault(n, f"{label}.shape[{axis}]")
    where = f" = {sizes[k]}" if k in sizes else ""
    return (
        f"only the first {k} of the {total} channels of {name} are computed, the rest stay "
        f"zero: the channel loop runs over range({k}){where}, not the channel count"
    )


# --- ties


def _break_ties(problem: PoolProblem) -> PoolProblem:
    """The same problem with every tie broken, keeping the order of distinct values."""
    A = problem.A_prev.astype(np.float64)
    order = np.arange(A.size, dtype=np.float64).reshape(A.shape)
    gaps = np.diff(np.unique(A[np.isfinite(A)]))
    step = (gaps.min() if gaps.size else 1.0) / (2 * A.size + 2)
    fields = dict(problem.__dict__)
    fields["A_prev"] = A - order * step  # earlier cells stay larger: the first maximum wins
    return type(problem)(**fields)


def _maximal_cells(problem: Any) -> np.ndarray | None:
    """Cells that are maximal in some max-pooling window (or the window), or None."""
    if isinstance(problem, WindowProblem):
        x = problem.x.astype(np.float64)
        return x == x.max()
    if isinstance(problem, PoolProblem) and problem.mode == "max":
        weights = ties.window_max_sets(problem.A_prev, problem.geometry).astype(np.float64)
        return ties.scatter_windows(problem.A_prev.shape, problem.geometry, weights) > 0
    return None


def _fresh(problem: Any, rng: np.random.Generator) -> Any:
    """Fresh random values of the same shapes, parameters and dtypes. For max pooling the tie
    structure is kept: every maximal cell keeps its value, the others are lowered by random
    amounts (so each window has the same maximal cells), and dA is drawn anew."""
    keep = _maximal_cells(problem)
    if keep is None or not _has_ties(problem):
        return randomized(problem, rng)
    fields = dict(problem.__dict__)
    name = "x" if isinstance(problem, WindowProblem) else "A_prev"
    values = problem.__dict__[name]
    lowered = values.astype(np.float64) - np.abs(rng.standard_normal(values.shape)) - 0.5
    fields[name] = np.where(keep, values, lowered).astype(values.dtype)
    if isinstance(problem, PoolProblem):
        fields["dA"] = rng.standard_normal(problem.dA.shape).astype(problem.dA.dtype)
    return type(problem)(**fields)


def _has_ties(problem: Any) -> bool:
    if isinstance(problem, PoolProblem) and problem.mode == "max":
        return ties.has_ties(problem.A_prev, problem.geometry)
    if isinstance(problem, WindowProblem):
        return int((problem.x == problem.x.max()).sum()) > 1
    return False


def _passes(recheck: Recheck, problem: Any, policy: str) -> bool:
    try:
        recheck(problem, policy)
    except ConformanceFailure:
        return False
    return True


#: How many fresh draws a tie note (and a diagnosis) must hold on.
CONFIRMATIONS = 3


def _tie_notes(failure: ConformanceFailure, recheck: Recheck) -> list[str]:
    """Notes about ties, each verified on fresh random values with the same tie structure
    (and fresh upstream gradients), and printed only if it holds on every draw."""
    problem = failure.problem
    function = failure.function
    if function not in ("pool_backward", "create_mask_from_window") or not _has_ties(problem):
        return []
    rng = np.random.default_rng(0)
    draws = [_fresh(problem, rng) for _ in range(CONFIRMATIONS)]
    notes = []
    if isinstance(problem, PoolProblem):
        broken = [_break_ties(draw) for draw in draws]
        if all(_passes(recheck, draw, "torch") for draw in broken) and not any(
            _passes(recheck, draw, failure.policy) for draw in draws
        ):
            notes.append(
                "this failure happens only at tied maxima: the same inputs with the ties broken "
                "pass (checked on fresh random values and upstream gradients)"
            )
    followed = [
        policy
        for policy in ties.TIE_POLICIES
        if policy != failure.policy
        and all(_passes(recheck, draw, policy) for draw in [problem, *draws])
    ]
    followed_text = {
        "torch": "torch's rule (the whole gradient to the first maximum, row-major)",
        "subgradient": "a valid subgradient, though not torch's rule",
        "all": "the notebook's convention (every tied maximum gets the full gradient)",
    }
    for policy in ("torch", "subgradient", "all"):
        if policy in followed:
            notes.append(
                f"on these tied inputs the code follows {followed_text[policy]}: "
                f"--ties {policy} accepts it (checked on fresh random values)"
            )
            break
    return notes


def _candidates(failure: ConformanceFailure) -> list[str]:
    """Every explanation the rules find for ``failure``, most specific first."""
    found: list[str] = []
    for rule in (facts_from_exception, _from_shape, _from_models, _from_location):
        try:
            result = rule(failure)
        except Exception:  # noqa: BLE001 - a diagnosis is a bonus, never a crash
            result = None
        found += result if isinstance(result, list) else [result] if result else []
    return found


#: Failure kinds whose diagnosis is a fact seen by the judge, not a hypothesis to confirm.
_FACTS = ("timeout", "crash", "mutation")


def explain(
    failure: ConformanceFailure,
    recheck: Recheck,
    *,
    candidates: Callable[[ConformanceFailure], list[str]] | None = None,
    fresh: Callable[[Any, np.random.Generator], Any] | None = None,
) -> None:
    """Fill ``failure.diagnosis`` and ``failure.notes`` (never raises).

    ``recheck(problem, policy)`` runs the same check of the same implementation on another
    problem (raising ConformanceFailure), to confirm a diagnosis on fresh values.
    ``candidates(failure)`` lists the explanations of a failure, most specific first, and
    ``fresh(problem, rng)`` draws new values of the same structure: the seed API's by default;
    another profile passes its own (:mod:`refconv.conformance.apis`).

    A diagnosis is kept only when it is confirmed: the implementation, run again on fresh
    random values of the same shapes (the same tie structure for max pooling), fails with the
    same diagnosis. Otherwise the report states the facts alone.
    """
    rules = candidates or _candidates
    draw = fresh or _fresh
    candidates_found = rules(failure)
    diagnosis = candidates_found[0] if candidates_found else None
    if failure.kind in ("timeout", "crash"):  # running the code again could cost as much
        failure.diagnosis = diagnosis
        return
    if candidates_found and failure.kind not in _FACTS:
        # On a tiny shrunk input several explanations can coincide (all zeros...); fresh
        # values tell them apart. Kept: the first explanation of the fresh failure that also
        # explains the counterexample; none if the fresh draws do not fail alike.
        rng = np.random.default_rng(0)
        diagnosis = None
        for _ in range(CONFIRMATIONS):
            try:
                recheck(draw(failure.problem, rng), failure.policy)
            except ConformanceFailure as again:
                diagnosis = next((d for d in rules(again) if d in candidates_found), None)
                break
            except Exception:  # noqa: BLE001
                break
    failure.diagnosis = diagnosis
    try:
        failure.notes.extend(_tie_notes(failure, recheck))
    except Exception:  # noqa: BLE001
        pass
