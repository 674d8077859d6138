"""Building blocks shared by the strategies of both APIs.

- Argument validation at strategy-construction time (:func:`_float_dtype`, :func:`_kinds`,
  :func:`_bound`, :func:`_shape`), raising :class:`~hypothesis.errors.InvalidArgument` like
  ``hypothesis.extra.numpy``.
- The value distributions: :data:`VALUE_KINDS`, :func:`values` (re-exported by
  :mod:`refconv.strategies`) and :func:`_draw_values`, with which the problem strategies draw
  each array inside their own ``composite`` (:mod:`._choices`): its kind, then all its values as
  one choice of bytes (:func:`_decode`).
- The choice budget: hypothesis's 8 KiB limit per example, what an array element costs, and
  :func:`_fitting_range`, which caps a size range so that the rest of a problem still fits.
- :func:`_draw_kernel`: a kernel size, the largest allowed one time in four.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from numpy.typing import DTypeLike

from refconv.strategies._choices import Draw, composite

VALUE_KINDS: tuple[str, ...] = ("normal", "small_int", "relu", "mixed")
"""The value distributions of :func:`values`, in shrinking order ("normal" is the simplest)."""

_NORMAL_BOUND = 3.0
_SMALL_INT_BOUND = 2
_MIXED_EXPONENT = 4



# --- argument validation (at strategy-construction time, like hypothesis.extra.numpy) ----------


def _float_dtype(dtype: DTypeLike) -> np.dtype:
    try:
        resolved = np.dtype(dtype)
    except TypeError as exc:
        raise InvalidArgument(f"dtype must be float32 or float64, got {dtype!r}") from exc
    if resolved not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise InvalidArgument(f"dtype must be float32 or float64, got {resolved}")
    return resolved


def _kinds(kinds: Sequence[str], name: str = "kinds") -> tuple[str, ...]:
    if isinstance(kinds, str):
        kinds = (kinds,)
    kinds = tuple(kinds)
    if not kinds:
        raise InvalidArgument(f"{name} must name at least one of {VALUE_KINDS}")
    unknown = [k for k in kinds if k not in VALUE_KINDS]
    if unknown:
        raise InvalidArgument(f"{name} must be drawn from {VALUE_KINDS}, got {unknown}")
    return kinds


def _bound(value: int, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidArgument(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise InvalidArgument(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _shape(shape: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape),)
    shape = tuple(shape)
    if not all(
        isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0 for n in shape
    ):
        raise InvalidArgument(f"shape must be a tuple of non-negative ints, got {shape!r}")
    return tuple(int(n) for n in shape)


# --- values ---------------------------------------------------------------------------------


def _zigzag(codes: np.ndarray, count: int) -> np.ndarray:
    """Codes (unsigned ints) onto the integers of [-(count // 2), count // 2]: 0, 1, -1, 2, -2...

    Code 0 is 0 and small codes are small magnitudes, so that shrinking the codes towards zero
    shrinks the values towards zero. ``count`` is odd."""
    u = codes.astype(np.int64) % count
    return np.where(u % 2 == 1, (u + 1) // 2, -(u // 2))


#: Bytes of choices each element of an array of the value kind takes (see :func:`_decode`).
_KIND_BYTES = {"normal": 2, "small_int": 1, "relu": 2, "mixed": 3}


def _decode(raw: bytes, n: int, kind: str, dtype: np.dtype) -> np.ndarray:
    """The ``n`` values of ``kind`` that the choice bytes ``raw`` stand for (all-zero bytes: all
    zeros)."""
    data = np.frombuffer(raw, dtype=np.uint8)
    if kind == "small_int":
        return _zigzag(data, 2 * _SMALL_INT_BOUND + 1).astype(dtype)
    pairs = data[: 2 * n].reshape(n, 2).astype(np.int64)
    hundredths = _zigzag(pairs[:, 0] * 256 + pairs[:, 1], 2 * int(_NORMAL_BOUND * 100) + 1)
    values = hundredths.astype(dtype) / dtype.type(100)
    if kind == "relu":
        values = np.maximum(values, 0)
    elif kind == "mixed":
        exponents = _zigzag(data[2 * n :], 2 * _MIXED_EXPONENT + 1)
        values = (hundredths / 100.0 * 10.0 ** exponents).astype(dtype)
    tiny = np.finfo(dtype).tiny
    values[np.abs(values) < tiny] = 0
    return values + dtype.type(0)  # no negative zeros


def _draw_values(
    draw: Draw,
    shape: tuple[int, ...],
    dtype: np.dtype,
    kinds: tuple[str, ...],
    allow_nan: bool,
    label: str,
) -> np.ndarray:
    """Draw one array: its kind first (reported as ``event(f"{label}: {kind}")``), then values.

    All the values are one choice of bytes, decoded by :func:`_decode`: drawing costs one
    choice however large the array, and hypothesis shrinks the bytes towards zero, i.e. the
    values towards zero, element by element.
    """
    kind = draw.choice(kinds)
    event(f"{label}: {kind}")
    n = math.prod(shape)
    array = _decode(draw.bytes(n * _KIND_BYTES[kind]), n, kind, dtype).reshape(shape)
    if allow_nan and array.size and draw.boolean():
        # One to eight NaN positions (repeats allowed), drawn as indices: a few choices, not one
        # per element, so that NaN costs little of the example's choice budget.
        positions = draw(
            st.lists(st.integers(0, array.size - 1), min_size=1, max_size=min(array.size, 8))
        )
        array.reshape(-1)[positions] = np.nan
        event(f"{label}: contains NaN")
    return array


@composite
def _values(
    draw: Draw,
    shape: tuple[int, ...],
    dtype: np.dtype,
    kinds: tuple[str, ...],
    allow_nan: bool,
    label: str,
) -> np.ndarray:
    return _draw_values(draw, shape, dtype, kinds, allow_nan, label)


def values(
    shape: int | Sequence[int],
    *,
    dtype: DTypeLike = np.float64,
    kinds: Sequence[str] = VALUE_KINDS,
    allow_nan: bool = False,
) -> st.SearchStrategy[np.ndarray]:
    """Arrays of a fixed shape whose value distribution is drawn first.

    Parameters
    ----------
    shape : int or tuple of ints
        Shape of the generated arrays.
    dtype : float32 or float64, default float64
        dtype of the generated arrays; every value is exactly representable in it.
    kinds : sequence of str, default :data:`VALUE_KINDS`
        Distributions to choose from, once per array (earlier kinds are simpler for shrinking):

        - ``"normal"``: floats in [-3, 3], no subnormals, no infinities;
        - ``"small_int"``: integers in [-2, 2] as floats (ties are frequent);
        - ``"relu"``: ``max(0, normal)``, many exact zeros;
        - ``"mixed"``: ``normal * 10**k`` with ``k`` in [-4, 4] drawn per element.
    allow_nan : bool, default False
        When True, half of the arrays contain NaN (one to eight positions, repeats allowed, so
        always at least one). When False, no element is ever NaN.

    Returns
    -------
    SearchStrategy[numpy.ndarray]
        Arrays of ``shape`` and ``dtype``, all values drawn as one choice of bytes (decoded onto
        the kind's grid: hundredths for ``"normal"``). Shrinks towards all zeros, element by
        element. Reports the kind drawn with ``event("values: <kind>")`` (and ``"values:
        contains NaN"``).
    """
    return _values(_shape(shape), _float_dtype(dtype), _kinds(kinds), bool(allow_nan), "values")


# --- the choice budget --------------------------------------------------------------------------
#
# Hypothesis stops an example after 8 KiB of recorded choices ("overrun": the example is thrown
# away, and a strategy that overruns often fails the data_too_large health check). An array is
# one bytes choice of 1 (small_int), 2 (normal, relu) or 3 (mixed) bytes per element
# (:data:`_KIND_BYTES`). The size ranges are drawn *one after the other*, each capped so that the
# problem can still be completed within the budget with the smallest remaining choices: with
# the default maxima (the largest convolution needs about 2,000 elements, 6 KiB at most) nothing
# is ever capped, and larger maxima stay reachable too (channels, drawn last, get fewer when the
# spatial sizes are large); nothing is rejected, and no example overruns.
#
# What a whole problem costs is computed next to its strategy (``_conv_bytes`` and
# ``_pool_bytes`` in seed.py, a ``cost`` function in each strategy of functional.py).

_CHOICE_BUDGET = 8 * 1024 - 640  # bytes; the margin covers sizes, kinds and NaN positions
_INPUT_ELEMENT_BYTES = 3  # worst case, "mixed"
_GRADIENT_ELEMENT_BYTES = 2  # "normal" values


def _fitting_range(low: int, high: int, fits: Callable[[int], bool]) -> tuple[int, int]:
    """The smallest interval of [low, high] holding every value that ``fits``.

    The costs involved are monotone (or, for the kernel size, convex) in each parameter, so the
    fitting values form an interval. The draw before guaranteed that one exists; should the
    caller's maxima make even that impossible, the whole range is returned.
    """
    fitting = [value for value in range(low, high + 1) if fits(value)]
    return (fitting[0], fitting[-1]) if fitting else (low, high)


# --- kernel sizes ----------------------------------------------------------------------------
#
# One time in four the kernel takes the largest size allowed, usually the whole (padded) input:
# the edge case of the output-size arithmetic. Both numbers are always drawn, so that the choice
# sequence has the same length either way and shrinking still heads to the flag off and f = 1.


def _draw_kernel(draw: Draw, bounds: tuple[int, int]) -> int:
    low, high = bounds
    at_edge = draw.integer(0, 3) == 3
    f = draw.integer(low, high)
    return high if at_edge else f
