"""The seed API of the "Convolution model - Step by Step" notebook, correct and vectorised.

Same names, signatures, NHWC layouts, ``hparameters`` dicts and cache tuples as the notebook, so
that code written against the notebook runs unchanged. Semantics are torch's (float64 CPU):
where the notebook's code disagrees with torch (tied maxima, its bugs), torch wins; see README.

All functions accept array-likes, promote bool/int input to float64, keep float32 as float32,
never modify their inputs, and raise ``ValueError``/``TypeError`` naming the offending parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from refconv import _validation as v
from refconv._windows import Geometry
from refconv.conv import conv2d_backward, conv2d_forward
from refconv.pool import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
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

ConvCache = tuple[np.ndarray, np.ndarray, np.ndarray, Mapping[str, Any]]
PoolCache = tuple[np.ndarray, Mapping[str, Any]]

_NHWC = "(m, n_H, n_W, n_C)"


# --- validation of the seed's arguments (shared with refconv.stepwise)


def check_zero_pad_args(X: Any, pad: Any) -> tuple[np.ndarray, int]:
    return v.as_float_array(X, "X", 4, _NHWC), v.check_int(pad, "pad", 0)


def check_conv_args(
    A_prev: Any, W: Any, b: Any, hparameters: Any, prefix: str = ""
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int, Geometry]:
    """Validate conv_forward's arguments; ``prefix`` names them inside a cache."""
    A_prev = v.as_float_array(A_prev, f"{prefix}A_prev", 4, "(m, n_H_prev, n_W_prev, n_C_prev)")
    W = v.as_float_array(W, f"{prefix}W", 4, "(f, f, n_C_prev, n_C)")
    b = v.as_float_array(b, f"{prefix}b", 4, "(1, 1, 1, n_C)")
    stride = v.get_hparameter(hparameters, "stride", 1)
    pad = v.get_hparameter(hparameters, "pad", 0)
    f, f2, c_in, c_out = W.shape
    if f != f2:
        raise ValueError(f"{prefix}W must be square (f, f, n_C_prev, n_C), got shape {W.shape}")
    if f < 1 or c_out < 1:
        raise ValueError(f"{prefix}W must have f >= 1 and n_C >= 1, got shape {W.shape}")
    if c_in != A_prev.shape[3]:
        raise ValueError(
            f"{prefix}W has n_C_prev = {c_in} (shape {W.shape}) but {prefix}A_prev has "
            f"{A_prev.shape[3]} channels (shape {A_prev.shape})"
        )
    v.check_shape(b, (1, 1, 1, c_out), f"{prefix}b", f"one bias per filter, n_C = {c_out}")
    _, n_h, n_w, _ = A_prev.shape
    v.check_window_fits(
        f"f (from {prefix}W.shape)",
        f,
        n_h + 2 * pad,
        n_w + 2 * pad,
        f"input (n_H_prev={n_h}, n_W_prev={n_w}) padded by pad={pad}",
    )
    geometry = Geometry(n_h, n_w, (f, f), (stride, stride), (pad, pad, pad, pad))
    return A_prev, W, b, stride, pad, geometry


def check_pool_args(
    A_prev: Any, hparameters: Any, mode: Any, prefix: str = ""
) -> tuple[np.ndarray, int, int, str, Geometry]:
    """Validate pool_forward's arguments; ``prefix`` names them inside a cache."""
    A_prev = v.as_float_array(A_prev, f"{prefix}A_prev", 4, "(m, n_H_prev, n_W_prev, n_C_prev)")
    f = v.get_hparameter(hparameters, "f", 1)
    stride = v.get_hparameter(hparameters, "stride", 1)
    mode = v.check_mode(mode)
    _, n_h, n_w, _ = A_prev.shape
    v.check_window_fits("hparameters['f']", f, n_h, n_w, "input (n_H_prev x n_W_prev)")
    geometry = Geometry(n_h, n_w, (f, f), (stride, stride), (0, 0, 0, 0))
    return A_prev, f, stride, mode, geometry


def check_conv_backward_args(
    dZ: Any, cache: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Geometry]:
    A_prev, W, b, hparameters = v.check_cache(cache, 4, "(A_prev, W, b, hparameters)")
    A_prev, W, _, _, _, geometry = check_conv_args(A_prev, W, b, hparameters, prefix="cache: ")
    dZ = v.as_float_array(dZ, "dZ", 4, "(m, n_H, n_W, n_C)")
    v.check_shape(
        dZ,
        (A_prev.shape[0], *geometry.out_shape, W.shape[3]),
        "dZ",
        "the shape of conv_forward's output Z",
    )
    return dZ, A_prev, W, geometry


def check_pool_backward_args(
    dA: Any, cache: Any, mode: Any
) -> tuple[np.ndarray, np.ndarray, int, str, Geometry]:
    A_prev, hparameters = v.check_cache(cache, 2, "(A_prev, hparameters)")
    A_prev, f, _, mode, geometry = check_pool_args(A_prev, hparameters, mode, prefix="cache: ")
    dA = v.as_float_array(dA, "dA", 4, "(m, n_H, n_W, n_C)")
    v.check_shape(
        dA,
        (A_prev.shape[0], *geometry.out_shape, A_prev.shape[3]),
        "dA",
        "the shape of pool_forward's output A",
    )
    return dA, A_prev, f, mode, geometry


def check_window(x: Any) -> np.ndarray:
    x = v.as_float_array(x, "x")
    if x.size == 0:
        raise ValueError(f"x must be a non-empty window, got shape {x.shape}")
    return x


def check_distribute_args(dz: Any, shape: Any) -> tuple[np.ndarray, int, int]:
    dz = v.as_float_array(dz, "dz")
    if dz.size != 1:
        raise ValueError(f"dz must be a scalar, got an array of shape {dz.shape}")
    if not isinstance(shape, (tuple, list)) or len(shape) != 2:
        raise ValueError(f"shape must be a pair (n_H, n_W), got {shape!r}")
    n_h = v.check_int(shape[0], "shape[0] (n_H)", 1)
    n_w = v.check_int(shape[1], "shape[1] (n_W)", 1)
    return dz.reshape(()), n_h, n_w


# --- the eight functions


def zero_pad(X: Any, pad: int) -> np.ndarray:
    """Pad the height and width of a batch of images with zeros.

    Parameters
    ----------
    X : array_like, shape (m, n_H, n_W, n_C)
    pad : int >= 0
        Rows/columns of zeros added on each side.

    Returns
    -------
    X_pad : ndarray, shape (m, n_H + 2*pad, n_W + 2*pad, n_C), dtype of X (ints -> float64)
    """
    X, pad = check_zero_pad_args(X, pad)
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="constant")


def conv_single_step(a_slice_prev: Any, W: Any, b: Any) -> np.floating:
    """Apply one filter to one window: ``sum(a_slice_prev * W) + b``.

    Parameters
    ----------
    a_slice_prev : array_like, shape (f, f, n_C_prev)
    W : array_like, same shape as ``a_slice_prev``
    b : array_like with exactly one element, shape (1, 1, 1) in the seed

    Returns
    -------
    Z : NumPy scalar (float32 if all inputs are float32, else float64)
    """
    a = v.as_float_array(a_slice_prev, "a_slice_prev")
    W = v.as_float_array(W, "W")
    b = v.as_float_array(b, "b")
    if a.shape != W.shape:
        raise ValueError(f"W must have the shape of a_slice_prev {a.shape}, got {W.shape}")
    if b.size != 1:
        raise ValueError(f"b must hold exactly one bias (shape (1, 1, 1)), got shape {b.shape}")
    dtype = v.result_dtype(a, W, b)
    # b.reshape(()) instead of the seed's float(b): float() of a (1, 1, 1) array is an error on
    # NumPy >= 2.4, and float() would also silently upcast float32 results.
    return dtype.type(np.sum(np.multiply(a, W, dtype=dtype)) + b.reshape(()).astype(dtype))


def conv_forward(
    A_prev: Any, W: Any, b: Any, hparameters: Mapping[str, int]
) -> tuple[np.ndarray, ConvCache]:
    """Forward pass of a convolution layer (cross-correlation, as torch's conv2d).

    Parameters
    ----------
    A_prev : array_like, shape (m, n_H_prev, n_W_prev, n_C_prev)
    W : array_like, shape (f, f, n_C_prev, n_C)
    b : array_like, shape (1, 1, 1, n_C)
    hparameters : dict with int keys ``"stride"`` (>= 1) and ``"pad"`` (>= 0)

    Returns
    -------
    Z : ndarray, shape (m, n_H, n_W, n_C) with
        ``n_H = (n_H_prev + 2*pad - f) // stride + 1`` (likewise n_W)
    cache : tuple ``(A_prev, W, b, hparameters)`` for :func:`conv_backward`
    """
    A_prev, W, b, _, _, geometry = check_conv_args(A_prev, W, b, hparameters)
    Z = conv2d_forward(A_prev, W, b.reshape(-1), geometry)
    return Z, (A_prev, W, b, hparameters)


def conv_backward(dZ: Any, cache: ConvCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of a convolution layer.

    Parameters
    ----------
    dZ : array_like, shape (m, n_H, n_W, n_C)
        Gradient of the cost with respect to ``Z``.
    cache : the tuple returned by :func:`conv_forward`

    Returns
    -------
    dA_prev : ndarray, shape (m, n_H_prev, n_W_prev, n_C_prev)
    dW : ndarray, shape (f, f, n_C_prev, n_C)
    db : ndarray, shape (1, 1, 1, n_C)
    """
    dZ, A_prev, W, geometry = check_conv_backward_args(dZ, cache)
    dA_prev, dW, db = conv2d_backward(dZ, A_prev, W, geometry)
    return dA_prev, dW, db.reshape(1, 1, 1, -1)


def pool_forward(
    A_prev: Any, hparameters: Mapping[str, int], mode: str = "max"
) -> tuple[np.ndarray, PoolCache]:
    """Forward pass of a pooling layer (no padding).

    Parameters
    ----------
    A_prev : array_like, shape (m, n_H_prev, n_W_prev, n_C)
    hparameters : dict with int keys ``"f"`` (window size) and ``"stride"``, both >= 1
    mode : ``"max"`` or ``"average"``

    Returns
    -------
    A : ndarray, shape (m, n_H, n_W, n_C), ``n_H = (n_H_prev - f) // stride + 1``
    cache : tuple ``(A_prev, hparameters)`` for :func:`pool_backward`
    """
    A_prev, f, _, mode, geometry = check_pool_args(A_prev, hparameters, mode)
    if mode == "max":
        A = max_pool2d_forward(A_prev, geometry)
    else:
        A = avg_pool2d_forward(A_prev, geometry, f * f)
    return A, (A_prev, hparameters)


def create_mask_from_window(x: Any) -> np.ndarray:
    """Boolean mask with a single True at the maximum of ``x`` (torch's rule).

    Ties go to the first maximum in row-major order; a NaN is the maximum, and among several NaNs
    the last one wins (torch CPU's scan replaces on ``value > max or isnan(value)``). The
    notebook's ``x == np.max(x)`` marks every tied maximum instead, which multiplies the gradient.

    Parameters
    ----------
    x : array_like, non-empty, shape (f, f) in the seed

    Returns
    -------
    mask : ndarray of bool, shape of ``x``, exactly one True
    """
    x = check_window(x)
    flat = x.reshape(-1)
    nan_positions = np.flatnonzero(np.isnan(flat))
    position = nan_positions[-1] if nan_positions.size else int(np.argmax(flat))
    mask = np.zeros(flat.shape, dtype=bool)
    mask[position] = True
    return mask.reshape(x.shape)


def distribute_value(dz: Any, shape: tuple[int, int]) -> np.ndarray:
    """Spread ``dz`` evenly over a ``shape`` matrix (gradient of an average).

    Parameters
    ----------
    dz : scalar
    shape : pair ``(n_H, n_W)`` of positive ints

    Returns
    -------
    a : ndarray, shape ``shape``, every entry ``dz / (n_H * n_W)``; float32 if ``dz`` is
    """
    dz, n_h, n_w = check_distribute_args(dz, shape)
    return np.full((n_h, n_w), dz / dz.dtype.type(n_h * n_w), dtype=dz.dtype)


def pool_backward(dA: Any, cache: PoolCache, mode: str = "max") -> np.ndarray:
    """Backward pass of a pooling layer.

    Parameters
    ----------
    dA : array_like, shape (m, n_H, n_W, n_C)
        Gradient of the cost with respect to the pooling output ``A``.
    cache : the tuple returned by :func:`pool_forward`
    mode : the mode used in the forward pass, ``"max"`` or ``"average"``

    Returns
    -------
    dA_prev : ndarray, shape of ``A_prev``. Max: each window's ``dA`` goes to its first maximum
    (torch's rule); average: ``dA / f**2`` to every cell of the window. Overlapping windows add up.
    """
    dA, A_prev, f, mode, geometry = check_pool_backward_args(dA, cache, mode)
    dtype = v.result_dtype(dA, A_prev)
    dA = dA.astype(dtype, copy=False)
    if mode == "max":
        return max_pool2d_backward(dA, A_prev.astype(dtype, copy=False), geometry)
    return avg_pool2d_backward(dA, A_prev.shape, geometry, f * f)
