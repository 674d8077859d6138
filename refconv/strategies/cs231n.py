"""Strategies for CS231n's naive layers: NCHW problems inside the assignment's contract.

The skeleton's output size ``H' = 1 + (H + 2 * pad - HH) / stride`` is an integer only when the
stride divides exactly, and the assignment only uses such shapes; a student who writes
``int(... / stride)`` or ``... // stride`` is right there either way. So the problems are built
from their *output* size: the stride, padding, kernel and output size are drawn first, and the
input size follows, ``H = (H' - 1) * stride + HH - 2 * pad`` (at least 1). Nothing is rejected,
and a failure shrinks towards ``N = C = F = 1``, stride 1, no padding, a 1x1 kernel, one window.

Kernels and pools are rectangular (``HH != WW``, ``pool_height != pool_width``) as often as
square, and inputs non-square: the course's own checks use square shapes only, so a height/width
swap is exactly what they miss.
"""

from __future__ import annotations

import numpy as np
from hypothesis import event
from hypothesis import strategies as st

from refconv.problems import Cs231nConvProblem, Cs231nPoolProblem
from refconv.strategies._choices import Draw, composite
from refconv.strategies._values import VALUE_KINDS, values


def _side(draw: Draw, kernel: int, stride: int, pad: int, max_out: int) -> int:
    """An input size along one axis at which ``kernel``/``stride``/``pad`` divide exactly."""
    # the smallest output size whose input size is at least 1
    low = max(1, 1 - (-(2 * pad + 1 - kernel) // stride) if 2 * pad + 1 > kernel else 1)
    n_out = draw.integer(low, max(low, max_out))
    return (n_out - 1) * stride + kernel - 2 * pad


def _events(stride: int, kernel: tuple[int, int], height: int, width: int) -> None:
    kh, kw = kernel
    event("stride == 1" if stride == 1 else "stride > 1")
    if stride < max(kh, kw):
        event("overlapping windows")
    if stride > min(kh, kw):
        event("gaps between windows")
    if kh != kw:
        event("rectangular kernel")
    if height != width:
        event("H != W")


@composite
def _conv_problems(
    draw: Draw,
    max_batch: int,
    max_channels: int,
    max_kernel: int,
    max_stride: int,
    max_pad: int,
    max_out: int,
) -> Cs231nConvProblem:
    n = draw.integer(1, max_batch)
    c = draw.integer(1, max_channels)
    f = draw.integer(1, max_channels)
    stride = draw.integer(1, max_stride)
    pad = draw.integer(0, max_pad)
    hh = draw.integer(1, max_kernel)
    ww = draw.integer(1, max_kernel)
    height = _side(draw, hh, stride, pad, max_out)
    width = _side(draw, ww, stride, pad, max_out)
    _events(stride, (hh, ww), height, width)
    event("pad == 0" if pad == 0 else "pad > 0")
    x = draw(values((n, c, height, width), kinds=VALUE_KINDS), label="x")
    w = draw(values((f, c, hh, ww), kinds=VALUE_KINDS), label="w")
    b = draw(values((f,), kinds=VALUE_KINDS), label="b")
    out_h = (height + 2 * pad - hh) // stride + 1
    out_w = (width + 2 * pad - ww) // stride + 1
    dout = draw(values((n, f, out_h, out_w), kinds=("normal",)), label="dout")
    return Cs231nConvProblem(x=x, w=w, b=b, stride=stride, pad=pad, dout=dout)


def cs231n_conv_problems(
    *,
    max_batch: int = 2,
    max_channels: int = 3,
    max_kernel: int = 3,
    max_stride: int = 3,
    max_pad: int = 2,
    max_out: int = 3,
) -> st.SearchStrategy[Cs231nConvProblem]:
    """Problems for ``conv_forward_naive`` / ``conv_backward_naive`` (float64, finite).

    Draws ``N``, ``C``, ``F``, the stride, the padding, ``HH`` and ``WW`` independently, then the
    output size per axis in ``[1, max_out]`` (raised where the padding would leave no input) and
    derives ``H`` and ``W`` from it; then ``x``, ``w``, ``b`` (each with its own value kind of
    :data:`refconv.strategies.VALUE_KINDS`) and ``dout`` (normal values) of the output's shape.
    """
    return _conv_problems(max_batch, max_channels, max_kernel, max_stride, max_pad, max_out)


@composite
def _pool_problems(
    draw: Draw, max_batch: int, max_channels: int, max_kernel: int, max_stride: int, max_out: int
) -> Cs231nPoolProblem:
    n = draw.integer(1, max_batch)
    c = draw.integer(1, max_channels)
    stride = draw.integer(1, max_stride)
    ph = draw.integer(1, max_kernel)
    pw = draw.integer(1, max_kernel)
    height = _side(draw, ph, stride, 0, max_out)
    width = _side(draw, pw, stride, 0, max_out)
    _events(stride, (ph, pw), height, width)
    # small integers first: tied maxima are where max-pool backward conventions differ
    kinds = ("small_int", "normal", "relu", "mixed")
    x = draw(values((n, c, height, width), kinds=kinds), label="x")
    out_h, out_w = (height - ph) // stride + 1, (width - pw) // stride + 1
    dout = draw(values((n, c, out_h, out_w), kinds=("normal",)), label="dout")
    windows = np.lib.stride_tricks.sliding_window_view(x, (ph, pw), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]
    counts = (windows == windows.max(axis=(4, 5), keepdims=True)).sum(axis=(4, 5))
    if (counts > 1).any():
        event("tied maxima")
    return Cs231nPoolProblem(x=x, pool_height=ph, pool_width=pw, stride=stride, dout=dout)


def cs231n_pool_problems(
    *,
    max_batch: int = 2,
    max_channels: int = 3,
    max_kernel: int = 3,
    max_stride: int = 3,
    max_out: int = 3,
) -> st.SearchStrategy[Cs231nPoolProblem]:
    """Problems for ``max_pool_forward_naive`` / ``max_pool_backward_naive`` (float64, finite).

    Draws ``N``, ``C``, the stride, ``pool_height`` and ``pool_width`` independently, then the
    output size per axis in ``[1, max_out]`` and derives ``H = (H' - 1) * stride +
    pool_height`` (likewise ``W``); then ``x`` (small integers first: tied maxima) and ``dout``.
    """
    return _pool_problems(max_batch, max_channels, max_kernel, max_stride, max_out)
