"""Every value the seed notebook prints, reproduced by refconv and by refconv.stepwise.

Expected numbers are copied from the notebook's printed output (they come from the notebook's
own runs, not from refconv). The notebook's pool_backward printouts are those of its buggy code;
the correct values (given in the project brief, and re-derived here from torch autograd) are
asserted instead, and a re-creation of the buggy code shows it prints exactly the seed's numbers.
"""

import numpy as np
import pytest

import refconv
import refconv.stepwise

IMPLEMENTATIONS = [
    pytest.param(refconv, id="vectorised"),
    pytest.param(refconv.stepwise, id="stepwise"),
]


@pytest.fixture(params=IMPLEMENTATIONS)
def impl(request):
    return request.param


def test_zero_pad(impl):
    np.random.seed(1)
    x = np.random.randn(4, 3, 3, 2)
    x_pad = impl.zero_pad(x, 2)
    assert x_pad.shape == (4, 7, 7, 2)
    np.testing.assert_allclose(
        x[1, 1],
        [[0.90085595, -0.68372786], [-0.12289023, -0.93576943], [-0.26788808, 0.53035547]],
        atol=5e-9,
    )
    np.testing.assert_array_equal(x_pad[1, 1], np.zeros((7, 2)))
    np.testing.assert_array_equal(x_pad[:, 2:5, 2:5, :], x)


def test_conv_single_step(impl):
    np.random.seed(1)
    a_slice_prev = np.random.randn(4, 4, 3)
    W = np.random.randn(4, 4, 3)
    b = np.random.randn(1, 1, 1)
    Z = impl.conv_single_step(a_slice_prev, W, b)
    assert np.ndim(Z) == 0 and isinstance(Z, np.floating)
    assert Z == pytest.approx(-6.999089450680221, abs=1e-12)


def _seed_conv():
    np.random.seed(1)
    A_prev = np.random.randn(10, 4, 4, 3)
    W = np.random.randn(2, 2, 3, 8)
    b = np.random.randn(1, 1, 1, 8)
    return A_prev, W, b, {"pad": 2, "stride": 2}


def test_conv_forward(impl):
    Z, cache_conv = impl.conv_forward(*_seed_conv())
    assert Z.shape == (10, 4, 4, 8)
    assert np.mean(Z) == pytest.approx(0.048995203528855794, abs=1e-14)
    np.testing.assert_allclose(
        Z[3, 2, 1],
        [
            -0.61490741,
            -6.7439236,
            -2.55153897,
            1.75698377,
            3.56208902,
            0.53036437,
            5.18531798,
            8.75898442,
        ],
        atol=5e-8,
    )
    np.testing.assert_allclose(
        cache_conv[0][1][2][3], [-0.20075807, 0.18656139, 0.41005165], atol=5e-9
    )
    assert len(cache_conv) == 4 and cache_conv[3] == {"pad": 2, "stride": 2}


def test_conv_backward(impl):
    Z, cache_conv = impl.conv_forward(*_seed_conv())
    dA, dW, db = impl.conv_backward(Z, cache_conv)
    assert (dA.shape, dW.shape, db.shape) == ((10, 4, 4, 3), (2, 2, 3, 8), (1, 1, 1, 8))
    assert np.mean(dA) == pytest.approx(1.4524377775388075, abs=1e-12)
    assert np.mean(dW) == pytest.approx(1.7269914583139097, abs=1e-12)
    assert np.mean(db) == pytest.approx(7.839232564616838, abs=1e-12)


def test_pool_forward(impl):
    np.random.seed(1)
    A_prev = np.random.randn(2, 4, 4, 3)
    hparameters = {"stride": 2, "f": 3}
    A, cache = impl.pool_forward(A_prev, hparameters)
    np.testing.assert_allclose(
        A,
        [[[[1.74481176, 0.86540763, 1.13376944]]], [[[1.13162939, 1.51981682, 2.18557541]]]],
        atol=5e-9,
    )
    A, cache = impl.pool_forward(A_prev, hparameters, mode="average")
    np.testing.assert_allclose(
        A,
        [[[[0.02105773, -0.20328806, -0.40389855]]], [[[-0.22154621, 0.51716526, 0.48155844]]]],
        atol=5e-9,
    )
    assert cache[0] is A_prev and cache[1] is hparameters


def test_create_mask_from_window(impl):
    np.random.seed(1)
    x = np.random.randn(2, 3)
    mask = impl.create_mask_from_window(x)
    assert mask.dtype == bool
    np.testing.assert_array_equal(mask, [[True, False, False], [False, False, False]])


def test_distribute_value(impl):
    np.testing.assert_array_equal(impl.distribute_value(2, (2, 2)), [[0.5, 0.5], [0.5, 0.5]])


def _seed_pool_backward_inputs():
    np.random.seed(1)
    A_prev = np.random.randn(5, 5, 3, 2)
    hparameters = {"stride": 1, "f": 2}
    dA = np.random.randn(5, 4, 2, 2)
    return A_prev, hparameters, dA


CORRECT_MAX = [[0, 0], [5.05844394, -1.68282702], [0, 0]]
CORRECT_AVERAGE = [[0.08485462, 0.2787552], [1.26461098, -0.25749373], [1.17975636, -0.53624893]]
SEED_PRINTED_MAX = [[0.0, 0.0], [6.63920871, 1.48408832], [0.0, 0.0]]
SEED_PRINTED_AVERAGE = [
    [-0.18169846, -0.31723859],
    [0.20725933, 0.52015979],
    [0.38895779, 0.83739837],
]


def test_pool_backward_correct_values(impl):
    A_prev, hparameters, dA = _seed_pool_backward_inputs()
    assert np.mean(dA) == pytest.approx(0.14571390272918056, abs=1e-14)
    _, cache = impl.pool_forward(A_prev, hparameters)
    np.testing.assert_allclose(
        impl.pool_backward(dA, cache, mode="max")[1, 1], CORRECT_MAX, atol=5e-9
    )
    _, cache = impl.pool_forward(A_prev, hparameters, mode="average")
    np.testing.assert_allclose(
        impl.pool_backward(dA, cache, mode="average")[1, 1], CORRECT_AVERAGE, atol=5e-9
    )


def test_pool_backward_correct_values_agree_with_torch():
    """The correct values are re-derived from torch autograd, independently of refconv."""
    torch = pytest.importorskip("torch")
    A_prev, _, dA = _seed_pool_backward_inputs()
    for pool, expected in (
        (torch.nn.functional.max_pool2d, CORRECT_MAX),
        (torch.nn.functional.avg_pool2d, CORRECT_AVERAGE),
    ):
        x = torch.tensor(A_prev).permute(0, 3, 1, 2).contiguous().requires_grad_(True)
        pool(x, kernel_size=2, stride=1).backward(torch.tensor(dA).permute(0, 3, 1, 2))
        np.testing.assert_allclose(x.grad.permute(0, 2, 3, 1).numpy()[1, 1], expected, atol=5e-9)


def seed_buggy_pool_backward(dA, cache, mode="max"):
    """The notebook's pool_backward, verbatim (with its bugs), on the notebook's own mask."""
    (A_prev, hparameters) = cache
    stride = hparameters["stride"]
    f = hparameters["f"]
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    m, n_H, n_W, n_C = dA.shape
    dA_prev = np.zeros(A_prev.shape)
    for i in range(m):
        a_prev = A_prev[i]
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    vert_start = h * stride
                    vert_end = vert_start + f
                    horiz_start = w * stride
                    horiz_end = horiz_start + f
                    if mode == "max":
                        a_prev_slice = a_prev[vert_start:vert_end, horiz_start:horiz_end, c]
                        mask = a_prev_slice == np.max(a_prev_slice)
                        dA_prev[i, vert_start:vert_end, horiz_start:horiz_end, c] += (
                            mask * a_prev_slice
                        )
                    elif mode == "average":
                        da = np.sum(a_prev[horiz_start:horiz_end, vert_start:vert_end, c])
                        shape = (f, f)
                        dA_prev[i, vert_start:vert_end, horiz_start:horiz_end, c] += (
                            np.ones(shape) * da / (f * f)
                        )
    return dA_prev


def test_seed_printed_pool_backward_values_come_from_its_bugs():
    A_prev, hparameters, dA = _seed_pool_backward_inputs()
    _, cache = refconv.pool_forward(A_prev, hparameters)
    np.testing.assert_allclose(
        seed_buggy_pool_backward(dA, cache, "max")[1, 1], SEED_PRINTED_MAX, atol=5e-9
    )
    np.testing.assert_allclose(
        seed_buggy_pool_backward(dA, cache, "average")[1, 1], SEED_PRINTED_AVERAGE, atol=5e-9
    )
    # ... and refconv does not reproduce them.
    assert not np.allclose(refconv.pool_backward(dA, cache, "max")[1, 1], SEED_PRINTED_MAX)
    assert not np.allclose(refconv.pool_backward(dA, cache, "average")[1, 1], SEED_PRINTED_AVERAGE)
