"""Properties of refconv.functional, the torch-parity NCHW API (issue 5).

1. Forward and backward of conv2d, conv_transpose2d, max_pool2d, avg_pool2d agree with
   torch.nn.functional and torch autograd (random upstream gradient), in float64 and float32,
   within the tolerance model of refconv.conformance.tolerance (the same op on absolute values
   bounds the rounding); max pooling and its indices are exact.
2. Finite differences (torch.autograd.gradcheck over a torch.autograd.Function that wraps refconv's
   forward and backward), independent of torch's kernels, on a small subset.
3. The transposed convolution is the adjoint of conv2d: <conv2d(x, w), y> == <x, conv_t(y, w)>.
4. Error parity: over valid and invalid configurations, refconv raises exactly when torch raises,
   TypeError where torch raises TypeError and ValueError where torch raises anything else; the
   same holds for the backward functions (grad_output of the wrong shape included).
5. The seed API and the functional API agree exactly on their common subset (they share one core).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import Phase, assume, find, given, note, settings
from hypothesis import strategies as st

import refconv
from refconv import functional as F
from refconv.conformance.apis.functional import batch_of_one
from refconv.conformance.tolerance import compare, dot_bound
from refconv.problems import FUNCTIONAL_OPS, FunctionalProblem
from refconv.strategies import (
    avg_pool2d_problems,
    conv2d_problems,
    conv_problems,
    conv_transpose2d_problems,
    functional_configs,
    has_empty_max_window,
    max_pool2d_problems,
    pool_problems,
)

TF = torch.nn.functional

# torch warns that padding='same' with an even kernel copies the input: not our concern here.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


# --- helpers -------------------------------------------------------------------------------------


def _tensor(array: np.ndarray | None, grad: bool = False) -> Any:
    if array is None:
        return None
    return torch.from_numpy(np.array(array)).requires_grad_(grad)


def _numpy(tensor: Any) -> np.ndarray:
    return tensor.detach().numpy()


def label(problem: FunctionalProblem) -> None:
    note(f"problem (Python source):\n{problem.python_source()}")


def torch_forward(problem: FunctionalProblem, grad: bool = False) -> tuple[Any, list[Any]]:
    """torch's output for the problem, and the leaf tensors (input, weight, bias)."""
    leaves = [_tensor(a, grad) for a in problem.arrays_in]
    return getattr(TF, problem.op)(*leaves, **problem.kwargs), leaves


def torch_backward(problem: FunctionalProblem) -> list[np.ndarray | None]:
    """Gradients of the array arguments by torch autograd for ``problem.grad_output``."""
    kwargs = {k: v for k, v in problem.kwargs.items() if k != "return_indices"}
    leaves = [_tensor(a, True) for a in problem.arrays_in]
    output = getattr(TF, problem.op)(*leaves, **kwargs)
    output.backward(_tensor(problem.grad_output))
    return [None if leaf is None else _numpy(leaf.grad) for leaf in leaves]


def assert_close(name: str, actual: Any, expected: Any, bound: Any = 0.0) -> None:
    assert actual is not None and expected is not None, f"{name}: one side is None"
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    mismatch = compare(name, actual, expected, bound)
    assert mismatch is None, mismatch.describe()


def absolute(problem: FunctionalProblem) -> FunctionalProblem:
    """The problem on absolute values in float64: the magnitudes of the tolerance model."""
    import dataclasses

    def abs64(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else np.abs(a.astype(np.float64))

    return dataclasses.replace(
        problem,
        input=abs64(problem.input),
        weight=abs64(problem.weight),
        bias=abs64(problem.bias),
        grad_output=abs64(problem.grad_output),
    )


def hygiene(problem: FunctionalProblem, run: Any, dtype: Any) -> Any:
    """Run ``run()``; check that it modified no array of the problem and kept the dtype."""
    arrays = [problem.input, problem.weight, problem.bias, problem.grad_output]
    before = [None if a is None else a.copy() for a in arrays]
    result = run()
    for original, copy in zip(arrays, before, strict=True):
        if original is not None:
            assert np.array_equal(original, copy, equal_nan=True), "an input array was modified"
    outputs = result if isinstance(result, tuple) else (result,)
    for out in outputs:
        if out is not None and out.dtype.kind == "f":
            assert out.dtype == np.dtype(dtype), f"dtype {out.dtype}, expected {np.dtype(dtype)}"
    return result


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        return (int(value[0]), int(value[-1]))
    return (int(value), int(value))


def _kernel(problem: FunctionalProblem) -> tuple[int, int]:
    if problem.weight is not None:
        return problem.weight.shape[2], problem.weight.shape[3]
    return _pair(problem.kwargs["kernel_size"])


# --- 1. agreement with torch ---------------------------------------------------------------------


@given(data=st.data())
def test_conv2d_agrees_with_torch(dtype: Any, data: st.DataObject) -> None:
    problem = data.draw(conv2d_problems(dtype=dtype), label="problem")
    label(problem)
    y = hygiene(problem, lambda: problem.forward(F), dtype)
    dx, dw, db = hygiene(problem, lambda: problem.backward(F), dtype)
    with torch.no_grad():
        expected = _numpy(torch_forward(problem)[0])
    ex, ew, eb = torch_backward(problem)

    magnitude = absolute(problem)
    kh, kw = _kernel(problem)
    groups = problem.kwargs.get("groups", 1)
    c_out = problem.weight.shape[0]
    per_output = problem.weight.shape[1] * kh * kw + 1
    assert_close("output", y, expected, dot_bound(magnitude.forward(F), per_output, dtype))
    mx, mw, mb = magnitude.backward(F)
    positions = int(np.prod(problem.grad_output.shape)) // c_out  # N * H_out * W_out
    assert_close("grad_input", dx, ex, dot_bound(mx, c_out // groups * kh * kw, dtype))
    assert_close("grad_weight", dw, ew, dot_bound(mw, positions, dtype))
    if problem.bias is None:
        assert db is None
    else:
        assert_close("grad_bias", db, eb, dot_bound(mb, positions, dtype))


@given(data=st.data())
def test_conv_transpose2d_agrees_with_torch(dtype: Any, data: st.DataObject) -> None:
    problem = data.draw(conv_transpose2d_problems(dtype=dtype), label="problem")
    label(problem)
    y = hygiene(problem, lambda: problem.forward(F), dtype)
    dx, dw, db = hygiene(problem, lambda: problem.backward(F), dtype)
    with torch.no_grad():
        expected = _numpy(torch_forward(problem)[0])
    ex, ew, eb = torch_backward(problem)

    magnitude = absolute(problem)
    kh, kw = _kernel(problem)
    groups = problem.kwargs.get("groups", 1)
    c_in, c_out_per_group = problem.weight.shape[:2]
    assert_close(
        "output", y, expected, dot_bound(magnitude.forward(F), c_in // groups * kh * kw + 1, dtype)
    )
    mx, mw, mb = magnitude.backward(F)
    inputs = int(np.prod(problem.input.shape)) // c_in  # N * H * W
    outputs = int(np.prod(problem.grad_output.shape)) // (c_out_per_group * groups)
    assert_close("grad_input", dx, ex, dot_bound(mx, c_out_per_group * kh * kw, dtype))
    assert_close("grad_weight", dw, ew, dot_bound(mw, inputs, dtype))
    if problem.bias is None:
        assert db is None
    else:
        assert_close("grad_bias", db, eb, dot_bound(mb, outputs, dtype))


@given(data=st.data())
def test_max_pool2d_agrees_with_torch(dtype: Any, data: st.DataObject) -> None:
    """Exact forward and indices (NaN included); backward within the accumulation bound."""
    allow_nan = data.draw(st.integers(0, 3), label="allow_nan") == 3
    problem = data.draw(max_pool2d_problems(dtype=dtype, allow_nan=allow_nan), label="problem")
    label(problem)
    result = hygiene(problem, lambda: problem.forward(F), dtype)
    with torch.no_grad():
        expected = torch_forward(problem)[0]
    if problem.kwargs.get("return_indices"):
        (y, indices), (expected, expected_indices) = result, expected
        assert indices.dtype == np.int64
        assert np.array_equal(indices, _numpy(expected_indices))
    else:
        y = result
    assert_close("output", y, _numpy(expected))  # exact

    dx = hygiene(problem, lambda: problem.backward(F), dtype)
    if has_empty_max_window(problem):
        # torch's backward corrupts memory here (an index outside the plane): refconv sends
        # such a window's gradient nowhere, so the gradient mass is that of the other windows.
        return
    (ex,) = torch_backward(problem)
    kh, kw = _kernel(problem)
    # magnitudes: |grad_output| routed by the *same* argmax (|input| would move the maxima)
    magnitude = problem.backward(F, np.abs(problem.grad_output.astype(np.float64)))
    assert_close("grad_input", dx, ex, dot_bound(magnitude, kh * kw, dtype))


@given(data=st.data())
def test_avg_pool2d_agrees_with_torch(dtype: Any, data: st.DataObject) -> None:
    """torch's divisor rules: ceil-mode clipping, count_include_pad, divisor_override."""
    problem = data.draw(avg_pool2d_problems(dtype=dtype), label="problem")
    label(problem)
    y = hygiene(problem, lambda: problem.forward(F), dtype)
    dx = hygiene(problem, lambda: problem.backward(F), dtype)
    with torch.no_grad():
        expected = _numpy(torch_forward(problem)[0])
    (ex,) = torch_backward(problem)
    kh, kw = _kernel(problem)
    magnitude = absolute(problem)
    n = kh * kw + 1
    assert_close("output", y, expected, dot_bound(np.abs(magnitude.forward(F)), n, dtype))
    assert_close("grad_input", dx, ex, dot_bound(np.abs(magnitude.backward(F)), n, dtype))


@given(data=st.data())
def test_avg_pool2d_divisors_agree_with_torch(dtype: Any, data: st.DataObject) -> None:
    """On an all-ones input every output *is* 1/divisor times the window's input cell count:
    a wrong divisor (ceil-mode clipping, padding counted or not, the override) always shows."""
    import dataclasses

    problem = data.draw(avg_pool2d_problems(dtype=dtype), label="problem")
    problem = dataclasses.replace(problem, input=np.ones_like(problem.input))
    label(problem)
    with torch.no_grad():
        expected = _numpy(torch_forward(problem)[0])
    kh, kw = _kernel(problem)
    assert_close("output", problem.forward(F), expected, dot_bound(1.0, kh * kw + 1, dtype))


# --- 2. finite differences -----------------------------------------------------------------------


class _Refconv(torch.autograd.Function):
    """refconv's forward and backward of one problem as a torch op (float64, for gradcheck)."""

    @staticmethod
    def forward(ctx: Any, problem: FunctionalProblem, *leaves: Any) -> Any:  # type: ignore[override]
        arrays = [None if t is None else t.detach().numpy() for t in leaves]
        ctx.problem, ctx.arrays = problem, arrays
        kwargs = {k: v for k, v in problem.kwargs.items() if k != "return_indices"}
        return torch.from_numpy(getattr(F, problem.op)(*arrays, **kwargs))

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:  # type: ignore[override]
        problem, arrays = ctx.problem, ctx.arrays
        kwargs = {k: v for k, v in problem.kwargs.items() if k != "return_indices"}
        grads = getattr(F, f"{problem.op}_backward")(grad.numpy(), *arrays, **kwargs)
        grads = grads if isinstance(grads, tuple) else (grads,)
        return (None, *[None if g is None else torch.from_numpy(g) for g in grads])


def _distinct(x: np.ndarray) -> np.ndarray:
    """Values with the order of ``x`` but no ties, 0.05 apart (max pooling is then smooth)."""
    ranks = np.argsort(np.argsort(x, axis=None, kind="stable"), kind="stable")
    return (ranks.reshape(x.shape) * 0.05 - 1.0).astype(np.float64)


_GRADCHECK_PROBLEMS = {
    "conv2d": conv2d_problems(kinds=("normal",), max_side=4),
    "conv_transpose2d": conv_transpose2d_problems(kinds=("normal",), max_side=3),
    "max_pool2d": max_pool2d_problems(kinds=("normal",), max_side=4),
    "avg_pool2d": avg_pool2d_problems(kinds=("normal",), max_side=4),
}


@pytest.mark.parametrize("op", list(_GRADCHECK_PROBLEMS))
@settings(max_examples=10)
@given(data=st.data())
def test_backward_matches_finite_differences(op: str, data: st.DataObject) -> None:
    problem = data.draw(_GRADCHECK_PROBLEMS[op], label="problem")
    assume(problem.input.size > 0)
    if op == "max_pool2d":
        assume(not has_empty_max_window(problem))  # -inf outputs have no finite differences
        import dataclasses

        problem = dataclasses.replace(problem, input=_distinct(problem.input))
    label(problem)
    leaves = [_tensor(a, True) for a in problem.arrays_in]
    assert torch.autograd.gradcheck(
        lambda *ts: _Refconv.apply(problem, *ts), tuple(leaves), eps=1e-6, atol=1e-6
    )


# --- 3. adjoint identity -------------------------------------------------------------------------


@given(problem=conv2d_problems(kinds=("normal",)))
def test_conv_transpose2d_is_adjoint_of_conv2d(problem: FunctionalProblem) -> None:
    """<conv2d(x, w), y> == <x, conv_transpose2d(y, w)>, output_padding chosen to fit x."""
    padding = problem.kwargs.get("padding", 0)
    assume(not isinstance(padding, str))  # "same" may pad asymmetrically: no transpose for it
    label(problem)
    x, w, y = problem.input, problem.weight, problem.grad_output
    kwargs = {k: problem.kwargs[k] for k in ("stride", "dilation", "groups") if k in problem.kwargs}
    (sh, sw), (ph, pw), (dh, dw) = (
        _pair(problem.kwargs.get("stride", 1)),
        _pair(padding),
        _pair(problem.kwargs.get("dilation", 1)),
    )
    kh, kw = _kernel(problem)
    height, width = x.shape[-2:]
    output_padding = (
        (height + 2 * ph - dh * (kh - 1) - 1) % sh,
        (width + 2 * pw - dw * (kw - 1) - 1) % sw,
    )
    forward = F.conv2d(x, w, None, padding=padding, **kwargs)
    adjoint = F.conv_transpose2d(
        y, w, None, padding=padding, output_padding=output_padding, **kwargs
    )
    assert adjoint.shape == x.shape
    lhs, rhs = np.vdot(forward, y), np.vdot(x, adjoint)
    magnitude = np.vdot(F.conv2d(np.abs(x), np.abs(w), None, padding=padding, **kwargs), np.abs(y))
    n = w.shape[1] * kh * kw + y.size
    assert abs(lhs - rhs) <= float(dot_bound(magnitude, n, np.float64)), (lhs, rhs)


# --- 4. error parity -----------------------------------------------------------------------------


def _outcome(run: Any) -> tuple[str, Any]:
    """``("ok", result)``, ``("TypeError", exc)`` or ``("ValueError", exc)`` (torch's other
    rejections, RuntimeError, ValueError and IndexError, count as ValueError)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return "ok", run()
    except TypeError as exc:
        return "TypeError", exc
    except (ValueError, RuntimeError, IndexError) as exc:
        return "ValueError", exc


def _refconv_outcome(run: Any) -> tuple[str, Any]:
    """Like :func:`_outcome`, but only TypeError and ValueError are refconv's rejections: any
    other exception (IndexError, ZeroDivisionError, ...) propagates, as the bug it is."""
    try:
        return "ok", run()
    except TypeError as exc:
        return "TypeError", exc
    except ValueError as exc:
        return "ValueError", exc


@pytest.mark.parametrize("op", FUNCTIONAL_OPS)
@settings(max_examples=100)
@given(data=st.data())
def test_error_parity(op: str, data: st.DataObject) -> None:
    """refconv's forward and backward raise exactly when torch's do, with the matching kind.

    An empty batch is judged against torch on the same call with a batch of one: torch skips the
    checks that live in its kernels when N == 0, refconv validates whatever N (documented).
    """
    problem = data.draw(functional_configs(valid=False, ops=(op,)), label="problem")
    label(problem)
    reference = batch_of_one(problem)
    with torch.no_grad():
        torch_kind, torch_result = _outcome(lambda: torch_forward(reference)[0])
    kind, result = _refconv_outcome(lambda: problem.forward(F))
    assert kind == torch_kind, f"forward: torch {torch_kind} ({torch_result}), refconv {result!r}"
    if kind == "ok":
        with torch.no_grad():
            expected = torch_forward(problem)[0]
        expected = expected[0] if isinstance(expected, tuple) else expected
        actual = result[0] if isinstance(result, tuple) else result
        assert actual.shape == tuple(expected.shape)

    # backward: the forward's verdict, then grad_output's shape (torch: "Mismatch in shape")
    if torch_kind != "ok":
        torch_bkind = torch_kind
    elif problem.op == "max_pool2d" and has_empty_max_window(problem):
        matches = problem.grad_output.shape == actual.shape
        torch_bkind = "ok" if matches else "ValueError"  # torch itself would corrupt memory
    else:
        torch_bkind, torch_bresult = _outcome(lambda: torch_backward(reference))
    bkind, bresult = _refconv_outcome(lambda: problem.backward(F))
    assert bkind == torch_bkind, f"backward: torch {torch_bkind}, refconv {bresult!r}"


# --- 6. the strategies reach what they promise ----------------------------------------------------


def _pairs(problem: FunctionalProblem, name: str, default: int) -> tuple[int, int]:
    value = problem.kwargs.get(name, default)
    return _pair(value) if not isinstance(value, str) else (-1, -1)


def _ceil_adds_window(p: FunctionalProblem) -> bool:
    from refconv._windows import output_length

    if not p.kwargs.get("ceil_mode"):
        return False
    k, pad = _kernel(p), _pairs(p, "padding", 0)
    s = _pairs(p, "stride", 0) if p.kwargs.get("stride") is not None else k
    d = _pairs(p, "dilation", 1)
    sizes = p.input.shape[-2:]
    return any(
        output_length(n, k[i], s[i], pad[i], pad[i], d[i], True)
        != output_length(n, k[i], s[i], pad[i], pad[i], d[i])
        for i, n in enumerate(sizes)
    )


REACH = settings(max_examples=3000, database=None, deadline=None, phases=[Phase.generate])
COVERAGE = [
    ("conv2d depthwise", conv2d_problems(), lambda p: p.weight.shape[1] == 1 and p.kwargs.get("groups", 1) > 1),  # noqa: E501
    ("conv2d same, odd total padding", conv2d_problems(), lambda p: p.kwargs.get("padding") == "same" and any(d * (k - 1) % 2 for d, k in zip(_pairs(p, "dilation", 1), _kernel(p), strict=True))),  # noqa: E501
    ("conv2d stride differs per axis", conv2d_problems(), lambda p: len(set(_pairs(p, "stride", 1))) == 2),  # noqa: E501
    ("conv2d unbatched", conv2d_problems(), lambda p: p.input.ndim == 3),
    ("conv2d empty batch", conv2d_problems(), lambda p: p.input.ndim == 4 and p.input.shape[0] == 0),  # noqa: E501
    ("conv2d kernel spans the padded input", conv2d_problems(), lambda p: p.input.shape[-2] + 2 * _pairs(p, "padding", 0)[0] == (_kernel(p)[0] - 1) * _pairs(p, "dilation", 1)[0] + 1),  # noqa: E501
    ("conv_transpose2d output_padding >= stride", conv_transpose2d_problems(), lambda p: any(o >= s for o, s in zip(_pairs(p, "output_padding", 0), _pairs(p, "stride", 1), strict=True))),  # noqa: E501
    ("conv_transpose2d groups", conv_transpose2d_problems(), lambda p: p.kwargs.get("groups", 1) > 1),  # noqa: E501
    ("max_pool2d ceil extra window", max_pool2d_problems(), _ceil_adds_window),
    ("max_pool2d window in padding", max_pool2d_problems(), has_empty_max_window),
    ("max_pool2d dilation and padding", max_pool2d_problems(), lambda p: max(_pairs(p, "dilation", 1)) > 1 and max(_pairs(p, "padding", 0)) > 0),  # noqa: E501
    ("avg_pool2d divisor_override", avg_pool2d_problems(), lambda p: p.kwargs.get("divisor_override") is not None),  # noqa: E501
    ("avg_pool2d count_include_pad=False, padding, ceil", avg_pool2d_problems(), lambda p: p.kwargs.get("count_include_pad") is False and max(_pairs(p, "padding", 0)) > 0 and _ceil_adds_window(p)),  # noqa: E501
    ("configs: torch rejects", functional_configs(), lambda p: _outcome(lambda: torch_forward(p))[0] == "ValueError"),  # noqa: E501
    ("configs: torch TypeError", functional_configs(), lambda p: _outcome(lambda: torch_forward(p))[0] == "TypeError"),  # noqa: E501
]  # fmt: skip


@pytest.mark.parametrize(
    "strategy, predicate", [c[1:] for c in COVERAGE], ids=[c[0] for c in COVERAGE]
)
def test_strategies_reach(strategy: Any, predicate: Any) -> None:
    find(strategy, predicate, settings=REACH)


# --- 5. the seed API and the functional API share one core ---------------------------------------


def _nchw(a: np.ndarray) -> np.ndarray:
    return np.moveaxis(a, 3, 1)


def _nhwc(a: np.ndarray) -> np.ndarray:
    return np.moveaxis(a, 1, 3)


@given(data=st.data())
def test_seed_conv_equals_functional(dtype: Any, data: st.DataObject) -> None:
    p = data.draw(conv_problems(dtype=dtype), label="problem")
    Z, cache = refconv.conv_forward(p.A_prev, p.W, p.b, p.hparameters)
    dA, dW, db = refconv.conv_backward(p.dZ, cache)
    weight = p.W.transpose(3, 2, 0, 1)  # (f, f, C_prev, C) -> (C, C_prev, f, f)
    args = (_nchw(p.A_prev), weight, p.b.reshape(-1))
    kwargs = {"stride": p.stride, "padding": p.pad}
    assert np.array_equal(_nhwc(F.conv2d(*args, **kwargs)), Z, equal_nan=True)
    fx, fw, fb = F.conv2d_backward(_nchw(p.dZ), *args, **kwargs)
    assert np.array_equal(_nhwc(fx), dA, equal_nan=True)
    assert np.array_equal(fw.transpose(2, 3, 1, 0), dW, equal_nan=True)
    assert np.array_equal(fb.reshape(1, 1, 1, -1), db, equal_nan=True)


@given(data=st.data())
def test_seed_pool_equals_functional(dtype: Any, data: st.DataObject) -> None:
    p = data.draw(pool_problems(dtype=dtype), label="problem")
    A, cache = refconv.pool_forward(p.A_prev, p.hparameters, p.mode)
    dA_prev = refconv.pool_backward(p.dA, cache, p.mode)
    op = "max_pool2d" if p.mode == "max" else "avg_pool2d"
    args = (_nchw(p.A_prev), p.f, p.stride)
    assert np.array_equal(_nhwc(getattr(F, op)(*args)), A, equal_nan=True)
    grad = getattr(F, f"{op}_backward")(_nchw(p.dA), *args)
    assert np.array_equal(_nhwc(grad), dA_prev, equal_nan=True)
