"""Coverage by construction: the problems ``refconv check`` explores reach every category of
input that real implementations get wrong, for every function and pooling mode.

Each category is also a hypothesis ``event`` of the strategies (``pytest
--hypothesis-show-statistics`` lists how often); here each is asserted reachable with
``hypothesis.find`` from a fixed seed, and the seed corpus is asserted to hold the hardest one
(>= 3 windows on an output axis at stride >= 2) explicitly.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, settings

from refconv import strategies
from refconv.conformance.corpus import corpus
from refconv.conformance.runner import problem_strategy
from refconv.problems import ConvProblem, PoolProblem

# The first example found is enough: no shrinking.
SEARCH = settings(
    max_examples=5000,
    database=None,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _geometry(p: Any) -> tuple[int, int, int, int]:
    """(f, stride, n_H, n_W) of a conv or pool problem."""
    f = p.W.shape[0] if isinstance(p, ConvProblem) else p.f
    _, n_h, n_w, _ = p.out_shape
    return f, p.stride, n_h, n_w


def _distinct(p: Any) -> bool:
    values = np.asarray(p.A_prev, dtype=np.float64).ravel()
    return np.unique(values).size == values.size


WINDOWED: dict[str, Callable[[Any], bool]] = {
    ">= 3 windows at stride >= 2": lambda p: _geometry(p)[1] >= 2 and max(_geometry(p)[2:]) >= 3,
    "n_H != n_W": lambda p: _geometry(p)[2] != _geometry(p)[3],
    "f < stride": lambda p: _geometry(p)[0] < _geometry(p)[1],
    "f > stride": lambda p: _geometry(p)[0] > _geometry(p)[1],
    "m >= 2": lambda p: p.A_prev.shape[0] >= 2,
    "C >= 2": lambda p: p.A_prev.shape[3] >= 2,
    "all values distinct": _distinct,
}
CONV_ONLY: dict[str, Callable[[Any], bool]] = {
    "pad >= 1": lambda p: p.pad >= 1,
    "pad == 0": lambda p: p.pad == 0,
    "C_prev != C": lambda p: p.W.shape[2] != p.W.shape[3],
}
MAIN_INPUT = {
    "zero_pad": "X",
    "conv_single_step": "a_slice_prev",
    "create_mask_from_window": "x",
    "distribute_value": None,
}


def _layout_of(array: np.ndarray) -> str:
    if not array.flags.writeable:
        return "read-only"
    if any(s < 0 for s in array.strides):
        return "negative strides"
    if array.flags.c_contiguous:
        return "fresh"
    if array.flags.f_contiguous:
        return "fortran"
    return "strided slice"


def _reach(function: str, condition: Callable[[Any], bool], mode: str | None = None) -> Any:
    strategy = problem_strategy(function)
    if mode is not None:
        strategy = strategy.filter(lambda p: p.mode == mode)
    return find(strategy, condition, settings=SEARCH, random=random.Random(0))


CASES = [
    (function, mode, name)
    for function in ("conv_forward", "conv_backward")
    for mode in (None,)
    for name in (*WINDOWED, *CONV_ONLY)
] + [
    (function, mode, name)
    for function in ("pool_forward", "pool_backward")
    for mode in strategies.POOL_MODES
    for name in WINDOWED
]


@pytest.mark.parametrize(("function", "mode", "category"), CASES)
def test_windowed_functions_reach_every_category(function, mode, category):
    condition = {**WINDOWED, **CONV_ONLY}[category]
    assert condition(_reach(function, condition, mode))


@pytest.mark.parametrize("layout", strategies.LAYOUTS)
@pytest.mark.parametrize(
    "function",
    ["zero_pad", "conv_single_step", "conv_forward", "conv_backward", "pool_forward",
     "pool_backward", "create_mask_from_window"],
)
def test_inputs_come_in_every_memory_layout(function, layout):
    field = MAIN_INPUT.get(function, "A_prev")
    found = _reach(function, lambda p: _layout_of(getattr(p, field)) == layout)
    assert _layout_of(getattr(found, field)) == layout


@pytest.mark.parametrize("layout", strategies.LAYOUTS)
def test_a_layout_keeps_the_values(layout):
    array = np.arange(24.0).reshape(2, 3, 4)
    view = strategies.as_layout(array, layout)
    np.testing.assert_array_equal(view, array)
    assert _layout_of(view) == layout


@pytest.mark.parametrize(
    ("function", "mode"),
    [("conv_forward", None), ("conv_backward", None)]
    + [(f, m) for f in ("pool_forward", "pool_backward") for m in strategies.POOL_MODES],
)
def test_the_corpus_holds_three_windows_at_stride_two(function, mode):
    condition = WINDOWED[">= 3 windows at stride >= 2"]
    problems = [
        p for p in corpus(function)
        if isinstance(p, (ConvProblem, PoolProblem)) and (mode is None or p.mode == mode)
    ]
    assert any(condition(p) and WINDOWED["n_H != n_W"](p) for p in problems)
