"""2-D convolution (cross-correlation, as in torch) and its transpose, forward and backward.

The vectorised core shared by the seed API and :mod:`refconv.functional`.

Layout: input ``x`` is NHWC ``(N, H, W, C_in)``, weight ``w`` is ``(kh, kw, C_in/groups, C_out)``
(the seed's layout, "HWIO"), bias is ``(C_out,)``. Channels are split into ``groups`` as in torch:
output channel ``o`` belongs to group ``o // (C_out/groups)`` and reads only the input channels of
that group. Arguments are assumed validated by the caller (the seed or functional face); this
module only computes.

Method: im2col over a chunk of examples (one contiguous copy of the windows, all groups at once)
followed by one batched GEMM per chunk, ``(G, rows, kh*kw*C_in/G) @ (G, kh*kw*C_in/G, C_out/G)``,
which NumPy runs in BLAS. Chunking bounds the column buffer to :data:`CHUNK_BYTES` whatever the
input size. The transposed convolution is not a second implementation: its forward *is* the
input-gradient of :func:`conv2d_forward` and its backward is made of :func:`conv2d_forward` and
the weight-gradient of the same core.
"""

from __future__ import annotations

import numpy as np

from refconv._windows import Geometry

#: Upper bound (bytes) of the im2col buffer of one chunk. One example is always processed even if
#: its columns exceed this.
CHUNK_BYTES = 16 * 2**20


def _example_chunks(geometry: Geometry, n: int, c_in: int, itemsize: int) -> list[slice]:
    n_h, n_w = geometry.out_shape
    kh, kw = geometry.kernel
    per_example = max(1, n_h * n_w * kh * kw * c_in * itemsize)
    step = max(1, CHUNK_BYTES // per_example)
    return [slice(start, min(start + step, n)) for start in range(0, n, step)] or [slice(0, 0)]


def _columns(geometry: Geometry, xp: np.ndarray, groups: int) -> np.ndarray:
    """im2col: ``(G, n * n_H * n_W, kh * kw * C_in/G)`` contiguous copy of the windows of ``xp``."""
    windows = np.ascontiguousarray(geometry.grouped_windows(xp, groups))
    g, n, n_h, n_w, kh, kw, c = windows.shape
    return windows.reshape(g, n * n_h * n_w, kh * kw * c)


def _grouped_weight(w: np.ndarray, groups: int) -> np.ndarray:
    """``(kh, kw, C_in/G, C_out)`` -> ``(G, kh*kw*C_in/G, C_out/G)`` (a view when G == 1)."""
    c_out = w.shape[3]
    return w.reshape(-1, groups, c_out // groups).transpose(1, 0, 2)


def _grouped_rows(y: np.ndarray, groups: int) -> np.ndarray:
    """``(N, n_H, n_W, C)`` -> view ``(G, N*n_H*n_W, C/G)``."""
    c = y.shape[3]
    return y.reshape(-1, groups, c // groups).transpose(1, 0, 2)


def conv2d_forward(
    x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, geometry: Geometry, groups: int = 1
) -> np.ndarray:
    """Cross-correlation of ``x`` with ``w`` plus ``bias``.

    Returns an array of shape ``(N, n_H, n_W, C_out)`` in the dtype of ``x`` and ``w``.
    """
    dtype = np.result_type(x, w)
    n, _, _, c_in = x.shape
    c_out = w.shape[3]
    n_h, n_w = geometry.out_shape
    xp = geometry.pad(x.astype(dtype, copy=False))
    w3 = _grouped_weight(w.astype(dtype, copy=False), groups)
    out = np.empty((n, n_h, n_w, c_out), dtype=dtype)
    for chunk in _example_chunks(geometry, n, c_in, dtype.itemsize):
        columns = _columns(geometry, xp[chunk], groups)
        np.matmul(columns, w3, out=_grouped_rows(out[chunk], groups))
    if bias is not None:
        out += bias.astype(dtype, copy=False)
    return out


def conv2d_input_grad(
    dy: np.ndarray, w: np.ndarray, geometry: Geometry, x_shape: tuple[int, ...], groups: int = 1
) -> np.ndarray:
    """Gradient of :func:`conv2d_forward` with respect to its input ``x`` of shape ``x_shape``.

    ``dy`` has shape ``(N, n_H, n_W, C_out)``. Overlapping windows accumulate into the result (one
    ``+=`` per kernel offset; within one offset the touched input cells are distinct, so no update
    is lost). This is also the forward pass of the transposed convolution.
    """
    dtype = np.result_type(dy, w)
    n, _, _, c_in = x_shape
    kh, kw, _, _ = w.shape
    ph, pw = geometry.padded_shape
    w3 = _grouped_weight(w.astype(dtype, copy=False), groups)
    dy = dy.astype(dtype, copy=False)
    dxp = np.zeros((n, ph, pw, c_in), dtype=dtype)
    for chunk in _example_chunks(geometry, n, c_in, dtype.itemsize):
        dy_chunk = dy[chunk]
        m, n_h, n_w, _ = dy_chunk.shape
        # (G, rows, kh*kw*C_in/G) -> (m, n_H, n_W, kh*kw, C_in) with channels in group order
        dcolumns = np.matmul(_grouped_rows(dy_chunk, groups), w3.transpose(0, 2, 1))
        dcolumns = dcolumns.reshape(groups, m, n_h, n_w, kh * kw, c_in // groups)
        dcolumns = dcolumns.transpose(1, 2, 3, 4, 0, 5).reshape(m, n_h, n_w, kh * kw, c_in)
        target = dxp[chunk]
        for k, index in geometry.offsets():
            target[index] += dcolumns[:, :, :, k, :]
    return np.ascontiguousarray(geometry.crop(dxp))


def conv2d_weight_grad(
    dy: np.ndarray,
    x: np.ndarray,
    geometry: Geometry,
    kernel_shape: tuple[int, int],
    groups: int = 1,
) -> np.ndarray:
    """Gradient of :func:`conv2d_forward` with respect to its weight, ``(kh, kw, C_in/G, C_out)``.

    ``kernel_shape`` is ``(kh, kw)``; ``dy`` has shape ``(N, n_H, n_W, C_out)``.
    """
    dtype = np.result_type(dy, x)
    n, _, _, c_in = x.shape
    c_out = dy.shape[3]
    kh, kw = kernel_shape
    xp = geometry.pad(x.astype(dtype, copy=False))
    dy = dy.astype(dtype, copy=False)
    dw3 = np.zeros((groups, kh * kw * (c_in // groups), c_out // groups), dtype=dtype)
    for chunk in _example_chunks(geometry, n, c_in, dtype.itemsize):
        columns = _columns(geometry, xp[chunk], groups)
        dw3 += np.matmul(columns.transpose(0, 2, 1), _grouped_rows(dy[chunk], groups))
    return np.ascontiguousarray(dw3.transpose(1, 0, 2)).reshape(kh, kw, c_in // groups, c_out)


def conv2d_backward(
    dy: np.ndarray, x: np.ndarray, w: np.ndarray, geometry: Geometry, groups: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of :func:`conv2d_forward` given the upstream gradient ``dy`` (N, n_H, n_W, C_out).

    Returns ``(dx, dw, db)`` with the shapes of ``x``, ``w`` and ``(C_out,)``, in the dtype of
    ``dy``, ``x`` and ``w`` together.
    """
    dtype = np.result_type(dy, x, w)
    dy = dy.astype(dtype, copy=False)
    x = x.astype(dtype, copy=False)
    dx = conv2d_input_grad(dy, w.astype(dtype, copy=False), geometry, x.shape, groups)
    dw = conv2d_weight_grad(dy, x, geometry, w.shape[:2], groups)
    return dx, dw, dy.sum(axis=(0, 1, 2))


# --- the transposed convolution: the adjoint of conv2d with respect to its input -----------------
#
# ``geometry`` below is the geometry of the *adjoint* conv2d: it runs over the transposed
# convolution's output (height and width H_out, W_out) with the same kernel, stride, padding and
# dilation, and has at least as many window positions as the transposed convolution's input has
# pixels (more when output_padding >= stride, which torch allows when output_padding < dilation:
# the extra positions are windows that receive no input, i.e. zeros).


def _extend(x: np.ndarray, geometry: Geometry) -> np.ndarray:
    """``x`` (N, H, W, C) zero-extended to the window grid ``geometry.out_shape`` (or ``x``)."""
    n_h, n_w = geometry.out_shape
    n, h, w, c = x.shape
    if (h, w) == (n_h, n_w):
        return x
    out = np.zeros((n, n_h, n_w, c), dtype=x.dtype)
    out[:, :h, :w, :] = x
    return out


def conv_transpose2d_forward(
    x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, geometry: Geometry, groups: int = 1
) -> np.ndarray:
    """Transposed convolution of ``x`` (N, H, W, C_in) with ``w`` (kh, kw, C_out/G, C_in).

    ``w`` is torch's transposed weight ``(C_in, C_out/G, kh, kw)`` moved to HWIO, i.e. the weight
    of the conv2d that maps C_out channels to C_in channels; this returns that conv2d's input
    gradient for the upstream gradient ``x``, plus ``bias``: shape ``(N, H_out, W_out, C_out)``.
    """
    dtype = np.result_type(x, w)
    n = x.shape[0]
    c_out = w.shape[2] * groups
    out = conv2d_input_grad(
        _extend(x.astype(dtype, copy=False), geometry),
        w.astype(dtype, copy=False),
        geometry,
        (n, geometry.height, geometry.width, c_out),
        groups,
    )
    if bias is not None:
        out += bias.astype(dtype, copy=False)
    return out


def conv_transpose2d_backward(
    dy: np.ndarray, x: np.ndarray, w: np.ndarray, geometry: Geometry, groups: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of :func:`conv_transpose2d_forward` given ``dy`` (N, H_out, W_out, C_out).

    Returns ``(dx, dw, db)``: ``dx`` is the conv2d of ``dy`` with ``w`` (cropped to ``x``'s
    window grid), ``dw`` the conv2d weight-gradient with the roles of input and upstream gradient
    exchanged, ``db`` the sum of ``dy`` over examples and positions.
    """
    dtype = np.result_type(dy, x, w)
    dy = dy.astype(dtype, copy=False)
    x = x.astype(dtype, copy=False)
    _, h, wd, _ = x.shape
    dx = conv2d_forward(dy, w.astype(dtype, copy=False), None, geometry, groups)[:, :h, :wd, :]
    dw = conv2d_weight_grad(_extend(x, geometry), dy, geometry, w.shape[:2], groups)
    return np.ascontiguousarray(dx), dw, dy.sum(axis=(0, 1, 2))
