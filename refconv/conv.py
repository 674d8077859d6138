"""2-D convolution (cross-correlation, as in torch) and its transpose, forward and backward.

The vectorised core shared by the seed API and :mod:`refconv.functional`.

Layout: input ``x`` is NHWC ``(N, H, W, C_in)``, weight ``w`` is ``(kh, kw, C_in/groups, C_out)``
(the seed's layout, "HWIO"), bias is ``(C_out,)``. Channels are split into ``groups`` as in torch:
output channel ``o`` belongs to group ``o // (C_out/groups)`` and reads only the input channels of
that group. Arguments are assumed validated by the caller (the seed or functional face); this
module only computes.

Method: im2col over a chunk (a few examples, or a band of output rows of one large example: one
contiguous copy of the windows, all groups at once) followed by one batched GEMM per chunk,
``(G, rows, kh*kw*C_in/G) @ (G, kh*kw*C_in/G, C_out/G)``, which NumPy runs in BLAS. Chunks are
padded one at a time and kept to :data:`CHUNK_BYTES`, so a call needs its outputs plus
:data:`MEMORY_BUDGET` of memory whatever the input size, and the columns stay in cache between
the copy and the GEMM. The transposed convolution is not a second implementation: its forward
*is* the input-gradient of :func:`conv2d_forward` and its backward is made of
:func:`conv2d_forward` and the weight-gradient of the same core.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from refconv._parallel import blocks
from refconv._windows import Geometry

#: Working memory (bytes) of one chunk: its im2col columns plus the padded input rows they are
#: read from. A chunk is a few examples, or a band of output rows of one large example; a single
#: output row is always processed even if it exceeds this. 4 MiB rather than 16: the GEMM then
#: reads columns the copy has just written to cache (conv forward went from 59-66% to 67-81% of
#: NumPy's GEMM rate on the benchmark layers, paired measurements, README "Benchmarks").
CHUNK_BYTES = 4 * 2**20
#: Bound (bytes) on the extra memory of one call beyond its outputs: one chunk's working memory
#: (each chunk reuses it), with as much again for small temporaries and the allocator's slack.
#: The working memory is kept between calls (:func:`_scratch_array`, at most this much per
#: thread that has run a convolution).
MEMORY_BUDGET = 2 * CHUNK_BYTES


@dataclass(frozen=True)
class _Chunk:
    examples: slice
    rows: slice  # output rows


def _chunks(geometry: Geometry, n: int, c_in: int, itemsize: int) -> list[_Chunk]:
    """Split the output into chunks whose working memory stays within :data:`CHUNK_BYTES`."""
    n_h, n_w = geometry.out_shape
    kh, kw = geometry.kernel
    sh = geometry.stride[0]
    pw = geometry.padded_shape[1]
    row_bytes = (n_w * kh * kw + sh * pw) * c_in * itemsize  # columns + padded input, per row
    if row_bytes * n_h <= CHUNK_BYTES:  # whole examples, as many as fit
        all_rows = slice(0, n_h)
        return [_Chunk(examples, all_rows) for examples in blocks(n, row_bytes * n_h, CHUNK_BYTES)]
    bands = blocks(n_h, row_bytes, CHUNK_BYTES)  # one example in bands of output rows
    return [_Chunk(slice(e, e + 1), rows) for e in range(n) for rows in bands]


def _band_rows(geometry: Geometry, chunk: _Chunk) -> tuple[int, int]:
    """Padded-coordinate row range ``[first, stop)`` read by the chunk's output rows."""
    kh, sh, dh = geometry.kernel[0], geometry.stride[0], geometry.dilation[0]
    return chunk.rows.start * sh, (chunk.rows.stop - 1) * sh + (kh - 1) * dh + 1


def _band_geometry(geometry: Geometry, first: int, stop: int) -> Geometry:
    """Geometry of the windows over a padded band: same kernel, no further padding."""
    return Geometry(
        stop - first,
        geometry.padded_shape[1],
        geometry.kernel,
        geometry.stride,
        (0, 0, 0, 0),
        geometry.dilation,
    )


def _inside(geometry: Geometry, first: int, stop: int) -> tuple[slice, slice, slice]:
    """Where the input lies in a band: band rows, input rows and band columns."""
    top, _, left, _ = geometry.padding
    lo = max(first, top)
    hi = max(lo, min(stop, top + geometry.height))  # empty when the band is all padding
    return (
        slice(lo - first, hi - first),
        slice(lo - top, hi - top),
        slice(left, left + geometry.width),
    )


_scratch = threading.local()


def _scratch_array(slot: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialised array for one chunk's temporaries, in memory this thread reuses from
    chunk to chunk and call to call (``slot`` names which temporary).

    A fresh array per chunk costs the kernel's page faults and zero-filling on first touch: on
    the benchmark machine they took longer than the copy itself (a 3.4 MiB im2col chunk: 1.9 ms
    fresh, 0.26 ms reused). What is kept is bounded by :data:`CHUNK_BYTES` per slot and thread;
    a temporary larger than that (a single output row over the budget) is not kept.
    """
    nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    if nbytes > CHUNK_BYTES:
        return np.empty(shape, dtype)
    buffers = _scratch.__dict__.setdefault("buffers", {})
    buffer = buffers.get(slot)
    if buffer is None or buffer.size < nbytes:
        buffer = buffers[slot] = np.empty(max(nbytes, 1), np.uint8)
    return buffer[:nbytes].view(dtype).reshape(shape)


def _padded_band(x: np.ndarray, geometry: Geometry, chunk: _Chunk) -> tuple[np.ndarray, Geometry]:
    """The zero-padded input rows one chunk reads, and the geometry of its windows.

    Padding a chunk at a time (rather than the whole input) bounds the memory of a call. The
    band lives in this thread's scratch memory: use it before the next chunk.
    """
    first, stop = _band_rows(geometry, chunk)
    band_geometry = _band_geometry(geometry, first, stop)
    band_rows, input_rows, columns = _inside(geometry, first, stop)
    inputs = x[chunk.examples]
    if band_rows == slice(0, stop - first) and columns == slice(0, band_geometry.width):
        return inputs[:, input_rows], band_geometry  # nothing of the band is padding: a view
    shape = (inputs.shape[0], stop - first, band_geometry.width, x.shape[3])
    band = _scratch_array("band", shape, x.dtype)
    band.fill(0)
    band[:, band_rows, columns] = inputs[:, input_rows]
    return band, band_geometry


def _columns(geometry: Geometry, xp: np.ndarray, groups: int, ones: bool = False) -> np.ndarray:
    """im2col: ``(G, n * n_H * n_W, kh * kw * C_in/G)`` contiguous copy of the windows of ``xp``,
    in this thread's scratch memory (use it before the next chunk). With ``ones``, one more
    column of ones: a GEMM with the bias as the weight's last row then adds it (no pass of its
    own over the output)."""
    # One copy of the strided window view. (Threading this copy was measured slower: BLAS's
    # worker threads still spin after the previous GEMM and take the cores.)
    windows = geometry.grouped_windows(xp, groups)
    g, n, n_h, n_w, kh, kw, c = windows.shape
    inner = kh * kw * c
    copy = _scratch_array("columns", (g, n, n_h, n_w, inner + ones), xp.dtype)
    np.copyto(copy[..., :inner].reshape(windows.shape), windows)
    if ones:
        copy[..., inner] = 1
    return copy.reshape(g, n * n_h * n_w, inner + ones)


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
    x = x.astype(dtype, copy=False)
    w3 = _grouped_weight(w.astype(dtype, copy=False), groups)
    if bias is not None:  # the bias as one more row of the weight, against a column of ones
        per_group = bias.astype(dtype, copy=False).reshape(groups, 1, c_out // groups)
        w3 = np.concatenate([w3, per_group], axis=1)
    out = np.empty((n, n_h, n_w, c_out), dtype=dtype)
    for chunk in _chunks(geometry, n, c_in, dtype.itemsize):
        band, band_geometry = _padded_band(x, geometry, chunk)
        columns = _columns(band_geometry, band, groups, ones=bias is not None)
        target = out[chunk.examples, chunk.rows]
        np.matmul(columns, w3, out=_grouped_rows(target, groups))
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
    per_group = c_in // groups
    # (G, C_out/G, kh*kw*C_in/G): the columns of tap k are k*C_in/G ... (k+1)*C_in/G - 1
    w3t = _grouped_weight(w.astype(dtype, copy=False), groups).transpose(0, 2, 1)
    dy = dy.astype(dtype, copy=False)
    dx = np.zeros(x_shape, dtype=dtype)
    for chunk in _chunks(geometry, n, c_in, dtype.itemsize):
        dy_chunk = dy[chunk.examples, chunk.rows]
        m, n_h, n_w, _ = dy_chunk.shape
        dy_rows = _grouped_rows(dy_chunk, groups)
        first, stop = _band_rows(geometry, chunk)
        band_geometry = _band_geometry(geometry, first, stop)
        band = _scratch_array("band", (m, stop - first, band_geometry.width, c_in), dtype)
        band.fill(0)
        by_group = band.reshape(m, stop - first, band_geometry.width, groups, per_group)
        # One small GEMM per kernel tap, added into the band at once: both sides of the add
        # are then contiguous along (n_W, C), unlike the tap slices of one big GEMM's output.
        tap_grad = _scratch_array("columns", (groups, m * n_h * n_w, per_group), dtype)
        for k, index in band_geometry.offsets():
            np.matmul(dy_rows, w3t[:, :, k * per_group : (k + 1) * per_group], out=tap_grad)
            by_group[index] += tap_grad.reshape(groups, m, n_h, n_w, per_group).transpose(
                1, 2, 3, 0, 4
            )
        band_rows, input_rows, columns = _inside(geometry, first, stop)
        # Row bands of one example overlap by the kernel's reach: add, don't assign.
        dx[chunk.examples, input_rows] += band[:, band_rows, columns]
    return dx


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
    x = x.astype(dtype, copy=False)
    dy = dy.astype(dtype, copy=False)
    dw3 = np.zeros((groups, kh * kw * (c_in // groups), c_out // groups), dtype=dtype)
    for chunk in _chunks(geometry, n, c_in, dtype.itemsize):
        band, band_geometry = _padded_band(x, geometry, chunk)
        columns = _columns(band_geometry, band, groups)
        dy_rows = _grouped_rows(np.ascontiguousarray(dy[chunk.examples, chunk.rows]), groups)
        dw3 += np.matmul(columns.transpose(0, 2, 1), dy_rows)
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
    return dx, dw, _channel_sums(dy)


def _channel_sums(y: np.ndarray) -> np.ndarray:
    """``y.sum(axis=(0, 1, 2))`` as one BLAS matrix-vector product (3x faster than NumPy's
    reduction over the leading axes; another summation order, within the tolerance model)."""
    rows = y.reshape(-1, y.shape[3])
    return np.ones(rows.shape[0], dtype=y.dtype) @ rows


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
    return np.ascontiguousarray(dx), dw, _channel_sums(dy)
