"""The seed API written as the notebook's explicit loops, corrected: for reading along.

Each function mirrors the notebook line by line, with the notebook's bugs fixed (each fix is
marked ``# fix:``). Results equal those of the vectorised :mod:`refconv.seed` (tested), but these
loops are slow: use them to learn, not to compute. Validation is shared with :mod:`refconv.seed`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from refconv import _validation as v
from refconv.seed import (
    ConvCache,
    PoolCache,
    check_conv_args,
    check_conv_backward_args,
    check_distribute_args,
    check_pool_args,
    check_pool_backward_args,
    check_window,
    check_zero_pad_args,
)

__all__ = [
    "zero_pad",
    "conv_single_step",
    "conv_forward",
    "conv_backward",
    "pool_forward",
    "create_mask_from_window",
    "distribute_value",
    "pool_backward",
]


def zero_pad(X: Any, pad: int) -> np.ndarray:
    """Pad height and width of ``X`` (m, n_H, n_W, n_C) with ``pad`` zeros on each side."""
    X, pad = check_zero_pad_args(X, pad)
    m, n_H, n_W, n_C = X.shape
    X_pad = np.zeros((m, n_H + 2 * pad, n_W + 2 * pad, n_C), dtype=X.dtype)
    X_pad[:, pad : pad + n_H, pad : pad + n_W, :] = X
    return X_pad


def conv_single_step(a_slice_prev: Any, W: Any, b: Any) -> np.floating:
    """``sum(a_slice_prev * W) + b`` for one window, as a NumPy scalar."""
    a = v.as_float_array(a_slice_prev, "a_slice_prev")
    W = v.as_float_array(W, "W")
    b = v.as_float_array(b, "b")
    if a.shape != W.shape:
        raise ValueError(f"W must have the shape of a_slice_prev {a.shape}, got {W.shape}")
    if b.size != 1:
        raise ValueError(f"b must hold exactly one bias (shape (1, 1, 1)), got shape {b.shape}")
    dtype = v.result_dtype(a, W, b)
    s = np.multiply(a, W, dtype=dtype)
    Z = np.sum(s)
    # fix: the notebook's np.float(b) no longer exists and float(b) fails on a (1, 1, 1) array.
    Z = Z + b.reshape(()).astype(dtype)
    return dtype.type(Z)


def conv_forward(
    A_prev: Any, W: Any, b: Any, hparameters: Mapping[str, int]
) -> tuple[np.ndarray, ConvCache]:
    """Convolution forward with four nested loops; returns ``(Z, (A_prev, W, b, hparameters))``."""
    A_prev, W, b, stride, pad, geometry = check_conv_args(A_prev, W, b, hparameters)
    m = A_prev.shape[0]
    f, _, _, n_C = W.shape
    n_H, n_W = geometry.out_shape
    dtype = v.result_dtype(A_prev, W, b)
    Z = np.zeros((m, n_H, n_W, n_C), dtype=dtype)  # fix: keep float32 as float32
    A_prev_pad = zero_pad(A_prev, pad)
    for i in range(m):
        a_prev_pad = A_prev_pad[i]
        for h in range(n_H):
            vert_start = h * stride
            vert_end = vert_start + f
            for w in range(n_W):
                horiz_start = w * stride
                horiz_end = horiz_start + f
                a_slice_prev = a_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :]
                for c in range(n_C):
                    Z[i, h, w, c] = conv_single_step(a_slice_prev, W[:, :, :, c], b[:, :, :, c])
    return Z, (A_prev, W, b, hparameters)


def conv_backward(dZ: Any, cache: ConvCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convolution backward with nested loops; returns ``(dA_prev, dW, db)``."""
    dZ, A_prev, W, geometry = check_conv_backward_args(dZ, cache)
    stride = geometry.stride[0]
    pad = geometry.padding[0]
    m, n_H_prev, n_W_prev, _ = A_prev.shape
    f, _, _, n_C = W.shape
    _, n_H, n_W, _ = dZ.shape
    dtype = v.result_dtype(dZ, A_prev, W)
    dW = np.zeros(W.shape, dtype=dtype)
    db = np.zeros((1, 1, 1, n_C), dtype=dtype)
    A_prev_pad = zero_pad(A_prev, pad)
    dA_prev_pad = np.zeros(A_prev_pad.shape, dtype=dtype)
    for i in range(m):
        a_prev_pad = A_prev_pad[i]
        da_prev_pad = dA_prev_pad[i]  # a view: updates land in dA_prev_pad
        for h in range(n_H):
            vert_start = h * stride
            vert_end = vert_start + f
            for w in range(n_W):
                horiz_start = w * stride
                horiz_end = horiz_start + f
                a_slice = a_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :]
                for c in range(n_C):
                    # += : windows overlap when stride < f, and every window contributes.
                    da_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :] += (
                        W[:, :, :, c] * dZ[i, h, w, c]
                    )
                    dW[:, :, :, c] += a_slice * dZ[i, h, w, c]
                    db[:, :, :, c] += dZ[i, h, w, c]
    # fix: unpad once, after all loops, with explicit end indices: the notebook's
    # [pad:-pad] is empty at pad == 0 and it assigned inside the wrong loop.
    dA_prev = dA_prev_pad[:, pad : pad + n_H_prev, pad : pad + n_W_prev, :].copy()
    return dA_prev, dW, db


def pool_forward(
    A_prev: Any, hparameters: Mapping[str, int], mode: str = "max"
) -> tuple[np.ndarray, PoolCache]:
    """Pooling forward with nested loops; returns ``(A, (A_prev, hparameters))``."""
    # fix: an unknown mode is an error (the notebook silently returned zeros).
    A_prev, f, stride, mode, geometry = check_pool_args(A_prev, hparameters, mode)
    m, _, _, n_C = A_prev.shape
    n_H, n_W = geometry.out_shape
    A = np.zeros((m, n_H, n_W, n_C), dtype=A_prev.dtype)
    for i in range(m):
        for h in range(n_H):
            vert_start = h * stride
            vert_end = vert_start + f
            for w in range(n_W):
                horiz_start = w * stride
                horiz_end = horiz_start + f
                for c in range(n_C):
                    a_prev_slice = A_prev[i, vert_start:vert_end, horiz_start:horiz_end, c]
                    if mode == "max":
                        # np.max propagates NaN, as torch does.
                        A[i, h, w, c] = np.max(a_prev_slice)
                    else:
                        A[i, h, w, c] = np.mean(a_prev_slice)
    return A, (A_prev, hparameters)


def create_mask_from_window(x: Any) -> np.ndarray:
    """Mask with one True at the maximum: first maximum on ties, last NaN if any (torch's rule)."""
    x = check_window(x)
    # fix: the notebook's (x == np.max(x)) marks every tied maximum; scan like torch instead.
    best_value = -np.inf
    best_index = 0
    for index, value in enumerate(x.reshape(-1)):
        if value > best_value or np.isnan(value):
            best_value = value
            best_index = index
    mask = np.zeros(x.size, dtype=bool)
    mask[best_index] = True
    return mask.reshape(x.shape)


def distribute_value(dz: Any, shape: tuple[int, int]) -> np.ndarray:
    """Matrix of ``shape`` whose entries are all ``dz / (n_H * n_W)``."""
    dz, n_H, n_W = check_distribute_args(dz, shape)
    average = dz / dz.dtype.type(n_H * n_W)
    a = np.ones((n_H, n_W), dtype=dz.dtype) * average
    return a


def pool_backward(dA: Any, cache: PoolCache, mode: str = "max") -> np.ndarray:
    """Pooling backward with nested loops; returns ``dA_prev`` of the shape of ``A_prev``."""
    dA, A_prev, f, mode, geometry = check_pool_backward_args(dA, cache, mode)
    stride = geometry.stride[0]
    m, n_H, n_W, n_C = dA.shape
    dtype = v.result_dtype(dA, A_prev)
    dA_prev = np.zeros(A_prev.shape, dtype=dtype)
    for i in range(m):
        a_prev = A_prev[i]
        for h in range(n_H):
            vert_start = h * stride
            vert_end = vert_start + f
            for w in range(n_W):
                horiz_start = w * stride
                horiz_end = horiz_start + f
                for c in range(n_C):
                    if mode == "max":
                        a_prev_slice = a_prev[vert_start:vert_end, horiz_start:horiz_end, c]
                        mask = create_mask_from_window(a_prev_slice)
                        # fix: the mask routes dA[i, h, w, c], not the input slice.
                        # (np.where, not mask * dA: 0 * inf would put NaN off the maximum)
                        dA_prev[i, vert_start:vert_end, horiz_start:horiz_end, c] += np.where(
                            mask, dA[i, h, w, c], 0
                        )
                    else:
                        # fix: distribute the upstream gradient dA[i, h, w, c]; the notebook
                        # summed the input window, with h and w swapped.
                        da = dA[i, h, w, c]
                        dA_prev[i, vert_start:vert_end, horiz_start:horiz_end, c] += (
                            distribute_value(da, (f, f))
                        )
    return dA_prev
