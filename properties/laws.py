"""The laws of the seed API: what any correct implementation of the eight functions obeys.

Each law is a plain function ``law_xxx(impl, problem)`` (the hygiene laws also take the name of
the function they judge) that returns silently when ``impl`` obeys it on ``problem`` and raises
``AssertionError`` otherwise. ``impl`` is anything with the seed functions as attributes: refconv,
refconv.stepwise, or a module loaded from a student's file. ``problem`` comes from the public
strategies of :mod:`refconv.strategies` (or from the few builders at the end of this module).

The test files of ``properties/`` wrap each law in ``@given``; ``tests/test_teeth.py`` calls the
same laws on the faulty implementations of the bug zoo, to show that each law has teeth.

Agreement with torch goes through :func:`refconv.conformance.checks.check`, the very engine of
``refconv check`` (tolerance model, guarded calls, mutation detection): the laws never compare
with torch on their own. The other laws are independent of torch's kernels: finite differences,
adjoint identities, structural facts and hygiene. Where they compare floating-point numbers they
use the tolerance model of :mod:`refconv.conformance.tolerance`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from hypothesis import event, note
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import refconv
from refconv import oracle, strategies
from refconv.conformance.checks import DEFAULT_TIMEOUT, check
from refconv.conformance.tolerance import compare, dot_bound
from refconv.problems import (
    ConvProblem,
    DistributeProblem,
    PadProblem,
    PoolProblem,
    SingleStepProblem,
    WindowProblem,
)
from refconv.strategies import pool_problems

#: Per-call time limit (seconds) given to the conformance engine; tests/test_teeth.py lowers it
#: so that an implementation that hangs fails quickly.
CALL_TIMEOUT: float = DEFAULT_TIMEOUT

#: Which problem type feeds which seed function.
PROBLEM_TYPES: dict[str, type] = {
    "zero_pad": PadProblem,
    "conv_single_step": SingleStepProblem,
    "conv_forward": ConvProblem,
    "conv_backward": ConvProblem,
    "pool_forward": PoolProblem,
    "pool_backward": PoolProblem,
    "create_mask_from_window": WindowProblem,
    "distribute_value": DistributeProblem,
}


# --- helpers ------------------------------------------------------------------------------------


def label(problem: Any) -> None:
    """Attach a copy-pasteable rendering of ``problem`` to a failure report (inside hypothesis)."""
    try:
        note(f"problem (Python source):\n{problem.python_source()}")
    except InvalidArgument:  # called outside a hypothesis test: nothing to attach to
        pass


def tag(text: str) -> None:
    """Record a coverage category of the example (hypothesis.event), when inside hypothesis."""
    try:
        event(text)
    except InvalidArgument:
        pass


def conforms(function: str, impl: Any, problem: Any) -> None:
    """The conformance check of ``refconv check`` (torch's tie rule), raising on failure."""
    label(problem)
    check(function, impl, problem, policy="torch", timeout=CALL_TIMEOUT)


def eps_dtype(*arrays: Any) -> np.dtype:
    """The precision a computation keeps: float32 only if every input is float32."""
    float32 = np.dtype(np.float32)
    if all(np.asarray(a).dtype == float32 for a in arrays):
        return float32
    return np.dtype(np.float64)


def inner(x: Any, y: Any) -> float:
    """``<x, y>`` computed in float64."""
    return float(np.sum(np.asarray(x, dtype=np.float64) * np.asarray(y, dtype=np.float64)))


def assert_close(name: str, actual: float, expected: float, bound: float) -> None:
    """``|actual - expected| <= bound``, with the tolerance module's report on failure."""
    mismatch = compare(name, np.float64(actual), np.float64(expected), bound)
    assert mismatch is None, mismatch.describe()


def covered_cells(height: int, width: int, f: int, stride: int, pad: int) -> np.ndarray:
    """Boolean (height, width): input cells that at least one window reads."""
    n_h = (height + 2 * pad - f) // stride + 1
    n_w = (width + 2 * pad - f) // stride + 1
    rows = np.zeros(height + 2 * pad, dtype=bool)
    cols = np.zeros(width + 2 * pad, dtype=bool)
    for h in range(n_h):
        rows[h * stride : h * stride + f] = True
    for w in range(n_w):
        cols[w * stride : w * stride + f] = True
    return rows[pad : pad + height, None] & cols[None, pad : pad + width]


def window_slices(problem: PoolProblem):
    """Yield ``(h, w, rows, cols)`` for every pooling window."""
    _, n_h, n_w, _ = problem.out_shape
    f, s = problem.f, problem.stride
    for h in range(n_h):
        for w in range(n_w):
            yield h, w, slice(h * s, h * s + f), slice(w * s, w * s + f)


def tag_nan_windows(problem: PoolProblem) -> None:
    """Label a pooling problem by the most NaNs one of its windows holds (0, 1 or 2+)."""
    most = 0
    for _, _, rows, cols in window_slices(problem):
        counts = np.isnan(problem.A_prev[:, rows, cols, :]).sum(axis=(1, 2))
        most = max(most, int(counts.max()))
    tag(f"most NaNs in one window: {min(most, 2)}{'+' if most >= 2 else ''}")


# --- 1. forward agrees with torch (conformance engine) -----------------------------------------


def law_zero_pad_agrees(impl: Any, problem: PadProblem) -> None:
    """zero_pad(X, pad) is X with ``pad`` zeros around height and width, exactly."""
    conforms("zero_pad", impl, problem)


def law_conv_single_step_agrees(impl: Any, problem: SingleStepProblem) -> None:
    """conv_single_step(a, W, b) is the scalar sum(a * W) + b, within the tolerance model."""
    conforms("conv_single_step", impl, problem)


def law_conv_forward_agrees_with_torch(impl: Any, problem: ConvProblem) -> None:
    """conv_forward's Z is torch.nn.functional.conv2d's output, within the tolerance model."""
    conforms("conv_forward", impl, problem)


def law_pool_forward_agrees_with_torch(impl: Any, problem: PoolProblem) -> None:
    """pool_forward's A is max_pool2d's (exactly) or avg_pool2d's (within tolerance) output."""
    conforms("pool_forward", impl, problem)


def law_create_mask_agrees(impl: Any, problem: WindowProblem) -> None:
    """create_mask_from_window(x) marks the element torch's max pooling routes the gradient to."""
    conforms("create_mask_from_window", impl, problem)


def law_distribute_value_agrees(impl: Any, problem: DistributeProblem) -> None:
    """distribute_value(dz, shape) is a ``shape`` matrix of dz / (n_H * n_W)."""
    conforms("distribute_value", impl, problem)


# --- 2. backward agrees with torch autograd (random upstream gradient) -------------------------


def law_conv_backward_agrees_with_torch(impl: Any, problem: ConvProblem) -> None:
    """conv_backward's (dA_prev, dW, db) are torch autograd's, for the random upstream dZ."""
    conforms("conv_backward", impl, problem)


def law_pool_backward_agrees_with_torch(impl: Any, problem: PoolProblem) -> None:
    """pool_backward's dA_prev is torch autograd's, for the random upstream dA."""
    conforms("pool_backward", impl, problem)


# --- 3. finite differences (torch.autograd.gradcheck, float64) ---------------------------------


def _tensor(array: Any) -> Any:
    torch = oracle.require_torch()
    return torch.from_numpy(np.array(array, dtype=np.float64, copy=True))


def _array(tensor: Any) -> np.ndarray:
    return tensor.detach().numpy().copy()


def law_conv_backward_matches_finite_differences(impl: Any, problem: ConvProblem) -> None:
    """conv_backward is the derivative of conv_forward: gradcheck against central differences.

    The tensors hold the seed's own layouts (NHWC, (f, f, C_prev, C), (1, 1, 1, C)); the
    autograd Function calls the implementation for both passes, so torch's kernels play no part.
    """
    label(problem)
    torch = oracle.require_torch()
    hparameters = problem.hparameters

    class Conv(torch.autograd.Function):
        @staticmethod
        def forward(ctx, A_prev, W, b):
            Z, ctx.seed_cache = impl.conv_forward(_array(A_prev), _array(W), _array(b), hparameters)
            return _tensor(Z)

        @staticmethod
        def backward(ctx, dZ):
            dA_prev, dW, db = impl.conv_backward(_array(dZ), ctx.seed_cache)
            return _tensor(dA_prev), _tensor(dW), _tensor(db)

    inputs = tuple(_tensor(x).requires_grad_(True) for x in (problem.A_prev, problem.W, problem.b))
    assert torch.autograd.gradcheck(Conv.apply, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)


def law_pool_backward_matches_finite_differences(impl: Any, problem: PoolProblem) -> None:
    """pool_backward is the derivative of pool_forward (max pooling: on inputs without ties)."""
    label(problem)
    torch = oracle.require_torch()
    hparameters, mode = problem.hparameters, problem.mode

    class Pool(torch.autograd.Function):
        @staticmethod
        def forward(ctx, A_prev):
            A, ctx.seed_cache = impl.pool_forward(_array(A_prev), hparameters, mode)
            return _tensor(A)

        @staticmethod
        def backward(ctx, dA):
            return _tensor(impl.pool_backward(_array(dA), ctx.seed_cache, mode))

    A_prev = _tensor(problem.A_prev).requires_grad_(True)
    assert torch.autograd.gradcheck(Pool.apply, (A_prev,), eps=1e-6, atol=1e-5, rtol=1e-3)


# --- 4. adjoint identities ---------------------------------------------------------------------


def _conv_adjoint_parts(impl: Any, problem: ConvProblem) -> tuple[Any, ...]:
    """Z = conv(A_prev, W, b=0), the backward pass for y = dZ, and the bound of the identities."""
    A, W, y = problem.A_prev, problem.W, problem.dZ
    zero_bias = np.zeros_like(problem.b)
    Z, cache = impl.conv_forward(A, W, zero_bias, problem.hparameters)
    dA_prev, dW, _ = impl.conv_backward(y, cache)
    # Both sides are the same triple sum over (position, kernel offset, channels) of
    # A * W * y; its magnitude is that sum on absolute values (computed by refconv).
    Z_abs, _ = refconv.conv_forward(np.abs(A), np.abs(W), zero_bias, problem.hparameters)
    magnitude = inner(Z_abs, np.abs(y))
    f, _, c_in, _ = W.shape
    n_terms = y.size * f * f * c_in + A.size + W.size
    bound = float(dot_bound(magnitude, n_terms, eps_dtype(A, W, y)))
    return Z, dA_prev, dW, bound


def law_conv_backward_input_is_adjoint(impl: Any, problem: ConvProblem) -> None:
    """<conv_forward(A_prev, W, 0), y> == <A_prev, dA_prev(y)>: dA_prev is the adjoint in A."""
    label(problem)
    Z, dA_prev, _, bound = _conv_adjoint_parts(impl, problem)
    assert_close("<A_prev, dA_prev>", inner(problem.A_prev, dA_prev), inner(Z, problem.dZ), bound)


def law_conv_backward_weight_is_adjoint(impl: Any, problem: ConvProblem) -> None:
    """<conv_forward(A_prev, W, 0), y> == <W, dW(A_prev, y)>: dW is the adjoint in W."""
    label(problem)
    Z, _, dW, bound = _conv_adjoint_parts(impl, problem)
    assert_close("<W, dW>", inner(problem.W, dW), inner(Z, problem.dZ), bound)


def law_conv_backward_bias_is_adjoint(impl: Any, problem: ConvProblem) -> None:
    """Z is affine in b, Z(b) = Z(0) + broadcast(b): so <broadcast(b), y> == <b, db(y)>.

    Equivalently (b being arbitrary) db is the sum of y over examples and positions; compared
    with the tolerance model on the inner products.
    """
    label(problem)
    b, y = problem.b, problem.dZ
    _, cache = impl.conv_forward(problem.A_prev, problem.W, b, problem.hparameters)
    db = impl.conv_backward(y, cache)[2]
    broadcast_b = np.broadcast_to(b, y.shape)
    magnitude = inner(np.abs(broadcast_b), np.abs(y))
    bound = float(dot_bound(magnitude, y.size + b.size, eps_dtype(b, y)))
    assert np.size(db) == b.size, f"db has shape {np.shape(db)}, expected {b.shape}"
    assert_close("<b, db>", inner(b.reshape(-1), np.reshape(db, -1)), inner(broadcast_b, y), bound)


def law_avg_pool_backward_is_adjoint(impl: Any, problem: PoolProblem) -> None:
    """Average pooling is linear: <pool(A_prev), y> == <A_prev, pool_backward(y)>."""
    label(problem)
    assert problem.mode == "average", "this law is about average pooling"
    A_prev, y = problem.A_prev, problem.dA
    A, cache = impl.pool_forward(A_prev, problem.hparameters, "average")
    dA_prev = impl.pool_backward(y, cache, "average")
    A_abs, _ = refconv.pool_forward(np.abs(A_prev), problem.hparameters, "average")
    n_terms = y.size * problem.f**2 + A_prev.size
    bound = float(dot_bound(inner(A_abs, np.abs(y)), n_terms, eps_dtype(A_prev, y)))
    assert_close("<A_prev, pool_backward(y)>", inner(A_prev, dA_prev), inner(A, y), bound)


def probe_array(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """A fixed pseudo-random array (hundredths in [-3, 3]) to probe a linear map with."""
    rng = np.random.default_rng(20240521)
    return np.round(rng.uniform(-3, 3, size=shape), 2).astype(dtype)


def gather_at_argmax(problem: PoolProblem, z: np.ndarray) -> np.ndarray:
    """For each max-pooling window of ``A_prev``: ``z`` at refconv's argmax of that window."""
    out = np.zeros(problem.out_shape, dtype=np.float64)
    m, _, _, channels = problem.A_prev.shape
    for h, w, rows, cols in window_slices(problem):
        for i in range(m):
            for c in range(channels):
                mask = refconv.create_mask_from_window(problem.A_prev[i, rows, cols, c])
                out[i, h, w, c] = z[i, rows, cols, c][mask].item()
    return out


def law_max_pool_backward_is_adjoint_of_gather(impl: Any, problem: PoolProblem) -> None:
    """<gather_argmax(A_prev, z), y> == <z, pool_backward(y)> for any z.

    Max pooling picks one cell per window (torch's rule: the first maximum); its backward must be
    the transpose of that selection, "gather at argmax".
    """
    label(problem)
    assert problem.mode == "max", "this law is about max pooling"
    A_prev, y = problem.A_prev, problem.dA
    z = probe_array(A_prev.shape, A_prev.dtype)
    _, cache = impl.pool_forward(A_prev, problem.hparameters, "max")
    dA_prev = impl.pool_backward(y, cache, "max")
    gathered = gather_at_argmax(problem, z)
    n_terms = y.size + A_prev.size
    bound = float(dot_bound(inner(np.abs(gathered), np.abs(y)), n_terms, eps_dtype(A_prev, y)))
    assert_close("<z, pool_backward(y)>", inner(z, dA_prev), inner(gathered, y), bound)


# --- 5. structure ------------------------------------------------------------------------------


def law_conv_uncovered_cells_get_zero_gradient(impl: Any, problem: ConvProblem) -> None:
    """Input cells no window reads (gaps of stride > f, trailing rows/columns) get dA_prev 0."""
    label(problem)
    _, cache = impl.conv_forward(problem.A_prev, problem.W, problem.b, problem.hparameters)
    dA_prev = np.asarray(impl.conv_backward(problem.dZ, cache)[0])
    _, height, width, _ = problem.A_prev.shape
    covered = covered_cells(height, width, problem.W.shape[0], problem.stride, problem.pad)
    tag("some input cells uncovered" if not covered.all() else "every input cell covered")
    leaked = dA_prev[:, ~covered, :]
    assert np.all(leaked == 0), f"uncovered cells got gradient {leaked[leaked != 0][:5]}"


def law_pool_uncovered_cells_get_zero_gradient(impl: Any, problem: PoolProblem) -> None:
    """Input cells that no pooling window reads get dA_prev exactly 0."""
    label(problem)
    _, cache = impl.pool_forward(problem.A_prev, problem.hparameters, problem.mode)
    dA_prev = np.asarray(impl.pool_backward(problem.dA, cache, problem.mode))
    _, height, width, _ = problem.A_prev.shape
    covered = covered_cells(height, width, problem.f, problem.stride, 0)
    tag("some input cells uncovered" if not covered.all() else "every input cell covered")
    leaked = dA_prev[:, ~covered, :]
    assert np.all(leaked == 0), f"uncovered cells got gradient {leaked[leaked != 0][:5]}"


def law_max_pool_gradient_mass_is_dA(impl: Any, problem: PoolProblem) -> None:
    """Max pooling routes each window's dA, whole, to one of its maximal cells.

    So the total mass of dA_prev is the total mass of dA (within rounding), and with disjoint
    windows (stride >= f) each window's cells hold exactly its dA, on a maximal cell.
    """
    label(problem)
    assert problem.mode == "max", "this law is about max pooling"
    A_prev, dA = problem.A_prev, problem.dA
    _, cache = impl.pool_forward(A_prev, problem.hparameters, "max")
    dA_prev = np.asarray(impl.pool_backward(dA, cache, "max"), dtype=np.float64)
    assert dA_prev.shape == A_prev.shape, f"dA_prev has shape {dA_prev.shape}"
    n_terms = dA.size + dA_prev.size
    bound = float(dot_bound(np.abs(dA.astype(np.float64)).sum(), n_terms, eps_dtype(A_prev, dA)))
    assert_close("sum(dA_prev)", dA_prev.sum(), dA.astype(np.float64).sum(), bound)
    if problem.stride < problem.f:
        tag("overlapping windows: total mass only")
        return  # overlapping windows share cells: only the total mass is per-window-free
    tag("disjoint windows: mass and position per window")
    for h, w, rows, cols in window_slices(problem):
        window_grad = dA_prev[:, rows, cols, :]
        window_vals = A_prev[:, rows, cols, :]
        mass = window_grad.sum(axis=(1, 2))
        assert np.array_equal(mass, dA[:, h, w, :].astype(np.float64)), (
            f"window ({h}, {w}): gradient mass {mass} instead of dA {dA[:, h, w, :]}"
        )
        off_max = (window_grad != 0) & (window_vals < window_vals.max(axis=(1, 2), keepdims=True))
        assert not off_max.any(), f"window ({h}, {w}): gradient on a cell that is not maximal"


def law_distribute_value_sums_to_dz(impl: Any, problem: DistributeProblem) -> None:
    """distribute_value(dz, shape) has the requested shape and its entries sum to dz."""
    label(problem)
    a = np.asarray(impl.distribute_value(problem.dz, problem.shape))
    assert a.shape == tuple(problem.shape), f"shape {a.shape}, expected {problem.shape}"
    dz = float(problem.dz)
    n = a.size
    bound = float(dot_bound(abs(dz), 2 * n + 1, eps_dtype(problem.dz)))
    assert_close("sum(distribute_value(dz, shape))", float(a.astype(np.float64).sum()), dz, bound)


def law_distribute_value_is_uniform(impl: Any, problem: DistributeProblem) -> None:
    """Every entry of distribute_value(dz, shape) is the same number."""
    label(problem)
    a = np.asarray(impl.distribute_value(problem.dz, problem.shape))
    assert a.size >= 1 and np.all(a == a.reshape(-1)[0]), f"entries differ: {a}"


def law_mask_marks_first_maximum(impl: Any, problem: WindowProblem) -> None:
    """create_mask_from_window(x) has one True: at the first maximum, or at the last NaN."""
    label(problem)
    x = problem.x
    mask = np.asarray(impl.create_mask_from_window(x))
    assert mask.shape == x.shape, f"mask has shape {mask.shape}, expected {x.shape}"
    flat = x.reshape(-1)
    nans = np.flatnonzero(np.isnan(flat))
    tag(f"NaNs in the window: {min(nans.size, 2)}{'+' if nans.size >= 2 else ''}")
    # Scanning in row-major order, torch replaces its running maximum on "value > max or isnan".
    position = nans[-1] if nans.size else np.flatnonzero(flat == flat.max())[0]
    marked = np.flatnonzero(mask.reshape(-1))
    assert marked.tolist() == [position], (
        f"marked flat positions {marked.tolist()}, expected only [{position}]"
    )
    assert bool(mask.reshape(-1)[position]) is True


def law_zero_pad_equals_np_pad(impl: Any, problem: PadProblem) -> None:
    """zero_pad(X, pad) is np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0))), dtype included."""
    label(problem)
    p = problem.pad
    expected = np.pad(problem.X, ((0, 0), (p, p), (p, p), (0, 0)))
    actual = np.asarray(impl.zero_pad(problem.X, p))
    assert actual.dtype == expected.dtype, f"dtype {actual.dtype}, expected {expected.dtype}"
    assert actual.shape == expected.shape, f"shape {actual.shape}, expected {expected.shape}"
    assert np.array_equal(actual, expected), "values differ from np.pad"


def law_conv_single_step_is_exact_sum(impl: Any, problem: SingleStepProblem) -> None:
    """conv_single_step(a, W, b) is a scalar, fsum(a * W) + b within the tolerance model."""
    label(problem)
    a, W, b = (x.astype(np.float64) for x in (problem.a_slice_prev, problem.W, problem.b))
    result = impl.conv_single_step(problem.a_slice_prev, problem.W, problem.b)
    assert np.ndim(result) == 0, f"must return a scalar, got shape {np.shape(result)}"
    products = (a * W).reshape(-1).tolist()
    expected = math.fsum([*products, b.item()])
    magnitude = math.fsum([*np.abs(products), abs(b.item())])
    n_terms = a.size + 1
    bound = float(dot_bound(magnitude, n_terms, eps_dtype(problem.a_slice_prev, problem.W, b)))
    assert_close("conv_single_step", float(result), expected, bound)


# --- error parity ------------------------------------------------------------------------------


def law_pool_forward_rejects_unknown_mode(impl: Any, problem: PoolProblem) -> None:
    """pool_forward raises for a mode other than "max"/"average" (never returns an array)."""
    assert problem.mode not in ("max", "average"), "this law is about unknown modes"
    conforms("pool_forward", impl, problem)


# --- 6. hygiene (one law per property, for every function) -------------------------------------


def invoke(impl: Any, function: str, problem: Any) -> tuple[Any, ...]:
    """Call ``impl.<function>`` on ``problem``; the outputs as a tuple.

    A backward function gets the cache of the implementation's own forward.
    """
    p = problem
    if function == "zero_pad":
        return (impl.zero_pad(p.X, p.pad),)
    if function == "conv_single_step":
        return (impl.conv_single_step(p.a_slice_prev, p.W, p.b),)
    if function in ("conv_forward", "conv_backward"):
        Z, cache = impl.conv_forward(p.A_prev, p.W, p.b, p.hparameters)
        if function == "conv_forward":
            return (Z,)
        return tuple(impl.conv_backward(p.dZ, cache))
    if function in ("pool_forward", "pool_backward"):
        A, cache = impl.pool_forward(p.A_prev, p.hparameters, p.mode)
        if function == "pool_forward":
            return (A,)
        return (impl.pool_backward(p.dA, cache, p.mode),)
    if function == "create_mask_from_window":
        return (impl.create_mask_from_window(p.x),)
    if function == "distribute_value":
        return (impl.distribute_value(p.dz, p.shape),)
    raise ValueError(f"unknown seed function {function!r}")


def _replace_arrays(problem: Any, convert: Any) -> Any:
    """A copy of ``problem`` whose array fields (and a NumPy-scalar dz) are ``convert``-ed."""
    changes = {name: convert(value) for name, value in problem.arrays().items()}
    if isinstance(problem, DistributeProblem):
        changes["dz"] = convert(np.asarray(problem.dz))[()]
    return dataclasses.replace(problem, **changes)


def _read_only_copy(array: np.ndarray) -> np.ndarray:
    copy = np.array(array, copy=True)
    copy.flags.writeable = False
    return copy


def law_inputs_not_mutated(impl: Any, function: str, problem: Any) -> None:
    """``function`` never writes into its inputs: they are read-only, and unchanged afterwards."""
    label(problem)
    frozen = _replace_arrays(problem, _read_only_copy)
    invoke(impl, function, frozen)  # writing into a read-only array raises ValueError
    for name, before in problem.arrays().items():
        after = getattr(frozen, name)
        assert np.array_equal(before, after, equal_nan=True), f"{function} modified {name}"


def _dtype_of(output: Any) -> np.dtype:
    assert isinstance(output, (np.ndarray, np.generic)), (
        f"output is a {type(output).__name__}, not a NumPy array or scalar"
    )
    return output.dtype


def _expected_dtypes(function: str, dtype: np.dtype, outputs: tuple[Any, ...]) -> list[np.dtype]:
    if function == "create_mask_from_window":
        return [np.dtype(bool)]
    return [dtype] * len(outputs)


def _problem_dtype(problem: Any) -> np.dtype:
    if isinstance(problem, DistributeProblem):
        return np.asarray(problem.dz).dtype
    return np.result_type(*problem.arrays().values())


def law_dtype_preserved(impl: Any, function: str, problem: Any) -> None:
    """float32 in, float32 out; float64 in, float64 out (the mask is boolean)."""
    label(problem)
    dtype = _problem_dtype(problem)
    outputs = invoke(impl, function, problem)
    got = [_dtype_of(out) for out in outputs]
    expected = _expected_dtypes(function, dtype, outputs)
    assert got == expected, f"{function} returned dtypes {got} for {dtype} input"


def as_integer_problem(problem: Any) -> Any:
    """The problem with every array (and dz) rounded to integers and stored as int64."""
    return _replace_arrays(problem, lambda a: np.rint(a).astype(np.int64))


def law_integer_inputs_promoted(impl: Any, function: str, problem: Any) -> None:
    """Integer inputs give float64 results, equal to those of the same values in float64."""
    integer = as_integer_problem(problem)
    label(integer)
    as_float = _replace_arrays(integer, lambda a: a.astype(np.float64))
    outputs = invoke(impl, function, integer)
    expected = invoke(impl, function, as_float)
    got = [_dtype_of(out) for out in outputs]
    wanted = _expected_dtypes(function, np.dtype(np.float64), outputs)
    assert got == wanted, f"{function} returned dtypes {got} for integer input"
    for k, (out, ref) in enumerate(zip(outputs, expected, strict=True)):
        assert np.array_equal(out, ref, equal_nan=True), (
            f"{function} output {k} differs between integer input and the same values in float64"
        )


def _bits(output: Any) -> tuple[Any, ...]:
    array = np.asarray(output)
    return array.dtype, array.shape, array.tobytes()


def law_deterministic(impl: Any, function: str, problem: Any) -> None:
    """Two calls on the same inputs return bit-identical results."""
    label(problem)
    first = [_bits(out) for out in invoke(impl, function, problem)]
    second = [_bits(out) for out in invoke(impl, function, problem)]
    assert first == second, f"{function} returned different results on two identical calls"


# --- problem builders for the laws that need a restricted domain -------------------------------


@st.composite
def _untied(draw: Any, problem: PoolProblem) -> PoolProblem:
    """Replace A_prev's values by a random permutation of 0, 0.1, 0.2, ... (all distinct)."""
    size = problem.A_prev.size
    order = draw(st.permutations(range(size)))
    values = (np.array(order, dtype=np.float64) - size / 2) / 10
    A_prev = values.reshape(problem.A_prev.shape).astype(problem.A_prev.dtype)
    return dataclasses.replace(problem, A_prev=A_prev)


def untied_pool_problems(**sizes: Any) -> st.SearchStrategy[PoolProblem]:
    """Pooling problems whose inputs are all distinct, 0.1 apart: every max is unique, with a
    gap far larger than gradcheck's eps (finite differences are undefined at ties)."""
    return pool_problems(kinds=("normal",), **sizes).flatmap(_untied)


@st.composite
def _crowd_nans(draw: Any, problem: PoolProblem) -> PoolProblem:
    """Put NaN into two or more cells of one window (chosen by the draw) of A_prev."""
    m, _, _, channels = problem.A_prev.shape
    windows = list(window_slices(problem))
    _, _, rows, cols = windows[draw(st.integers(0, len(windows) - 1))]
    i, c = draw(st.integers(0, m - 1)), draw(st.integers(0, channels - 1))
    A_prev = problem.A_prev.copy()
    window = A_prev[i, rows, cols, c].copy()  # contiguous: reshape(-1) below is a view
    cells = draw(st.sets(st.integers(0, window.size - 1), min_size=min(2, window.size)))
    window.reshape(-1)[sorted(cells)] = np.nan  # the window's f x f cells, row-major
    A_prev[i, rows, cols, c] = window
    return dataclasses.replace(problem, A_prev=A_prev)


def nan_crowded_pool_problems(**sizes: Any) -> st.SearchStrategy[PoolProblem]:
    """Max-pooling problems where one window holds several NaNs (f >= 2: at least two cells)."""
    return pool_problems(modes=("max",), **sizes).flatmap(_crowd_nans)


UNKNOWN_MODES = ("min", "avg", "mean", "sum", "MAX", "Max", "average ", "")


def unknown_mode_pool_problems(**sizes: Any) -> st.SearchStrategy[PoolProblem]:
    """Pooling problems whose ``mode`` is not a pooling mode of the seed API."""
    return st.tuples(pool_problems(**sizes), st.sampled_from(UNKNOWN_MODES)).map(
        lambda pair: dataclasses.replace(pair[0], mode=pair[1])
    )


SMALL_SIZES = {"max_batch": 2, "max_side": 3, "max_channels": 2}


def small_problems(
    function: str, dtype: Any = np.float64, kinds: Any = strategies.VALUE_KINDS
) -> st.SearchStrategy[Any]:
    """Small problems for ``function`` with arrays of ``dtype`` (for the hygiene laws, which are
    about bookkeeping, not arithmetic)."""
    if function == "zero_pad":
        return strategies.pad_problems(dtype=dtype, kinds=kinds, max_pad=1, **SMALL_SIZES)
    if function == "conv_single_step":
        return strategies.single_step_problems(dtype=dtype, kinds=kinds, max_f=2, max_channels=2)
    if function in ("conv_forward", "conv_backward"):
        return strategies.conv_problems(dtype=dtype, kinds=kinds, max_f=3, max_pad=1, **SMALL_SIZES)
    if function in ("pool_forward", "pool_backward"):
        return strategies.pool_problems(dtype=dtype, kinds=kinds, max_f=3, **SMALL_SIZES)
    if function == "create_mask_from_window":
        return strategies.window_problems(dtype=dtype, kinds=kinds, max_side=3)
    if function == "distribute_value":
        return strategies.distribute_problems(dtype=dtype, max_side=3)
    raise ValueError(f"unknown seed function {function!r}")


def small_problems_both_dtypes(function: str) -> st.SearchStrategy[Any]:
    """:func:`small_problems` in float64 or float32 (drawn first; shrinks to float64)."""
    return st.sampled_from([np.float64, np.float32]).flatmap(
        lambda dtype: small_problems(function, dtype)
    )


#: Value kinds of the integer-promotion law: integer-valued arrays (and rounded normals).
INTEGER_KINDS = ("small_int", "normal")
