"""Zoo entry: correct loop implementation that preserves float32 (float64 accumulation, result cast back)."""
import numpy as np


def _float_dtype(*arrays):
    """float32 only when every floating input is float32; ints/bools -> float64."""
    kinds = [np.asarray(a).dtype for a in arrays]
    if kinds and all(k == np.float32 for k in kinds if k.kind == "f") and any(k == np.float32 for k in kinds):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def zero_pad(X, pad):
    if pad < 0:
        raise ValueError("pad must be >= 0")
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="constant", constant_values=0)


def _dot(a, W, b):
    """sum(a * W) + b accumulated in float64 (a float64 product of two float32 values is exact)."""
    return np.sum(np.multiply(a, W, dtype=np.float64), dtype=np.float64) + np.float64(np.asarray(b).item())


def conv_single_step(a_slice_prev, W, b):
    dt = _float_dtype(a_slice_prev, W, b)
    return dt.type(_dot(a_slice_prev, W, b))


def conv_forward(A_prev, W, b, hparameters):
    (m, n_H_prev, n_W_prev, n_C_prev) = A_prev.shape
    (f, f, n_C_prev_w, n_C) = W.shape
    stride = hparameters["stride"]
    pad = hparameters["pad"]
    if n_C_prev_w != n_C_prev:
        raise ValueError("W has %d input channels, A_prev has %d" % (n_C_prev_w, n_C_prev))
    if stride < 1 or pad < 0:
        raise ValueError("stride must be >= 1 and pad >= 0")
    if f > n_H_prev + 2 * pad or f > n_W_prev + 2 * pad:
        raise ValueError("kernel size %d is larger than the padded input" % f)

    dt = _float_dtype(A_prev, W, b)
    n_H = (n_H_prev - f + 2 * pad) // stride + 1
    n_W = (n_W_prev - f + 2 * pad) // stride + 1
    Z = np.zeros((m, n_H, n_W, n_C), dtype=np.float64)
    A_prev_pad = zero_pad(A_prev, pad)

    for i in range(m):
        a_prev_pad = A_prev_pad[i]
        for h in range(n_H):
            vert_start = h * stride
            for w in range(n_W):
                horiz_start = w * stride
                a_slice_prev = a_prev_pad[vert_start:vert_start + f, horiz_start:horiz_start + f, :]
                for c in range(n_C):
                    Z[i, h, w, c] = _dot(a_slice_prev, W[:, :, :, c], b[:, :, :, c])

    cache = (A_prev, W, b, hparameters)
    return Z.astype(dt), cache


def pool_forward(A_prev, hparameters, mode="max"):
    (m, n_H_prev, n_W_prev, n_C) = A_prev.shape
    f = hparameters["f"]
    stride = hparameters["stride"]
    if mode not in ("max", "average"):
        raise ValueError("mode must be 'max' or 'average', got %r" % (mode,))
    if stride < 1:
        raise ValueError("stride must be >= 1")
    if f > n_H_prev or f > n_W_prev:
        raise ValueError("pool size %d is larger than the input" % f)

    dt = _float_dtype(A_prev)
    n_H = (n_H_prev - f) // stride + 1
    n_W = (n_W_prev - f) // stride + 1
    A = np.zeros((m, n_H, n_W, n_C), dtype=np.float64)

    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    vert_start = h * stride
                    horiz_start = w * stride
                    a_prev_slice = A_prev[i, vert_start:vert_start + f, horiz_start:horiz_start + f, c]
                    if mode == "max":
                        A[i, h, w, c] = np.max(a_prev_slice)
                    else:
                        A[i, h, w, c] = np.mean(a_prev_slice, dtype=np.float64)

    cache = (A_prev, hparameters)
    return A.astype(dt), cache


def conv_backward(dZ, cache):
    (A_prev, W, b, hparameters) = cache
    (m, n_H_prev, n_W_prev, n_C_prev) = A_prev.shape
    (f, f, n_C_prev, n_C) = W.shape
    stride = hparameters["stride"]
    pad = hparameters["pad"]
    (m, n_H, n_W, n_C) = dZ.shape
    dt = _float_dtype(A_prev, W, dZ)

    dA_prev = np.zeros((m, n_H_prev, n_W_prev, n_C_prev), dtype=np.float64)
    dW = np.zeros((f, f, n_C_prev, n_C), dtype=np.float64)
    db = np.zeros((1, 1, 1, n_C), dtype=np.float64)
    A_prev_pad = zero_pad(A_prev.astype(np.float64), pad)
    dA_prev_pad = zero_pad(dA_prev, pad)
    W64 = W.astype(np.float64)

    for i in range(m):
        a_prev_pad = A_prev_pad[i]
        da_prev_pad = dA_prev_pad[i]
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    vert_start = h * stride
                    horiz_start = w * stride
                    window = (slice(vert_start, vert_start + f), slice(horiz_start, horiz_start + f))
                    g = np.float64(dZ[i, h, w, c])
                    da_prev_pad[window] += W64[:, :, :, c] * g
                    dW[:, :, :, c] += a_prev_pad[window] * g
                    db[0, 0, 0, c] += g
        dA_prev[i] = da_prev_pad[pad:pad + n_H_prev, pad:pad + n_W_prev, :]

    return dA_prev.astype(dt), dW.astype(dt), db.astype(dt)


def create_mask_from_window(x):
    x = np.asarray(x)
    flat = x.ravel()
    if flat.dtype.kind == "f" and np.isnan(flat).any():
        idx = np.flatnonzero(np.isnan(flat))[-1]      # torch CPU: the last NaN wins
    else:
        idx = np.argmax(flat)                         # first maximum in row-major order
    mask = np.zeros(x.shape, dtype=bool)
    mask.flat[idx] = True
    return mask


def distribute_value(dz, shape):
    (n_H, n_W) = shape
    dt = np.float32 if np.asarray(dz).dtype == np.float32 else np.float64
    average = np.float64(dz) / (n_H * n_W)
    return np.full((n_H, n_W), average, dtype=dt)


def pool_backward(dA, cache, mode="max"):
    (A_prev, hparameters) = cache
    stride = hparameters["stride"]
    f = hparameters["f"]
    if mode not in ("max", "average"):
        raise ValueError("mode must be 'max' or 'average', got %r" % (mode,))
    m, n_H, n_W, n_C = dA.shape
    dt = _float_dtype(A_prev)
    dA_prev = np.zeros(A_prev.shape, dtype=np.float64)

    for i in range(m):
        a_prev = A_prev[i]
        for h in range(n_H):
            for w in range(n_W):
                for c in range(n_C):
                    vert_start = h * stride
                    horiz_start = w * stride
                    window = (i, slice(vert_start, vert_start + f), slice(horiz_start, horiz_start + f), c)
                    if mode == "max":
                        mask = create_mask_from_window(a_prev[window[1:3] + (c,)])
                        dA_prev[window] += mask * np.float64(dA[i, h, w, c])
                    else:
                        dA_prev[window] += distribute_value(np.float64(dA[i, h, w, c]), (f, f))

    return dA_prev.astype(dt)
