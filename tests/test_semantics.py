"""Semantic decisions (README "Semantics, and where they differ from the seed notebook"), and
vectorised == stepwise == torch on random cases.

This is the quick randomised agreement of the foundation; the hypothesis property suite in
properties/ is the thorough one.
"""

import numpy as np
import pytest

import refconv
import refconv.stepwise
from refconv import oracle

IMPLS = [pytest.param(refconv, id="vectorised"), pytest.param(refconv.stepwise, id="stepwise")]

# (m, n_H_prev, n_W_prev, n_C_prev, n_C, f, stride, pad): pad 0, stride > f, stride < f,
# non-square images, f equal to the padded input, pad >= f, m > 1, C_prev != C.
CONV_CASES = [
    (1, 4, 4, 1, 1, 2, 1, 0),
    (2, 5, 7, 3, 2, 3, 1, 0),
    (2, 7, 5, 2, 3, 2, 3, 0),
    (3, 6, 4, 2, 4, 3, 2, 1),
    (1, 3, 5, 2, 2, 5, 1, 1),
    (2, 4, 3, 1, 2, 2, 1, 3),
    (2, 8, 6, 3, 1, 1, 2, 0),
    (1, 9, 9, 2, 2, 4, 3, 2),
]
POOL_CASES = [  # (m, n_H_prev, n_W_prev, n_C, f, stride)
    (1, 4, 4, 1, 2, 2),
    (2, 5, 7, 3, 3, 1),
    (2, 7, 5, 2, 2, 3),
    (3, 6, 4, 2, 4, 2),
    (1, 3, 5, 2, 3, 1),
    (2, 8, 6, 1, 1, 2),
]


def values(rng, shape, kind):
    if kind == "ties":
        return rng.integers(-2, 3, size=shape).astype(np.float64)
    return rng.standard_normal(shape)


@pytest.mark.parametrize("kind", ["normal", "ties"])
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_agrees_with_torch_and_stepwise(case, kind):
    m, h, w, c_in, c_out, f, s, p = case
    rng = np.random.default_rng(hash(case) % 2**32)
    A = values(rng, (m, h, w, c_in), kind)
    W = values(rng, (f, f, c_in, c_out), kind)
    b = rng.standard_normal((1, 1, 1, c_out))
    hp = {"stride": s, "pad": p}
    Z, cache = refconv.conv_forward(A, W, b, hp)
    np.testing.assert_allclose(Z, oracle.conv_forward(A, W, b, s, p), rtol=1e-12, atol=1e-12)
    dZ = rng.standard_normal(Z.shape)  # a random upstream gradient: all-ones hides index bugs
    expected = oracle.conv_backward(dZ, A, W, b, s, p)
    for got, want in zip(refconv.conv_backward(dZ, cache), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    Z2, cache2 = refconv.stepwise.conv_forward(A, W, b, hp)
    np.testing.assert_allclose(Z2, Z, rtol=1e-12, atol=1e-12)
    for got, want in zip(refconv.stepwise.conv_backward(dZ, cache2), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("kind", ["normal", "ties"])
@pytest.mark.parametrize("case", POOL_CASES)
def test_pool_agrees_with_torch_and_stepwise(case, kind, mode):
    m, h, w, c, f, s = case
    rng = np.random.default_rng(hash(case) % 2**32)
    A = values(rng, (m, h, w, c), kind)
    hp = {"f": f, "stride": s}
    # Max pooling selects, it does not round: its forward is compared exactly. Backward sums the
    # gradients of overlapping windows, whose order may differ from torch's: a few ulps.
    fwd_tol = {"rtol": 0, "atol": 0} if mode == "max" else {"rtol": 1e-12, "atol": 1e-13}
    want_fwd = oracle.pool_forward(A, f, s, mode)
    for impl in (refconv, refconv.stepwise):
        out, cache = impl.pool_forward(A, hp, mode)
        np.testing.assert_allclose(out, want_fwd, **fwd_tol)
        dA = rng.standard_normal(out.shape)
        np.testing.assert_allclose(
            impl.pool_backward(dA, cache, mode),
            oracle.pool_backward(dA, A, f, s, mode),
            rtol=1e-12,
            atol=1e-13,
        )


@pytest.mark.parametrize("impl", IMPLS)
def test_mask_ties_go_to_first_maximum(impl):
    x = np.array([[1.0, 3.0, 0.0], [3.0, 2.0, 3.0]])
    np.testing.assert_array_equal(impl.create_mask_from_window(x), [[0, 1, 0], [0, 0, 0]])
    assert impl.create_mask_from_window(np.zeros((3, 3))).sum() == 1


@pytest.mark.parametrize("impl", IMPLS)
def test_mask_nan_wins_and_last_nan_wins(impl):
    x = np.array([[1.0, np.nan], [5.0, 2.0]])
    np.testing.assert_array_equal(impl.create_mask_from_window(x), [[0, 1], [0, 0]])
    x = np.array([[np.nan, 1.0], [np.nan, 9.0]])
    np.testing.assert_array_equal(impl.create_mask_from_window(x), [[0, 0], [1, 0]])


@pytest.mark.parametrize("impl", IMPLS)
def test_max_pool_nan_matches_torch(impl):
    A = np.arange(2 * 4 * 4 * 2, dtype=np.float64).reshape(2, 4, 4, 2) % 5
    A[0, 1, 1, 0] = np.nan
    A[0, 0, 0, 0] = np.nan
    A[1, 2, 3, 1] = np.nan
    hp = {"f": 2, "stride": 1}
    out, cache = impl.pool_forward(A, hp)
    np.testing.assert_array_equal(out, oracle.pool_forward(A, 2, 1, "max"))  # NaN == NaN here
    # integer-valued dA: sums of overlapping windows are exact, so routing is compared exactly
    dA = np.random.default_rng(3).integers(-9, 10, size=out.shape).astype(np.float64)
    np.testing.assert_array_equal(
        impl.pool_backward(dA, cache), oracle.pool_backward(dA, A, 2, 1, "max")
    )


@pytest.mark.parametrize("impl", IMPLS)
def test_max_pool_tie_gradient_goes_once_to_first_maximum(impl):
    A = np.ones((1, 2, 2, 1))
    _, cache = impl.pool_forward(A, {"f": 2, "stride": 1})
    np.testing.assert_array_equal(
        impl.pool_backward(np.full((1, 1, 1, 1), 5.0), cache)[0, :, :, 0], [[5, 0], [0, 0]]
    )


@pytest.mark.parametrize("impl", IMPLS)
def test_float32_is_preserved_and_ints_promote(impl):
    rng = np.random.default_rng(1)
    A = rng.standard_normal((2, 5, 4, 3)).astype(np.float32)
    W = rng.standard_normal((3, 3, 3, 2)).astype(np.float32)
    b = rng.standard_normal((1, 1, 1, 2)).astype(np.float32)
    assert impl.zero_pad(A, 1).dtype == np.float32
    assert impl.conv_single_step(A[0, :3, :3], W[..., 0], b[..., 0]).dtype == np.float32
    Z, cache = impl.conv_forward(A, W, b, {"stride": 1, "pad": 1})
    assert Z.dtype == np.float32
    assert all(g.dtype == np.float32 for g in impl.conv_backward(Z, cache))
    for mode in ("max", "average"):
        out, pcache = impl.pool_forward(A, {"f": 2, "stride": 2}, mode)
        assert out.dtype == np.float32
        assert impl.pool_backward(out, pcache, mode).dtype == np.float32
    assert impl.distribute_value(np.float32(2), (2, 2)).dtype == np.float32
    ints = rng.integers(-3, 4, size=(1, 4, 4, 2))
    Zi, ci = impl.conv_forward(
        ints,
        ints[:, :2, :2, :, None].reshape(2, 2, 2, 1),
        np.zeros((1, 1, 1, 1), int),
        {"stride": 1, "pad": 0},
    )
    assert Zi.dtype == np.float64
    out, pcache = impl.pool_forward(ints, {"f": 2, "stride": 1}, "average")
    assert out.dtype == np.float64
    assert impl.pool_backward(out, pcache, "average").dtype == np.float64  # not truncated to int
    assert impl.distribute_value(3, (2, 2)).dtype == np.float64


@pytest.mark.parametrize("impl", IMPLS)
def test_inputs_are_never_mutated(impl):
    rng = np.random.default_rng(2)
    arrays = {
        "A": rng.standard_normal((2, 5, 4, 3)),
        "W": rng.standard_normal((3, 3, 3, 2)),
        "b": rng.standard_normal((1, 1, 1, 2)),
        "dZ": rng.standard_normal((2, 5, 4, 2)),
        "dA": rng.standard_normal((2, 4, 3, 3)),
    }
    copies = {k: a.copy() for k, a in arrays.items()}
    for a in arrays.values():
        a.flags.writeable = False  # any in-place write raises
    hp = {"stride": 1, "pad": 1}
    _, cache = impl.conv_forward(arrays["A"], arrays["W"], arrays["b"], hp)
    impl.conv_backward(arrays["dZ"], cache)
    impl.zero_pad(arrays["A"], 2)
    impl.conv_single_step(arrays["A"][0, :3, :3], arrays["W"][..., 0], arrays["b"][..., 0])
    impl.create_mask_from_window(arrays["A"][0, :2, :2, 0])
    for mode in ("max", "average"):
        _, pcache = impl.pool_forward(arrays["A"], {"f": 2, "stride": 1}, mode)
        impl.pool_backward(arrays["dA"], pcache, mode)
    for k, a in arrays.items():
        np.testing.assert_array_equal(a, copies[k])
    assert hp == {"stride": 1, "pad": 1}


def test_stepwise_equals_vectorised_on_random_cases():
    rng = np.random.default_rng(7)
    for _ in range(40):
        m, c_in, c_out = rng.integers(1, 4, size=3)
        h, w = rng.integers(1, 8, size=2)
        p = int(rng.integers(0, 3))
        f = int(rng.integers(1, min(h, w) + 2 * p + 1))
        s = int(rng.integers(1, 5))
        kind = rng.choice(["normal", "ties"])
        A = values(rng, (m, h, w, c_in), kind)
        W = values(rng, (f, f, c_in, c_out), kind)
        b = rng.standard_normal((1, 1, 1, c_out))
        Z1, c1 = refconv.conv_forward(A, W, b, {"stride": s, "pad": p})
        Z2, c2 = refconv.stepwise.conv_forward(A, W, b, {"stride": s, "pad": p})
        np.testing.assert_allclose(Z1, Z2, rtol=1e-12, atol=1e-12)
        dZ = rng.standard_normal(Z1.shape)
        for g1, g2 in zip(
            refconv.conv_backward(dZ, c1), refconv.stepwise.conv_backward(dZ, c2), strict=True
        ):
            np.testing.assert_allclose(g1, g2, rtol=1e-12, atol=1e-12)
        fp = int(rng.integers(1, min(h, w) + 1))
        for mode in ("max", "average"):
            o1, p1 = refconv.pool_forward(A, {"f": fp, "stride": s}, mode)
            o2, p2 = refconv.stepwise.pool_forward(A, {"f": fp, "stride": s}, mode)
            np.testing.assert_allclose(o1, o2, rtol=1e-12, atol=1e-14)
            dA = rng.standard_normal(o1.shape)
            np.testing.assert_allclose(
                refconv.pool_backward(dA, p1, mode),
                refconv.stepwise.pool_backward(dA, p2, mode),
                rtol=1e-12,
                atol=1e-14,
            )
