"""Zoo entry (CS231n): correct, written in the Python-2-compatible style of the old skeleton
(`from builtins import range`, `int((H + 2 * pad - HH) / stride)` - exact because the
geometry divides); the max-pool backward takes the first hit of np.where(window == max),
i.e. the first maximum in row-major order (torch's rule)."""
# ruff: noqa: UP029
from builtins import range

import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    """
    A naive implementation of the forward pass for a convolutional layer.

    The input consists of N data points, each with C channels, height H and
    width W. We convolve each input with F different filters, where each filter
    spans all C channels and has height HH and width WW.

    Returns a tuple of:
    - out: Output data, of shape (N, F, H', W') where H' and W' are given by
      H' = 1 + (H + 2 * pad - HH) / stride
      W' = 1 + (W + 2 * pad - WW) / stride
    - cache: (x, w, b, conv_param)
    """
    out = None
    ###########################################################################
    # TODO: Implement the convolutional forward pass.                         #
    ###########################################################################
    N, C, H, W = x.shape
    F, C, HH, WW = w.shape
    stride = conv_param['stride']
    pad = conv_param['pad']
    H_out = 1 + int((H + 2 * pad - HH) / stride)
    W_out = 1 + int((W + 2 * pad - WW) / stride)
    x_padded = np.pad(x, ((0,), (0,), (pad,), (pad,)), 'constant', constant_values=0)
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for h_out in range(H_out):
                for w_out in range(W_out):
                    h1 = h_out * stride
                    w1 = w_out * stride
                    out[n, f, h_out, w_out] = np.sum(
                        x_padded[n, :, h1:h1 + HH, w1:w1 + WW] * w[f, :, :, :]) + b[f]
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    """
    A naive implementation of the backward pass for a convolutional layer.

    Returns a tuple of:
    - dx: Gradient with respect to x
    - dw: Gradient with respect to w
    - db: Gradient with respect to b
    """
    dx, dw, db = None, None, None
    x, w, b, conv_param = cache
    N, C, H, W = x.shape
    F, C, HH, WW = w.shape
    stride = conv_param['stride']
    pad = conv_param['pad']
    H_out = 1 + int((H + 2 * pad - HH) / stride)
    W_out = 1 + int((W + 2 * pad - WW) / stride)
    x_padded = np.pad(x, ((0,), (0,), (pad,), (pad,)), 'constant', constant_values=0)
    dx_padded = np.zeros_like(x_padded)
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    for n in range(N):
        for f in range(F):
            for h_out in range(H_out):
                for w_out in range(W_out):
                    h1 = h_out * stride
                    w1 = w_out * stride
                    g = dout[n, f, h_out, w_out]
                    db[f] += g
                    dw[f, :, :, :] += x_padded[n, :, h1:h1 + HH, w1:w1 + WW] * g
                    dx_padded[n, :, h1:h1 + HH, w1:w1 + WW] += w[f, :, :, :] * g
    dx = dx_padded[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    """
    A naive implementation of the forward pass for a max-pooling layer.

    Returns a tuple of:
    - out: Output data, of shape (N, C, H', W') where H' and W' are given by
      H' = 1 + (H - pool_height) / stride
      W' = 1 + (W - pool_width) / stride
    - cache: (x, pool_param)
    """
    N, C, H, W = x.shape
    pool_height = pool_param['pool_height']
    pool_width = pool_param['pool_width']
    stride = pool_param['stride']
    H_out = 1 + int((H - pool_height) / stride)
    W_out = 1 + int((W - pool_width) / stride)
    out = np.zeros((N, C, H_out, W_out))
    for n in range(N):
        for c in range(C):
            for h_out in range(H_out):
                for w_out in range(W_out):
                    h1 = h_out * stride
                    w1 = w_out * stride
                    out[n, c, h_out, w_out] = np.max(
                        x[n, c, h1:h1 + pool_height, w1:w1 + pool_width])
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    """
    A naive implementation of the backward pass for a max-pooling layer.

    Returns:
    - dx: Gradient with respect to x
    """
    x, pool_param = cache
    N, C, H, W = x.shape
    pool_height = pool_param['pool_height']
    pool_width = pool_param['pool_width']
    stride = pool_param['stride']
    H_out = 1 + int((H - pool_height) / stride)
    W_out = 1 + int((W - pool_width) / stride)
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for h_out in range(H_out):
                for w_out in range(W_out):
                    h1 = h_out * stride
                    w1 = w_out * stride
                    window = x[n, c, h1:h1 + pool_height, w1:w1 + pool_width]
                    rows, cols = np.where(window == np.max(window))
                    # only the first maximum gets the gradient (ties!)
                    dx[n, c, h1 + rows[0], w1 + cols[0]] += dout[n, c, h_out, w_out]
    return dx
