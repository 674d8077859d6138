"""Hypothesis strategies that generate valid problems for the seed API and the functional API.

The seed API's strategies (:func:`conv_problems`, :func:`pool_problems`, ...) are described below.
The functional API (:mod:`refconv.functional`, NCHW like torch) has :func:`conv2d_problems`,
:func:`conv_transpose2d_problems`, :func:`max_pool2d_problems` and :func:`avg_pool2d_problems`,
which generate :class:`~refconv.problems.FunctionalProblem` calls with every geometric parameter
drawn per axis (pairs, ``H != W``), groups (depthwise included), padding strings, ceil mode,
``count_include_pad``, ``divisor_override``, unbatched and empty-batch inputs, and
:func:`functional_configs`, which also draws *invalid* calls (one mutation of a valid one) for the
error-parity property. Their design follows the same rules as below.

Each strategy returns a :class:`hypothesis.strategies.SearchStrategy` of one of the problem
dataclasses of :mod:`refconv.problems` (the arguments of one seed-API call plus, for the layer
functions, a random upstream gradient)::

    from hypothesis import given
    from refconv.strategies import conv_problems

    @given(conv_problems(max_side=5))
    def test_conv(problem):
        Z, cache = conv_forward(problem.A_prev, problem.W, problem.b, problem.hparameters)
        dA_prev, dW, db = conv_backward(problem.dZ, cache)

Design
------
*Valid by construction.* Every problem is accepted by the seed API: sizes are drawn in an order
that makes the constraints ranges, never rejections (no ``assume``, no ``.filter``). For a
convolution ``H``, ``W`` and ``pad`` are drawn first, then ``f`` in ``[1, min(H, W) + 2*pad]``;
for pooling (which the seed does not pad) ``f`` is in ``[1, min(H, W)]``. The upstream gradient
(``dZ``, ``dA``) has exactly the forward output's shape.

*Shrinking heads to the smallest readable case.* Sizes are drawn before the arrays and every
range starts at its smallest legal value, so a failing case shrinks towards ``m = 1``,
``n_C = 1``, ``H = W = 1``, ``stride = 1``, ``pad = 0``, ``f = 1`` and arrays of zeros, and only
keeps what the failure needs. (Hypothesis ranks an example with fewer drawn numbers as simpler,
so when the failure needs, say, ``f = 2``, it may keep ``stride = 2`` because that makes the
output, hence ``dZ``, 1x1.)

*Within hypothesis's budget.* Hypothesis abandons an example after 8 KiB of choices, and every
array element is a choice (9 bytes for a float). The largest default convolution would need
about 2,000 elements, so the sizes are drawn one after the other, each range capped so that the
rest of the problem still fits (``n_C_prev`` and ``n_C`` are drawn last and get smaller when the
spatial sizes are large). Every maximum remains reachable and no example is thrown away.

*Edges emphasised.* A quarter of the time the kernel size is the largest allowed, usually the
whole (padded) input, where output-size arithmetic goes wrong.

*Coverage.* The size ranges make all of the following reachable (``properties/
test_strategies.py`` proves each with :func:`hypothesis.find`):

- geometry: ``stride == 1``, ``stride < f`` (overlapping windows), ``stride == f``,
  ``stride > f`` (input cells skipped), ``pad == 0``, ``pad >= f``, ``f`` equal to the (padded)
  input height or width, ``f == 1``, ``H != W``, ``m == 1`` and ``m > 1``, ``n_C_prev != n_C``;
- values (:data:`VALUE_KINDS`, drawn once per array): ``"normal"`` floats in [-3, 3];
  ``"small_int"`` integers in [-2, 2] stored as floats, which forces tied maxima in pooling
  windows; ``"relu"``, ``max(0, normal)``, i.e. many exact zeros as in post-ReLU feature maps (and
  all-zero arrays); ``"mixed"``, ``normal * 10**k`` with ``k`` in [-4, 4] drawn per element
  (magnitudes spanning eight orders, the case where a loose tolerance hides errors);
- NaN, only when asked (``allow_nan=True``): then half of the input arrays contain one to eight
  NaNs, so that the NaN rules (propagation; a NaN is the maximum of its window) are
  exercised;
- dtype: float64 by default, float32 with ``dtype=np.float32`` (every value is then exactly
  representable in float32).

Upstream gradients are always drawn with the ``"normal"`` kind and never NaN: a random gradient
(rather than all ones) is what exposes a backward pass that reads it at the wrong index.

*Readable output.* Problems print their shapes and scalar parameters; every drawn parameter is
also reported with :func:`hypothesis.event`, so ``pytest --hypothesis-show-statistics`` shows how
often each coverage category (e.g. ``"stride > f (gaps)"``, ``"A_prev: small_int"``) occurred.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.extra.numpy import arrays
from numpy.typing import DTypeLike

from refconv._params import pool2d_args
from refconv._windows import output_length
from refconv.problems import (
    FUNCTIONAL_OPS,
    ConvProblem,
    DistributeProblem,
    FunctionalProblem,
    PadProblem,
    PoolProblem,
    SingleStepProblem,
    WindowProblem,
)

__all__ = [
    "VALUE_KINDS",
    "values",
    "pad_problems",
    "single_step_problems",
    "conv_problems",
    "pool_problems",
    "window_problems",
    "distribute_problems",
    "conv2d_problems",
    "conv_transpose2d_problems",
    "max_pool2d_problems",
    "avg_pool2d_problems",
    "functional_configs",
    "has_empty_max_window",
    "LAYOUTS",
    "as_layout",
    "with_input_layout",
]

VALUE_KINDS: tuple[str, ...] = ("normal", "small_int", "relu", "mixed")
"""The value distributions of :func:`values`, in shrinking order ("normal" is the simplest)."""

WINDOW_KINDS: tuple[str, ...] = ("small_int", "relu", "normal", "mixed")
"""Default kinds of :func:`window_problems`: tie-prone distributions first."""

POOL_MODES: tuple[str, ...] = ("max", "average")

_NORMAL_BOUND = 3.0
_SMALL_INT_BOUND = 2
_MIXED_EXPONENT = 4

_Draw = Callable[[st.SearchStrategy[Any]], Any]


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


# --- element strategies ---------------------------------------------------------------------


def _to_dtype(dtype: np.dtype) -> Callable[[float], float]:
    """Round a Python float into ``dtype`` (flushing subnormals to zero) and back."""
    tiny = float(np.finfo(dtype).tiny)

    def convert(value: float) -> float:
        value = float(dtype.type(value))
        return 0.0 if abs(value) < tiny else value

    return convert


def _normal(dtype: np.dtype) -> st.SearchStrategy[float]:
    # Hundredths in [-3, 3], drawn as integers: readable in reports (1.23, not 1.2299999),
    # and an integer choice costs hypothesis's shrinker far less than a float choice, which
    # keeps shrinking a many-element array fast.
    steps = int(_NORMAL_BOUND * 100)
    convert = _to_dtype(dtype)
    return st.integers(-steps, steps).map(lambda k: convert(k / 100))


def _elements(kind: str, dtype: np.dtype) -> st.SearchStrategy[float]:
    if kind == "normal":
        return _normal(dtype)
    if kind == "small_int":
        return st.integers(-_SMALL_INT_BOUND, _SMALL_INT_BOUND).map(float)
    if kind == "relu":
        return _normal(dtype).map(lambda x: max(0.0, x))
    if kind == "mixed":
        exponents = st.integers(-_MIXED_EXPONENT, _MIXED_EXPONENT)
        convert = _to_dtype(dtype)
        return st.tuples(_normal(dtype), exponents).map(
            lambda pair: convert(pair[0] * 10.0 ** pair[1])
        )
    raise InvalidArgument(f"unknown value kind {kind!r}; expected one of {VALUE_KINDS}")


def _draw_values(
    draw: _Draw,
    shape: tuple[int, ...],
    dtype: np.dtype,
    kinds: tuple[str, ...],
    allow_nan: bool,
    label: str,
) -> np.ndarray:
    """_Draw one array: its kind first (reported as ``event(f"{label}: {kind}")``), then values.

    Every element is drawn individually (``fill=nothing()``): hypothesis's default background
    fill would make large arrays mostly constant, hiding the index bugs that random values catch.
    """
    kind = draw(st.sampled_from(kinds))
    event(f"{label}: {kind}")
    array = draw(arrays(dtype, shape, elements=_elements(kind, dtype), fill=st.nothing()))
    if allow_nan and array.size and draw(st.booleans()):
        # One to eight NaN positions (repeats allowed), drawn as indices: a few choices, not one
        # per element, so that NaN costs little of the example's choice budget.
        positions = draw(
            st.lists(st.integers(0, array.size - 1), min_size=1, max_size=min(array.size, 8))
        )
        array.reshape(-1)[positions] = np.nan
        event(f"{label}: contains NaN")
    return array


@st.composite
def _values(
    draw: _Draw,
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
        Arrays of ``shape`` and ``dtype``. Shrinks towards all zeros. Reports the kind drawn with
        ``event("values: <kind>")`` (and ``"values: contains NaN"``).
    """
    return _values(_shape(shape), _float_dtype(dtype), _kinds(kinds), bool(allow_nan), "values")


# --- the choice budget --------------------------------------------------------------------------
#
# Hypothesis stops an example after 8 KiB of recorded choices ("overrun": the example is thrown
# away, and a strategy that overruns often fails the data_too_large health check). Every array
# element is one choice: 9 bytes for a float, 11 for a "mixed" element (float + exponent), 2 for a
# small integer. The largest default convolution (m=3, 7x7, 3 -> 3 channels, pad=3, f=1,
# stride=1) would need about 2,000 elements, so the size ranges are drawn *one after the other*,
# each capped so that the problem can still be completed within the budget with the smallest
# remaining choices. Every maximum stays reachable (channels, drawn last, get fewer when the
# spatial sizes are large), nothing is rejected, and no example overruns.

_CHOICE_BUDGET = 8 * 1024 - 640  # bytes; the margin covers sizes, kinds and NaN positions
_INPUT_ELEMENT_BYTES = 11  # worst case, "mixed"
_GRADIENT_ELEMENT_BYTES = 9  # "normal" floats


def _fitting_range(low: int, high: int, fits: Callable[[int], bool]) -> tuple[int, int]:
    """The smallest interval of [low, high] holding every value that ``fits``.

    The costs involved are monotone (or, for the kernel size, convex) in each parameter, so the
    fitting values form an interval. The draw before guaranteed that one exists; should the
    caller's maxima make even that impossible, the whole range is returned.
    """
    fitting = [value for value in range(low, high + 1) if fits(value)]
    return (fitting[0], fitting[-1]) if fitting else (low, high)


def _conv_bytes(
    m: int, height: int, width: int, pad: int, f: int, stride: int, c_in: int, c_out: int
) -> int:
    out_h = output_length(height, f, stride, pad, pad)
    out_w = output_length(width, f, stride, pad, pad)
    inputs = m * height * width * c_in + f * f * c_in * c_out + c_out
    return _INPUT_ELEMENT_BYTES * inputs + _GRADIENT_ELEMENT_BYTES * m * out_h * out_w * c_out


def _pool_bytes(m: int, height: int, width: int, f: int, stride: int, channels: int) -> int:
    out = output_length(height, f, stride, 0, 0) * output_length(width, f, stride, 0, 0)
    per_channel = _INPUT_ELEMENT_BYTES * m * height * width + _GRADIENT_ELEMENT_BYTES * m * out
    return per_channel * channels


# One time in four the kernel takes the largest size allowed, usually the whole (padded) input:
# the edge case of the output-size arithmetic. Both numbers are always drawn, so that the choice
# sequence has the same length either way and shrinking still heads to the flag off and f = 1.
_KERNEL_AT_EDGE = st.integers(0, 3).map(lambda k: k == 3)


def _draw_kernel(draw: _Draw, bounds: tuple[int, int]) -> int:
    low, high = bounds
    at_edge = draw(_KERNEL_AT_EDGE)
    f = draw(st.integers(low, high))
    return high if at_edge else f


# --- coverage events ------------------------------------------------------------------------


def _stride_events(f: int, stride: int) -> None:
    if stride == 1:
        event("stride == 1")
    if stride < f:
        event("stride < f (overlapping windows)")
    elif stride == f:
        event("stride == f")
    else:
        event("stride > f (gaps)")
    if f == 1:
        event("f == 1")


def _shape_events(m: int, height: int, width: int) -> None:
    event("m == 1" if m == 1 else "m > 1")
    if height != width:
        event("H != W")


def _has_tied_window_max(A_prev: np.ndarray, f: int, stride: int) -> bool:
    """Whether some pooling window holds its (finite) maximum more than once."""
    windows = np.lib.stride_tricks.sliding_window_view(A_prev, (f, f), axis=(1, 2))
    windows = windows[:, ::stride, ::stride]
    with np.errstate(invalid="ignore"):
        maxima = windows.max(axis=(-2, -1), keepdims=True)
        return bool(((windows == maxima).sum(axis=(-2, -1)) > 1).any())


# --- input layouts ----------------------------------------------------------------------------

#: Memory layouts of an input array that real callers pass: fresh C arrays first (what
#: shrinking heads to), then views.
LAYOUTS = ("fresh", "fortran", "negative strides", "strided slice", "read-only")


def as_layout(array: np.ndarray, layout: str) -> np.ndarray:
    """``array``'s values in memory laid out as ``layout`` (one of :data:`LAYOUTS`).

    ``"fortran"``: column-major; ``"negative strides"``: a reversed view of a reversed copy;
    ``"strided slice"``: every other element of a larger array along the last axis;
    ``"read-only"``: a copy whose ``writeable`` flag is off.
    """
    if layout == "fresh":
        return np.array(array)
    if layout == "fortran":
        return np.asfortranarray(array)
    if layout == "negative strides":
        return np.array(array[::-1])[::-1]
    if layout == "strided slice":
        wide = np.zeros(array.shape[:-1] + (2 * array.shape[-1],), dtype=array.dtype)
        wide[..., ::2] = array
        return wide[..., ::2]
    if layout == "read-only":
        frozen = np.array(array)
        frozen.flags.writeable = False
        return frozen
    raise InvalidArgument(f"layout must be one of {LAYOUTS}, got {layout!r}")


#: The field holding each problem's main input array.
_MAIN_INPUT = ("A_prev", "X", "x", "a_slice_prev")


@st.composite
def _with_input_layout(draw: _Draw, problem: Any) -> Any:
    name = next(n for n in _MAIN_INPUT if isinstance(getattr(problem, n, None), np.ndarray))
    layout = draw(st.sampled_from(LAYOUTS))
    event(f"input layout: {layout}")
    fields = dict(problem.__dict__)
    fields[name] = as_layout(fields[name], layout)
    return type(problem)(**fields)


def with_input_layout(problem: Any) -> st.SearchStrategy[Any]:
    """``problem`` with its main input (``A_prev``, ``X``, ``x`` or ``a_slice_prev``) in one of
    the :data:`LAYOUTS`, same values; the layout is reported as ``event("input layout: ...")``.
    Use as ``problems.flatmap(with_input_layout)``."""
    if not any(isinstance(getattr(problem, n, None), np.ndarray) for n in _MAIN_INPUT):
        return st.just(problem)
    return _with_input_layout(problem)


def _window_events(problem: Any, sizes: tuple[int, int], stride: int) -> None:
    """Coverage of the index arithmetic: many windows at stride >= 2, n_H != n_W."""
    if stride >= 2 and max(sizes) >= 3:
        event("an output axis with >= 3 windows at stride >= 2")
    if sizes[0] != sizes[1]:
        event("n_H != n_W")
    values = problem.A_prev[np.isfinite(problem.A_prev)]
    if values.size and np.unique(values).size == values.size:
        event("all input values distinct")


# --- problem strategies -----------------------------------------------------------------------


@st.composite
def _pad_problems(
    draw: _Draw,
    dtype: np.dtype,
    kinds: tuple[str, ...],
    max_batch: int,
    max_side: int,
    max_channels: int,
    max_pad: int,
    allow_nan: bool,
) -> PadProblem:
    m = draw(st.integers(1, max_batch))
    height = draw(st.integers(1, max_side))
    width = draw(st.integers(1, max_side))
    channels = draw(st.integers(1, max_channels))
    pad = draw(st.integers(0, max_pad))
    _shape_events(m, height, width)
    event("pad == 0" if pad == 0 else "pad > 0")
    X = _draw_values(draw, (m, height, width, channels), dtype, kinds, allow_nan, "X")
    return PadProblem(X=X, pad=pad)


def pad_problems(
    *,
    dtype: DTypeLike = np.float64,
    kinds: Sequence[str] = VALUE_KINDS,
    max_batch: int = 3,
    max_side: int = 7,
    max_channels: int = 3,
    max_pad: int = 3,
    allow_nan: bool = False,
) -> st.SearchStrategy[PadProblem]:
    """Problems for ``zero_pad(X, pad)``.

    Parameters
    ----------
    dtype : float32 or float64, default float64
    kinds : value kinds of ``X`` (see :func:`values`)
    max_batch, max_side, max_channels : int
        ``X`` has shape ``(m, H, W, C)`` with ``m`` in [1, max_batch], ``H`` and ``W`` drawn
        independently in [1, max_side], ``C`` in [1, max_channels].
    max_pad : int
        ``pad`` is in [0, max_pad].
    allow_nan : bool
        Whether ``X`` may contain NaN.

    Returns
    -------
    SearchStrategy[PadProblem]
    """
    return _pad_problems(
        _float_dtype(dtype),
        _kinds(kinds),
        _bound(max_batch, "max_batch", 1),
        _bound(max_side, "max_side", 1),
        _bound(max_channels, "max_channels", 1),
        _bound(max_pad, "max_pad", 0),
        bool(allow_nan),
    )


@st.composite
def _single_step_problems(
    draw: _Draw,
    dtype: np.dtype,
    kinds: tuple[str, ...],
    max_f: int,
    max_channels: int,
    allow_nan: bool,
) -> SingleStepProblem:
    f = draw(st.integers(1, max_f))
    channels = draw(st.integers(1, max_channels))
    if f == 1:
        event("f == 1")
    shape = (f, f, channels)
    a_slice_prev = _draw_values(draw, shape, dtype, kinds, allow_nan, "a_slice_prev")
    W = _draw_values(draw, shape, dtype, kinds, allow_nan, "W")
    b = _draw_values(draw, (1, 1, 1), dtype, kinds, allow_nan, "b")
    return SingleStepProblem(a_slice_prev=a_slice_prev, W=W, b=b)


def single_step_problems(
    *,
    dtype: DTypeLike = np.float64,
    kinds: Sequence[str] = VALUE_KINDS,
    max_f: int = 5,
    max_channels: int = 3,
    allow_nan: bool = False,
) -> st.SearchStrategy[SingleStepProblem]:
    """Problems for ``conv_single_step(a_slice_prev, W, b)``.

    Parameters
    ----------
    dtype : float32 or float64, default float64
    kinds : value kinds of the three arrays, drawn independently for each (see :func:`values`)
    max_f, max_channels : int
        ``a_slice_prev`` and ``W`` share the shape ``(f, f, C)``, ``f`` in [1, max_f] and ``C``
        in [1, max_channels]; ``b`` has shape ``(1, 1, 1)``.
    allow_nan : bool
        Whether the arrays may contain NaN.

    Returns
    -------
    SearchStrategy[SingleStepProblem]
    """
    return _single_step_problems(
        _float_dtype(dtype),
        _kinds(kinds),
        _bound(max_f, "max_f", 1),
        _bound(max_channels, "max_channels", 1),
        bool(allow_nan),
    )


@st.composite
def _conv_problems(
    draw: _Draw,
    dtype: np.dtype,
    kinds: tuple[str, ...],
    max_batch: int,
    max_side: int,
    max_channels: int,
    max_f: int,
    max_stride: int,
    max_pad: int,
    allow_nan: bool,
) -> ConvProblem:
    def fits(
        m: int = 1,
        height: int = 1,
        width: int = 1,
        pad: int = 0,
        f: int | None = None,
        stride: int = max_stride,
        c_in: int = 1,
        c_out: int = 1,
    ) -> bool:
        """Whether the problem can be completed within the budget (unknowns at their cheapest)."""
        kernels = [f] if f is not None else range(1, min(max_f, min(height, width) + 2 * pad) + 1)
        return any(
            _conv_bytes(m, height, width, pad, k, stride, c_in, c_out) <= _CHOICE_BUDGET
            for k in kernels
        )

    m = draw(st.integers(*_fitting_range(1, max_batch, lambda v: fits(m=v))))
    height = draw(st.integers(*_fitting_range(1, max_side, lambda v: fits(m, v))))
    width = draw(st.integers(*_fitting_range(1, max_side, lambda v: fits(m, height, v))))
    pad = draw(st.integers(*_fitting_range(0, max_pad, lambda v: fits(m, height, width, v))))
    padded_side = min(height, width) + 2 * pad
    f = _draw_kernel(
        draw,
        _fitting_range(1, min(max_f, padded_side), lambda v: fits(m, height, width, pad, v)),
    )
    stride = draw(
        st.integers(*_fitting_range(1, max_stride, lambda v: fits(m, height, width, pad, f, v)))
    )
    channels_in = draw(
        st.integers(
            *_fitting_range(1, max_channels, lambda v: fits(m, height, width, pad, f, stride, v))
        )
    )
    channels_out = draw(
        st.integers(
            *_fitting_range(
                1, max_channels, lambda v: fits(m, height, width, pad, f, stride, channels_in, v)
            )
        )
    )

    _shape_events(m, height, width)
    _stride_events(f, stride)
    event("pad == 0" if pad == 0 else "pad > 0")
    if pad >= f:
        event("pad >= f")
    if f in (height + 2 * pad, width + 2 * pad):
        event("f == padded input")
    if channels_in != channels_out:
        event("C_prev != C")

    A_prev = _draw_values(draw, (m, height, width, channels_in), dtype, kinds, allow_nan, "A_prev")
    W = _draw_values(draw, (f, f, channels_in, channels_out), dtype, kinds, allow_nan, "W")
    b = _draw_values(draw, (1, 1, 1, channels_out), dtype, kinds, allow_nan, "b")
    out_shape = (
        m,
        output_length(height, f, stride, pad, pad),
        output_length(width, f, stride, pad, pad),
        channels_out,
    )
    dZ = _draw_values(draw, out_shape, dtype, ("normal",), False, "dZ")
    problem = ConvProblem(A_prev=A_prev, W=W, b=b, stride=stride, pad=pad, dZ=dZ)
    _window_events(problem, out_shape[1:3], stride)
    return problem


def conv_problems(
    *,
    dtype: DTypeLike = np.float64,
    kinds: Sequence[str] = VALUE_KINDS,
    max_batch: int = 3,
    max_side: int = 7,
    max_channels: int = 3,
    max_f: int = 5,
    max_stride: int = 4,
    max_pad: int = 3,
    allow_nan: bool = False,
) -> st.SearchStrategy[ConvProblem]:
    """Problems for ``conv_forward`` and ``conv_backward``, valid by construction.

    Draws, in this order (so that shrinking simplifies sizes first): ``m`` in [1, max_batch];
    ``H`` and ``W`` independently in [1, max_side]; ``pad`` in [0, max_pad]; ``f`` in
    [1, min(max_f, min(H, W) + 2*pad)] (the largest value a quarter of the time); ``stride`` in
    [1, max_stride]; ``n_C_prev`` and ``n_C`` independently in [1, max_channels]; then ``A_prev``
    (m, H, W, n_C_prev), ``W`` (f, f, n_C_prev, n_C) and ``b`` (1, 1, 1, n_C) with
    :func:`values`, each with its own kind; finally ``dZ`` of shape
    :attr:`ConvProblem.out_shape`, kind ``"normal"`` (random, never NaN).

    Each range is capped, if needed, so that the whole problem fits hypothesis's 8 KiB choice
    budget (see the module docstring); with the default maxima only the channel counts (drawn
    last) are ever capped.

    Parameters
    ----------
    dtype : float32 or float64, default float64
        dtype of every array, ``dZ`` included.
    kinds : sequence of str, default :data:`VALUE_KINDS`
        Value kinds of ``A_prev``, ``W`` and ``b``.
    max_batch, max_side, max_channels, max_f, max_stride, max_pad : int
        Upper bounds of the size ranges above.
    allow_nan : bool, default False
        Whether ``A_prev``, ``W`` and ``b`` may contain NaN (``dZ`` never does).

    Returns
    -------
    SearchStrategy[ConvProblem]
        Reports the coverage categories ``"stride == 1"``, ``"stride < f (overlapping
        windows)"``, ``"stride == f"``, ``"stride > f (gaps)"``, ``"pad == 0"``, ``"pad >= f"``,
        ``"f == padded input"``, ``"f == 1"``, ``"m == 1"``/``"m > 1"``, ``"H != W"``,
        ``"C_prev != C"`` and the value kind of each array with :func:`hypothesis.event`.
    """
    return _conv_problems(
        _float_dtype(dtype),
        _kinds(kinds),
        _bound(max_batch, "max_batch", 1),
        _bound(max_side, "max_side", 1),
        _bound(max_channels, "max_channels", 1),
        _bound(max_f, "max_f", 1),
        _bound(max_stride, "max_stride", 1),
        _bound(max_pad, "max_pad", 0),
        bool(allow_nan),
    )


@st.composite
def _pool_problems(
    draw: _Draw,
    modes: tuple[str, ...],
    dtype: np.dtype,
    kinds: tuple[str, ...],
    max_batch: int,
    max_side: int,
    max_channels: int,
    max_f: int,
    max_stride: int,
    allow_nan: bool,
) -> PoolProblem:
    mode = draw(st.sampled_from(modes))

    def fits(
        m: int = 1,
        height: int = 1,
        width: int = 1,
        f: int | None = None,
        stride: int = max_stride,
        channels: int = 1,
    ) -> bool:
        """Whether the problem can be completed within the budget (unknowns at their cheapest)."""
        kernels = [f] if f is not None else range(1, min(max_f, height, width) + 1)
        return any(
            _pool_bytes(m, height, width, k, stride, channels) <= _CHOICE_BUDGET for k in kernels
        )

    m = draw(st.integers(*_fitting_range(1, max_batch, lambda v: fits(m=v))))
    height = draw(st.integers(*_fitting_range(1, max_side, lambda v: fits(m, v))))
    width = draw(st.integers(*_fitting_range(1, max_side, lambda v: fits(m, height, v))))
    f = _draw_kernel(
        draw, _fitting_range(1, min(max_f, height, width), lambda v: fits(m, height, width, v))
    )
    stride = draw(
        st.integers(*_fitting_range(1, max_stride, lambda v: fits(m, height, width, f, v)))
    )
    channels = draw(
        st.integers(
            *_fitting_range(1, max_channels, lambda v: fits(m, height, width, f, stride, v))
        )
    )

    event(f"mode: {mode}")
    _shape_events(m, height, width)
    _stride_events(f, stride)
    if f in (height, width):
        event("f == input")

    A_prev = _draw_values(draw, (m, height, width, channels), dtype, kinds, allow_nan, "A_prev")
    if mode == "max" and _has_tied_window_max(A_prev, f, stride):
        event("tied maximum in a max window")
    out_shape = (
        m,
        output_length(height, f, stride, 0, 0),
        output_length(width, f, stride, 0, 0),
        channels,
    )
    dA = _draw_values(draw, out_shape, dtype, ("normal",), False, "dA")
    problem = PoolProblem(A_prev=A_prev, f=f, stride=stride, mode=mode, dA=dA)
    _window_events(problem, out_shape[1:3], stride)
    return problem


def pool_problems(
    *,
    modes: Sequence[str] = POOL_MODES,
    dtype: DTypeLike = np.float64,
    kinds: Sequence[str] = VALUE_KINDS,
    max_batch: int = 3,
    max_side: int = 7,
    max_channels: int = 3,
    max_f: int = 5,
    max_stride: int = 4,
    allow_nan: bool = False,
) -> st.SearchStrategy[PoolProblem]:
    """Problems for ``pool_forward`` and ``pool_backward``, valid by construction.

    Draws the ``mode`` (from ``modes``), ``m`` in [1, max_batch], ``H`` and ``W`` independently in
    [1, max_side], ``f`` in [1, min(max_f, H, W)] (the seed's pooling has no padding; the largest
    value a quarter of the time), ``stride`` in [1, max_stride], ``n_C`` in [1, max_channels]
    (capped, if needed, to fit hypothesis's choice budget), then ``A_prev`` with :func:`values`
    and ``dA`` of shape :attr:`PoolProblem.out_shape`, kind ``"normal"``.

    Parameters
    ----------
    modes : sequence of ``"max"``/``"average"``, default both
    dtype : float32 or float64, default float64
    kinds : value kinds of ``A_prev`` (``"small_int"`` makes tied maxima frequent)
    max_batch, max_side, max_channels, max_f, max_stride : int
        Upper bounds of the size ranges above.
    allow_nan : bool, default False
        Whether ``A_prev`` may contain NaN (``dA`` never does).

    Returns
    -------
    SearchStrategy[PoolProblem]
        Reports ``"mode: ..."``, the stride/f categories of :func:`conv_problems`,
        ``"f == input"`` and ``"tied maximum in a max window"`` with :func:`hypothesis.event`.
    """
    if isinstance(modes, str):
        modes = (modes,)
    modes = tuple(modes)
    if not modes or any(mode not in POOL_MODES for mode in modes):
        raise InvalidArgument(f"modes must be a non-empty subset of {POOL_MODES}, got {modes!r}")
    return _pool_problems(
        modes,
        _float_dtype(dtype),
        _kinds(kinds),
        _bound(max_batch, "max_batch", 1),
        _bound(max_side, "max_side", 1),
        _bound(max_channels, "max_channels", 1),
        _bound(max_f, "max_f", 1),
        _bound(max_stride, "max_stride", 1),
        bool(allow_nan),
    )


@st.composite
def _window_problems(
    draw: _Draw,
    dtype: np.dtype,
    kinds: tuple[str, ...],
    max_side: int,
    allow_nan: bool,
) -> WindowProblem:
    rows = draw(st.integers(1, max_side))
    cols = draw(st.integers(1, max_side))
    if rows != cols:
        event("window not square")
    x = _draw_values(draw, (rows, cols), dtype, kinds, allow_nan, "x")
    # Half of the windows get an extra copy of their maximum: ties are the subtle case.
    if x.size > 1 and draw(st.booleans()):
        finite = x[~np.isnan(x)]
        if finite.size:
            target = draw(st.integers(0, x.size - 1))
            x.reshape(-1)[target] = finite.max()
    maximal = np.isnan(x) if np.isnan(x).any() else x == x.max()
    if maximal.sum() > 1:
        event("tied maximum" if not np.isnan(x).any() else "several NaNs")
    return WindowProblem(x=x)


def window_problems(
    *,
    dtype: DTypeLike = np.float64,
    kinds: Sequence[str] = WINDOW_KINDS,
    max_side: int = 5,
    allow_nan: bool = False,
) -> st.SearchStrategy[WindowProblem]:
    """Problems for ``create_mask_from_window(x)``, with tied maxima emphasised.

    ``x`` has shape ``(r, c)``, ``r`` and ``c`` drawn independently in [1, max_side]. Half of the
    windows get one cell overwritten with the window's (finite) maximum, on top of the ties that
    ``"small_int"`` and ``"relu"`` values produce by themselves.

    Parameters
    ----------
    dtype : float32 or float64, default float64
    kinds : value kinds of ``x``, default :data:`WINDOW_KINDS` (tie-prone kinds first)
    max_side : int, default 5
    allow_nan : bool, default False
        Whether ``x`` may contain NaN (possibly several: torch's rule picks the last one).

    Returns
    -------
    SearchStrategy[WindowProblem]
    """
    return _window_problems(
        _float_dtype(dtype), _kinds(kinds), _bound(max_side, "max_side", 1), bool(allow_nan)
    )


@st.composite
def _distribute_problems(
    draw: _Draw, max_side: int, max_abs: float, dtype: np.dtype | None
) -> DistributeProblem:
    n_h = draw(st.integers(1, max_side))
    n_w = draw(st.integers(1, max_side))
    integer_bound = math.floor(max_abs)
    dz: Any = draw(
        st.one_of(
            st.integers(-integer_bound, integer_bound),
            st.floats(-max_abs, max_abs, allow_subnormal=False),
        )
    )
    event("dz: int" if isinstance(dz, int) else "dz: float")
    if n_h != n_w:
        event("shape not square")
    if dtype is not None:
        dz = dtype.type(dz)
    return DistributeProblem(dz=dz, shape=(n_h, n_w))


def distribute_problems(
    *,
    max_side: int = 6,
    max_abs: float = 10.0,
    dtype: DTypeLike | None = None,
) -> st.SearchStrategy[DistributeProblem]:
    """Problems for ``distribute_value(dz, shape)``.

    Parameters
    ----------
    max_side : int, default 6
        ``shape`` is ``(n_H, n_W)``, both drawn independently in [1, max_side].
    max_abs : float, default 10.0
        ``dz`` is an int or a float in [-max_abs, max_abs].
    dtype : None, float32 or float64
        None (default): ``dz`` is a Python ``int`` or ``float``; otherwise a NumPy scalar of
        ``dtype``.

    Returns
    -------
    SearchStrategy[DistributeProblem]
    """
    if not isinstance(max_abs, (int, float)) or not math.isfinite(max_abs) or max_abs < 0:
        raise InvalidArgument(f"max_abs must be a finite number >= 0, got {max_abs!r}")
    return _distribute_problems(
        _bound(max_side, "max_side", 1),
        float(max_abs),
        None if dtype is None else _float_dtype(dtype),
    )


# --- the functional (torch-like, NCHW) API ----------------------------------------------------
#
# Problems for refconv.functional / torch.nn.functional: every geometric parameter is drawn per
# axis (kernel, stride, padding, dilation, output_padding are pairs, H != W), and passed either as
# an int (when both axes agree, half of the time) or as a tuple; arguments equal to torch's
# default are sometimes omitted, so that the defaults are exercised too. As above, problems are
# valid by construction (sizes drawn in an order that makes the constraints ranges) and the
# channel counts, drawn last, are capped to fit hypothesis's choice budget.

_FUNCTIONAL_DEFAULTS: dict[str, dict[str, Any]] = {
    "conv2d": {"stride": 1, "padding": 0, "dilation": 1, "groups": 1},
    "conv_transpose2d": {
        "stride": 1,
        "padding": 0,
        "output_padding": 0,
        "groups": 1,
        "dilation": 1,
    },
    "max_pool2d": {
        "stride": None,
        "padding": 0,
        "dilation": 1,
        "ceil_mode": False,
        "return_indices": False,
    },
    "avg_pool2d": {
        "stride": None,
        "padding": 0,
        "ceil_mode": False,
        "count_include_pad": True,
        "divisor_override": None,
    },
}


def _draw_pair(draw: _Draw, low: int, high: int) -> tuple[int, int]:
    """Two independent ints in ``[low, high]`` (height, width)."""
    first = draw(st.integers(low, high))
    second = draw(st.integers(low, high))
    return first, second


def _as_argument(draw: _Draw, pair: tuple[int, int], name: str) -> Any:
    """``pair`` as torch would receive it: an int when both axes agree (half of the time), a tuple
    otherwise (sometimes a list)."""
    if pair[0] == pair[1] and draw(st.booleans()):
        return pair[0]
    if pair[0] != pair[1]:
        event(f"{name}: differs per axis")
    return list(pair) if draw(st.integers(0, 4)) == 4 else pair


def _kwargs(draw: _Draw, op: str, values: dict[str, Any]) -> dict[str, Any]:
    """Drop arguments equal to torch's default half of the time (the defaults get exercised)."""
    defaults = _FUNCTIONAL_DEFAULTS[op]
    out = {}
    for name, value in values.items():
        is_default = name in defaults and _same_value(value, defaults[name])
        if is_default and draw(st.booleans()):
            continue
        out[name] = value
    return out


def _same_value(value: Any, default: Any) -> bool:
    if default is None or isinstance(default, bool):
        return value is default
    return not isinstance(value, (tuple, list, str, bool)) and value == default


def _batch_events(n: int, unbatched: bool, height: int, width: int) -> None:
    if unbatched:
        event("unbatched (C, H, W) input")
    elif n == 0:
        event("empty batch (N == 0)")
    else:
        event("N == 1" if n == 1 else "N > 1")
    if height != width:
        event("H != W")


def _draw_batch(draw: _Draw, max_batch: int) -> tuple[int, bool]:
    """``(N, unbatched)``: a 3-D input one time in six, an empty batch one time in ten."""
    unbatched = draw(st.integers(0, 5)) == 5
    empty = draw(st.integers(0, 9)) == 9
    n = draw(st.integers(1, max_batch))
    if unbatched:
        return 1, True
    return (0 if empty else n), False


def _nchw_values(
    draw: _Draw,
    n: int,
    unbatched: bool,
    chw: tuple[int, int, int],
    dtype: np.dtype,
    kinds: tuple[str, ...],
    allow_nan: bool,
    label: str,
) -> np.ndarray:
    shape = chw if unbatched else (n, *chw)
    return _draw_values(draw, shape, dtype, kinds, allow_nan, label)


def _fits(cost: int) -> bool:
    return cost <= _CHOICE_BUDGET


@st.composite
def _conv2d_problems(
    draw: _Draw,
    dtype: np.dtype,
    kinds: tuple[str, ...],
    max_batch: int,
    max_side: int,
    max_groups: int,
    max_channels_per_group: int,
    max_kernel: int,
    max_stride: int,
    max_dilation: int,
    max_pad: int,
    allow_nan: bool,
) -> FunctionalProblem:
    n, unbatched = _draw_batch(draw, max_batch)
    height, width = _draw_pair(draw, 1, max_side)
    mode = draw(st.sampled_from(("int", "same", "valid")))
    dilation = _draw_pair(draw, 1, max_dilation)
    if mode == "same":
        stride = (1, 1)
        kernel = _draw_pair(draw, 1, max_kernel)
        pads = tuple(
            part
            for d, k in zip(dilation, kernel, strict=True)
            for part in (d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
        )
        padding: Any = "same"
        event("padding='same'" + (" (odd total: extra at bottom/right)" if sum(pads) % 2 else ""))
    else:
        pad = (0, 0) if mode == "valid" else _draw_pair(draw, 0, max_pad)
        padding = "valid" if mode == "valid" else _as_argument(draw, pad, "padding")
        pads = (pad[0], pad[0], pad[1], pad[1])
        # the dilated kernel must fit the padded input: k <= (H + 2p - 1) // d + 1
        kernel = (
            _draw_kernel(draw, (1, min(max_kernel, (height + 2 * pad[0] - 1) // dilation[0] + 1))),
            _draw_kernel(draw, (1, min(max_kernel, (width + 2 * pad[1] - 1) // dilation[1] + 1))),
        )
        stride = _draw_pair(draw, 1, max_stride)
        event(f"padding={mode!r}" if mode == "valid" else "padding: ints")
    geometry_out = (
        output_length(height, kernel[0], stride[0], pads[0], pads[1], dilation[0]),
        output_length(width, kernel[1], stride[1], pads[2], pads[3], dilation[1]),
    )
    batch = max(n, 1)

    def cost(groups: int, c_in: int = 1, c_out: int = 1) -> int:
        inputs = batch * groups * c_in * height * width + groups * c_out * c_in * math.prod(kernel)
        outputs = batch * groups * c_out * math.prod(geometry_out)
        return _INPUT_ELEMENT_BYTES * (inputs + groups * c_out) + _GRADIENT_ELEMENT_BYTES * outputs

    groups = draw(st.integers(*_fitting_range(1, max_groups, lambda g: _fits(cost(g)))))
    c_in = draw(
        st.integers(*_fitting_range(1, max_channels_per_group, lambda c: _fits(cost(groups, c))))
    )
    c_out = draw(
        st.integers(
            *_fitting_range(1, max_channels_per_group, lambda c: _fits(cost(groups, c_in, c)))
        )
    )
    has_bias = draw(st.integers(0, 3)) > 0
    _batch_events(n, unbatched, height, width)
    if groups > 1:
        event("groups > 1" + (" (depthwise)" if c_in == 1 else ""))
    if max(dilation) > 1:
        event("dilation > 1")
    if any(s > k for s, k in zip(stride, kernel, strict=True)):
        event("stride > kernel (gaps)")
    if not has_bias:
        event("bias=None")
    x = _nchw_values(
        draw, n, unbatched, (groups * c_in, height, width), dtype, kinds, allow_nan, "input"
    )
    weight = _draw_values(draw, (groups * c_out, c_in, *kernel), dtype, kinds, allow_nan, "weight")
    bias = (
        _draw_values(draw, (groups * c_out,), dtype, kinds, allow_nan, "bias") if has_bias else None
    )
    out_chw = (groups * c_out, *geometry_out)
    grad = _nchw_values(draw, n, unbatched, out_chw, dtype, ("normal",), False, "grad_output")
    kwargs = _kwargs(
        draw,
        "conv2d",
        {
            "stride": _as_argument(draw, stride, "stride"),
            "padding": padding,
            "dilation": _as_argument(draw, dilation, "dilation"),
            "groups": groups,
        },
    )
    return FunctionalProblem("conv2d", x, weight, bias, kwargs, grad)


@st.composite
def _conv_transpose2d_problems(
    draw: _Draw,
    dtype: np.dtype,
    kinds: tuple[str, ...],
    max_batch: int,
    max_side: int,
    max_groups: int,
    max_channels_per_group: int,
    max_kernel: int,
    max_stride: int,
    max_dilation: int,
    max_pad: int,
    allow_nan: bool,
) -> FunctionalProblem:
    n, unbatched = _draw_batch(draw, max_batch)
    height, width = _draw_pair(draw, 1, max_side)
    kernel = _draw_pair(draw, 1, max_kernel)
    stride = _draw_pair(draw, 1, max_stride)
    dilation = _draw_pair(draw, 1, max_dilation)
    # torch: output_padding < stride or < dilation, per axis
    output_padding = tuple(
        draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation, strict=True)
    )
    # the output (size - 1) * s - 2p + d * (k - 1) + op + 1 must be >= 1
    padding = tuple(
        draw(st.integers(0, min(max_pad, ((size - 1) * s + d * (k - 1) + op) // 2)))
        for size, s, d, k, op in zip(
            (height, width), stride, dilation, kernel, output_padding, strict=True
        )
    )
    out_hw = tuple(
        (size - 1) * s - 2 * p + d * (k - 1) + op + 1
        for size, s, d, k, op, p in zip(
            (height, width), stride, dilation, kernel, output_padding, padding, strict=True
        )
    )
    batch = max(n, 1)

    def cost(groups: int, c_in: int = 1, c_out: int = 1) -> int:
        inputs = batch * groups * c_in * height * width + groups * c_in * c_out * math.prod(kernel)
        outputs = batch * groups * c_out * math.prod(out_hw)
        return _INPUT_ELEMENT_BYTES * (inputs + groups * c_out) + _GRADIENT_ELEMENT_BYTES * outputs

    groups = draw(st.integers(*_fitting_range(1, max_groups, lambda g: _fits(cost(g)))))
    c_in = draw(
        st.integers(*_fitting_range(1, max_channels_per_group, lambda c: _fits(cost(groups, c))))
    )
    c_out = draw(
        st.integers(
            *_fitting_range(1, max_channels_per_group, lambda c: _fits(cost(groups, c_in, c)))
        )
    )
    has_bias = draw(st.integers(0, 3)) > 0
    _batch_events(n, unbatched, height, width)
    if groups > 1:
        event("groups > 1")
    if max(output_padding) > 0:
        event("output_padding > 0")
    if any(op >= s for op, s in zip(output_padding, stride, strict=True)):
        event("output_padding >= stride (allowed: < dilation)")
    if max(padding) > 0:
        event("padding > 0")
    x = _nchw_values(
        draw, n, unbatched, (groups * c_in, height, width), dtype, kinds, allow_nan, "input"
    )
    weight = _draw_values(draw, (groups * c_in, c_out, *kernel), dtype, kinds, allow_nan, "weight")
    bias = (
        _draw_values(draw, (groups * c_out,), dtype, kinds, allow_nan, "bias") if has_bias else None
    )
    grad = _nchw_values(
        draw, n, unbatched, (groups * c_out, *out_hw), dtype, ("normal",), False, "grad_output"
    )
    kwargs = _kwargs(
        draw,
        "conv_transpose2d",
        {
            "stride": _as_argument(draw, stride, "stride"),
            "padding": _as_argument(draw, padding, "padding"),
            "output_padding": _as_argument(draw, output_padding, "output_padding"),
            "groups": groups,
            "dilation": _as_argument(draw, dilation, "dilation"),
        },
    )
    return FunctionalProblem("conv_transpose2d", x, weight, bias, kwargs, grad)


def has_empty_max_window(problem: FunctionalProblem) -> bool:
    """Whether a ``max_pool2d`` problem has a window whose taps all fall in the padding.

    Possible only with dilation (e.g. H = 2, kernel 2, dilation 3, padding 1). torch's forward
    returns ``-inf`` there with an index outside the plane, and its backward then writes out of
    bounds (heap corruption in torch 2.x CPU): never hand such a problem to torch's backward.
    """
    kwargs = dict(problem.kwargs)
    kwargs.pop("return_indices", None)
    defaults = {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False}
    call = pool2d_args("max", problem.input, **{**defaults, **kwargs})
    geometry = call.geometry
    (_, kw), (dh, dw) = geometry.kernel, geometry.dilation
    rows, cols = geometry.window_starts()
    first = geometry.first_inside_offset()
    row = rows[:, None] + (first // kw) * dh
    col = cols[None, :] + (first % kw) * dw
    return bool(((row >= geometry.height) | (col >= geometry.width)).any())


def _draw_pool_geometry(
    draw: _Draw,
    height: int,
    width: int,
    max_kernel: int,
    max_stride: int,
    max_dilation: int,
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]:
    """Kernel, stride, padding, dilation per axis with an output of at least one window."""
    kernel, padding, dilation = [], [], []
    for size in (height, width):
        k = draw(st.integers(1, max_kernel))
        # torch: pad <= k // 2; the kernel must fit the padded input: k <= size + 2p
        p = draw(st.integers(max(0, -(-(k - size) // 2)), k // 2))
        d_max = max_dilation if k == 1 else min(max_dilation, (size + 2 * p - 1) // (k - 1))
        d = draw(st.integers(1, max(1, d_max)))
        kernel.append(k)
        padding.append(p)
        dilation.append(d)
    stride = _draw_pair(draw, 1, max_stride)
    return (
        (kernel[0], kernel[1]),
        stride,
        (padding[0], padding[1]),
        (dilation[0], dilation[1]),
    )


@st.composite
def _pool2d_problems(
    draw: _Draw,
    op: str,
    dtype: np.dtype,
    kinds: tuple[str, ...],
    max_batch: int,
    max_side: int,
    max_channels: int,
    max_kernel: int,
    max_stride: int,
    max_dilation: int,
    allow_nan: bool,
) -> FunctionalProblem:
    n, unbatched = _draw_batch(draw, max_batch)
    height, width = _draw_pair(draw, 1, max_side)
    kernel, stride, padding, dilation = _draw_pool_geometry(
        draw, height, width, max_kernel, max_stride, max_dilation if op == "max" else 1
    )
    ceil_mode = draw(st.booleans())
    stride_is_kernel = draw(st.integers(0, 3)) == 3
    if stride_is_kernel:
        stride = kernel
    out_hw = tuple(
        output_length(size, k, s, p, p, d, ceil_mode)
        for size, k, s, p, d in zip((height, width), kernel, stride, padding, dilation, strict=True)
    )
    floor_hw = tuple(
        output_length(size, k, s, p, p, d)
        for size, k, s, p, d in zip((height, width), kernel, stride, padding, dilation, strict=True)
    )
    batch = max(n, 1)

    def cost(channels: int) -> int:
        per_channel = _INPUT_ELEMENT_BYTES * height * width + _GRADIENT_ELEMENT_BYTES * math.prod(
            out_hw
        )
        return batch * channels * per_channel

    channels = draw(st.integers(*_fitting_range(1, max_channels, lambda c: _fits(cost(c)))))
    _batch_events(n, unbatched, height, width)
    if ceil_mode:
        event("ceil_mode" + (" (extra window)" if out_hw != floor_hw else ""))
    if max(padding) > 0:
        event("padding > 0")
    if max(dilation) > 1:
        event("dilation > 1")
    if any(s > k for s, k in zip(stride, kernel, strict=True)):
        event("stride > kernel (gaps)")
    x = _nchw_values(
        draw, n, unbatched, (channels, height, width), dtype, kinds, allow_nan, "input"
    )
    grad = _nchw_values(
        draw, n, unbatched, (channels, *out_hw), dtype, ("normal",), False, "grad_output"
    )
    values: dict[str, Any] = {
        "kernel_size": _as_argument(draw, kernel, "kernel_size"),
        "stride": None
        if stride_is_kernel and draw(st.booleans())
        else _as_argument(draw, stride, "stride"),
        "padding": _as_argument(draw, padding, "padding"),
    }
    if op == "max":
        values["dilation"] = _as_argument(draw, dilation, "dilation")
        values["ceil_mode"] = ceil_mode
        values["return_indices"] = draw(st.booleans())
    else:
        count_include_pad = draw(st.booleans())
        divisor_override = None
        if draw(st.integers(0, 3)) == 3:
            divisor_override = draw(st.sampled_from((1, 2, 3, 5, -2)))
            event("divisor_override")
        if not count_include_pad:
            event("count_include_pad=False")
        values.update(
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
            divisor_override=divisor_override,
        )
    kwargs = {"kernel_size": values.pop("kernel_size"), **_kwargs(draw, f"{op}_pool2d", values)}
    problem = FunctionalProblem(f"{op}_pool2d", x, None, None, kwargs, grad)
    if op == "max" and has_empty_max_window(problem):
        event("max window entirely in the padding")
    return problem


def _functional_bounds(**bounds: int) -> dict[str, int]:
    minima = {"max_batch": 1, "max_side": 1, "max_groups": 1, "max_channels_per_group": 1}
    return {
        name: _bound(value, name, 0 if name == "max_pad" else minima.get(name, 1))
        for name, value in bounds.items()
    }


def conv2d_problems(
    *,
    dtype: DTypeLike = np.float64,
    kinds: Sequence[str] = VALUE_KINDS,
    max_batch: int = 2,
    max_side: int = 5,
    max_groups: int = 3,
    max_channels_per_group: int = 2,
    max_kernel: int = 3,
    max_stride: int = 3,
    max_dilation: int = 2,
    max_pad: int = 2,
    allow_nan: bool = False,
) -> st.SearchStrategy[FunctionalProblem]:
    """Valid ``conv2d`` calls of :mod:`refconv.functional` / ``torch.nn.functional`` (NCHW).

    Draws the batch (``N`` in [1, max_batch]; one time in six an unbatched ``(C, H, W)`` input,
    one time in ten an empty batch), ``H`` and ``W`` independently, the padding mode (ints
    per axis in [0, max_pad], ``"valid"`` or ``"same"``, the latter with stride 1), dilation and
    kernel size per axis (the dilated kernel always fits the padded input; the largest fitting
    size a quarter of the time), stride per axis, then ``groups`` in [1, max_groups] and the
    channels per group in [1, max_channels_per_group] (one input channel per group: depthwise),
    a bias three times in four, the arrays with :func:`values` and a random ``grad_output`` of
    the output's shape. Pairs are passed as an int when both axes agree (half of the time), else
    as a tuple or list; arguments equal to torch's default are omitted half of the time.

    Returns
    -------
    SearchStrategy[FunctionalProblem]
        ``op == "conv2d"``; call it with ``problem.forward(refconv.functional)`` and
        ``problem.backward(refconv.functional)``.
    """
    return _conv2d_problems(
        _float_dtype(dtype),
        _kinds(kinds),
        **_functional_bounds(
            max_batch=max_batch,
            max_side=max_side,
            max_groups=max_groups,
            max_channels_per_group=max_channels_per_group,
            max_kernel=max_kernel,
            max_stride=max_stride,
            max_dilation=max_dilation,
            max_pad=max_pad,
        ),
        allow_nan=bool(allow_nan),
    )


def conv_transpose2d_problems(
    *,
    dtype: DTypeLike = np.float64,
    kinds: Sequence[str] = VALUE_KINDS,
    max_batch: int = 2,
    max_side: int = 4,
    max_groups: int = 2,
    max_channels_per_group: int = 2,
    max_kernel: int = 3,
    max_stride: int = 3,
    max_dilation: int = 2,
    max_pad: int = 2,
    allow_nan: bool = False,
) -> st.SearchStrategy[FunctionalProblem]:
    """Valid ``conv_transpose2d`` calls (weight ``(C_in, C_out/groups, kH, kW)``).

    Like :func:`conv2d_problems`, plus ``output_padding`` per axis in ``[0, max(stride,
    dilation) - 1]`` (torch's rule, so ``output_padding >= stride`` is reached whenever the
    dilation is larger) and ``padding`` per axis capped so that the output is at least 1x1.

    Returns
    -------
    SearchStrategy[FunctionalProblem]
    """
    return _conv_transpose2d_problems(
        _float_dtype(dtype),
        _kinds(kinds),
        **_functional_bounds(
            max_batch=max_batch,
            max_side=max_side,
            max_groups=max_groups,
            max_channels_per_group=max_channels_per_group,
            max_kernel=max_kernel,
            max_stride=max_stride,
            max_dilation=max_dilation,
            max_pad=max_pad,
        ),
        allow_nan=bool(allow_nan),
    )


def max_pool2d_problems(
    *,
    dtype: DTypeLike = np.float64,
    kinds: Sequence[str] = VALUE_KINDS,
    max_batch: int = 2,
    max_side: int = 6,
    max_channels: int = 3,
    max_kernel: int = 4,
    max_stride: int = 3,
    max_dilation: int = 3,
    allow_nan: bool = False,
) -> st.SearchStrategy[FunctionalProblem]:
    """Valid ``max_pool2d`` calls: per axis kernel, padding in ``[0, kernel // 2]``, dilation
    (the dilated kernel fits the padded input), stride (or ``None``/the kernel a quarter of the
    time), ``ceil_mode`` half of the time, ``return_indices`` half of the time.

    With dilation a window may lie entirely in the padding: such problems are labelled
    ``"max window entirely in the padding"``; see :func:`has_empty_max_window`.

    Returns
    -------
    SearchStrategy[FunctionalProblem]
    """
    return _pool2d_problems(
        "max",
        _float_dtype(dtype),
        _kinds(kinds),
        _bound(max_batch, "max_batch", 1),
        _bound(max_side, "max_side", 1),
        _bound(max_channels, "max_channels", 1),
        _bound(max_kernel, "max_kernel", 1),
        _bound(max_stride, "max_stride", 1),
        _bound(max_dilation, "max_dilation", 1),
        bool(allow_nan),
    )


def avg_pool2d_problems(
    *,
    dtype: DTypeLike = np.float64,
    kinds: Sequence[str] = VALUE_KINDS,
    max_batch: int = 2,
    max_side: int = 6,
    max_channels: int = 3,
    max_kernel: int = 4,
    max_stride: int = 3,
    allow_nan: bool = False,
) -> st.SearchStrategy[FunctionalProblem]:
    """Valid ``avg_pool2d`` calls: as :func:`max_pool2d_problems` without dilation, plus
    ``count_include_pad`` (half of the time False) and ``divisor_override`` (a quarter of the
    time, from ``1, 2, 3, 5, -2``).

    Returns
    -------
    SearchStrategy[FunctionalProblem]
    """
    return _pool2d_problems(
        "avg",
        _float_dtype(dtype),
        _kinds(kinds),
        _bound(max_batch, "max_batch", 1),
        _bound(max_side, "max_side", 1),
        _bound(max_channels, "max_channels", 1),
        _bound(max_kernel, "max_kernel", 1),
        _bound(max_stride, "max_stride", 1),
        1,
        bool(allow_nan),
    )


# --- configurations for error parity: valid calls and their invalid mutants ---------------------
#
# Each mutation changes one thing of a valid call: an argument's type (bool, float, str, None,
# NumPy array, element types), its value (zero, negative, too many values, padding above half the
# kernel, output_padding >= stride and dilation, 'same' with a stride, a kernel larger than the
# padded input, ...) or an array's shape (dimensions, channels, bias, empty sizes), or the shape
# of grad_output. Some mutants stay valid (np.int64 values, one-element lists, stride=() for
# pooling, output_padding == stride below the dilation, a ceil-mode window overhanging the input):
# the property only demands that refconv raises exactly when torch does.

_INT_TYPE_MUTANTS: tuple[Any, ...] = (True, False, 1.0, 2.5, "1", None, (1, 1.0), (True, 1))
_INT_VALUE_MUTANTS: tuple[Any, ...] = (0, -1, (1, 0), (0, -2), (1, 1, 1), (), [1], np.int64(2))


def _replace_kwarg(problem: FunctionalProblem, name: str, value: Any) -> FunctionalProblem:
    return dataclasses.replace(problem, kwargs={**problem.kwargs, name: value})


def _replace_array(problem: FunctionalProblem, name: str, value: Any) -> FunctionalProblem:
    return dataclasses.replace(problem, **{name: value})


def _resized(array: np.ndarray, axis: int, size: int) -> np.ndarray:
    """``array`` with dimension ``axis`` cut or zero-extended to ``size``."""
    shape = list(array.shape)
    shape[axis] = size
    out = np.zeros(shape, dtype=array.dtype)
    common = tuple(slice(0, min(a, b)) for a, b in zip(array.shape, shape, strict=True))
    out[common] = array[common]
    return out


def _int_params(op: str) -> tuple[str, ...]:
    return {
        "conv2d": ("stride", "padding", "dilation", "groups"),
        "conv_transpose2d": ("stride", "padding", "output_padding", "groups", "dilation"),
        "max_pool2d": ("kernel_size", "stride", "padding", "dilation"),
        "avg_pool2d": ("kernel_size", "stride", "padding"),
    }[op]


def _pair_of(value: Any) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        return (int(value[0]), int(value[-1]))
    return (int(value), int(value))


@st.composite
def _mutant(draw: _Draw, problem: FunctionalProblem) -> FunctionalProblem:
    """One mutation of a valid problem (reported as ``event("mutation: ...")``)."""
    op = problem.op
    channel_axis = 0 if problem.input.ndim == 3 else 1
    spatial = problem.input.shape[-2:]
    kinds = [
        "int type",
        "int value",
        "input ndim",
        "empty input",
        "grad_output shape",
    ]
    if op in ("conv2d", "conv_transpose2d"):
        kinds += ["weight shape", "bias shape", "groups"]
    if op == "conv2d":
        kinds += ["padding string", "kernel too large"]
    if op == "conv_transpose2d":
        kinds += ["output_padding", "padding string", "padding too large"]
    if op in ("max_pool2d", "avg_pool2d"):
        kinds += ["pool padding", "kernel too large", "bool flags"]
    if op == "avg_pool2d":
        kinds += ["divisor_override"]
    kind = draw(st.sampled_from(kinds))
    event(f"mutation: {kind}")

    if kind == "int type":
        name = draw(st.sampled_from(_int_params(op)))
        values = _INT_TYPE_MUTANTS + ((np.array([1, 1]),) if name != "groups" else ())
        return _replace_kwarg(problem, name, draw(st.sampled_from(values)))
    if kind == "int value":
        name = draw(st.sampled_from(_int_params(op)))
        value = draw(st.sampled_from(_INT_VALUE_MUTANTS + ((-2,) if name == "groups" else ())))
        return _replace_kwarg(problem, name, value)
    if kind == "input ndim":
        x = problem.input
        return _replace_array(problem, "input", x[0] if x.ndim == 3 else x[None])
    if kind == "empty input":
        axis = draw(st.sampled_from((channel_axis, problem.input.ndim - 2, problem.input.ndim - 1)))
        if axis == channel_axis and op == "conv2d":
            axis = problem.input.ndim - 1  # torch accepts C_in == 0 oddly; refconv does not
        return _replace_array(problem, "input", _resized(problem.input, axis, 0))
    if kind == "grad_output shape":
        grad = problem.grad_output
        axis = draw(st.integers(0, grad.ndim - 1))
        return _replace_array(problem, "grad_output", _resized(grad, axis, grad.shape[axis] + 1))
    if kind == "weight shape":
        w = problem.weight
        change = draw(st.sampled_from(("dim0 + 1", "dim1 + 1", "dim1 = 0", "kernel 0", "ndim")))
        if change == "ndim":
            return _replace_array(problem, "weight", w[0] if draw(st.booleans()) else w[None])
        axis, size = {
            "dim0 + 1": (0, w.shape[0] + 1),
            "dim1 + 1": (1, w.shape[1] + 1),
            "dim1 = 0": (1, 0),
            "kernel 0": (2 + draw(st.integers(0, 1)), 0),
        }[change]
        return _replace_array(problem, "weight", _resized(w, axis, size))
    if kind == "bias shape":
        c_out = problem.grad_output.shape[channel_axis]
        dtype = problem.input.dtype
        bias = draw(
            st.sampled_from(
                (
                    np.zeros(c_out + 1, dtype),
                    np.zeros((1, c_out), dtype),
                    np.zeros((), dtype),
                    np.zeros(max(c_out - 1, 0), dtype),
                )
            )
        )
        return _replace_array(problem, "bias", bias)
    if kind == "groups":
        return _replace_kwarg(problem, "groups", draw(st.integers(2, 5)))
    if kind == "padding string":
        value = draw(st.sampled_from(("same", "valid", "full", "SAME", "")))
        mutant = _replace_kwarg(problem, "padding", value)
        if value == "same" and draw(st.booleans()):
            mutant = _replace_kwarg(mutant, "stride", draw(st.sampled_from((2, (1, 2), [2, 1]))))
        return mutant
    if kind == "kernel too large":
        axis = draw(st.integers(0, 1))
        if op == "conv2d":
            pad = problem.kwargs.get("padding", 0)
            pads = (0, 0) if isinstance(pad, str) else _pair_of(pad)
            size = spatial[axis] + 2 * pads[axis] + draw(st.integers(1, 2))
            return _replace_array(problem, "weight", _resized(problem.weight, 2 + axis, size))
        kernel = list(_pair_of(problem.kwargs["kernel_size"]))
        pad = _pair_of(problem.kwargs.get("padding", 0))
        kernel[axis] = spatial[axis] + 2 * pad[axis] + draw(st.integers(1, 2))
        return _replace_kwarg(problem, "kernel_size", tuple(kernel))
    if kind == "output_padding":
        stride = _pair_of(problem.kwargs.get("stride", 1))
        dilation = _pair_of(problem.kwargs.get("dilation", 1))
        axis = draw(st.integers(0, 1))
        value = [0, 0]
        value[axis] = draw(
            st.sampled_from((stride[axis], dilation[axis], max(stride[axis], dilation[axis])))
        )
        return _replace_kwarg(problem, "output_padding", tuple(value))
    if kind == "padding too large":
        axis = draw(st.integers(0, 1))
        value = [0, 0]
        value[axis] = spatial[axis] * 2 + draw(st.integers(0, 3))
        return _replace_kwarg(problem, "padding", tuple(value))
    if kind == "pool padding":
        kernel = _pair_of(problem.kwargs["kernel_size"])
        axis = draw(st.integers(0, 1))
        value = [0, 0]
        value[axis] = kernel[axis] // 2 + 1  # torch: pad <= kernel_size // 2
        return _replace_kwarg(problem, "padding", tuple(value))
    if kind == "bool flags":
        names = ["ceil_mode"] + (["count_include_pad"] if op == "avg_pool2d" else [])
        name = draw(st.sampled_from(names))
        value = draw(st.sampled_from((1, 0, None, "yes", np.bool_(True), True, False)))
        return _replace_kwarg(problem, name, value)
    assert kind == "divisor_override"
    value = draw(st.sampled_from((0, -1, 2.0, True, np.int64(3), "2")))
    return _replace_kwarg(problem, "divisor_override", value)


@st.composite
def _functional_configs(
    draw: _Draw, valid: bool, dtype: np.dtype, ops: tuple[str, ...]
) -> FunctionalProblem:
    op = draw(st.sampled_from(ops))
    event(f"op: {op}")
    small = {"kinds": ("small_int",), "dtype": dtype}
    strategy = {
        "conv2d": conv2d_problems(max_side=4, **small),
        "conv_transpose2d": conv_transpose2d_problems(max_side=3, **small),
        "max_pool2d": max_pool2d_problems(max_side=4, max_channels=2, **small),
        "avg_pool2d": avg_pool2d_problems(max_side=4, max_channels=2, **small),
    }[op]
    problem = draw(strategy)
    if valid or draw(st.integers(0, 3)) == 0:
        return problem
    return draw(_mutant(problem))


def functional_configs(
    valid: bool = False,
    *,
    ops: Sequence[str] = FUNCTIONAL_OPS,
    dtype: DTypeLike = np.float64,
) -> st.SearchStrategy[FunctionalProblem]:
    """Calls of the four functional ops, with invalid configurations when ``valid=False``.

    The op is drawn first, then a valid problem of the op's strategy (small sizes, small-integer
    values). With ``valid=False``, three times in four one mutation is applied: a wrong type (bool,
    float, string, None, NumPy array, bad elements) or value (zero, negative, the wrong number of
    values) for one int argument, a wrong input/weight/bias shape, an empty input dimension,
    wrong groups, ``padding`` strings, a kernel larger than the padded input, pooling padding
    above half the kernel, bad ``output_padding``, too much transposed padding, non-bool
    ``ceil_mode``/``count_include_pad``, bad ``divisor_override``, a ``grad_output`` of the wrong
    shape. Some mutants remain valid; which do is torch's call (see
    ``properties/test_functional.py``, error parity).

    Parameters
    ----------
    valid : bool, default False
        Whether every configuration must be valid (then no mutation is applied).
    ops : sequence of op names, default all of :data:`refconv.problems.FUNCTIONAL_OPS`
    dtype : float32 or float64, default float64

    Returns
    -------
    SearchStrategy[FunctionalProblem]
        Reports ``"op: ..."`` and ``"mutation: ..."`` with :func:`hypothesis.event`.
    """
    if isinstance(ops, str):
        ops = (ops,)
    ops = tuple(ops)
    if not ops or any(op not in FUNCTIONAL_OPS for op in ops):
        raise InvalidArgument(f"ops must be a non-empty subset of {FUNCTIONAL_OPS}, got {ops!r}")
    return _functional_configs(bool(valid), _float_dtype(dtype), ops)
