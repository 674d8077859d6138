"""The seed corpus: explicit problems every check replays before exploring.

Each problem targets a blind spot that real implementations get wrong (see the bug zoo in
``tests/zoo``): pad 0, stride > f (gaps), stride < f (overlapping windows), non-square images,
tied maxima, several examples, C_prev != C, three or more windows per axis at stride 2 (index
expressions that coincide on the first two windows), integer input, an unknown pooling mode
(advice: see the README's contract). Values are
random normals rounded to two decimals (readable, and without accidental ties) or small
integers where ties are the point. Hypothesis runs these first (``Phase.explicit``), so a typical
bug is reported after a handful of calls instead of after a random search.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from refconv.problems import (
    ConvProblem,
    DistributeProblem,
    PadProblem,
    PoolProblem,
    SingleStepProblem,
    WindowProblem,
)


def _normal(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return np.round(rng.standard_normal(shape), 2)


def _conv(
    rng: np.random.Generator,
    m: int,
    h: int,
    w: int,
    c_in: int,
    c_out: int,
    f: int,
    stride: int,
    pad: int,
    integer: bool = False,
) -> ConvProblem:
    A = rng.integers(-3, 4, size=(m, h, w, c_in)) if integer else _normal(rng, m, h, w, c_in)
    W, b = _normal(rng, f, f, c_in, c_out), _normal(rng, 1, 1, 1, c_out)
    shape = ConvProblem(A, W, b, stride, pad, np.zeros(0)).out_shape
    return ConvProblem(A, W, b, stride, pad, _normal(rng, *shape))


def _pool(
    rng: np.random.Generator,
    m: int,
    h: int,
    w: int,
    c: int,
    f: int,
    stride: int,
    mode: str,
    values: str = "normal",
) -> PoolProblem:
    if values == "ties":
        A = rng.integers(-1, 2, size=(m, h, w, c)).astype(np.float64)
    elif values == "integer":
        A = rng.integers(-3, 4, size=(m, h, w, c))
    else:
        A = _normal(rng, m, h, w, c)
    shape = PoolProblem(A, f, stride, mode, np.zeros(0)).out_shape
    return PoolProblem(A, f, stride, mode, _normal(rng, *shape))


@cache
def corpus(function: str) -> tuple[Any, ...]:
    """The explicit problems replayed first for ``function`` (deterministic)."""
    rng = np.random.default_rng(20240607)
    if function in ("conv_forward", "conv_backward"):
        return (
            _conv(rng, 2, 5, 4, 3, 2, 3, 1, 0),  # pad 0, overlap, H != W, m > 1, C_prev != C
            _conv(rng, 2, 6, 5, 2, 3, 2, 3, 1),  # stride > f: gaps; padding
            _conv(rng, 1, 4, 7, 1, 2, 3, 2, 2),  # stride < f, pad >= f - 1, wide image
            _conv(rng, 2, 5, 5, 2, 2, 3, 2, 1, integer=True),  # integer input
            # >= 3 windows per axis at stride 2 (index slips that coincide on the first two
            # windows), n_H != n_W: f == stride and f > stride
            _conv(rng, 2, 7, 5, 2, 3, 2, 2, 1),
            _conv(rng, 2, 7, 6, 3, 2, 3, 2, 1),
        )
    if function in ("pool_forward", "pool_backward"):
        problems = (
            [
                _pool(rng, 2, 5, 4, 3, 3, 1, mode)
                for mode in ("max", "average")  # overlap, H != W
            ]
            + [
                _pool(rng, 2, 6, 7, 2, 2, 3, mode)
                for mode in ("max", "average")  # stride > f: gaps
            ]
            + [
                # >= 3 windows per axis at stride 2, n_H != n_W: f == stride, f > stride
                _pool(rng, 2, size_h, size_w, 2, f, 2, mode)
                for f, size_h, size_w in ((2, 8, 6), (3, 7, 9))
                for mode in ("max", "average")
            ]
            + [
                _pool(rng, 1, 4, 5, 2, 2, 1, "max", "ties"),  # tied maxima in overlapping windows
                _pool(rng, 2, 4, 6, 2, 3, 2, "average", "integer"),  # integer input
                _pool(rng, 2, 5, 3, 1, 2, 1, "max", "integer"),
            ]
        )
        if function == "pool_forward":
            problems.append(_pool(rng, 1, 3, 3, 1, 2, 1, "avg"))  # unknown mode must raise
        return tuple(problems)
    if function == "create_mask_from_window":
        return (
            WindowProblem(_normal(rng, 3, 2)),
            WindowProblem(np.array([[1.0, 3.0, 0.0], [3.0, 2.0, 3.0]])),  # ties: first wins
            WindowProblem(np.zeros((2, 2))),
        )
    if function == "zero_pad":
        return (PadProblem(_normal(rng, 2, 3, 4, 2), 2), PadProblem(_normal(rng, 1, 2, 3, 1), 0))
    if function == "conv_single_step":
        return (
            SingleStepProblem(_normal(rng, 3, 3, 2), _normal(rng, 3, 3, 2), _normal(rng, 1, 1, 1)),
        )
    if function == "distribute_value":
        return (DistributeProblem(2.5, (3, 2)), DistributeProblem(-1.0, (3, 3)))
    raise ValueError(f"no corpus for {function!r}")
