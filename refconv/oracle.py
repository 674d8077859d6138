"""The torch reference: the seed API computed by ``torch.nn.functional`` and torch autograd.

torch is imported lazily (it is the oracle, never a dependency of the primitives). Arrays cross
over as NHWC -> NCHW ``.contiguous()`` tensors, because torch's slow conv backward refuses
non-contiguous weight gradients, and come back as NHWC float64 NumPy arrays (computed in the
input's dtype, float64 unless every input is float32).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np


def require_torch() -> ModuleType:
    """Import torch, or explain which extra installs it."""
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised only without torch
        raise ImportError(
            "refconv's oracle needs PyTorch: pip install 'refconv[check]' "
            "(or pip install torch; a CPU build is enough)"
        ) from exc
    return torch


def _nchw(array: np.ndarray, grad: bool = False) -> Any:
    torch = require_torch()
    tensor = torch.from_numpy(np.ascontiguousarray(np.moveaxis(array, 3, 1)))
    return tensor.requires_grad_(grad)


def _nhwc(tensor: Any) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(tensor.detach().numpy(), 1, 3))


def _weight(W: np.ndarray, grad: bool = False) -> Any:
    """(f, f, C_in, C_out) -> torch's (C_out, C_in, f, f)."""
    torch = require_torch()
    return torch.from_numpy(np.ascontiguousarray(W.transpose(3, 2, 0, 1))).requires_grad_(grad)


def conv_forward(
    A_prev: np.ndarray, W: np.ndarray, b: np.ndarray, stride: int, pad: int
) -> np.ndarray:
    """``Z`` of the seed's conv_forward, via ``torch.nn.functional.conv2d``."""
    torch = require_torch()
    with torch.no_grad():
        Z = torch.nn.functional.conv2d(
            _nchw(A_prev),
            _weight(W),
            torch.from_numpy(b.reshape(-1).copy()),
            stride=stride,
            padding=pad,
        )
    return _nhwc(Z)


def conv_backward(
    dZ: np.ndarray, A_prev: np.ndarray, W: np.ndarray, b: np.ndarray, stride: int, pad: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dA_prev, dW, db)`` of the seed's conv_backward, via torch autograd."""
    torch = require_torch()
    x, w = _nchw(A_prev, True), _weight(W, True)
    bias = torch.from_numpy(b.reshape(-1).copy()).requires_grad_(True)
    Z = torch.nn.functional.conv2d(x, w, bias, stride=stride, padding=pad)
    Z.backward(_nchw(dZ.astype(A_prev.dtype, copy=False)))
    dW = np.ascontiguousarray(w.grad.numpy().transpose(2, 3, 1, 0))
    return _nhwc(x.grad), dW, bias.grad.numpy().reshape(1, 1, 1, -1)


def _pool(mode: str) -> Any:
    torch = require_torch()
    if mode == "max":
        return torch.nn.functional.max_pool2d
    if mode == "average":
        return torch.nn.functional.avg_pool2d
    raise ValueError(f"mode must be 'max' or 'average', got {mode!r}")


def pool_forward(A_prev: np.ndarray, f: int, stride: int, mode: str) -> np.ndarray:
    """``A`` of the seed's pool_forward, via ``max_pool2d``/``avg_pool2d``."""
    torch = require_torch()
    with torch.no_grad():
        return _nhwc(_pool(mode)(_nchw(A_prev), kernel_size=f, stride=stride))


def pool_backward(dA: np.ndarray, A_prev: np.ndarray, f: int, stride: int, mode: str) -> np.ndarray:
    """``dA_prev`` of the seed's pool_backward, via torch autograd."""
    x = _nchw(A_prev, True)
    _pool(mode)(x, kernel_size=f, stride=stride).backward(
        _nchw(dA.astype(A_prev.dtype, copy=False))
    )
    return _nhwc(x.grad)
