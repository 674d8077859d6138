"""Problems for the seed API (NHWC): ``zero_pad``, ``conv_single_step``, ``conv_forward`` and
``conv_backward``, ``pool_forward`` and ``pool_backward``, ``create_mask_from_window`` and
``distribute_value``.

Every strategy is valid by construction, shrinks to the smallest readable case, fits
hypothesis's choice budget and reports its coverage categories with :func:`hypothesis.event`;
see :mod:`refconv.strategies` for the design.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from numpy.typing import DTypeLike

from refconv._windows import output_length
from refconv.problems import (
    ConvProblem,
    DistributeProblem,
    PadProblem,
    PoolProblem,
    SingleStepProblem,
    WindowProblem,
)
from refconv.strategies._choices import Draw, composite
from refconv.strategies._values import (
    _CHOICE_BUDGET,
    _GRADIENT_ELEMENT_BYTES,
    _INPUT_ELEMENT_BYTES,
    VALUE_KINDS,
    _bound,
    _draw_kernel,
    _draw_values,
    _fitting_range,
    _float_dtype,
    _kinds,
)

__all__ = [
    "pad_problems",
    "single_step_problems",
    "conv_problems",
    "pool_problems",
    "window_problems",
    "distribute_problems",
]

WINDOW_KINDS: tuple[str, ...] = ("small_int", "relu", "normal", "mixed")
"""Default kinds of :func:`window_problems`: tie-prone distributions first."""

POOL_MODES: tuple[str, ...] = ("max", "average")


# --- the choice budget: the bytes of choices a whole problem takes (see ``_values``) ----------


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


@composite
def _pad_problems(
    draw: Draw,
    dtype: np.dtype,
    kinds: tuple[str, ...],
    max_batch: int,
    max_side: int,
    max_channels: int,
    max_pad: int,
    allow_nan: bool,
) -> PadProblem:
    m = draw.integer(1, max_batch)
    height = draw.integer(1, max_side)
    width = draw.integer(1, max_side)
    channels = draw.integer(1, max_channels)
    pad = draw.integer(0, max_pad)
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


@composite
def _single_step_problems(
    draw: Draw,
    dtype: np.dtype,
    kinds: tuple[str, ...],
    max_f: int,
    max_channels: int,
    allow_nan: bool,
) -> SingleStepProblem:
    f = draw.integer(1, max_f)
    channels = draw.integer(1, max_channels)
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


@composite
def _conv_problems(
    draw: Draw,
    dtype: np.dtype,
    kinds: tuple[str, ...],
    max_batch: int,
    max_side: int,
    max_channels: int,
    max_f: int,
    max_stride: int,
    max_pad: int,
    allow_nan: bool,
    gradient: bool,
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

    m = draw.integer(*_fitting_range(1, max_batch, lambda v: fits(m=v)))
    height = draw.integer(*_fitting_range(1, max_side, lambda v: fits(m, v)))
    width = draw.integer(*_fitting_range(1, max_side, lambda v: fits(m, height, v)))
    pad = draw.integer(*_fitting_range(0, max_pad, lambda v: fits(m, height, width, v)))
    padded_side = min(height, width) + 2 * pad
    f = _draw_kernel(
        draw,
        _fitting_range(1, min(max_f, padded_side), lambda v: fits(m, height, width, pad, v)),
    )
    stride = draw.integer(
        *_fitting_range(1, max_stride, lambda v: fits(m, height, width, pad, f, v))
    )
    channels_in = draw.integer(
        *_fitting_range(1, max_channels, lambda v: fits(m, height, width, pad, f, stride, v))
    )
    channels_out = draw.integer(
        *_fitting_range(
            1, max_channels, lambda v: fits(m, height, width, pad, f, stride, channels_in, v)
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
    # A forward check never reads the gradient: all zeros then, and nothing drawn for it.
    dZ = (
        _draw_values(draw, out_shape, dtype, ("normal",), False, "dZ")
        if gradient
        else np.zeros(out_shape, dtype)
    )
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
    gradient: bool = True,
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
    budget (see :mod:`refconv.strategies`); with the default maxima only the channel counts (drawn
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
    gradient : bool, default True
        Whether to draw ``dZ``; False leaves it all zeros, for checks of the forward pass alone
        (nothing of the choice sequence is spent on it).

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
        bool(gradient),
    )


@composite
def _pool_problems(
    draw: Draw,
    modes: tuple[str, ...],
    dtype: np.dtype,
    kinds: tuple[str, ...],
    max_batch: int,
    max_side: int,
    max_channels: int,
    max_f: int,
    max_stride: int,
    allow_nan: bool,
    gradient: bool,
) -> PoolProblem:
    mode = draw.choice(modes)

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

    m = draw.integer(*_fitting_range(1, max_batch, lambda v: fits(m=v)))
    height = draw.integer(*_fitting_range(1, max_side, lambda v: fits(m, v)))
    width = draw.integer(*_fitting_range(1, max_side, lambda v: fits(m, height, v)))
    f = _draw_kernel(
        draw, _fitting_range(1, min(max_f, height, width), lambda v: fits(m, height, width, v))
    )
    stride = draw.integer(*_fitting_range(1, max_stride, lambda v: fits(m, height, width, f, v)))
    channels = draw.integer(
        *_fitting_range(1, max_channels, lambda v: fits(m, height, width, f, stride, v))
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
    dA = (
        _draw_values(draw, out_shape, dtype, ("normal",), False, "dA")
        if gradient
        else np.zeros(out_shape, dtype)
    )
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
    gradient: bool = True,
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
    gradient : bool, default True
        Whether to draw ``dA``; False leaves it all zeros, for checks of the forward pass alone.

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
        bool(gradient),
    )


@composite
def _window_problems(
    draw: Draw,
    dtype: np.dtype,
    kinds: tuple[str, ...],
    max_side: int,
    allow_nan: bool,
) -> WindowProblem:
    rows = draw.integer(1, max_side)
    cols = draw.integer(1, max_side)
    if rows != cols:
        event("window not square")
    x = _draw_values(draw, (rows, cols), dtype, kinds, allow_nan, "x")
    # Half of the windows get an extra copy of their maximum: ties are the subtle case.
    if x.size > 1 and draw.boolean():
        finite = x[~np.isnan(x)]
        if finite.size:
            target = draw.integer(0, x.size - 1)
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


@composite
def _distribute_problems(
    draw: Draw, max_side: int, max_abs: float, dtype: np.dtype | None
) -> DistributeProblem:
    n_h = draw.integer(1, max_side)
    n_w = draw.integer(1, max_side)
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
