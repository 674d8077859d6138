"""The strategies of :mod:`refconv.strategies` keep their promises.

- coverage: each advertised category (geometry, values, NaN, dtype) is *reached*, shown with
  :func:`hypothesis.find` (generation only, no shrinking: reaching it is the claim);
- validity: every generated problem is accepted by the seed API and its upstream gradient has the
  forward output's shape;
- shrinking: the minimal problems are the smallest readable ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import refconv
from refconv import strategies
from refconv.problems import ConvProblem, PoolProblem

# Reaching a category is the claim: generate only, stop at the first hit. Most categories take a
# handful of examples; 2000 leaves a wide margin (derandomization comes from the profile in CI).
REACH = settings(max_examples=2000, database=None, deadline=None, phases=[Phase.generate])
# Minimal examples: generate and shrink (the explain phase is slow and irrelevant here).
SHRINK = settings(
    max_examples=200,
    database=None,
    deadline=None,
    derandomize=True,
    phases=[Phase.generate, Phase.shrink],
)
VALID = settings(max_examples=25, database=None, deadline=None)


def reaches(strategy: st.SearchStrategy[Any], predicate: Callable[[Any], bool]) -> Any:
    """The first generated example satisfying ``predicate`` (NoSuchExample if none)."""
    return find(strategy, predicate, settings=REACH)


def conv_geometry(p: ConvProblem) -> dict[str, int]:
    m, h, w, c_prev = p.A_prev.shape
    return {
        "m": m,
        "H": h,
        "W": w,
        "C_prev": c_prev,
        "C": p.W.shape[3],
        "f": p.W.shape[0],
        "stride": p.stride,
        "pad": p.pad,
    }


def tied_window(p: PoolProblem) -> bool:
    """Some max-pooling window holds its maximum at two or more cells (direct loops)."""
    m, h, w, c = p.A_prev.shape
    for i in range(m):
        for top in range(0, h - p.f + 1, p.stride):
            for left in range(0, w - p.f + 1, p.stride):
                for k in range(c):
                    window = p.A_prev[i, top : top + p.f, left : left + p.f, k]
                    if np.count_nonzero(window == window.max()) > 1:
                        return True
    return False


# --- coverage: convolution geometry ---------------------------------------------------------

CONV_CATEGORIES: dict[str, Callable[[dict[str, int]], bool]] = {
    "stride == 1": lambda g: g["stride"] == 1,
    "stride > 1": lambda g: g["stride"] > 1,
    "stride < f (overlap)": lambda g: g["stride"] < g["f"],
    "stride == f > 1": lambda g: g["stride"] == g["f"] > 1,
    "stride > f (gaps)": lambda g: g["stride"] > g["f"],
    "pad == 0": lambda g: g["pad"] == 0,
    "pad >= f > 1": lambda g: g["pad"] >= g["f"] > 1,
    "f == padded input, pad > 0": lambda g: (
        g["f"] in (g["H"] + 2 * g["pad"], g["W"] + 2 * g["pad"]) and g["pad"] > 0
    ),
    "f == input, no pad": lambda g: g["f"] == min(g["H"], g["W"]) > 1 and g["pad"] == 0,
    "f == 1": lambda g: g["f"] == 1,
    "m == 1": lambda g: g["m"] == 1,
    "m > 1": lambda g: g["m"] > 1,
    "H != W": lambda g: g["H"] != g["W"],
    "C_prev != C": lambda g: g["C_prev"] != g["C"],
    "largest batch": lambda g: g["m"] == 3,
    "largest side": lambda g: g["H"] == 7,
    "largest channels": lambda g: g["C_prev"] == g["C"] == 3,
    "largest pad": lambda g: g["pad"] == 3,
    "largest stride": lambda g: g["stride"] == 4,
}


@pytest.mark.parametrize("category", sorted(CONV_CATEGORIES))
def test_conv_problems_reach(category: str) -> None:
    predicate = CONV_CATEGORIES[category]
    problem = reaches(strategies.conv_problems(), lambda p: predicate(conv_geometry(p)))
    assert predicate(conv_geometry(problem))


# --- coverage: pooling ----------------------------------------------------------------------

POOL_CATEGORIES: dict[str, Callable[[PoolProblem], bool]] = {
    "mode max": lambda p: p.mode == "max",
    "mode average": lambda p: p.mode == "average",
    "stride < f (overlap)": lambda p: p.stride < p.f,
    "stride == f > 1": lambda p: p.stride == p.f > 1,
    "stride > f (gaps)": lambda p: p.stride > p.f,
    "f == H > 1": lambda p: p.f == p.A_prev.shape[1] > 1,
    "f == W > 1": lambda p: p.f == p.A_prev.shape[2] > 1,
    "H != W": lambda p: p.A_prev.shape[1] != p.A_prev.shape[2],
    "m > 1": lambda p: p.A_prev.shape[0] > 1,
    "tied maximum in a max window": lambda p: p.mode == "max" and tied_window(p),
}


@pytest.mark.parametrize("category", sorted(POOL_CATEGORIES))
def test_pool_problems_reach(category: str) -> None:
    predicate = POOL_CATEGORIES[category]
    assert predicate(reaches(strategies.pool_problems(), predicate))


def test_pool_problems_reach_nan_in_a_max_window() -> None:
    problem = reaches(
        strategies.pool_problems(modes=("max",), allow_nan=True), lambda p: np.isnan(p.A_prev).any()
    )
    assert np.isnan(problem.A_prev).any() and not np.isnan(problem.dA).any()


# --- coverage: values ---------------------------------------------------------------------

VALUE_CATEGORIES: dict[str, Callable[[np.ndarray], bool]] = {
    "all zeros": lambda x: bool(np.all(x == 0)) and x.size >= 6,
    "many exact zeros and positives (relu)": lambda x: (
        np.count_nonzero(x == 0) >= 2 and np.all(x >= 0) and np.any(x > 0)
    ),
    "small integers with ties": lambda x: (
        np.all(x == np.round(x)) and np.any(x != 0) and np.unique(x).size < x.size
    ),
    "non-integers": lambda x: bool(np.any(x != np.round(x))),
    "negative values": lambda x: bool(np.any(x < 0)),
    "mixed magnitudes (ratio > 1e4)": lambda x: (
        np.count_nonzero(x) >= 2 and np.abs(x[x != 0]).max() > 1e4 * np.abs(x[x != 0]).min()
    ),
    "magnitude above 3 (mixed)": lambda x: bool(np.any(np.abs(x) > 3)),
}


@pytest.mark.parametrize("category", sorted(VALUE_CATEGORIES))
def test_values_reach(category: str) -> None:
    predicate = VALUE_CATEGORIES[category]
    assert predicate(reaches(strategies.values((2, 3)), predicate))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_reach_nan_when_allowed(dtype: type) -> None:
    x = reaches(strategies.values((2, 3), dtype=dtype, allow_nan=True), lambda x: np.isnan(x).any())
    assert x.dtype == dtype


@settings(max_examples=100, database=None, deadline=None)
@given(strategies.values((3, 4)))
def test_values_never_nan_unless_allowed(x: np.ndarray) -> None:
    assert x.shape == (3, 4) and x.dtype == np.float64
    assert np.all(np.isfinite(x))


@settings(max_examples=50, database=None, deadline=None)
@given(strategies.values((2, 5), dtype=np.float32, kinds=("mixed",)))
def test_values_float32(x: np.ndarray) -> None:
    assert x.dtype == np.float32 and np.all(np.isfinite(x))
    tiny = np.finfo(np.float32).tiny
    assert np.all((x == 0) | (np.abs(x) >= tiny))  # no subnormals


@pytest.mark.parametrize("kind", strategies.VALUE_KINDS)
def test_values_kinds_stay_in_range(kind: str) -> None:
    @settings(max_examples=30, database=None, deadline=None)
    @given(strategies.values((4, 4), kinds=(kind,)))
    def check(x: np.ndarray) -> None:
        if kind == "normal":
            assert np.all(np.abs(x) <= 3)
        elif kind == "small_int":
            assert np.all(np.isin(x, [-2.0, -1.0, 0.0, 1.0, 2.0]))
        elif kind == "relu":
            assert np.all((x >= 0) & (x <= 3))
        else:
            assert np.all(np.abs(x) <= 3e4)

    check()


# --- coverage: windows, distribute_value ----------------------------------------------------


def test_window_problems_reach_ties_and_shapes() -> None:
    tie = reaches(
        strategies.window_problems(),
        lambda p: (
            p.x.size > 1 and np.count_nonzero(p.x == p.x.max()) > 1 and np.any(p.x != p.x.max())
        ),
    )
    assert np.count_nonzero(tie.x == tie.x.max()) > 1
    wide = reaches(strategies.window_problems(), lambda p: p.x.shape == (2, 5))
    assert wide.x.shape == (2, 5)
    nans = reaches(
        strategies.window_problems(allow_nan=True), lambda p: np.count_nonzero(np.isnan(p.x)) >= 2
    )
    assert np.count_nonzero(np.isnan(nans.x)) >= 2


def test_distribute_problems_reach() -> None:
    problem = reaches(strategies.distribute_problems(), lambda p: isinstance(p.dz, int))
    assert isinstance(problem.dz, int)
    problem = reaches(
        strategies.distribute_problems(), lambda p: isinstance(p.dz, float) and p.dz != int(p.dz)
    )
    problem = reaches(strategies.distribute_problems(), lambda p: p.shape == (6, 1))
    assert problem.shape == (6, 1)


@settings(max_examples=100, database=None, deadline=None)
@given(strategies.distribute_problems())
def test_distribute_problems_valid(problem: Any) -> None:
    assert -10 <= problem.dz <= 10
    n_h, n_w = problem.shape
    assert 1 <= n_h <= 6 and 1 <= n_w <= 6
    assert refconv.distribute_value(problem.dz, problem.shape).shape == problem.shape


# --- validity: the seed API accepts every problem ----------------------------------------------

PROBLEM_OPTIONS = [
    pytest.param({}, id="default"),
    pytest.param({"dtype": np.float32}, id="float32"),
    pytest.param({"allow_nan": True}, id="nan"),
]


@pytest.mark.parametrize("options", PROBLEM_OPTIONS)
def test_conv_problems_are_valid(options: dict[str, Any]) -> None:
    dtype = options.get("dtype", np.float64)

    @VALID
    @given(strategies.conv_problems(**options))
    def check(problem: ConvProblem) -> None:
        assert all(a.dtype == dtype for a in problem.arrays().values())
        assert not np.isnan(problem.dZ).any()
        if not options.get("allow_nan"):
            assert not any(np.isnan(a).any() for a in problem.arrays().values())
        Z, cache = refconv.conv_forward(problem.A_prev, problem.W, problem.b, problem.hparameters)
        assert Z.shape == problem.dZ.shape == problem.out_shape
        dA_prev, dW, db = refconv.conv_backward(problem.dZ, cache)
        # Within hypothesis's 8 KiB of choices: <= 3 bytes per input element ("mixed"), 2 per
        # gradient element ("normal"), so no example is ever thrown away for its size.
        inputs = problem.A_prev.size + problem.W.size + problem.b.size
        assert 3 * inputs + 2 * problem.dZ.size < 8 * 1024
        assert dA_prev.shape == problem.A_prev.shape and dW.shape == problem.W.shape

    check()


@pytest.mark.parametrize("options", PROBLEM_OPTIONS)
def test_pool_problems_are_valid(options: dict[str, Any]) -> None:
    dtype = options.get("dtype", np.float64)

    @VALID
    @given(strategies.pool_problems(**options))
    def check(problem: PoolProblem) -> None:
        assert problem.A_prev.dtype == problem.dA.dtype == dtype
        assert not np.isnan(problem.dA).any()
        if not options.get("allow_nan"):
            assert not np.isnan(problem.A_prev).any()
        A, cache = refconv.pool_forward(problem.A_prev, problem.hparameters, problem.mode)
        assert A.shape == problem.dA.shape == problem.out_shape
        dA_prev = refconv.pool_backward(problem.dA, cache, problem.mode)
        assert 3 * problem.A_prev.size + 2 * problem.dA.size < 8 * 1024
        assert dA_prev.shape == problem.A_prev.shape

    check()


@pytest.mark.parametrize("options", PROBLEM_OPTIONS)
def test_small_problems_are_valid(options: dict[str, Any]) -> None:
    dtype = options.get("dtype", np.float64)

    @VALID
    @given(
        strategies.pad_problems(**options),
        strategies.single_step_problems(**options),
        strategies.window_problems(**options),
    )
    def check(pad: Any, step: Any, window: Any) -> None:
        assert pad.X.ndim == 4 and pad.X.dtype == dtype and 0 <= pad.pad <= 3
        assert refconv.zero_pad(pad.X, pad.pad).shape[1] == pad.X.shape[1] + 2 * pad.pad
        assert step.a_slice_prev.shape == step.W.shape and step.b.shape == (1, 1, 1)
        assert step.a_slice_prev.ndim == 3 and step.W.shape[0] == step.W.shape[1]
        assert refconv.conv_single_step(step.a_slice_prev, step.W, step.b).dtype == dtype
        assert window.x.ndim == 2 and max(window.x.shape) <= 5 and window.x.dtype == dtype
        assert refconv.create_mask_from_window(window.x).sum() == 1

    check()


@pytest.mark.parametrize(
    "make",
    [
        lambda: strategies.values((2,), dtype=np.int64),
        lambda: strategies.values((2,), kinds=("uniform",)),
        lambda: strategies.values((2,), kinds=()),
        lambda: strategies.conv_problems(max_side=0),
        lambda: strategies.conv_problems(max_pad=-1),
        lambda: strategies.pool_problems(modes=("min",)),
        lambda: strategies.distribute_problems(max_abs=float("inf")),
    ],
)
def test_invalid_options_are_rejected(make: Callable[[], Any]) -> None:
    with pytest.raises(InvalidArgument):
        make()


# --- shrinking: minimal problems are the smallest readable ones ---------------------------------


def test_conv_problems_shrink_to_the_minimal_case() -> None:
    problem = find(strategies.conv_problems(), lambda p: True, settings=SHRINK)
    assert conv_geometry(problem) == {
        "m": 1,
        "H": 1,
        "W": 1,
        "C_prev": 1,
        "C": 1,
        "f": 1,
        "stride": 1,
        "pad": 0,
    }
    assert all(np.all(a == 0) for a in problem.arrays().values())


def test_conv_problems_shrink_sizes_first() -> None:
    # Needing f > 1 costs nothing else: f = 2 on a 1x1 input padded by 1 (or a 2x2 input), zeros.
    # Hypothesis ranks fewer drawn values before smaller ones and its shrinker stops at a local
    # minimum, so stride 2 (dZ 1x1) may be kept instead of stride 1 (dZ 2x2).
    problem = find(strategies.conv_problems(), lambda p: p.W.shape[0] > 1, settings=SHRINK)
    geometry = conv_geometry(problem)
    assert geometry["f"] == 2 and geometry["m"] == geometry["C_prev"] == geometry["C"] == 1
    assert (geometry["H"], geometry["W"], geometry["pad"]) in {(1, 1, 1), (2, 2, 0)}
    assert geometry["stride"] <= 2
    assert problem.dZ.size <= 4
    assert all(np.all(a == 0) for a in problem.arrays().values())


def test_pool_problems_shrink_to_the_minimal_case() -> None:
    problem = find(strategies.pool_problems(), lambda p: np.any(p.A_prev != 0), settings=SHRINK)
    assert problem.A_prev.shape == (1, 1, 1, 1) and (problem.f, problem.stride) == (1, 1)
    assert problem.mode == "max" and np.all(problem.dA == 0)
    assert abs(problem.A_prev.item()) in (0.01, 1.0)  # the smallest step of a value kind


def test_window_problems_shrink_to_the_minimal_case() -> None:
    problem = find(strategies.window_problems(), lambda p: True, settings=SHRINK)
    assert problem.x.shape == (1, 1) and problem.x.item() == 0
