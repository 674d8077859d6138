"""Sliding-window geometry shared by convolution and pooling (NHWC layout).

A 2-D window op is described by a :class:`Geometry`: kernel size, stride, padding (top, bottom,
left, right) and dilation. The input is padded once; kernel offset ``(i, j)`` then touches the
padded rows ``i*dh, i*dh + sh, ..., i*dh + sh*(n_H-1)`` and the analogous columns, which is a
plain strided slice. Looping over the ``kh*kw`` offsets with whole-array operations is how every
kernel of refconv stays vectorised over examples, positions and channels.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


def output_length(
    size: int,
    kernel: int,
    stride: int,
    pad_lo: int,
    pad_hi: int,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Number of window positions along one axis (torch's rule).

    ``floor((size + pad_lo + pad_hi - dilation*(kernel-1) - 1) / stride) + 1``; in ``ceil_mode``
    the division rounds up, but a last window that would start in the right padding is dropped.
    """
    span = size + pad_lo + pad_hi - dilation * (kernel - 1) - 1
    if ceil_mode:
        n = -(-span // stride) + 1
        if (n - 1) * stride >= size + pad_lo:
            n -= 1
        return n
    return span // stride + 1


@dataclass(frozen=True)
class Geometry:
    """Window geometry of one 2-D op over an NHWC input of spatial size ``(height, width)``."""

    height: int
    width: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]  # top, bottom, left, right
    dilation: tuple[int, int] = (1, 1)
    ceil_mode: bool = False

    @property
    def out_shape(self) -> tuple[int, int]:
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        top, bottom, left, right = self.padding
        return (
            output_length(self.height, kh, sh, top, bottom, dh, self.ceil_mode),
            output_length(self.width, kw, sw, left, right, dw, self.ceil_mode),
        )

    @property
    def padded_shape(self) -> tuple[int, int]:
        """Spatial size of the padded buffer: large enough for every window (ceil mode included)."""
        n_h, n_w = self.out_shape
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        top, bottom, left, right = self.padding
        return (
            max(self.height + top + bottom, (n_h - 1) * sh + (kh - 1) * dh + 1),
            max(self.width + left + right, (n_w - 1) * sw + (kw - 1) * dw + 1),
        )

    def pad(self, x: np.ndarray, value: float = 0.0) -> np.ndarray:
        """Copy of ``x`` (N, H, W, C) embedded in the padded buffer filled with ``value``."""
        ph, pw = self.padded_shape
        top, _, left, _ = self.padding
        if (ph, pw) == (self.height, self.width):
            return x
        out = np.full((x.shape[0], ph, pw, x.shape[3]), value, dtype=x.dtype)
        out[:, top : top + self.height, left : left + self.width, :] = x
        return out

    def crop(self, xp: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`pad` for gradients: the part of the padded buffer that is the input."""
        top, _, left, _ = self.padding
        return xp[:, top : top + self.height, left : left + self.width, :]

    def offsets(self) -> Iterator[tuple[int, tuple[slice, slice, slice, slice]]]:
        """Yield ``(k, index)`` for each kernel offset in row-major order.

        ``padded[index]`` has shape ``(N, n_H, n_W, C)``: the input element that offset ``k``
        of every window reads.
        """
        n_h, n_w = self.out_shape
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        for i in range(kh):
            rows = slice(i * dh, i * dh + sh * (n_h - 1) + 1, sh)
            for j in range(kw):
                cols = slice(j * dw, j * dw + sw * (n_w - 1) + 1, sw)
                yield i * kw + j, (slice(None), rows, cols, slice(None))

    def windows(self, xp: np.ndarray) -> np.ndarray:
        """Read-only view ``(N, n_H, n_W, kh, kw, C)`` of every window of the padded input."""
        n_h, n_w = self.out_shape
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        s_n, s_h, s_w, s_c = xp.strides
        return np.lib.stride_tricks.as_strided(
            xp,
            shape=(xp.shape[0], n_h, n_w, kh, kw, xp.shape[3]),
            strides=(s_n, s_h * sh, s_w * sw, s_h * dh, s_w * dw, s_c),
            writeable=False,
        )

    def grouped_windows(self, xp: np.ndarray, groups: int) -> np.ndarray:
        """Read-only view ``(G, N, n_H, n_W, kh, kw, C/G)`` of the windows, in channel groups.

        Group ``g`` holds the channels ``g*C/G, ..., (g+1)*C/G - 1`` (torch's grouping), so one
        ``ascontiguousarray`` of this view is the im2col matrix of every group at once.
        """
        n_h, n_w = self.out_shape
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        s_n, s_h, s_w, s_c = xp.strides
        per_group = xp.shape[3] // groups
        return np.lib.stride_tricks.as_strided(
            xp,
            shape=(groups, xp.shape[0], n_h, n_w, kh, kw, per_group),
            strides=(s_c * per_group, s_n, s_h * sh, s_w * sw, s_h * dh, s_w * dw, s_c),
            writeable=False,
        )

    def window_starts(self) -> tuple[np.ndarray, np.ndarray]:
        """Input row and column of kernel offset 0 of each window (negative in the padding)."""
        n_h, n_w = self.out_shape
        (sh, sw), (top, _, left, _) = self.stride, self.padding
        return np.arange(n_h) * sh - top, np.arange(n_w) * sw - left

    def first_inside_offset(self) -> np.ndarray:
        """Index (row-major) of the first kernel offset of each window that lies inside the input.

        Shape ``(n_H, n_W)``. Torch starts its max scan there, so a window whose real elements are
        all ``-inf`` still sends its gradient to a real element, never to padding.
        """
        n_h, n_w = self.out_shape
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        top, _, left, _ = self.padding

        def first(n: int, s: int, d: int, p: int, k: int) -> np.ndarray:
            start = np.arange(n) * s - p  # input coordinate of offset 0
            return np.clip(-(start // d), 0, k - 1)  # ceil(-start / d) for start < 0

        return first(n_h, sh, dh, top, kh)[:, None] * kw + first(n_w, sw, dw, left, kw)[None, :]
