"""The tolerance model: how far a correct implementation may be from the reference.

A floating-point sum of ``n`` terms computed in any order satisfies (Higham, *Accuracy and
Stability of Numerical Algorithms*, 2nd ed., section 4.2)

    |fl(sum x_i) - sum x_i| <= gamma_n * sum |x_i|,    gamma_n = n*u / (1 - n*u) ~= n * eps / 2

so two correct implementations (the reference and the one under test) may differ, elementwise, by

    |actual - expected| <= SAFETY * n * eps(dtype) * sum_i |x_i * w_i|

where ``sum |x_i * w_i|`` is obtained by running the *same operation on the absolute values* of
the operands (``conv(|A|, |W|) + |b|``, ``pool(|A|)``, ...), and ``n`` is the number of terms that
reach one output element. ``SAFETY = 2`` covers both sides' rounding (``2 * n * eps / 2``) twice
over. The bound is elementwise, so it scales with each output's own magnitude and cancellation:
it gives no false positive on correct code of any summation order, yet a float64 relative error
of 1e-7 exceeds it by six orders of magnitude (for n <= 100, the bound is ~1e-13 relative).

Selections (max pooling, zero padding, masks) do not round and are compared exactly; only the
accumulation of several windows' gradients into one input cell rounds, and is bounded the same
way with ``n`` = the number of windows covering a cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAFETY = 2.0


def working_dtype(*arrays: np.ndarray) -> np.dtype:
    """Precision an implementation is expected to keep: float32 only for all-float32 inputs."""
    kinds = [a.dtype for a in arrays if a.dtype.kind == "f"]
    return (
        np.dtype(np.float32)
        if kinds and all(d == np.float32 for d in kinds)
        else np.dtype(np.float64)
    )


def dot_bound(abs_magnitude: np.ndarray, n_terms: int, dtype: np.dtype | type) -> np.ndarray:
    """Elementwise bound ``SAFETY * n_terms * eps(dtype) * abs_magnitude``.

    Parameters
    ----------
    abs_magnitude : ndarray
        ``sum_i |x_i * w_i|`` per output element: the operation applied to absolute values.
    n_terms : int
        Number of rounded additions/multiplications that reach one output element.
    dtype : the floating dtype the computation under test runs in.
    """
    eps = np.finfo(np.dtype(dtype)).eps
    return SAFETY * max(n_terms, 1) * eps * np.asarray(abs_magnitude, dtype=np.float64)


@dataclass(frozen=True)
class Mismatch:
    """The worst violation of a tolerance comparison."""

    name: str
    index: tuple[int, ...]
    actual: float
    expected: float
    bound: float
    count: int
    total: int

    def describe(self) -> str:
        where = f"{self.name}[{', '.join(map(str, self.index))}]" if self.index else self.name
        return (
            f"{self.count} of {self.total} entries of {self.name} differ; worst at {where}: "
            f"actual {self.actual!r}, expected {self.expected!r} "
            f"(|diff| = {abs(self.actual - self.expected):.3g}, allowed {self.bound:.3g})"
        )


def compare(
    name: str, actual: np.ndarray, expected: np.ndarray, bound: np.ndarray | float = 0.0
) -> Mismatch | None:
    """Elementwise ``|actual - expected| <= bound`` (NaN matches NaN, inf matches the same inf).

    Returns ``None`` when every entry conforms, else the worst entry (largest excess over its
    bound). Shapes must already agree.
    """
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    bound = np.broadcast_to(np.asarray(bound, dtype=np.float64), expected.shape)
    both_nan = np.isnan(actual) & np.isnan(expected)
    same_inf = np.isinf(expected) & (actual == expected)
    with np.errstate(invalid="ignore"):
        diff = np.abs(actual - expected)
        ok = (diff <= bound) | both_nan | same_inf
    if ok.all():
        return None
    with np.errstate(invalid="ignore"):
        excess = np.where(ok, -np.inf, np.nan_to_num(diff - bound, nan=np.inf))
    worst = np.unravel_index(int(np.argmax(excess)), expected.shape) if expected.ndim else ()
    return Mismatch(
        name=name,
        index=tuple(int(i) for i in worst),
        actual=float(actual[worst]),
        expected=float(expected[worst]),
        bound=float(bound[worst]),
        count=int((~ok).sum()),
        total=int(ok.size),
    )
