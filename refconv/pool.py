"""2-D max and average pooling, forward and backward: the vectorised core (NHWC).

Arguments are assumed validated by the caller. Every function loops over the ``kh*kw`` kernel
offsets only, with whole-array NumPy operations inside.

Max pooling follows torch's CPU scan exactly: offsets are visited in row-major order and an
element replaces the running maximum when ``value > max or isnan(value)``. Hence finite ties go to
the *first* maximum, a NaN always wins, and among several NaNs the *last* one wins. The scan starts
at the first offset inside the input, so padding (``-inf``) never receives a gradient.
"""

from __future__ import annotations

import numpy as np

from refconv._windows import Geometry


def max_pool2d_argmax(x: np.ndarray, geometry: Geometry) -> tuple[np.ndarray, np.ndarray]:
    """Maximum of every window and the row-major kernel offset where it sits.

    Returns ``(values, offsets)``, both of shape ``(N, n_H, n_W, C)``; ``offsets`` is an
    ``intp`` array in ``[0, kh*kw)``.
    """
    xp = geometry.pad(x, value=-np.inf)
    n_h, n_w = geometry.out_shape
    shape = (x.shape[0], n_h, n_w, x.shape[3])
    first = geometry.first_inside_offset()[None, :, :, None]
    best = np.full(shape, -np.inf, dtype=x.dtype)
    where = np.broadcast_to(first, shape).astype(np.intp)
    for k, index in geometry.offsets():
        values = xp[index]
        take = (values > best) | np.isnan(values)
        np.copyto(best, values, where=take)
        np.copyto(where, k, where=take)
    # A window whose inside elements are all -inf keeps best == -inf at its first inside offset,
    # exactly as torch does.
    return best, where


def max_pool2d_indices(offsets: np.ndarray, geometry: Geometry) -> np.ndarray:
    """torch's ``return_indices``: flat per-plane index ``h*W + w`` of each window's argmax.

    ``offsets`` are the kernel offsets of :func:`max_pool2d_argmax`; the result is an ``int64``
    array of the same shape, indexing the *unpadded* input plane of width ``W``. (A window whose
    taps all fall in the padding, possible only with dilation, gets torch's index of its first tap
    past the top/left padding, which lies outside the plane; torch does the same.)
    """
    _, kw = geometry.kernel
    dh, dw = geometry.dilation
    rows, cols = geometry.window_starts()
    row = rows[None, :, None, None] + (offsets // kw) * dh
    col = cols[None, None, :, None] + (offsets % kw) * dw
    return (row * geometry.width + col).astype(np.int64)


def max_pool2d_forward(x: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Max pooling; NaN propagates. Shape ``(N, n_H, n_W, C)``, dtype of ``x``."""
    return max_pool2d_argmax(x, geometry)[0]


def max_pool2d_backward(dy: np.ndarray, x: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Gradient of max pooling: each window's ``dy`` goes to its (torch-rule) argmax.

    Returns an array of the shape of ``x``; windows that overlap accumulate.
    """
    dtype = np.result_type(dy, x)
    _, offsets = max_pool2d_argmax(x, geometry)
    dy = dy.astype(dtype, copy=False)
    ph, pw = geometry.padded_shape
    dxp = np.zeros((x.shape[0], ph, pw, x.shape[3]), dtype=dtype)
    zero = dtype.type(0)
    for k, index in geometry.offsets():
        dxp[index] += np.where(offsets == k, dy, zero)
    return np.ascontiguousarray(geometry.crop(dxp))


def avg_pool2d_divisor(
    geometry: Geometry, count_include_pad: bool = True, divisor_override: int | None = None
) -> np.ndarray | int:
    """torch's divisor of every average-pooling window: an int, or an ``(n_H, n_W, 1)`` array.

    ``divisor_override`` wins when given. Otherwise the window is first clipped at the padded
    boundary (in ceil mode the last window may overhang it: that overhang never counts), then
    ``count_include_pad=True`` counts the clipped window, padding included, and
    ``count_include_pad=False`` only its cells inside the input. (No dilation: torch's avg_pool2d
    has none.)
    """
    if divisor_override is not None:
        return divisor_override
    (kh, kw), (_, bottom, _, right) = geometry.kernel, geometry.padding
    rows, cols = geometry.window_starts()

    def extent(start: np.ndarray, k: int, size: int, pad_hi: int) -> np.ndarray:
        end = np.minimum(start + k, size + pad_hi)  # clipped at the padded boundary
        if count_include_pad:
            return end - start
        return np.minimum(end, size) - np.maximum(start, 0)

    n_rows = extent(rows, kh, geometry.height, bottom)
    n_cols = extent(cols, kw, geometry.width, right)
    return (n_rows[:, None] * n_cols[None, :])[:, :, None]


def avg_pool2d_forward(
    x: np.ndarray, geometry: Geometry, divisor: np.ndarray | float
) -> np.ndarray:
    """Average pooling: window sums (padding counts as zero) divided by ``divisor``.

    ``divisor`` is a scalar or an array broadcastable to ``(N, n_H, n_W, C)``, e.g. ``(n_H, n_W,
    1)`` when it depends on the position (torch's ``count_include_pad=False`` or ceil mode).
    """
    xp = geometry.pad(x)
    n_h, n_w = geometry.out_shape
    total = np.zeros((x.shape[0], n_h, n_w, x.shape[3]), dtype=x.dtype)
    for _, index in geometry.offsets():
        total += xp[index]
    return total / np.asarray(divisor, dtype=x.dtype)


def avg_pool2d_backward(
    dy: np.ndarray, x_shape: tuple[int, ...], geometry: Geometry, divisor: np.ndarray | float
) -> np.ndarray:
    """Gradient of :func:`avg_pool2d_forward`: ``dy / divisor`` spread over every window cell."""
    share = dy / np.asarray(divisor, dtype=dy.dtype)
    ph, pw = geometry.padded_shape
    dxp = np.zeros((x_shape[0], ph, pw, x_shape[3]), dtype=dy.dtype)
    for _, index in geometry.offsets():
        dxp[index] += share
    return np.ascontiguousarray(geometry.crop(dxp))
