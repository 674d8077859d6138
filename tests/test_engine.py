"""The conformance engine against hostile or subtly wrong code, and its tolerance model."""

import time
from types import SimpleNamespace

import numpy as np
import pytest

import refconv
from refconv.conformance import diagnose as texts
from refconv.conformance.runner import run_function
from refconv.conformance.tolerance import compare, dot_bound


def variant(**overrides):
    """refconv's seed API with some functions replaced."""
    functions = {name: getattr(refconv, name) for name in refconv.SEED_FUNCTIONS}
    functions.update(overrides)
    return SimpleNamespace(**functions)


def conv_forward_scaled(factor):
    def conv_forward(A_prev, W, b, hparameters):
        Z, cache = refconv.conv_forward(A_prev, W, b, hparameters)
        return Z * factor, cache

    return conv_forward


def conv_forward_einsum(A_prev, W, b, hparameters):
    """A correct conv summing in another order (einsum over a padded window view)."""
    s, p = hparameters["stride"], hparameters["pad"]
    f = W.shape[0]
    padded = np.pad(np.asarray(A_prev, dtype=np.float64), ((0, 0), (p, p), (p, p), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (f, f), axis=(1, 2))
    windows = windows[:, ::s, ::s]  # (m, n_H, n_W, C_prev, f, f)
    Z = np.einsum("mhwcxy,xyck->mhwk", windows, W) + b
    return Z, (A_prev, W, b, hparameters)


def test_a_relative_error_of_1e7_is_caught_in_float64():
    result = run_function(variant(conv_forward=conv_forward_scaled(1 + 1e-7)), "conv_forward")
    assert result.status == "fail"
    assert result.failure.mismatch.bound < 1e-7 * abs(result.failure.mismatch.expected)


def test_another_summation_order_is_not_flagged():
    result = run_function(
        variant(conv_forward=conv_forward_einsum), "conv_forward", max_examples=200
    )
    assert result.status == "pass", result.failure


def test_nan_output_is_a_failure():
    def pool_forward(A_prev, hparameters, mode="max"):
        A, cache = refconv.pool_forward(A_prev, hparameters, mode)
        return A * np.nan, cache

    result = run_function(variant(pool_forward=pool_forward), "pool_forward")
    assert result.status == "fail"
    assert result.failure.diagnosis == texts.NAN_RESULT.format(name="A")


def test_prints_do_not_reach_the_report(capsys):
    def zero_pad(X, pad):
        print("debugging output " * 100)
        return refconv.zero_pad(X, pad)

    assert run_function(variant(zero_pad=zero_pad), "zero_pad", max_examples=10).status == "pass"
    assert "debugging output" not in capsys.readouterr().out


def test_an_infinite_loop_is_stopped_by_the_timeout():
    def distribute_value(dz, shape):
        while True:
            pass

    started = time.perf_counter()
    result = run_function(
        variant(distribute_value=distribute_value),
        "distribute_value",
        timeout=0.2,
        shrink_seconds=2,
    )
    assert result.status == "fail" and result.failure.kind == "timeout"
    assert time.perf_counter() - started < 30


def test_exceptions_wrong_types_and_shapes_are_failures_not_crashes():
    def raises(*args):
        raise KeyError("boom")

    def single_step_array(a, W, b):
        return np.sum(a * W) + b  # a (1, 1, 1) array, not a scalar

    def conv_backward_flat_db(dZ, cache):
        dA, dW, db = refconv.conv_backward(dZ, cache)
        return dA, dW, db.reshape(-1)

    def pool_forward_list(A_prev, hparameters, mode="max"):
        A, cache = refconv.pool_forward(A_prev, hparameters, mode)
        return A.tolist(), cache

    cases = {
        "zero_pad": (raises, "exception"),
        "conv_single_step": (single_step_array, "shape"),
        "conv_backward": (conv_backward_flat_db, "shape"),
        "pool_forward": (pool_forward_list, "type"),
    }
    for function, (replacement, kind) in cases.items():
        result = run_function(variant(**{function: replacement}), function, max_examples=10)
        assert (result.status, result.failure.kind) == ("fail", kind), function


def test_mutating_an_input_is_a_failure_even_by_one_ulp():
    def pool_backward(dA, cache, mode="max"):
        cache[0][...] = np.nextafter(cache[0], np.inf)  # the cached A_prev, in place
        return refconv.pool_backward(dA, cache, mode)

    result = run_function(variant(pool_backward=pool_backward), "pool_backward")
    assert result.failure.kind == "mutation"


def test_compare_reports_the_worst_entry_and_treats_nan_as_equal_to_nan():
    expected = np.array([[1.0, np.nan], [3.0, 4.0]])
    actual = np.array([[1.0, np.nan], [3.5, 4.1]])
    mismatch = compare("x", actual, expected, bound=0.2)
    assert mismatch.index == (1, 0) and mismatch.count == 1 and mismatch.total == 4
    assert compare("x", expected, expected) is None
    assert compare("x", np.array([np.inf]), np.array([np.inf])) is None
    assert compare("x", np.array([np.nan]), np.array([1.0])) is not None


def test_dot_bound_scales_with_terms_magnitude_and_precision():
    assert dot_bound(1.0, 10, np.float64) == pytest.approx(2 * 10 * np.finfo(np.float64).eps)
    assert dot_bound(1.0, 10, np.float32) > 1e8 * dot_bound(1.0, 10, np.float64)


def test_pool_backward_bound_counts_the_windows_covering_a_cell():
    from refconv.conformance.apis.seed import _pool_backward_bound
    from refconv.problems import PoolProblem

    A = np.zeros((1, 5, 5, 1))
    dA = np.ones((1, 3, 3, 1))
    bound = _pool_backward_bound(PoolProblem(A, 3, 1, "max", dA))
    # the centre cell is covered by all 9 windows: n = ceil(3/1)**2 = 9 terms of |dA| = 1
    assert bound[0, 2, 2, 0] == pytest.approx(dot_bound(9.0, 9, np.float64))
