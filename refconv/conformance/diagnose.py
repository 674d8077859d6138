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

Every text a rule returns is a named constant below (a template for str.format where the text
has fields), so that tests import them instead of retyping fragments; the bug models of each
function are looked up in a table, ``_BUG_MODELS``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from refconv import oracle
from refconv._executor.wire import clone_layout
from refconv._windows import output_length
from refconv.conformance import ties
from refconv.conformance.guard import ConformanceFailure, Recheck
from refconv.problems import (
    ConvProblem,
    DistributeProblem,
    PoolProblem,
    SingleStepProblem,
    WindowProblem,
)

# --- named diagnosis texts
#
# Every text a rule below can return, so that tests import them instead of retyping fragments.
# Reports (and their readers) depend on these exact bytes. A template's fields are filled with
# str.format; the few texts that need a decision are small functions.

# 1. what an exception, the failure's kind or a wrong shape proves (any API)

#: An argument changed during the call (the judge saw it).
WRITES_INTO_ARGUMENT = (
    "the function writes into an array it was given (an in-place operation such as "
    "x *= ..., x += ... or x[...] = ... on an argument); work on a copy"
)
TIMEOUT = "the call never returned within the time limit"
#: NumPy refused to write into a read-only argument.
WRITES_INTO_READ_ONLY = (
    "the function writes into an array it was given (here a read-only one: "
    "assignment destination is read-only); work on a copy"
)
#: ``np.float``, ``np.int``, ...: fields ``name`` (the alias) and ``instead``; see numpy_alias.
NUMPY_ALIAS_REMOVED = "np.{name} was removed in NumPy 1.24: use {instead}"
#: What replaces a removed alias that has a sized NumPy type; the others become the builtin.
NUMPY_ALIAS_SIZED = {"float": "np.float64", "int": "np.int64", "complex": "np.complex128"}
FLOAT_OF_ARRAY = (
    "float() of a (1,1,1) array fails on NumPy >= 2.4: take the bias as a scalar with "
    "b.item() (or np.squeeze(b))"
)
#: conv_backward unpads with a literal ``[k:-k]``; fields ``k`` and ``pad`` (the problem's).
UNPAD_HARD_CODED = (
    "the unpadding is hard-coded as [{k}:-{k}] but pad = {pad} here: slice "
    "[pad:pad + n_H_prev, pad:pad + n_W_prev] instead"
)
EMPTY_UNPAD = (
    "empty unpadding at pad 0: X[pad:-pad] is X[0:0] when pad == 0; slice "
    "X[pad:pad + n_H_prev, pad:pad + n_W_prev] instead"
)
UNKNOWN_MODE = (
    "an unknown mode falls through the if/elif and silently returns zeros: raise ValueError for it"
)
# Without a bug model, only what the exception itself proves (the traceback shows where).
EMPTY_REDUCTION = "a reduction (max, sum, ...) was given an empty array: some slice is empty"
NOT_BROADCASTING = "two arrays whose shapes do not broadcast were combined (see the traceback)"
INDEX_PAST_END = "an index ran past the end of an array (see the traceback)"
UNDEFINED_NAME = "the function uses a name it does not define or import"

# ... and what a wrong shape (or type) proves (the seed API)

SINGLE_STEP_NOT_SCALAR = (
    "conv_single_step must return a scalar, not an array: b has shape (1, 1, 1), "
    "add b.item() (or np.squeeze(b))"
)
#: An output size rounded otherwise than floor; field ``how``, one of OUTPUT_SIZE_ROUNDINGS.
OUTPUT_SIZE_NOT_FLOOR = "output size {how}; torch uses floor: (n + 2*pad - f) // stride + 1"
#: How the output size was rounded, by (it is the ceil size, it is the round() size).
OUTPUT_SIZE_ROUNDINGS = {
    (True, False): "rounds up (ceil)",
    (False, True): "uses round()",
    (True, True): "rounds up (ceil, or round(): the same on this input)",
}
OUT_SIZES_SWAPPED = "n_H and n_W swapped"
#: conv_forward's output has the size of an unpadded convolution.
PADDING_IGNORED_SHAPE = "padding ignored: the input was not zero-padded before convolving"
#: Both a shape and a bug model (conv_forward, pool_forward) can show these two.
STRIDE_IGNORED_WIDTH = "stride ignored along the width (horizontal windows move by 1)"
STRIDE_IGNORED_HEIGHT = "stride ignored along the height (vertical windows move by 1)"
DB_SHAPE = "db must keep the shape (1, 1, 1, n_C) of b"
DW_SHAPE = "dW must have the shape of W, (f, f, n_C_prev, n_C)"
PAD_CHANNELS = "the channel axis was padded too: pad only height and width"
PAD_ONE_SIDE = "padded on one side only: pad (pad, pad) on each spatial axis"

# 2. bug models: the buggy variant each text names computes this very output

# pool_backward
POOL_INPUT_SLICE = (
    "gradient multiplied by the input slice instead of dA[i, h, w, c] (mask * a_prev_slice)"
)
POOL_INPUT_SLICE_ALL_TIES = (
    "gradient multiplied by the input slice instead of dA[i, h, w, c], and every tied "
    "maximum marked"
)
POOL_ALL_TIES = (
    "tied maxima each receive the full gradient (mask x == max(x)); torch gives it to "
    "the first maximum only"
)
POOL_LAST_MAX = (
    "ties go to the last maximum; torch gives the gradient to the first maximum in row-major order"
)
AVG_WINDOW_SUM_SWAPPED = (
    "average backward distributes the sum of the input window, with h and w swapped "
    "(the notebook's bug), instead of dA[i, h, w, c]"
)
AVG_WINDOW_SUM = (
    "average backward distributes the sum of the input window instead of dA[i, h, w, c]"
)
AVG_NOT_DIVIDED = "each window's gradient is dA, not dA / (f*f)"
#: A bug model of pool_backward, and where the wrong entries lie for any backward (rule 3).
OVERLAP_ASSIGNED = (
    "windows overlap (stride < f) and the gradient was assigned (=), not accumulated (+=)"
)
#: pool_backward and pool_forward.
WINDOW_ENDS_AT_STRIDE = "each window ends at vert_start + stride instead of vert_start + f"
LOOP_BOUNDS_SWAPPED = "loop bounds n_H and n_W swapped (h runs over range(n_W), w over range(n_H))"

# conv_backward (and conv_forward: a flipped kernel)
FLIPPED_KERNEL = "kernel flipped: conv2d here is cross-correlation (torch), W is not flipped"
DA_PREV_ASSIGNED = (
    "dA_prev was assigned (=), not accumulated (+=), so overlapping windows "
    "and output channels overwrite each other"
)
DW_NO_STRIDE = "dW slices the input at h, w instead of h*stride, w*stride"
DB_ASSIGNED = "db was assigned (=) from the last dZ entry, not accumulated (+=)"

# conv_forward (and conv_single_step: the bias missing, a mean)
KERNEL_TRANSPOSED = "kernel height and width axes swapped (W transposed)"
BIAS_MISSING = "bias not added"
BIAS_PER_PRODUCT = "bias added once per product inside the window sum (f*f*n_C_prev times)"
MEAN_NOT_SUM = "mean instead of sum over the window"
#: The right output size, but the windows slide over A_prev (zeros only past its end).
PADDING_IGNORED_WINDOWS = (
    "padding ignored: the windows slide over A_prev instead of the padded input"
)

# pool_forward
#: Fields ``mode`` (the problem's) and ``other`` (the mode the code computes).
MODE_COMPUTES_OTHER = "mode {mode!r} computes the {other} of the window"

# conv_single_step
SINGLE_STEP_BIAS_PER_PRODUCT = "bias added to every product inside the sum (f*f*n_C_prev times)"

# create_mask_from_window
MASK_ALL_TIES = (
    "tied maxima all marked (x == np.max(x)): torch's rule keeps one True, at the first "
    "maximum in row-major order"
)
MASK_LAST_MAX = "the mask marks the last maximum; torch's rule marks the first (row-major)"

# distribute_value
#: A bug model, and a constant factor seen by rule 3.
DISTRIBUTE_N_PLUS = "distribute_value divides by n_H + n_W instead of n_H * n_W"
DISTRIBUTE_UNDIVIDED = "distribute_value does not divide dz by n_H * n_W"
DISTRIBUTE_N_H_ONLY = "distribute_value divides by n_H only"

# 3. where the wrong entries lie; field ``name``: the output compared

#: Field ``dtype``: the output's integer dtype.
INTEGER_DTYPE = (
    "{name} has integer dtype {dtype}: an array made with np.zeros_like of "
    "an integer input truncates the result; allocate it with np.zeros(shape)"
)
FLOAT32_RESULT = (
    "{name} is float32 for float64 inputs: a float32 array or accumulator loses precision"
)
NAN_RESULT = "{name} contains NaN where the result is finite"
LAST_EXAMPLE_ONLY = (
    "only the last example gets a gradient: dA_prev[i] is assigned after the loop over examples"
)
#: Field ``factor``: the ratio actual / expected.
CONSTANT_FACTOR = "{name} is off by a constant factor {factor:.6g}"
TRANSPOSED_RESULT = "height and width swapped (the result is transposed)"
#: Fields ``k`` (the channels computed), ``total`` (the channel count) and ``where``: empty, or
#: " = W.shape[2]" naming the input size that equals k; see channel_loop.
CHANNEL_LOOP = (
    "only the first {k} of the {total} channels of {name} are computed, the rest stay "
    "zero: the channel loop runs over range({k}){where}, not the channel count"
)

# ties: notes, each verified on fresh draws

TIES_ONLY = (
    "this failure happens only at tied maxima: the same inputs with the ties broken "
    "pass (checked on fresh random values and upstream gradients)"
)
#: Fields ``rule`` (one of TIE_RULES) and ``policy`` (its key).
TIE_POLICY_FOLLOWED = (
    "on these tied inputs the code follows {rule}: "
    "--ties {policy} accepts it (checked on fresh random values)"
)
#: The rule each tie policy stands for; in this order, the first followed one is noted.
TIE_RULES = {
    "torch": "torch's rule (the whole gradient to the first maximum, row-major)",
    "subgradient": "a valid subgradient, though not torch's rule",
    "all": "the notebook's convention (every tied maximum gets the full gradient)",
}


def numpy_alias(name: str) -> str:
    """NUMPY_ALIAS_REMOVED for ``np.<name>``, with its replacement."""
    sized = NUMPY_ALIAS_SIZED.get(name)
    instead = f"{name}(...) or {sized}" if sized else f"the builtin {name}"
    return NUMPY_ALIAS_REMOVED.format(name=name, instead=instead)


def channel_loop(name: str, k: int, total: int, size: str | None = None) -> str:
    """CHANNEL_LOOP: only ``k`` of ``total`` channels computed (``size``: the size equal to k)."""
    where = f" = {size}" if size is not None else ""
    return CHANNEL_LOOP.format(name=name, k=k, total=total, where=where)


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
        return WRITES_INTO_ARGUMENT
    if failure.kind == "timeout":
        return TIMEOUT
    if "read-only" in text and ("output array" in text or "destination" in text):
        return WRITES_INTO_READ_ONLY
    alias = re.search(r"numpy' has no attribute '(float|int|bool|object|complex|str|long)'", text)
    if alias:
        return numpy_alias(alias.group(1))
    if (
        "only 0-dimensional arrays can be converted" in text
        or "only length-1 arrays" in text
        or "only size-1 arrays" in text
    ):
        return FLOAT_OF_ARRAY
    problem = failure.problem
    hard_coded = re.search(r"\[\s*([1-9])\s*:\s*-\s*\1\s*[,\]]", failure.details)
    if (
        isinstance(problem, ConvProblem)
        and failure.function == "conv_backward"
        and hard_coded
        and int(hard_coded.group(1)) != problem.pad
    ):
        return UNPAD_HARD_CODED.format(k=hard_coded.group(1), pad=problem.pad)
    if (
        isinstance(problem, ConvProblem)
        and problem.pad == 0
        and failure.function == "conv_backward"
    ):
        unpads = ":-pad" in failure.details.replace(" ", "")
        empty = failure.kind == "shape" and 0 in failure.actual.get("dA_prev", np.ones(1)).shape
        if unpads or empty:
            return EMPTY_UNPAD
    if (
        failure.function == "pool_forward"
        and isinstance(problem, PoolProblem)
        and problem.mode not in ("max", "average")
    ):
        return UNKNOWN_MODE
    # Without a bug model, only what the exception itself proves (the traceback shows where).
    if "zero-size array" in text or "empty sequence" in text:
        return EMPTY_REDUCTION
    if "broadcast" in text:
        return NOT_BROADCASTING
    if isinstance(exc, IndexError):
        return INDEX_PAST_END
    if failure.kind == "exception" and "not defined" in text and "NotImplemented" not in text:
        return UNDEFINED_NAME
    return None


def _sizes(
    problem: ConvProblem | PoolProblem, rounding: Callable[[float], float]
) -> tuple[int, int]:
    """The output sizes a buggy ``rounding`` of the division would give (a bug model)."""
    g = problem.geometry
    (f, _), (s, _), p = g.kernel, g.stride, g.padding[0]
    return (
        int(rounding((g.height + 2 * p - f) / s)) + 1,
        int(rounding((g.width + 2 * p - f) / s)) + 1,
    )


def _from_shape(failure: ConformanceFailure) -> str | None:
    if failure.kind not in ("shape", "type"):
        return None
    problem = failure.problem
    actual = next(iter(failure.actual.values()), None)
    if failure.function == "conv_single_step" and "scalar" not in failure.message:
        return SINGLE_STEP_NOT_SCALAR
    if actual is None:
        return None
    shape = actual.shape
    if failure.function in ("conv_forward", "pool_forward") and len(shape) == 4:
        expected = problem.out_shape
        ceil, rounded = _sizes(problem, np.ceil), _sizes(problem, round)
        if shape[1:3] != expected[1:3] and shape[1:3] in (ceil, rounded):
            how = OUTPUT_SIZE_ROUNDINGS[(shape[1:3] == ceil, shape[1:3] == rounded)]
            return OUTPUT_SIZE_NOT_FLOOR.format(how=how)
        if shape[1:3] == expected[2:0:-1]:
            return OUT_SIZES_SWAPPED
        if isinstance(problem, ConvProblem) and problem.pad > 0:
            f = problem.W.shape[0]
            unpadded = tuple(
                output_length(n, f, problem.stride, 0, 0) for n in problem.A_prev.shape[1:3]
            )
            if shape[1:3] == unpadded:
                return PADDING_IGNORED_SHAPE
        _, h, w, _ = problem.A_prev.shape
        f = problem.W.shape[0] if isinstance(problem, ConvProblem) else problem.f
        p = problem.pad if isinstance(problem, ConvProblem) else 0
        if shape[2] == output_length(w, f, 1, p, p) and shape[2] != expected[2]:
            return STRIDE_IGNORED_WIDTH
        if shape[1] == output_length(h, f, 1, p, p) and shape[1] != expected[1]:
            return STRIDE_IGNORED_HEIGHT
    if failure.function == "conv_backward":
        if "db" in failure.actual and shape == (problem.W.shape[3],):
            return DB_SHAPE
        if "dW" in failure.actual:
            return DW_SHAPE
    if failure.function == "zero_pad" and len(shape) == 4:
        X, p = problem.X, problem.pad
        if shape[3] == X.shape[3] + 2 * p:
            return PAD_CHANNELS
        if shape[1:3] == (X.shape[1] + p, X.shape[2] + p):
            return PAD_ONE_SIDE
    return None


# --- 2. bug models

#: A bug model: the diagnosis text, and the output the buggy variant computes on the input.
Model = tuple[str, Callable[[], np.ndarray]]


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


def _pool_backward_models(problem: PoolProblem, _name: str) -> list[Model]:
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
            (POOL_INPUT_SLICE, lambda: scatter(problem, ties.first_maximum(max_sets) * windows)),
            (POOL_INPUT_SLICE_ALL_TIES, lambda: scatter(problem, max_sets * windows)),
            (
                POOL_ALL_TIES,
                lambda: ties.all_ties_gradient(problem.A_prev, geometry, problem.dA),
            ),
            (
                POOL_LAST_MAX,
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
            (AVG_WINDOW_SUM_SWAPPED, swapped_sum),
            (
                AVG_WINDOW_SUM,
                lambda: scatter(problem, ones * windows.sum(axis=(3, 4), keepdims=True) / f**2),
            ),
            (AVG_NOT_DIVIDED, lambda: scatter(problem, ones * dA)),
        ]
    if problem.stride < f:  # without overlap, assigning is accumulating
        models.append((OVERLAP_ASSIGNED, lambda: _pool_backward_loop(problem, assign=True)))
    if problem.stride != f:
        models.append(
            (WINDOW_ENDS_AT_STRIDE, lambda: _pool_backward_loop(problem, window=problem.stride))
        )
    models += [
        (LOOP_BOUNDS_SWAPPED, lambda: _pool_backward_loop(problem, swap_bounds=True)),
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


def _conv_backward_models(problem: ConvProblem, name: str) -> list[Model]:
    A, W, b, dZ = (x.astype(np.float64) for x in (problem.A_prev, problem.W, problem.b, problem.dZ))
    s, p, f = problem.stride, problem.pad, W.shape[0]

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

    models = [(FLIPPED_KERNEL, flipped_grads)]
    if name == "dA_prev":
        models.append((DA_PREV_ASSIGNED, lambda: _conv_backward_assign(problem)))
    if name == "dW":
        models.append((DW_NO_STRIDE, dW_no_stride))
    if name == "db":
        models.append((DB_ASSIGNED, lambda: dZ[-1, -1, -1].reshape(1, 1, 1, -1)))
    return models


def _conv_forward_models(problem: ConvProblem, _name: str) -> list[Model]:
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
        (FLIPPED_KERNEL, lambda: oracle.conv_forward(A, W[::-1, ::-1], b, s, p)),
        (KERNEL_TRANSPOSED, lambda: oracle.conv_forward(A, W.transpose(1, 0, 2, 3), b, s, p)),
        (BIAS_MISSING, base),
        (BIAS_PER_PRODUCT, lambda: base() + f * f * c_in * b),
        (MEAN_NOT_SUM, lambda: base() / (f * f * c_in) + b),
        (STRIDE_IGNORED_WIDTH, strided(s, 1)),
        (STRIDE_IGNORED_HEIGHT, strided(1, s)),
        (PADDING_IGNORED_WINDOWS, unpadded),
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


def _pool_forward_models(problem: PoolProblem, _name: str) -> list[Model]:
    A = problem.A_prev.astype(np.float64)
    other = "average" if problem.mode == "max" else "max"
    _, n_h, n_w, _ = problem.out_shape
    stride_end = []
    if problem.stride != problem.f:
        stride_end.append(
            (WINDOW_ENDS_AT_STRIDE, lambda: _pool_forward_window(problem, problem.stride))
        )
    return stride_end + [
        (
            MODE_COMPUTES_OTHER.format(mode=problem.mode, other=other),
            lambda: oracle.pool_forward(A, problem.f, problem.stride, other),
        ),
        (
            STRIDE_IGNORED_WIDTH,
            lambda: oracle.pool_forward(A, problem.f, (problem.stride, 1), problem.mode)[
                :, :n_h, :n_w
            ],
        ),
        (
            STRIDE_IGNORED_HEIGHT,
            lambda: oracle.pool_forward(A, problem.f, (1, problem.stride), problem.mode)[
                :, :n_h, :n_w
            ],
        ),
    ]


def _single_step_models(problem: SingleStepProblem, _name: str) -> list[Model]:
    a, W, b = (x.astype(np.float64) for x in (problem.a_slice_prev, problem.W, problem.b))
    total = np.sum(a * W)
    return [
        (BIAS_MISSING, lambda: np.float64(total)),
        (SINGLE_STEP_BIAS_PER_PRODUCT, lambda: np.float64(total + a.size * b.item())),
        (MEAN_NOT_SUM, lambda: np.float64(np.mean(a * W) + b.item())),
    ]


def _window_models(problem: WindowProblem, _name: str) -> list[Model]:
    x = problem.x.astype(np.float64)

    def last() -> np.ndarray:
        flat = x.reshape(-1)
        mask = np.zeros(flat.shape, bool)
        mask[flat.size - 1 - int(np.argmax(flat[::-1]))] = True
        return mask.reshape(x.shape)

    return [(MASK_ALL_TIES, lambda: x == x.max()), (MASK_LAST_MAX, last)]


def _distribute_models(problem: DistributeProblem, _name: str) -> list[Model]:
    n_h, n_w = problem.shape
    dz = float(problem.dz)
    return [
        (DISTRIBUTE_N_PLUS, lambda: np.full((n_h, n_w), dz / (n_h + n_w))),
        (DISTRIBUTE_UNDIVIDED, lambda: np.full((n_h, n_w), dz)),
        (DISTRIBUTE_N_H_ONLY, lambda: np.full((n_h, n_w), dz / n_h)),
    ]


#: The bug models of each seed function: its name -> (the problem type they model, the models
#: function). A models function takes the problem and the name of the output compared (only
#: conv_backward, with three outputs, needs it).
_BUG_MODELS: dict[str, tuple[type, Callable[[Any, str], list[Model]]]] = {
    "conv_single_step": (SingleStepProblem, _single_step_models),
    "conv_forward": (ConvProblem, _conv_forward_models),
    "conv_backward": (ConvProblem, _conv_backward_models),
    "pool_forward": (PoolProblem, _pool_forward_models),
    "create_mask_from_window": (WindowProblem, _window_models),
    "distribute_value": (DistributeProblem, _distribute_models),
    "pool_backward": (PoolProblem, _pool_backward_models),
}


def _models(failure: ConformanceFailure, problem: Any, name: str) -> list[Model]:
    """The bug models of ``failure``'s function (none for another function or problem type)."""
    entry = _BUG_MODELS.get(failure.function)
    if entry is None or not isinstance(problem, entry[0]):
        return []
    problem_type, models = entry
    return models(problem, name)


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
    geometry = problem.geometry
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
        return INTEGER_DTYPE.format(name=name, dtype=actual.dtype)
    inputs = [a for a in problem.arrays().values() if a.dtype.kind == "f"] if problem else []
    if actual.dtype == np.float32 and inputs and all(a.dtype == np.float64 for a in inputs):
        return FLOAT32_RESULT.format(name=name)
    if np.isnan(actual).any() and not np.isnan(expected).any():
        return NAN_RESULT.format(name=name)
    wrong = np.abs(actual.astype(np.float64) - expected) > np.abs(expected) * 1e-9 + 1e-12
    if name == "dA_prev" and isinstance(problem, (ConvProblem, PoolProblem)):
        m = actual.shape[0]
        if (
            m > 1
            and not actual[:-1].any()
            and expected[:-1].any()
            and same_values(actual[-1], expected[-1])
        ):
            return LAST_EXAMPLE_ONLY
        coverage = _coverage(problem)
        cells = wrong.any(axis=(0, 3))
        if cells.any() and (coverage[cells] > 1).all() and (coverage > 1).any():
            return OVERLAP_ASSIGNED
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
                    return DISTRIBUTE_N_PLUS
            return CONSTANT_FACTOR.format(name=name, factor=factor)
    if wrong.any() and wrong.ndim >= 2 and actual.shape == expected.shape and actual.ndim == 4:
        transposed = expected.transpose(0, 2, 1, 3)
        if actual.shape[1] == actual.shape[2] and same_values(actual, transposed):
            return TRANSPOSED_RESULT
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
    return channel_loop(name, k, total, sizes.get(k))


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
            notes.append(TIES_ONLY)
    followed = [
        policy
        for policy in ties.TIE_POLICIES
        if policy != failure.policy
        and all(_passes(recheck, draw, policy) for draw in [problem, *draws])
    ]
    for policy, rule in TIE_RULES.items():  # the first followed rule, in TIE_RULES' order
        if policy in followed:
            notes.append(TIE_POLICY_FOLLOWED.format(rule=rule, policy=policy))
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
