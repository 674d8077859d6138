"""2-D max and average pooling, forward and backward: the vectorised core (NHWC).

Arguments are assumed validated by the caller.

Method: a window reduction is *separable*, so each op first reduces along the width (one strided
view per kernel column) and then along the height of that intermediate (one view per kernel row):
``kh + kw - 2`` whole-array operations instead of ``kh * kw - 1``. Work runs on blocks of examples
that stay in cache, on several threads for large inputs (:mod:`refconv._parallel`).

Max pooling follows torch's CPU scan exactly: offsets are visited in row-major order and an
element replaces the running maximum when ``value > max or isnan(value)``. Hence finite ties go to
the *first* maximum, a NaN always wins, and among several NaNs the *last* one wins. The scan starts
at the first offset inside the input, so padding (``-inf``) never receives a gradient. The
separable argmax reproduces that rule (first maximal row, then first maximal column in it) for
every window whose maximum is a number above ``-inf``; blocks holding a NaN or an all ``-inf``
window are redone with the literal scan (:func:`_scan_argmax`).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from refconv._parallel import blocks, for_each_block
from refconv._windows import Geometry


def _taps(kernel: int, dilation: int, stride: int, n_out: int) -> list[slice]:
    """Slice of the padded axis read by each kernel tap, for every window along that axis."""
    return [
        slice(t * dilation, t * dilation + stride * (n_out - 1) + 1, stride) for t in range(kernel)
    ]


def _tap_dtype(kernel: int) -> type[np.unsignedinteger] | type[np.intp]:
    return np.uint8 if kernel <= 256 else np.intp


def _tagged(greater: np.ndarray, tap: int, dtype: type) -> np.ndarray:
    """``tap`` where ``greater`` holds, else 0, in ``dtype`` (reuses the bool buffer if it can)."""
    if dtype is np.uint8:
        tags = greater.view(np.uint8)
        tags *= np.uint8(tap)
        return tags
    return greater.astype(dtype) * tap


def _running(op: np.ufunc, views: list[np.ndarray], out: np.ndarray | None = None) -> np.ndarray:
    """``op`` folded over ``views`` (``out`` receives the result; the first op writes it)."""
    if len(views) == 1:
        if out is None:
            return views[0].copy()
        np.copyto(out, views[0])
        return out
    out = op(views[0], views[1], out=out)
    for view in views[2:]:
        op(out, view, out=out)
    return out


def _select(condition: np.ndarray, if_true: np.ndarray, if_false: np.ndarray) -> np.ndarray:
    """``where(condition, if_true, if_false)`` for small non-negative integers, without a branchy
    ``np.where``: modular arithmetic is exact here because both values lie in ``[0, k)``."""
    chosen = if_true - if_false
    chosen *= condition
    chosen += if_false
    return chosen


def _separable_max(
    xp: np.ndarray, geometry: Geometry, track: bool, out: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Window maxima of the padded block ``xp`` and, if ``track``, the row and column tap of each.

    Returns ``(values, row_tap, col_tap)`` of shape ``(N, n_H, n_W, C)`` (``values`` is ``out``
    when given). The taps are torch's argmax for windows whose maximum is a number above ``-inf``
    (see the module docstring); values are exact in every case (``np.maximum`` propagates NaN).
    """
    (kh, kw), (sh, sw), (dh, dw) = geometry.kernel, geometry.stride, geometry.dilation
    n_h, n_w = geometry.out_shape
    row_taps, col_taps = _taps(kh, dh, sh, n_h), _taps(kw, dw, sw, n_w)
    rows_used = slice(0, row_taps[-1].stop)
    # Stage 1, along the width: per padded row, the maximum of each window's columns.
    columns = [xp[:, rows_used, c, :] for c in col_taps]
    if not track:
        stage1 = _running(np.maximum, columns)
        return _running(np.maximum, [stage1[:, r] for r in row_taps], out), None, None
    col_dtype, row_dtype = _tap_dtype(kw), _tap_dtype(kh)
    if len(columns) == 1:
        stage1, col_tap = columns[0], np.zeros(columns[0].shape, col_dtype)
    else:  # the first two taps at once: no copy of tap 0, no zero-filled tap array
        stage1 = np.maximum(columns[0], columns[1])
        col_tap = _tagged(np.greater(columns[1], columns[0]), 1, col_dtype)
    for j, view in enumerate(columns[2:], 2):
        # A later tap replaces only when strictly greater: ties stay with the first column.
        np.maximum(col_tap, _tagged(np.greater(view, stage1), j, col_dtype), out=col_tap)
        np.maximum(stage1, view, out=stage1)
    # Stage 2, along the height: the maximum over the window's rows of those row maxima, and
    # the column tap of the row that wins.
    rows = [stage1[:, r] for r in row_taps]
    tap_rows = [col_tap[:, r] for r in row_taps]
    if len(rows) == 1:
        values = rows[0].copy() if out is None else out
        if out is not None:
            np.copyto(values, rows[0])
        return values, np.zeros(values.shape, row_dtype), tap_rows[0].copy()
    greater = np.greater(rows[1], rows[0])
    values = np.maximum(rows[0], rows[1], out=out)
    chosen_col = _select(greater, tap_rows[1], tap_rows[0])
    row_tap = _tagged(greater, 1, row_dtype)
    for i, view in enumerate(rows[2:], 2):
        greater = np.greater(view, values)
        chosen_col = _select(greater, tap_rows[i], chosen_col)
        np.maximum(row_tap, _tagged(greater, i, row_dtype), out=row_tap)
        np.maximum(values, view, out=values)
    return values, row_tap, chosen_col


def _scan_argmax(xp: np.ndarray, geometry: Geometry) -> tuple[np.ndarray, np.ndarray]:
    """torch's scan, literally: ``(values, offsets)`` with row-major kernel offsets.

    The reference for the NaN and all ``-inf`` cases; slower than :func:`_separable_max`.
    """
    n_h, n_w = geometry.out_shape
    shape = (xp.shape[0], n_h, n_w, xp.shape[3])
    first = geometry.first_inside_offset()[None, :, :, None]
    best = np.full(shape, -np.inf, dtype=xp.dtype)
    where = np.broadcast_to(first, shape).astype(np.intp)
    for k, index in geometry.offsets():
        values = xp[index]
        take = (values > best) | np.isnan(values)
        np.copyto(best, values, where=take)
        np.copyto(where, k, where=take)
    # A window whose inside elements are all -inf keeps best == -inf at its first inside offset,
    # exactly as torch does.
    return best, where


def _argmax_block(xp: np.ndarray, geometry: Geometry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(values, row_tap, col_tap)`` of one block with torch's rule in every case."""
    values, row_tap, col_tap = _separable_max(xp, geometry, track=True)
    if not np.all(values > -np.inf):  # a NaN or an all -inf window: the literal scan decides
        values, offsets = _scan_argmax(xp, geometry)
        kw = geometry.kernel[1]
        row_tap, col_tap = np.divmod(offsets, kw)
    return values, row_tap, col_tap


def max_pool2d_argmax(x: np.ndarray, geometry: Geometry) -> tuple[np.ndarray, np.ndarray]:
    """Maximum of every window and the row-major kernel offset where it sits (torch's rule).

    Returns ``(values, offsets)``, both of shape ``(N, n_H, n_W, C)``; ``offsets`` is an
    ``intp`` array in ``[0, kh*kw)``.
    """
    xp = geometry.pad(x, value=-np.inf)
    n_h, n_w = geometry.out_shape
    shape = (x.shape[0], n_h, n_w, x.shape[3])
    values = np.empty(shape, dtype=x.dtype)
    offsets = np.empty(shape, dtype=np.intp)
    kw = geometry.kernel[1]

    def work(block: slice) -> None:
        best, row_tap, col_tap = _argmax_block(xp[block], geometry)
        values[block] = best
        np.multiply(row_tap, kw, out=offsets[block], dtype=np.intp)
        offsets[block] += col_tap

    for_each_block(x.shape[0], _example_bytes(xp), work)
    return values, offsets


def _example_bytes(xp: np.ndarray) -> int:
    return int(np.prod(xp.shape[1:], dtype=np.int64)) * xp.itemsize


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
    xp = geometry.pad(x, value=-np.inf)
    n_h, n_w = geometry.out_shape
    out = np.empty((x.shape[0], n_h, n_w, x.shape[3]), dtype=x.dtype)
    disjoint, _ = _disjoint(geometry)

    def work(block: slice) -> None:
        if disjoint:  # every window's taps are its own: fold them directly
            _running(np.maximum, _tap_views(_window_view(xp[block], geometry)), out[block])
        else:
            _separable_max(xp[block], geometry, track=False, out=out[block])

    for_each_block(x.shape[0], _example_bytes(xp), work)
    return out


def _window_view(xp: np.ndarray, geometry: Geometry) -> np.ndarray:
    """The windows of a padded block as a view ``(N, n_H, kh, n_W, kw, C)`` (no copy; writes
    through it are safe only where windows do not overlap)."""
    (kh, kw), (sh, sw), (dh, dw) = geometry.kernel, geometry.stride, geometry.dilation
    n_h, n_w = geometry.out_shape
    s_n, s_h, s_w, s_c = xp.strides
    return np.lib.stride_tricks.as_strided(
        xp,
        (xp.shape[0], n_h, kh, n_w, kw, xp.shape[3]),
        (s_n, sh * s_h, dh * s_h, sw * s_w, dw * s_w, s_c),
        writeable=xp.flags.writeable,
    )


def _tap_views(windows: np.ndarray) -> list[np.ndarray]:
    """Each tap of a window view, ``(N, n_H, n_W, C)``, in row-major order (torch's scan)."""
    kh, kw = windows.shape[2], windows.shape[4]
    return [windows[:, :, i, :, j] for i in range(kh) for j in range(kw)]


def _disjoint(geometry: Geometry) -> tuple[bool, bool]:
    """Whether windows never overlap, and whether they moreover tile the padded input exactly.

    Disjoint windows let a backward pass assign each tap's gradient instead of accumulating it
    (and skip zero-filling when they tile the input).
    """
    (kh, kw), (sh, sw), (dh, dw) = geometry.kernel, geometry.stride, geometry.dilation
    reach_h, reach_w = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    disjoint = sh >= reach_h and sw >= reach_w and (dh == 1 or kh == 1) and (dw == 1 or kw == 1)
    n_h, n_w = geometry.out_shape
    tiled = disjoint and (sh, sw) == (reach_h, reach_w)
    tiled = tiled and (n_h * sh, n_w * sw) == geometry.padded_shape
    return disjoint, tiled


def max_pool2d_backward(dy: np.ndarray, x: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Gradient of max pooling: each window's ``dy`` goes to its (torch-rule) argmax.

    Returns an array of the shape of ``x``; windows that overlap accumulate.
    """
    dtype = np.result_type(dy, x)
    xp = geometry.pad(x.astype(dtype, copy=False), value=-np.inf)
    dy = dy.astype(dtype, copy=False)
    n, ph, pw, c = xp.shape
    n_h, n_w = geometry.out_shape
    (sh, sw), (dh, dw) = geometry.stride, geometry.dilation
    dxp = np.empty(xp.shape, dtype=dtype)
    plane = ph * pw * c

    # Flat index (in a block of the padded gradient) of each window's first cell; the argmax's
    # taps then add dh*pw*c per row and dw*c per column.
    def origins(m: int) -> np.ndarray:
        return (
            (np.arange(m) * plane)[:, None, None, None]
            + (np.arange(n_h) * (sh * pw * c))[None, :, None, None]
            + (np.arange(n_w) * (sw * c))[None, None, :, None]
            + np.arange(c)[None, None, None, :]
        )

    # bincount's float64 bins are the working set: keep a block's bins within half the L2 cache.
    parts = blocks(n, plane * 8, 2**19)
    disjoint, tiled = _disjoint(geometry)
    kh, kw = geometry.kernel
    row_taps, col_taps = _taps(kh, dh, sh, n_h), _taps(kw, dw, sw, n_w)

    def assign(block: slice) -> None:
        """Disjoint windows: each tap's cells get ``dy`` where the argmax is that tap, else 0."""
        grad = dxp[block]
        if not tiled:
            grad.fill(0)
        dy_block = dy[block]
        taps = _tap_views(_window_view(xp[block], geometry))
        best = _running(np.maximum, taps)
        if np.all(best > -np.inf):
            # Each window's first maximal tap, in row-major order: torch's rule for numbers.
            grads = _tap_views(_window_view(grad, geometry))
            taken = None
            for tap, tap_grad in zip(taps, grads, strict=True):
                hit = np.equal(tap, best)
                if taken is None:
                    taken = hit.copy()
                else:
                    hit &= ~taken
                    taken |= hit
                np.multiply(dy_block, hit, out=tap_grad)
            return
        # a NaN or an all -inf window: the literal scan's taps
        _, row_tap, col_tap = _argmax_block(xp[block], geometry)
        # One tap number per window (one comparison per tap below, instead of two and an and)
        number = row_tap.astype(np.intp) if kw * kh > 255 else row_tap
        number *= kw
        number += col_tap
        for i, rows in enumerate(row_taps):
            for j, cols in enumerate(col_taps):
                np.multiply(dy_block, number == i * kw + j, out=grad[:, rows, cols])

    def accumulate(block: slice, first_cells: np.ndarray) -> None:
        """Overlapping windows may pick the same cell: one bincount adds them (in float64)."""
        m = block.stop - block.start
        _, row_tap, col_tap = _argmax_block(xp[block], geometry)
        index = row_tap.astype(np.intp)
        index *= dh * pw * c
        column = col_tap.astype(np.intp)
        column *= dw * c
        index += column
        index += first_cells[:m]
        sums = np.bincount(index.ravel(), weights=dy[block].ravel(), minlength=m * plane)
        dxp[block] = sums.reshape(m, ph, pw, c)

    if disjoint:
        work = assign
    else:
        first_cells = origins(parts[0].stop - parts[0].start)
        work = partial(accumulate, first_cells=first_cells)
    for_each_block(n, _example_bytes(xp), work, parts)
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
    (kh, kw), (sh, sw) = geometry.kernel, geometry.stride
    n_h, n_w = geometry.out_shape
    row_taps, col_taps = _taps(kh, 1, sh, n_h), _taps(kw, 1, sw, n_w)
    rows_used = slice(0, row_taps[-1].stop)
    out = np.empty((x.shape[0], n_h, n_w, x.shape[3]), dtype=x.dtype)
    divisor = np.asarray(divisor, dtype=x.dtype)

    def work(block: slice) -> None:
        part = xp[block, rows_used]
        row_sums = part[:, :, col_taps[0]].copy()  # stage 1: window columns, every row
        for cols in col_taps[1:]:
            row_sums += part[:, :, cols]
        total = out[block]
        np.copyto(total, row_sums[:, row_taps[0]])  # stage 2: window rows
        for rows in row_taps[1:]:
            total += row_sums[:, rows]
        total /= divisor

    for_each_block(x.shape[0], _example_bytes(xp), work)
    return out


def avg_pool2d_backward(
    dy: np.ndarray, x_shape: tuple[int, ...], geometry: Geometry, divisor: np.ndarray | float
) -> np.ndarray:
    """Gradient of :func:`avg_pool2d_forward`: ``dy / divisor`` spread over every window cell.

    Windows that do not overlap get their share by assignment, one pass over the gradient;
    otherwise the adjoints of the forward's two stages accumulate it, in reverse order.
    """
    (kh, kw), (sh, sw) = geometry.kernel, geometry.stride
    n_h, n_w = geometry.out_shape
    ph, pw = geometry.padded_shape
    row_taps, col_taps = _taps(kh, 1, sh, n_h), _taps(kw, 1, sw, n_w)
    n, c = x_shape[0], x_shape[3]
    dxp = np.empty((n, ph, pw, c), dtype=dy.dtype)
    divisor = np.asarray(divisor, dtype=dy.dtype)

    disjoint, tiled = _disjoint(geometry)

    def work(block: slice) -> None:
        share = dy[block] / divisor
        grad = dxp[block]
        if disjoint:
            if not tiled:
                grad.fill(0)
            for rows in row_taps:
                for cols in col_taps:
                    grad[:, rows, cols] = share
            return
        row_grad = np.zeros((share.shape[0], ph, n_w, c), dtype=dy.dtype)
        for rows in row_taps:  # adjoint of stage 2
            row_grad[:, rows] += share
        grad.fill(0)
        for cols in col_taps:  # adjoint of stage 1
            grad[:, :, cols] += row_grad

    for_each_block(n, ph * pw * c * dy.itemsize, work)
    return np.ascontiguousarray(geometry.crop(dxp))
