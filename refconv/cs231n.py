"""CS231n's naive conv and max-pool layers, vectorised: a thin face over refconv's core.

The same names, arguments, layouts and caches as CS231n assignment 2's ``layers.py`` skeleton
(NCHW input ``x``, weights ``w`` of shape ``(F, C, HH, WW)``, bias ``b`` of shape ``(F,)``)::

    from refconv import cs231n

    out, cache = cs231n.conv_forward_naive(x, w, b, {"stride": 2, "pad": 1})
    dx, dw, db = cs231n.conv_backward_naive(dout, cache)
    out, cache = cs231n.max_pool_forward_naive(x, {"pool_height": 2, "pool_width": 3, "stride": 2})
    dx = cs231n.max_pool_backward_naive(dout, cache)

The caches are the skeleton's: ``(x, w, b, conv_param)`` and ``(x, pool_param)``. Output sizes
follow torch's floor rule, ``H' = 1 + (H + 2 * pad - HH) // stride`` (the skeleton's formula when
the stride divides exactly, the only case the assignment uses). Max-pool ties follow torch: the
gradient of a window goes to its first maximum in row-major order. These functions call
:mod:`refconv.functional` (validation included) and are what ``refconv check --api cs231n``
judges when no target is given.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from refconv import functional as F

__all__ = [
    "conv_forward_naive",
    "conv_backward_naive",
    "max_pool_forward_naive",
    "max_pool_backward_naive",
]


def _param(params: Any, key: str, what: str) -> int:
    """``params[key]`` as a Python int; TypeError/ValueError naming the parameter otherwise."""
    if not isinstance(params, dict):
        raise TypeError(f"{what} must be a dict, got {type(params).__name__}")
    if key not in params:
        raise ValueError(f"{what} has no {key!r} entry: {params!r}")
    value = params[key]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what}[{key!r}] must be an int, got {value!r}")
    return int(value)


def conv_forward_naive(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, conv_param: dict[str, int]
) -> tuple[np.ndarray, tuple[Any, ...]]:
    """Convolution layer forward pass.

    Parameters
    ----------
    x : (N, C, H, W) input
    w : (F, C, HH, WW) filters
    b : (F,) biases
    conv_param : ``{"stride": int >= 1, "pad": int >= 0}``; zero padding on both sides

    Returns
    -------
    out : (N, F, H', W') with ``H' = 1 + (H + 2 * pad - HH) // stride``, likewise W'
    cache : ``(x, w, b, conv_param)``
    """
    stride = _param(conv_param, "stride", "conv_param")
    pad = _param(conv_param, "pad", "conv_param")
    x, w, b = np.asarray(x), np.asarray(w), np.asarray(b)
    if b.ndim != 1:
        raise ValueError(f"b must have shape (F,), got {b.shape}")
    out = F.conv2d(x, w, b, stride=stride, padding=pad)
    return out, (x, w, b, conv_param)


def conv_backward_naive(
    dout: np.ndarray, cache: tuple[Any, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convolution layer backward pass.

    Parameters
    ----------
    dout : (N, F, H', W') upstream gradient
    cache : ``(x, w, b, conv_param)`` as returned by :func:`conv_forward_naive`

    Returns
    -------
    dx, dw, db : gradients of the shapes of x, w and b
    """
    x, w, b, conv_param = cache
    stride = _param(conv_param, "stride", "conv_param")
    pad = _param(conv_param, "pad", "conv_param")
    dx, dw, db = F.conv2d_backward(dout, x, w, b, stride=stride, padding=pad)
    return dx, dw, db


def _pool_params(pool_param: Any) -> tuple[tuple[int, int], int]:
    kernel = (
        _param(pool_param, "pool_height", "pool_param"),
        _param(pool_param, "pool_width", "pool_param"),
    )
    return kernel, _param(pool_param, "stride", "pool_param")


def max_pool_forward_naive(
    x: np.ndarray, pool_param: dict[str, int]
) -> tuple[np.ndarray, tuple[Any, ...]]:
    """Max-pooling forward pass (no padding).

    Parameters
    ----------
    x : (N, C, H, W) input
    pool_param : ``{"pool_height": int, "pool_width": int, "stride": int}``

    Returns
    -------
    out : (N, C, H', W') with ``H' = 1 + (H - pool_height) // stride``, likewise W'
    cache : ``(x, pool_param)``
    """
    kernel, stride = _pool_params(pool_param)
    x = np.asarray(x)
    return F.max_pool2d(x, kernel, stride=stride), (x, pool_param)


def max_pool_backward_naive(dout: np.ndarray, cache: tuple[Any, ...]) -> np.ndarray:
    """Max-pooling backward pass: each window's gradient to its first maximum (row-major).

    Parameters
    ----------
    dout : (N, C, H', W') upstream gradient
    cache : ``(x, pool_param)`` as returned by :func:`max_pool_forward_naive`

    Returns
    -------
    dx : (N, C, H, W)
    """
    x, pool_param = cache
    kernel, stride = _pool_params(pool_param)
    return F.max_pool2d_backward(dout, x, kernel, stride=stride)
