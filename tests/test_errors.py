"""Bad input gets a ValueError/TypeError that names the parameter, never a wrong answer."""

import numpy as np
import pytest

import refconv
import refconv.stepwise

rng = np.random.default_rng(0)
A = rng.standard_normal((2, 5, 6, 3))
W = rng.standard_normal((3, 3, 3, 4))
B = rng.standard_normal((1, 1, 1, 4))
HP = {"stride": 1, "pad": 1}
POOL_HP = {"f": 2, "stride": 2}


@pytest.fixture(params=[refconv, refconv.stepwise], ids=["vectorised", "stepwise"])
def impl(request):
    return request.param


def conv_cache(impl):
    return impl.conv_forward(A, W, B, HP)


# (label, exception type, words the message must contain, call)
CASES = [
    (
        "A_prev ndim",
        ValueError,
        ["A_prev", "4-D", "(5, 6, 3)"],
        lambda m: m.conv_forward(A[0], W, B, HP),
    ),
    ("W ndim", ValueError, ["W", "4-D"], lambda m: m.conv_forward(A, W[..., 0], B, HP)),
    (
        "channel mismatch",
        ValueError,
        ["n_C_prev = 2", "A_prev", "3 channels"],
        lambda m: m.conv_forward(A, W[:, :, :2], B, HP),
    ),
    (
        "non-square W",
        ValueError,
        ["W", "square", "(3, 2, 3, 4)"],
        lambda m: m.conv_forward(A, W[:, :2], B, HP),
    ),
    (
        "b wrong shape",
        ValueError,
        ["b", "(1, 1, 1, 4)", "(1, 1, 1, 3)"],
        lambda m: m.conv_forward(A, W, B[..., :3], HP),
    ),
    ("b flat", ValueError, ["b", "4-D"], lambda m: m.conv_forward(A, W, B.reshape(4), HP)),
    (
        "stride 0",
        ValueError,
        ["stride", ">= 1", "0"],
        lambda m: m.conv_forward(A, W, B, {"stride": 0, "pad": 1}),
    ),
    (
        "pad -1",
        ValueError,
        ["pad", ">= 0", "-1"],
        lambda m: m.conv_forward(A, W, B, {"stride": 1, "pad": -1}),
    ),
    (
        "float stride",
        TypeError,
        ["stride", "integer", "1.5"],
        lambda m: m.conv_forward(A, W, B, {"stride": 1.5, "pad": 0}),
    ),
    (
        "float pad",
        TypeError,
        ["pad", "integer", "2.0"],
        lambda m: m.conv_forward(A, W, B, {"stride": 1, "pad": 2.0}),
    ),
    (
        "bool pad",
        TypeError,
        ["pad", "integer", "True"],
        lambda m: m.conv_forward(A, W, B, {"stride": 1, "pad": True}),
    ),
    (
        "missing pad",
        ValueError,
        ["hparameters", "'pad'"],
        lambda m: m.conv_forward(A, W, B, {"stride": 1}),
    ),
    (
        "hparameters not a dict",
        TypeError,
        ["hparameters", "dict"],
        lambda m: m.conv_forward(A, W, B, [1, 1]),
    ),
    (
        "kernel larger than padded input",
        ValueError,
        ["f", "8", "larger", "7x8", "pad=1"],
        lambda m: m.conv_forward(A, np.zeros((8, 8, 3, 4)), B, HP),
    ),
    (
        "complex A_prev",
        TypeError,
        ["A_prev", "complex"],
        lambda m: m.conv_forward(A.astype(complex), W, B, HP),
    ),
    ("object W", TypeError, ["W", "object"], lambda m: m.conv_forward(A, W.astype(object), B, HP)),
    ("string input", TypeError, ["X", "numeric"], lambda m: m.zero_pad("abc", 1)),
    (
        "float16",
        TypeError,
        ["A_prev", "float16"],
        lambda m: m.conv_forward(A.astype(np.float16), W, B, HP),
    ),
    ("zero_pad negative", ValueError, ["pad", "-2"], lambda m: m.zero_pad(A, -2)),
    ("zero_pad ndim", ValueError, ["X", "4-D"], lambda m: m.zero_pad(A[0], 1)),
    (
        "dZ wrong shape",
        ValueError,
        ["dZ", "(2, 5, 6, 4)", "(2, 5, 6, 3)"],
        lambda m: m.conv_backward(np.zeros((2, 5, 6, 3)), conv_cache(m)[1]),
    ),
    (
        "conv cache malformed",
        ValueError,
        ["cache", "(A_prev, W, b, hparameters)"],
        lambda m: m.conv_backward(np.zeros((2, 5, 6, 4)), (A, W)),
    ),
    (
        "conv cache not a tuple",
        ValueError,
        ["cache"],
        lambda m: m.conv_backward(np.zeros((2, 5, 6, 4)), None),
    ),
    (
        "conv cache with bad hparameters",
        ValueError,
        ["stride"],
        lambda m: m.conv_backward(np.zeros((2, 5, 6, 4)), (A, W, B, {"stride": 0, "pad": 1})),
    ),
    (
        "pool unknown mode",
        ValueError,
        ["mode", "'avg'"],
        lambda m: m.pool_forward(A, POOL_HP, mode="avg"),
    ),
    (
        "pool missing f",
        ValueError,
        ["hparameters", "'f'"],
        lambda m: m.pool_forward(A, {"stride": 1}),
    ),
    ("pool f 0", ValueError, ["f", ">= 1"], lambda m: m.pool_forward(A, {"stride": 1, "f": 0})),
    (
        "pool stride 0",
        ValueError,
        ["stride", ">= 1"],
        lambda m: m.pool_forward(A, {"stride": 0, "f": 2}),
    ),
    (
        "pool float f",
        TypeError,
        ["f", "integer"],
        lambda m: m.pool_forward(A, {"stride": 1, "f": 2.0}),
    ),
    (
        "pool kernel too large",
        ValueError,
        ["f", "6", "larger", "5x6"],
        lambda m: m.pool_forward(A, {"stride": 1, "f": 6}),
    ),
    ("pool ndim", ValueError, ["A_prev", "4-D"], lambda m: m.pool_forward(A[0], POOL_HP)),
    (
        "dA wrong shape",
        ValueError,
        ["dA", "(2, 2, 3, 3)"],
        lambda m: m.pool_backward(np.zeros((2, 3, 3, 3)), m.pool_forward(A, POOL_HP)[1]),
    ),
    (
        "pool cache malformed",
        ValueError,
        ["cache", "(A_prev, hparameters)"],
        lambda m: m.pool_backward(np.zeros((2, 2, 3, 3)), (A,)),
    ),
    (
        "pool_backward unknown mode",
        ValueError,
        ["mode", "'min'"],
        lambda m: m.pool_backward(
            np.zeros((2, 2, 3, 3)), m.pool_forward(A, POOL_HP)[1], mode="min"
        ),
    ),
    (
        "single step shapes",
        ValueError,
        ["W", "a_slice_prev", "(3, 3, 3)"],
        lambda m: m.conv_single_step(A[0, :3, :3], W[:2, :, :, 0], B[..., 0]),
    ),
    (
        "single step b size",
        ValueError,
        ["b", "one bias"],
        lambda m: m.conv_single_step(W[..., 0], W[..., 0], B),
    ),
    (
        "empty window",
        ValueError,
        ["x", "non-empty"],
        lambda m: m.create_mask_from_window(np.zeros((0, 2))),
    ),
    (
        "mask complex",
        TypeError,
        ["x", "complex"],
        lambda m: m.create_mask_from_window(np.ones((2, 2), complex)),
    ),
    (
        "distribute shape",
        ValueError,
        ["shape", "(n_H, n_W)"],
        lambda m: m.distribute_value(1.0, (2, 2, 2)),
    ),
    (
        "distribute zero size",
        ValueError,
        ["n_W", ">= 1"],
        lambda m: m.distribute_value(1.0, (2, 0)),
    ),
    (
        "distribute float size",
        TypeError,
        ["n_H", "integer"],
        lambda m: m.distribute_value(1.0, (2.0, 2)),
    ),
    (
        "distribute dz array",
        ValueError,
        ["dz", "scalar"],
        lambda m: m.distribute_value(np.ones(3), (2, 2)),
    ),
]


@pytest.mark.parametrize(("label", "exc", "words", "call"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_named(impl, label, exc, words, call):
    with pytest.raises(exc) as info:
        call(impl)
    message = str(info.value)
    for word in words:
        assert word in message, f"{label}: {word!r} not in {message!r}"
