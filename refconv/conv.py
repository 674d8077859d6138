"""2-D convolution (cross-correlation, as in torch) forward and backward: the vectorised core.

Layout: input ``x`` is NHWC ``(N, H, W, C_in)``, weight ``w`` is ``(kh, kw, C_in, C_out)`` (the
seed's layout), bias is ``(C_out,)``. Arguments are assumed validated by the caller (the seed or
functional face); this module only computes.

Method: im2col over a chunk of examples (a copy of the windows, contiguous) followed by one GEMM
against ``w`` reshaped to ``(kh*kw*C_in, C_out)``. Chunking bounds the column buffer to
:data:`CHUNK_BYTES` whatever the input size, and the GEMM runs in BLAS.
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


def _columns(geometry: Geometry, xp: np.ndarray) -> np.ndarray:
    """im2col: ``(n * n_H * n_W, kh * kw * C_in)`` contiguous copy of the windows of ``xp``."""
    windows = geometry.windows(xp)
    n, n_h, n_w, kh, kw, c = windows.shape
    return np.ascontiguousarray(windows).reshape(n * n_h * n_w, kh * kw * c)


def conv2d_forward(
    x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, geometry: Geometry
) -> np.ndarray:
    """Cross-correlation of ``x`` with ``w`` plus ``bias``.

    Returns an array of shape ``(N, n_H, n_W, C_out)`` in the dtype of ``x`` and ``w``.
    """
    dtype = np.result_type(x, w)
    n, _, _, c_in = x.shape
    c_out = w.shape[3]
    n_h, n_w = geometry.out_shape
    xp = geometry.pad(x.astype(dtype, copy=False))
    w2 = w.astype(dtype, copy=False).reshape(-1, c_out)
    out = np.empty((n, n_h, n_w, c_out), dtype=dtype)
    for chunk in _example_chunks(geometry, n, c_in, dtype.itemsize):
        columns = _columns(geometry, xp[chunk])
        np.matmul(columns, w2, out=out[chunk].reshape(-1, c_out))
    if bias is not None:
        out += bias.astype(dtype, copy=False)
    return out


def conv2d_backward(
    dy: np.ndarray, x: np.ndarray, w: np.ndarray, geometry: Geometry
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of :func:`conv2d_forward` given the upstream gradient ``dy`` (N, n_H, n_W, C_out).

    Returns ``(dx, dw, db)`` with the shapes of ``x``, ``w`` and ``(C_out,)``. Overlapping windows
    accumulate into ``dx`` (one ``+=`` per kernel offset; within one offset the touched input
    cells are distinct, so no update is lost).
    """
    dtype = np.result_type(dy, x, w)
    n, _, _, c_in = x.shape
    kh, kw, _, c_out = w.shape
    xp = geometry.pad(x.astype(dtype, copy=False))
    w2 = w.astype(dtype, copy=False).reshape(-1, c_out)
    dy = dy.astype(dtype, copy=False)
    dxp = np.zeros(xp.shape, dtype=dtype)
    dw2 = np.zeros_like(w2)
    for chunk in _example_chunks(geometry, n, c_in, dtype.itemsize):
        dy_rows = dy[chunk].reshape(-1, c_out)
        dw2 += _columns(geometry, xp[chunk]).T @ dy_rows
        dcolumns = (dy_rows @ w2.T).reshape(dy[chunk].shape[:3] + (kh * kw, c_in))
        target = dxp[chunk]
        for k, index in geometry.offsets():
            target[index] += dcolumns[:, :, :, k, :]
    db = dy.sum(axis=(0, 1, 2))
    return geometry.crop(dxp).copy(), dw2.reshape(w.shape), db
