"""Zoo entry (CS231n): BUG in conv_forward_naive - `b.shape = (F, 1)` reshapes the CALLER's
bias in place to broadcast it over the columns; out is right, but the input is mutated."""
import numpy as np


def get_im2col_indices(x_shape, field_height, field_width, padding, stride):
    """Index arrays (k, i, j) such that x_padded[:, k, i, j] are the receptive fields."""
    N, C, H, W = x_shape
    out_height = (H + 2 * padding - field_height) // stride + 1
    out_width = (W + 2 * padding - field_width) // stride + 1

    i0 = np.tile(np.repeat(np.arange(field_height), field_width), C)
    i1 = stride * np.repeat(np.arange(out_height), out_width)
    j0 = np.tile(np.arange(field_width), field_height * C)
    j1 = stride * np.tile(np.arange(out_width), out_height)
    i = i0.reshape(-1, 1) + i1.reshape(1, -1)
    j = j0.reshape(-1, 1) + j1.reshape(1, -1)
    k = np.repeat(np.arange(C), field_height * field_width).reshape(-1, 1)
    return k, i, j


def im2col(x, field_height, field_width, padding, stride):
    """(N, C, H, W) -> (C * fh * fw, out_h * out_w * N) columns."""
    p = padding
    x_padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode="constant")
    k, i, j = get_im2col_indices(x.shape, field_height, field_width, p, stride)
    cols = x_padded[:, k, i, j]
    C = x.shape[1]
    return cols.transpose(1, 2, 0).reshape(field_height * field_width * C, -1)


def col2im(cols, x_shape, field_height, field_width, padding, stride):
    """Adjoint of im2col: sum the columns back into an (N, C, H, W) array."""
    N, C, H, W = x_shape
    p = padding
    x_padded = np.zeros((N, C, H + 2 * p, W + 2 * p), dtype=cols.dtype)
    k, i, j = get_im2col_indices(x_shape, field_height, field_width, p, stride)
    cols_reshaped = cols.reshape(C * field_height * field_width, -1, N).transpose(2, 0, 1)
    np.add.at(x_padded, (slice(None), k, i, j), cols_reshaped)
    return x_padded[:, :, p:p + H, p:p + W]


def conv_forward_naive(x, w, b, conv_param):
    """Convolution forward with im2col; returns (out, (x, w, b, conv_param))."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    stride, pad = conv_param["stride"], conv_param["pad"]
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1

    x_cols = im2col(x, HH, WW, pad, stride)
    b.shape = (F, 1)  # column vector, broadcasts over the columns
    res = w.reshape(F, -1) @ x_cols + b
    out = res.reshape(F, H_out, W_out, N).transpose(3, 0, 1, 2)
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    """Convolution backward with im2col / col2im; returns (dx, dw, db)."""
    x, w, b, conv_param = cache
    F, _, HH, WW = w.shape
    stride, pad = conv_param["stride"], conv_param["pad"]

    x_cols = im2col(x, HH, WW, pad, stride)
    db = np.sum(dout, axis=(0, 2, 3))
    dout_r = dout.transpose(1, 2, 3, 0).reshape(F, -1)
    dw = (dout_r @ x_cols.T).reshape(w.shape)
    dx_cols = w.reshape(F, -1).T @ dout_r
    dx = col2im(dx_cols, x.shape, HH, WW, pad, stride)
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    """Max pooling via im2col; returns (out, (x, pool_param))."""
    N, C, H, W = x.shape
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    H_out = (H - ph) // stride + 1
    W_out = (W - pw) // stride + 1

    x_cols = im2col(x.reshape(N * C, 1, H, W), ph, pw, 0, stride)
    max_idx = np.argmax(x_cols, axis=0)
    out = x_cols[max_idx, np.arange(x_cols.shape[1])]
    out = out.reshape(H_out, W_out, N, C).transpose(2, 3, 0, 1)
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    """Max pooling backward via col2im; returns dx."""
    x, pool_param = cache
    N, C, H, W = x.shape
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]

    x_cols = im2col(x.reshape(N * C, 1, H, W), ph, pw, 0, stride)
    max_idx = np.argmax(x_cols, axis=0)
    dx_cols = np.zeros_like(x_cols)
    dx_cols[max_idx, np.arange(x_cols.shape[1])] = dout.transpose(2, 3, 0, 1).ravel()
    dx = col2im(dx_cols, (N * C, 1, H, W), ph, pw, 0, stride)
    return dx.reshape(x.shape)
