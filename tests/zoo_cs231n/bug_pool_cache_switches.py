"""Zoo entry (CS231n): BUG in max_pool_backward_naive - it unpacks (x, pool_param, switches),
the argmax positions that only this file's forward stores in its cache; with the documented
cache (x, pool_param) it raises ValueError. Right with its own forward's cache."""
import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    """Forward pass for a convolutional layer; returns (out, (x, w, b, conv_param))."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    stride, pad = conv_param["stride"], conv_param["pad"]
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride

    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            for f in range(F):
                out[:, f, i, j] = np.sum(window * w[f], axis=(1, 2, 3)) + b[f]
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    """Backward pass for a convolutional layer; returns (dx, dw, db)."""
    x, w, b, conv_param = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    stride, pad = conv_param["stride"], conv_param["pad"]
    H_out, W_out = dout.shape[2], dout.shape[3]

    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad = np.zeros(x_pad.shape)
    dw = np.zeros(w.shape)
    db = np.sum(dout, axis=(0, 2, 3))
    for i in range(H_out):
        for j in range(W_out):
            hs, ws = i * stride, j * stride
            window = x_pad[:, :, hs:hs + HH, ws:ws + WW]             # (N, C, HH, WW)
            d = dout[:, :, i, j]                                      # (N, F)
            dw += np.tensordot(d, window, axes=([0], [0]))            # (F, C, HH, WW)
            dx_pad[:, :, hs:hs + HH, ws:ws + WW] += np.tensordot(d, w, axes=([1], [0]))
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    """Forward pass for a max-pooling layer; returns (out, (x, pool_param))."""
    N, C, H, W = x.shape
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    H_out = 1 + (H - ph) // stride
    W_out = 1 + (W - pw) // stride

    out = np.zeros((N, C, H_out, W_out))
    switches = np.zeros((N, C, H_out, W_out), dtype=int)
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]
            out[:, :, i, j] = np.max(window, axis=(2, 3))
            switches[:, :, i, j] = np.argmax(window.reshape(N, C, -1), axis=2)
    cache = (x, pool_param, switches)
    return out, cache


def max_pool_backward_naive(dout, cache):
    """Backward pass for a max-pooling layer; returns dx."""
    x, pool_param, switches = cache
    N, C, H, W = x.shape
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    H_out, W_out = dout.shape[2], dout.shape[3]

    dx = np.zeros(x.shape)
    for i in range(H_out):
        for j in range(W_out):
            hs, ws = i * stride, j * stride
            idx = switches[:, :, i, j]                        # saved by the forward pass
            mask = np.zeros((N, C, ph * pw))
            np.put_along_axis(mask, idx[:, :, None], 1.0, axis=2)
            dx[:, :, hs:hs + ph, ws:ws + pw] += (mask * dout[:, :, i, j][:, :, None]).reshape(
                N, C, ph, pw)
    return dx
