"""refconv.functional: validation (every error names its parameter, torch rejects the same call),
dtypes, hygiene, return_indices, signatures and the corner cases of torch's semantics."""

from __future__ import annotations

import inspect
import re
import warnings

import numpy as np
import pytest
import torch

from refconv import functional as F

TF = torch.nn.functional

rng = np.random.default_rng(5)
X = rng.standard_normal((2, 4, 5, 6))
W = rng.standard_normal((6, 2, 3, 3))  # conv2d, groups=2
B = rng.standard_normal(6)
XT = rng.standard_normal((2, 4, 3, 5))
WT = rng.standard_normal((4, 3, 2, 3))  # conv_transpose2d, groups=2 -> 6 output channels
XP = rng.standard_normal((2, 3, 5, 6))

BASE = {
    "conv2d": ((X, W, B), {"stride": 1, "padding": 1, "dilation": 1, "groups": 2}),
    "conv_transpose2d": ((XT, WT, B), {"stride": 2, "padding": 1, "groups": 2}),
    "max_pool2d": ((XP,), {"kernel_size": 3, "stride": 2, "padding": 1}),
    "avg_pool2d": ((XP,), {"kernel_size": 3, "stride": 2, "padding": 1}),
}


def call(op, arrays=None, module=F, **changes):
    """``op`` on the base arguments, with array replacements ``arrays`` and keyword changes."""
    args, kwargs = BASE[op]
    args = list(args)
    for index, value in (arrays or {}).items():
        args[index] = value
    kwargs = {**kwargs, **changes}
    if module is TF:
        args = [None if a is None else torch.from_numpy(np.asarray(a)) for a in args]
    return getattr(module, op)(*args, **kwargs)


# (label, op, array replacements, keyword changes, exception, words of the message, torch too)
CASES = [
    # conv2d
    ("input 2-D", "conv2d", {0: X[0, 0]}, {}, ValueError, ["input", "3-D", "4-D", "(5, 6)"]),
    ("input 5-D", "conv2d", {0: X[None]}, {}, ValueError, ["input", "(1, 2, 4, 5, 6)"]),
    ("input no rows", "conv2d", {0: X[:, :, :0]}, {}, ValueError, ["input", "row"]),
    ("weight 3-D", "conv2d", {1: W[0]}, {}, ValueError, ["weight", "4-D"]),
    (
        "channels",
        "conv2d",
        {1: W[:, :1]},
        {},
        ValueError,
        ["weight", "groups = 2", "2 channels", "has 4"],
    ),
    ("groups divide", "conv2d", {1: W[:5], 2: B[:5]}, {}, ValueError, ["groups = 2", "5 output"]),
    ("groups 0", "conv2d", {}, {"groups": 0}, ValueError, ["groups", ">= 1", "0"]),
    ("groups -1", "conv2d", {}, {"groups": -1}, ValueError, ["groups", ">= 1"]),
    ("groups bool", "conv2d", {}, {"groups": True}, TypeError, ["groups", "int", "bool"]),
    ("groups float", "conv2d", {}, {"groups": 2.0}, TypeError, ["groups", "float"]),
    ("stride 0", "conv2d", {}, {"stride": 0}, ValueError, ["stride", ">= 1", "0"]),
    ("stride (1, -1)", "conv2d", {}, {"stride": (1, -1)}, ValueError, ["stride", "(1, -1)"]),
    ("stride 3 values", "conv2d", {}, {"stride": (1, 2, 3)}, ValueError, ["stride", "two"]),
    ("stride empty", "conv2d", {}, {"stride": ()}, ValueError, ["stride", "two"]),
    ("stride bool", "conv2d", {}, {"stride": True}, TypeError, ["stride", "bool"]),
    ("stride float", "conv2d", {}, {"stride": 1.5}, TypeError, ["stride", "float"]),
    ("stride None", "conv2d", {}, {"stride": None}, TypeError, ["stride", "None"]),
    ("stride str", "conv2d", {}, {"stride": "1"}, TypeError, ["stride", "str"]),
    ("stride ndarray", "conv2d", {}, {"stride": np.array([1, 1])}, TypeError, ["stride"]),
    ("stride element", "conv2d", {}, {"stride": (1, 2.0)}, TypeError, ["stride", "element 2.0"]),
    ("padding -1", "conv2d", {}, {"padding": -1}, ValueError, ["padding", ">= 0", "-1"]),
    ("padding 4 values", "conv2d", {}, {"padding": (1, 1, 1, 1)}, ValueError, ["padding", "two"]),
    ("padding bool", "conv2d", {}, {"padding": True}, TypeError, ["padding", "bool"]),
    ("padding string", "conv2d", {}, {"padding": "full"}, ValueError, ["padding", "'full'"]),
    ("padding SAME", "conv2d", {}, {"padding": "SAME"}, ValueError, ["padding", "'same'"]),
    (
        "same with stride",
        "conv2d",
        {},
        {"padding": "same", "stride": (1, 2)},
        ValueError,
        ["padding='same'", "stride", "(1, 2)"],
    ),
    ("dilation 0", "conv2d", {}, {"dilation": 0}, ValueError, ["dilation", ">= 1"]),
    ("dilation bool", "conv2d", {}, {"dilation": True}, TypeError, ["dilation", "bool"]),
    (
        "dilated kernel too large",
        "conv2d",
        {},
        {"dilation": (4, 1), "padding": 0},
        ValueError,
        ["kernel", "dilation", "spans 9x3", "5x6"],
    ),
    (
        "kernel too large",
        "conv2d",
        {1: np.zeros((6, 2, 8, 3))},
        {},
        ValueError,
        ["kernel 8x3", "padded to 7x8"],
    ),
    ("kernel 0", "conv2d", {1: np.zeros((6, 2, 0, 3))}, {}, ValueError, ["weight", "kernel"]),
    ("no filters", "conv2d", {1: np.zeros((0, 2, 3, 3))}, {}, ValueError, ["weight", "0 output"]),
    ("bias length", "conv2d", {2: B[:5]}, {}, ValueError, ["bias", "6 elements", "(5,)"]),
    ("bias 2-D", "conv2d", {2: B[None]}, {}, ValueError, ["bias", "(1, 6)"]),
    # conv_transpose2d
    (
        "output_padding vs stride and dilation",
        "conv_transpose2d",
        {},
        {"output_padding": (0, 2)},
        ValueError,
        ["output_padding", "stride", "dilation", "width"],
    ),
    (
        "output_padding -1",
        "conv_transpose2d",
        {},
        {"output_padding": -1},
        ValueError,
        ["output_padding", ">= 0"],
    ),
    (
        "output_padding bool",
        "conv_transpose2d",
        {},
        {"output_padding": True},
        TypeError,
        ["output_padding", "bool"],
    ),
    (
        "transposed padding string",
        "conv_transpose2d",
        {},
        {"padding": "same"},
        TypeError,
        ["padding", "str"],
    ),
    (
        "output too small",
        "conv_transpose2d",
        {},
        {"padding": (4, 0)},
        ValueError,
        ["output would be", "padding=(4, 0)"],
    ),
    (
        "transposed channels",
        "conv_transpose2d",
        {1: WT[:2]},
        {"groups": 1},
        ValueError,
        ["weight", "2 input channels", "has 4"],
    ),
    ("transposed groups", "conv_transpose2d", {}, {"groups": 3}, ValueError, ["groups = 3"]),
    (
        "transposed bias",
        "conv_transpose2d",
        {2: B[:3]},
        {},
        ValueError,
        ["bias", "6 elements", "(3,)"],
    ),
    (
        "transposed no output channel",
        "conv_transpose2d",
        {1: np.zeros((4, 0, 2, 3))},
        {},
        ValueError,
        ["weight", "output channel"],
    ),
    ("transposed stride 0", "conv_transpose2d", {}, {"stride": 0}, ValueError, ["stride"]),
    ("transposed dilation 0", "conv_transpose2d", {}, {"dilation": 0}, ValueError, ["dilation"]),
    # pooling
    ("pool padding", "max_pool2d", {}, {"padding": 2}, ValueError, ["padding", "half", "(2, 2)"]),
    (
        "pool padding per axis",
        "avg_pool2d",
        {},
        {"kernel_size": (3, 1), "padding": (1, 1)},
        ValueError,
        ["padding", "kernel_size // 2", "(3, 1)"],
    ),
    (
        "max padding ignores dilation",
        "max_pool2d",
        {},
        {"padding": 2, "dilation": 2},
        ValueError,
        ["padding", "half"],
    ),
    ("kernel_size 0", "max_pool2d", {}, {"kernel_size": 0}, ValueError, ["kernel_size", ">= 1"]),
    (
        "kernel_size 3 values",
        "avg_pool2d",
        {},
        {"kernel_size": (2, 2, 2)},
        ValueError,
        ["kernel_size", "two"],
    ),
    ("kernel_size bool", "max_pool2d", {}, {"kernel_size": True}, TypeError, ["kernel_size"]),
    ("kernel_size float", "avg_pool2d", {}, {"kernel_size": 2.0}, TypeError, ["kernel_size"]),
    ("kernel_size None", "max_pool2d", {}, {"kernel_size": None}, TypeError, ["kernel_size"]),
    ("pool stride 0", "avg_pool2d", {}, {"stride": 0}, ValueError, ["stride", ">= 1"]),
    ("pool stride bool", "max_pool2d", {}, {"stride": True}, TypeError, ["stride"]),
    ("pool dilation 0", "max_pool2d", {}, {"dilation": 0}, ValueError, ["dilation"]),
    (
        "pool kernel too large",
        "max_pool2d",
        {},
        {"kernel_size": 6, "padding": 0, "stride": 1},
        ValueError,
        ["kernel_size (6, 6)", "5x6", "0x1"],
    ),
    (
        "pool dilated kernel too large",
        "max_pool2d",
        {},
        {"kernel_size": 3, "dilation": 3, "padding": 0},
        ValueError,
        ["dilation (3, 3)", "does not fit"],
    ),
    ("ceil_mode int", "max_pool2d", {}, {"ceil_mode": 1}, TypeError, ["ceil_mode", "bool", "int"]),
    ("ceil_mode None", "avg_pool2d", {}, {"ceil_mode": None}, TypeError, ["ceil_mode"]),
    (
        "ceil_mode numpy bool",
        "max_pool2d",
        {},
        {"ceil_mode": np.bool_(True)},
        TypeError,
        ["ceil_mode"],
    ),
    (
        "count_include_pad int",
        "avg_pool2d",
        {},
        {"count_include_pad": 0},
        TypeError,
        ["count_include_pad", "bool"],
    ),
    ("divisor 0", "avg_pool2d", {}, {"divisor_override": 0}, ValueError, ["divisor_override"]),
    (
        "divisor float",
        "avg_pool2d",
        {},
        {"divisor_override": 2.0},
        TypeError,
        ["divisor_override", "float"],
    ),
    (
        "divisor bool",
        "avg_pool2d",
        {},
        {"divisor_override": True},
        TypeError,
        ["divisor_override", "bool"],
    ),
    ("pool input 2-D", "avg_pool2d", {0: XP[0, 0]}, {}, ValueError, ["input", "(5, 6)"]),
    ("pool input 5-D", "max_pool2d", {0: XP[None]}, {}, ValueError, ["input", "5-D"]),
    ("pool no channels", "max_pool2d", {0: XP[:, :0]}, {}, ValueError, ["input", "channel"]),
    # a type error wins over a value error, as in torch's argument parser
    (
        "type before value",
        "conv2d",
        {},
        {"stride": 0, "groups": 1.5},
        TypeError,
        ["groups"],
    ),
]


@pytest.mark.parametrize(
    "label, op, arrays, changes, exc, words", CASES, ids=[case[0] for case in CASES]
)
def test_validation_names_parameter_and_torch_agrees(label, op, arrays, changes, exc, words):
    with pytest.raises(exc) as info:
        call(op, arrays, **changes)
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    # torch rejects the same call, with TypeError exactly where refconv raises TypeError
    torch_exc = TypeError if exc is TypeError else (RuntimeError, ValueError, IndexError)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(torch_exc):
            call(op, arrays, module=TF, **changes)


@pytest.mark.parametrize("op", list(BASE))
def test_backward_rejects_grad_output_of_wrong_shape(op):
    args, kwargs = BASE[op]
    output = call(op)
    kwargs = dict(kwargs)
    with pytest.raises(ValueError, match=r"grad_output must have the shape .*got \(2,"):
        getattr(F, f"{op}_backward")(output[:, :, :-1], *args, **kwargs)
    with pytest.raises(TypeError, match="grad_output"):
        getattr(F, f"{op}_backward")(output.astype(complex), *args, **kwargs)
    # and so does torch autograd
    tensors = [torch.from_numpy(a).requires_grad_() for a in args]
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        getattr(TF, op)(*tensors, **kwargs).backward(torch.from_numpy(output[:, :, :-1].copy()))


def test_backward_validates_forward_arguments():
    with pytest.raises(ValueError, match="stride"):
        F.conv2d_backward(np.zeros((2, 6, 5, 6)), X, W, B, stride=0, padding=1, groups=2)
    with pytest.raises(TypeError, match="ceil_mode"):
        F.max_pool2d_backward(np.zeros((2, 3, 3, 3)), XP, 3, 2, 1, ceil_mode="no")


# --- accepted like torch -------------------------------------------------------------------------

ACCEPTED = [
    ("numpy ints", "conv2d", {"stride": np.int64(2), "groups": np.int32(2)}),
    ("one-element list", "conv2d", {"stride": [2], "padding": [1]}),
    ("list pair", "conv2d", {"dilation": [1, 2]}),
    ("padding valid", "conv2d", {"padding": "valid"}),
    ("padding same, even kernel, dilation", "conv2d", {"padding": "same", "dilation": (1, 2)}),
    ("output_padding >= stride", "conv_transpose2d", {"output_padding": 2, "dilation": 3}),
    ("stride None", "max_pool2d", {"stride": None}),
    ("stride empty", "avg_pool2d", {"stride": ()}),
    ("return_indices truthy", "max_pool2d", {"return_indices": 1}),
    ("negative divisor", "avg_pool2d", {"divisor_override": -2}),
    ("ceil overhang", "max_pool2d", {"kernel_size": 3, "stride": 3, "ceil_mode": True}),
]  # fmt: skip


@pytest.mark.parametrize("label, op, changes", ACCEPTED, ids=[case[0] for case in ACCEPTED])
def test_accepted_like_torch(label, op, changes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = call(op, module=TF, **changes)
    result = call(op, **changes)
    if isinstance(result, tuple):
        result, expected = result[0], expected[0]
    np.testing.assert_allclose(result, expected.numpy(), rtol=1e-12, atol=1e-12)


def test_pool_kernel_may_overhang_in_ceil_mode_as_in_torch():
    x = np.arange(1.0, 2.0).reshape(1, 1, 1, 1)
    assert F.max_pool2d(x, 2, 2, ceil_mode=True).shape == (1, 1, 1, 1)
    assert F.avg_pool2d(x, 3, 3, ceil_mode=True)[0, 0, 0, 0] == 1.0  # the overhang never counts
    with pytest.raises(ValueError, match="does not fit"):
        F.max_pool2d(x, 2, 1, ceil_mode=True)  # torch: "Output size is too small"


@pytest.mark.parametrize(
    "op, arrays, changes",
    [
        ("conv2d", {}, {"dilation": 0}),
        ("conv2d", {0: np.zeros((0, 4, 0, 6))}, {"padding": 3}),
        ("conv_transpose2d", {}, {"output_padding": 2}),
        ("conv_transpose2d", {}, {"dilation": 0}),
        ("conv_transpose2d", {}, {"padding": (2, 0), "stride": 1}),
    ],
)
def test_empty_batch_is_validated_like_any_batch(op, arrays, changes):
    """torch skips the checks that live in its kernels when N == 0; refconv does not (documented
    difference): it raises exactly as torch does for the same call with N == 1."""
    arrays = {0: BASE[op][0][0][:0], **arrays}
    call(op, arrays, module=TF, **changes)  # torch accepts the empty batch...
    one = {0: np.zeros((1, *arrays[0].shape[1:]))}
    with pytest.raises(RuntimeError):
        call(op, one, module=TF, **changes)  # ...but not a batch of one
    with pytest.raises(ValueError):
        call(op, arrays, **changes)


# --- dtypes, hygiene, shapes ---------------------------------------------------------------------


def _all_calls(dtype):
    """(name, thunk) for the eight functions, on arrays of ``dtype``."""
    out = []
    for op, (args, kwargs) in BASE.items():
        args = [a.astype(dtype) for a in args]
        y = getattr(F, op)(*args, **kwargs)
        grad = np.ones_like(y) if np.dtype(dtype).kind == "f" else np.ones(y.shape, dtype)
        out.append((op, args, kwargs, None))
        out.append((f"{op}_backward", [grad, *args], kwargs, None))
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved(dtype):
    for name, args, kwargs, _ in _all_calls(dtype):
        result = getattr(F, name)(*args, **kwargs)
        for out in result if isinstance(result, tuple) else (result,):
            assert out.dtype == dtype, name


def test_integer_and_bool_inputs_promote_to_float64():
    for name, args, kwargs, _ in _all_calls(np.int64):
        result = getattr(F, name)(*args, **kwargs)
        for out in result if isinstance(result, tuple) else (result,):
            assert out.dtype == np.float64, name
    assert F.max_pool2d(np.ones((1, 2, 2), dtype=bool), 2).dtype == np.float64


def test_mixed_float_dtypes_compute_in_float64():
    # torch refuses to mix float32 and float64; refconv promotes (documented difference)
    y = F.conv2d(X.astype(np.float32), W, B.astype(np.float32), padding=1, groups=2)
    assert y.dtype == np.float64
    dx, dw, db = F.conv2d_backward(y.astype(np.float32), X.astype(np.float32), W, B, 1, 1, 1, 2)
    assert dx.dtype == dw.dtype == db.dtype == np.float64


def test_grad_output_takes_the_forward_dtype():
    # as torch autograd: a float64 gradient into a float32 op gives float32 gradients
    x32, w32 = X.astype(np.float32), W.astype(np.float32)
    y = F.conv2d(x32, w32, padding=1, groups=2)
    dx, dw, db = F.conv2d_backward(y.astype(np.float64), x32, w32, None, 1, 1, 1, 2)
    assert dx.dtype == dw.dtype == np.float32 and db is None


def test_unsupported_dtypes_are_type_errors():
    with pytest.raises(TypeError, match="input"):
        F.conv2d(X.astype(np.float16), W, padding=1, groups=2)
    with pytest.raises(TypeError, match="weight"):
        F.conv2d(X, W.astype(complex), padding=1, groups=2)
    with pytest.raises(TypeError, match="input"):
        F.max_pool2d("abc", 2)


def test_no_input_mutation_and_no_aliasing():
    for dtype in (np.float32, np.float64):
        for name, args, kwargs, _ in _all_calls(dtype):
            copies = [a.copy() for a in args]
            result = getattr(F, name)(*args, **kwargs)
            for a, c in zip(args, copies, strict=True):
                assert np.array_equal(a, c), f"{name} modified an input"
            for out in result if isinstance(result, tuple) else (result,):
                if out is not None:
                    assert not any(np.shares_memory(out, a) for a in args), name


def test_outputs_are_contiguous_nchw():
    y = F.conv2d(X, W, B, padding=1, groups=2)
    assert y.flags.c_contiguous and y.shape == (2, 6, 5, 6)


def test_unbatched_input_gives_unbatched_output():
    for op, (args, kwargs) in BASE.items():
        batched = getattr(F, op)(*args, **kwargs)
        single = getattr(F, op)(args[0][1], *args[1:], **kwargs)
        np.testing.assert_allclose(single, batched[1], rtol=1e-13, atol=1e-13)
        grad = np.ones_like(single)
        dx = getattr(F, f"{op}_backward")(grad, args[0][1], *args[1:], **kwargs)
        dx = dx[0] if isinstance(dx, tuple) else dx
        assert dx.shape == args[0][1].shape


def test_empty_batch():
    for op, (args, kwargs) in BASE.items():
        y = getattr(F, op)(args[0][:0], *args[1:], **kwargs)
        expected = call(op, {0: args[0][:0]}, module=TF)
        assert y.shape == tuple(expected.shape)


def test_zero_input_channels_are_rejected():
    # torch returns a 0-channel output whatever the weight (documented difference)
    with pytest.raises(ValueError, match="at least one channel"):
        F.conv2d(np.zeros((1, 0, 3, 3)), np.zeros((2, 0, 1, 1)))


def test_grad_bias_is_none_without_bias():
    _, _, db = F.conv2d_backward(np.ones((2, 6, 5, 6)), X, W, None, 1, 1, 1, 2)
    assert db is None
    _, _, db = F.conv_transpose2d_backward(np.ones((2, 6, 4, 9)), XT, WT, None, 2, 1, groups=2)
    assert db is None


# --- return_indices and max pooling corner cases -------------------------------------------------

INDEX_CASES = [
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": (2, 3), "stride": (1, 2), "padding": (1, 0), "dilation": (2, 1)},
    {"kernel_size": 2, "stride": 2, "ceil_mode": True},
    {"kernel_size": (3, 2), "stride": (3, 1), "padding": (1, 1), "dilation": (2, 3)},
]


@pytest.mark.parametrize("kwargs", INDEX_CASES)
@pytest.mark.parametrize("values", ["normal", "ties", "nan", "-inf"])
def test_return_indices_match_torch(kwargs, values):
    x = rng.standard_normal((2, 3, 5, 7))
    if values == "ties":
        x = rng.integers(-1, 2, (2, 3, 5, 7)).astype(np.float64)
    elif values == "nan":
        x.reshape(-1)[rng.integers(0, x.size, 20)] = np.nan
    elif values == "-inf":
        x[:] = -np.inf
    y, indices = F.max_pool2d(x, **kwargs, return_indices=True)
    ey, eindices = TF.max_pool2d(torch.from_numpy(x), **kwargs, return_indices=True)
    np.testing.assert_array_equal(y, ey.numpy())
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(indices, eindices.numpy())
    np.testing.assert_array_equal(F.max_pool2d(x, **kwargs), y)


def test_window_entirely_in_padding():
    """H = 2, kernel 2, dilation 3, padding 1: the window's taps are rows -1 and 2, both padding.

    torch returns -inf with the index of row 2 (outside the plane) and its backward then writes
    out of bounds; refconv returns the same forward and sends that window's gradient nowhere.
    """
    x = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    kwargs = {"kernel_size": (2, 1), "stride": 1, "padding": (1, 0), "dilation": (3, 1)}
    y, indices = F.max_pool2d(x, **kwargs, return_indices=True)
    ey, eindices = TF.max_pool2d(torch.from_numpy(x), **kwargs, return_indices=True)
    np.testing.assert_array_equal(y, ey.numpy())
    np.testing.assert_array_equal(indices, eindices.numpy())  # [[4, 5]]: row 2 of a 2-row plane
    assert np.array_equal(F.max_pool2d_backward(np.ones_like(y), x, **kwargs), np.zeros_like(x))


def test_all_minus_inf_window_sends_gradient_to_its_first_input_cell():
    x = np.full((1, 1, 2, 2), -np.inf)
    grad = F.max_pool2d_backward(np.ones((1, 1, 3, 3)), x, 2, 1, 1)
    xt = torch.from_numpy(x).requires_grad_()
    TF.max_pool2d(xt, 2, 1, 1).backward(torch.ones(1, 1, 3, 3, dtype=torch.float64))
    np.testing.assert_array_equal(grad, xt.grad.numpy())


# --- avg_pool2d divisors and 'same' padding, against numbers torch printed -----------------------


def test_avg_pool2d_divisors():
    ones = np.ones((1, 1, 5, 5))
    # kernel 3, stride 2, padding 1, ceil_mode: the corner windows hold 4 input cells of 9
    np.testing.assert_allclose(
        F.avg_pool2d(ones, 3, 2, 1, ceil_mode=True)[0, 0],
        np.array([[4, 6, 4], [6, 9, 6], [4, 6, 4]]) / 9,
    )
    assert (F.avg_pool2d(ones, 3, 2, 1, ceil_mode=True, count_include_pad=False) == 1).all()
    # kernel 2, stride 3, padding 1, ceil_mode: the last window is clipped at the padded edge
    np.testing.assert_allclose(
        F.avg_pool2d(ones, 2, 3, 1, ceil_mode=True)[0, 0], [[0.25, 0.5], [0.5, 1.0]]
    )
    assert (F.avg_pool2d(ones, 2, 2, ceil_mode=True) == 1).all()  # overhang never counts
    assert (F.avg_pool2d(ones, 2, 2, divisor_override=8) == 0.5).all()


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_same_padding_puts_the_extra_row_at_the_bottom_right():
    x = rng.standard_normal((1, 1, 4, 5))
    w = rng.standard_normal((1, 1, 2, 4))
    y = F.conv2d(x, w, padding="same")
    np.testing.assert_allclose(y, F.conv2d(np.pad(x, ((0, 0), (0, 0), (0, 1), (1, 2))), w))
    expected = TF.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding="same").numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


def test_conv_transpose2d_is_conv2d_input_gradient():
    dy = rng.standard_normal((2, 6, 3, 3))
    dx, _, _ = F.conv2d_backward(dy, X, W, None, stride=2, padding=1, groups=2)
    # output_padding = (5 + 2 - 3) % 2 = 0 rows, (6 + 2 - 3) % 2 = 1 column
    y = F.conv_transpose2d(dy, W, None, stride=2, padding=1, output_padding=(0, 1), groups=2)
    np.testing.assert_array_equal(y, dx)


# --- signatures ----------------------------------------------------------------------------------


def _torch_signature(name):
    """torch's documented signature (its builtins have none for inspect)."""
    if name == "max_pool2d":
        return inspect.signature(TF._max_pool2d)
    first = getattr(TF, name).__doc__.strip().splitlines()[0]
    params = re.match(rf"{name}\((.*)\) ->", first).group(1)
    return inspect.signature(eval(f"lambda {params}: None"))  # noqa: S307 - torch's own docstring


@pytest.mark.parametrize("name", ["conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d"])
def test_signatures_match_torch(name):
    ours = inspect.signature(getattr(F, name))
    theirs = _torch_signature(name)
    assert [p.name for p in ours.parameters.values()] == [
        p.name for p in theirs.parameters.values()
    ]
    for p in ours.parameters.values():
        assert p.default == theirs.parameters[p.name].default, p.name


@pytest.mark.parametrize("name", ["conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d"])
def test_backward_signature_is_grad_output_then_forward(name):
    forward = list(inspect.signature(getattr(F, name)).parameters.values())
    backward = list(inspect.signature(getattr(F, f"{name}_backward")).parameters.values())
    forward = [p for p in forward if p.name != "return_indices"]
    assert backward[0].name == "grad_output"
    assert [(p.name, p.default) for p in backward[1:]] == [(p.name, p.default) for p in forward]
