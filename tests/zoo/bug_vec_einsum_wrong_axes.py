"""Zoo entry: vectorised conv_forward contracts the window's (i, j) with W's (j, i): the kernel is transposed spatially."""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _as_float(x):
    """float32/float64 stay as they are; everything else (ints, bools) becomes float64."""
    x = np.asarray(x)
    if x.dtype in (np.float32, np.float64):
        return x
    if x.dtype.kind in "biuf":
        return x.astype(np.float64)
    raise TypeError("unsupported dtype %s" % x.dtype)


def _out_size(n, f, stride):
    if stride < 1:
        raise ValueError("stride must be >= 1")
    if f > n:
        raise ValueError("window of size %d does not fit in %d" % (f, n))
    return (n - f) // stride + 1


def _windows(X, f, stride):
    """(m, H, W, C) -> read-only view (m, n_H, n_W, C, f, f) of the f x f windows."""
    n_H = _out_size(X.shape[1], f, stride)
    n_W = _out_size(X.shape[2], f, stride)
    v = sliding_window_view(X, (f, f), axis=(1, 2))
    return v[:, ::stride, ::stride][:, :n_H, :n_W]


def _scatter_indices(n_H, n_W, f, stride):
    """Row/column indices (n_H, n_W, f, f) of every window element in the input."""
    rows = (np.arange(n_H) * stride)[:, None] + np.arange(f)[None, :]   # (n_H, f)
    cols = (np.arange(n_W) * stride)[:, None] + np.arange(f)[None, :]   # (n_W, f)
    R = np.broadcast_to(rows[:, None, :, None], (n_H, n_W, f, f))
    Cc = np.broadcast_to(cols[None, :, None, :], (n_H, n_W, f, f))
    return R, Cc


def zero_pad(X, pad):
    if pad < 0:
        raise ValueError("pad must be >= 0")
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))


def conv_single_step(a_slice_prev, W, b):
    a = _as_float(a_slice_prev)
    dt = np.result_type(a, _as_float(W), _as_float(b))
    s = np.einsum("ijk,ijk->", a, W, dtype=dt)
    return dt.type(s + np.asarray(b, dtype=dt).reshape(()))


def conv_forward(A_prev, W, b, hparameters):
    stride, pad = hparameters["stride"], hparameters["pad"]
    A = _as_float(A_prev)
    dt = np.result_type(A, _as_float(W), _as_float(b))
    f, f2, n_C_prev, n_C = W.shape
    if f != f2 or n_C_prev != A.shape[3]:
        raise ValueError("W shape %s does not match A_prev %s" % (W.shape, A.shape))
    if pad < 0:
        raise ValueError("pad must be >= 0")
    win = _windows(zero_pad(A, pad), f, stride)                  # (m, n_H, n_W, C_prev, f, f)
    Z = np.einsum("mhwcij,jicd->mhwd", win, W.astype(dt, copy=False), dtype=dt)
    Z = Z + b.astype(dt, copy=False).reshape(1, 1, 1, n_C)
    return Z.astype(dt, copy=False), (A_prev, W, b, hparameters)


def conv_backward(dZ, cache):
    A_prev, W, b, hparameters = cache
    stride, pad = hparameters["stride"], hparameters["pad"]
    A = _as_float(A_prev)
    dt = np.result_type(A, _as_float(W), _as_float(dZ))
    dZ = dZ.astype(dt, copy=False)
    m, n_H_prev, n_W_prev, n_C_prev = A.shape
    f = W.shape[0]
    _, n_H, n_W, n_C = dZ.shape

    A_pad = zero_pad(A, pad)
    win = _windows(A_pad, f, stride)[:, :n_H, :n_W]
    dW = np.einsum("mhwcij,mhwd->ijcd", win, dZ, dtype=dt)
    db = dZ.sum(axis=(0, 1, 2), dtype=dt).reshape(1, 1, 1, n_C)

    # every output position scatters W * dZ back onto its window (windows may overlap)
    contrib = np.einsum("mhwd,ijcd->mhwijc", dZ, W.astype(dt, copy=False), dtype=dt)
    R, Cc = _scatter_indices(n_H, n_W, f, stride)
    dA_pad = np.zeros(A_pad.shape, dtype=dt)
    np.add.at(dA_pad, (slice(None), R, Cc), contrib)
    dA_prev = dA_pad[:, pad:pad + n_H_prev, pad:pad + n_W_prev, :]
    return np.ascontiguousarray(dA_prev), dW.astype(dt, copy=False), db.astype(dt, copy=False)


def pool_forward(A_prev, hparameters, mode="max"):
    if mode not in ("max", "average"):
        raise ValueError("unknown pooling mode %r" % (mode,))
    A = _as_float(A_prev)
    win = _windows(A, hparameters["f"], hparameters["stride"])   # (m, n_H, n_W, C, f, f)
    if mode == "max":
        out = win.max(axis=(4, 5))
    else:
        out = win.mean(axis=(4, 5), dtype=A.dtype)
    return out.astype(A.dtype, copy=False), (A_prev, hparameters)


def create_mask_from_window(x):
    x = np.asarray(x)
    flat = x.ravel()
    isnan = np.isnan(flat) if flat.dtype.kind in "fc" else np.zeros(flat.shape, dtype=bool)
    if isnan.any():
        idx = flat.size - 1 - np.argmax(isnan[::-1])   # last NaN, like torch CPU
    else:
        idx = np.argmax(flat)                           # first maximum
    mask = np.zeros(x.shape, dtype=bool)
    mask.flat[idx] = True
    return mask


def distribute_value(dz, shape):
    n_H, n_W = shape
    dt = np.asarray(dz).dtype
    if dt not in (np.float32, np.float64):
        dt = np.dtype(np.float64)
    return np.full((n_H, n_W), np.asarray(dz, dtype=dt) / dt.type(n_H * n_W), dtype=dt)


def pool_backward(dA, cache, mode="max"):
    A_prev, hparameters = cache
    if mode not in ("max", "average"):
        raise ValueError("unknown pooling mode %r" % (mode,))
    f, stride = hparameters["f"], hparameters["stride"]
    A = _as_float(A_prev)
    dt = A.dtype
    dA = np.asarray(dA).astype(dt, copy=False)
    m, n_H, n_W, C = dA.shape
    R, Cc = _scatter_indices(n_H, n_W, f, stride)                # (n_H, n_W, f, f)
    dA_prev = np.zeros(A.shape, dtype=dt)
    if mode == "average":
        contrib = np.broadcast_to((dA / dt.type(f * f))[:, :, :, None, None, :], (m, n_H, n_W, f, f, C))
        np.add.at(dA_prev, (slice(None), R, Cc), contrib)
        return dA_prev

    win = _windows(A, f, stride)[:, :n_H, :n_W].reshape(m, n_H, n_W, C, f * f)
    isnan = np.isnan(win)
    first_max = np.argmax(win, axis=-1)
    last_nan = f * f - 1 - np.argmax(isnan[..., ::-1], axis=-1)
    k = np.where(isnan.any(axis=-1), last_nan, first_max)      # (m, n_H, n_W, C)
    hh = np.arange(n_H)[None, :, None, None] * stride + k // f
    ww = np.arange(n_W)[None, None, :, None] * stride + k % f
    ii = np.arange(m)[:, None, None, None]
    cc = np.arange(C)[None, None, None, :]
    ii, hh, ww, cc = np.broadcast_arrays(ii, hh, ww, cc)
    np.add.at(dA_prev, (ii, hh, ww, cc), dA)
    return dA_prev
