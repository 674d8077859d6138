"""Zoo entry (CS231n): correct, no Python loops over positions - sliding_window_view + einsum
for the convolution (dx scattered back one kernel offset at a time), as_strided windows for
max pooling, whose backward scatters to the np.argmax (first maximum) with np.add.at."""
import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view


def conv_forward_naive(x, w, b, conv_param):
    """Convolution forward; returns (out, (x, w, b, conv_param))."""
    F, C, HH, WW = w.shape
    stride, pad = conv_param["stride"], conv_param["pad"]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    # (N, C, H_out, W_out, HH, WW)
    windows = sliding_window_view(x_pad, (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]
    out = np.einsum("nchwij,fcij->nfhw", windows, w) + b[None, :, None, None]
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    """Convolution backward; returns (dx, dw, db)."""
    x, w, b, conv_param = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    stride, pad = conv_param["stride"], conv_param["pad"]
    H_out, W_out = dout.shape[2:]

    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(x_pad, (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]
    dw = np.einsum("nchwij,nfhw->fcij", windows, dout)
    db = dout.sum(axis=(0, 2, 3))

    dx_pad = np.zeros_like(x_pad)
    for i in range(HH):
        for j in range(WW):
            # every output (h, w) touches the input pixel (h * stride + i, w * stride + j)
            dx_pad[:, :, i:i + stride * H_out:stride, j:j + stride * W_out:stride] += np.einsum(
                "nfhw,fc->nchw", dout, w[:, :, i, j])
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db


def _pool_windows(x, ph, pw, stride):
    N, C, H, W = x.shape
    H_out = 1 + (H - ph) // stride
    W_out = 1 + (W - pw) // stride
    sN, sC, sH, sW = x.strides
    return as_strided(x, shape=(N, C, H_out, W_out, ph, pw),
                      strides=(sN, sC, sH * stride, sW * stride, sH, sW), writeable=False)


def max_pool_forward_naive(x, pool_param):
    """Max pooling forward; returns (out, (x, pool_param))."""
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    out = _pool_windows(x, ph, pw, stride).max(axis=(4, 5))
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    """Max pooling backward; returns dx."""
    x, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    windows = _pool_windows(x, ph, pw, stride)
    N, C, H_out, W_out = windows.shape[:4]

    flat_idx = windows.reshape(N, C, H_out, W_out, ph * pw).argmax(axis=-1)
    di, dj = np.divmod(flat_idx, pw)
    n, c, h, w = np.indices((N, C, H_out, W_out))
    dx = np.zeros_like(x)
    np.add.at(dx, (n, c, h * stride + di, w * stride + dj), dout)
    return dx
