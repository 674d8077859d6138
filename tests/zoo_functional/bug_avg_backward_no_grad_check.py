"""Zoo entry: BUG - avg_pool2d_backward does not check grad_output's shape: a broadcastable one,
e.g. (N, C, 1, 1), is silently accepted.

Otherwise as correct_strided.py, a correct torch-like functional API, sliding_window_view + einsum.

conv2d, max_pool2d, avg_pool2d and their backward adapters (no transposed convolution). The
windows are a read-only strided view of the padded input; the convolution is one einsum over
(group, channel, tap). The input gradient of the convolution is the textbook identity: a full
correlation of the stride-dilated grad_output with the flipped kernel. Pooling gradients are
scattered with np.add.at.
"""
import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# --------------------------------------------------------------------------- validation


def _integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _hw(value, name, lowest):
    """(height, width) from torch's int-or-pair arguments."""
    items = list(value) if isinstance(value, (tuple, list)) else [value]
    if not all(_integer(v) for v in items):
        raise TypeError(f"{name} must be an int or a tuple of ints, not {value!r}")
    if len(items) == 1:
        items = items * 2
    if len(items) != 2:
        raise ValueError(f"{name} must have one or two elements, got {value!r}")
    if min(items) < lowest:
        raise ValueError(f"{name} must be at least {lowest}, got {value!r}")
    return int(items[0]), int(items[1])


def _real(value, name):
    a = np.asarray(value)
    if a.dtype.kind in "biu":
        a = a.astype(np.float64)
    if a.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} has unsupported dtype {a.dtype}")
    return a


def _nchw(value, name="input"):
    x = _real(value, name)
    if x.ndim == 3:
        x4, unbatched = x[None], True
    elif x.ndim == 4:
        x4, unbatched = x, False
    else:
        raise ValueError(f"{name} must be (N, C, H, W) or (C, H, W), got shape {x.shape}")
    if min(x4.shape[1:]) == 0:
        raise ValueError(f"{name} has an empty channel or spatial dimension: {x.shape}")
    return x4, unbatched


def _grad(grad_output, expected_shape, unbatched, dtype):
    g = _real(grad_output, "grad_output")
    want = expected_shape[1:] if unbatched else expected_shape
    if g.shape != tuple(want):
        raise ValueError(f"grad_output has shape {g.shape}, the forward output has {tuple(want)}")
    return g.reshape(expected_shape).astype(dtype, copy=False)


def _windows(xp, kernel, stride, dilation, out_hw):
    """Read-only view (N, C, oh, ow, kh, kw) of the windows of a padded input."""
    extent = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True))
    v = sliding_window_view(xp, extent, axis=(2, 3))
    v = v[:, :, ::stride[0], ::stride[1], ::dilation[0], ::dilation[1]]
    return v[:, :, :out_hw[0], :out_hw[1]]


# --------------------------------------------------------------------------- conv2d


def _conv_setup(input, weight, bias, stride, padding, dilation, groups):
    x, unbatched = _nchw(input)
    w = _real(weight, "weight")
    b = None if bias is None else _real(bias, "bias")
    if not _integer(groups):
        raise TypeError(f"groups must be an int, not {groups!r}")
    if groups <= 0:
        raise ValueError(f"groups must be positive, got {groups}")
    if w.ndim != 4:
        raise ValueError(f"weight must be (C_out, C_in/groups, kH, kW), got shape {w.shape}")
    c_out, cig, kh, kw = w.shape
    if kh == 0 or kw == 0:
        raise ValueError(f"weight has an empty kernel: {w.shape}")
    if c_out % groups != 0:
        raise ValueError(f"C_out = {c_out} is not divisible by groups = {groups}")
    if x.shape[1] != groups * cig:
        raise ValueError(f"input has {x.shape[1]} channels, expected {groups * cig}")
    if b is not None and b.shape != (c_out,):
        raise ValueError(f"bias must have shape ({c_out},), got {b.shape}")
    stride = _hw(stride, "stride", 1)
    dilation = _hw(dilation, "dilation", 1)
    extent = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(f"padding string must be 'valid' or 'same', got {padding!r}")
        if padding == "same" and stride != (1, 1):
            raise ValueError("padding='same' is only supported with stride 1")
        total = (0, 0) if padding == "valid" else (extent[0] - 1, extent[1] - 1)
        # the odd row/column of padding goes at the bottom/right, as in torch
        pads = tuple((t // 2, t - t // 2) for t in total)
    else:
        ph, pw = _hw(padding, "padding", 0)
        pads = ((ph, ph), (pw, pw))
    padded = (x.shape[2] + sum(pads[0]), x.shape[3] + sum(pads[1]))
    if extent[0] > padded[0] or extent[1] > padded[1]:
        raise ValueError(f"kernel extent {extent} exceeds the padded input size {padded}")
    out_hw = ((padded[0] - extent[0]) // stride[0] + 1, (padded[1] - extent[1]) // stride[1] + 1)
    dtype = np.result_type(x, w) if b is None else np.result_type(x, w, b)
    x = x.astype(dtype, copy=False)
    w = w.astype(dtype, copy=False)
    xp = np.pad(x, ((0, 0), (0, 0)) + pads)
    return x, xp, w, b, stride, pads, dilation, groups, out_hw, unbatched


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """torch.nn.functional.conv2d."""
    x, xp, w, b, stride, _, dilation, groups, out_hw, unbatched = _conv_setup(
        input, weight, bias, stride, padding, dilation, groups
    )
    n = x.shape[0]
    c_out, cig, kh, kw = w.shape
    win = _windows(xp, (kh, kw), stride, dilation, out_hw)
    win = win.reshape(n, groups, cig, *out_hw, kh, kw)
    wg = w.reshape(groups, c_out // groups, cig, kh, kw)
    y = np.einsum("ngchwij,gocij->ngohw", win, wg, optimize=True)
    y = y.reshape(n, c_out, *out_hw)
    if b is not None:
        y = y + b.astype(y.dtype)[:, None, None]
    return y[0] if unbatched else y


def conv2d_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1):
    """(grad_input, grad_weight, grad_bias) of conv2d; grad_bias is None without a bias."""
    x, xp, w, b, stride, pads, dilation, groups, out_hw, unbatched = _conv_setup(
        input, weight, bias, stride, padding, dilation, groups
    )
    n = x.shape[0]
    c_out, cig, kh, kw = w.shape
    cog = c_out // groups
    gy = _grad(grad_output, (n, c_out) + out_hw, unbatched, x.dtype)
    gyg = gy.reshape(n, groups, cog, *out_hw)

    # grad_weight: each tap's input values against grad_output
    win = _windows(xp, (kh, kw), stride, dilation, out_hw).reshape(
        n, groups, cig, *out_hw, kh, kw
    )
    grad_weight = np.einsum("ngohw,ngchwij->gocij", gyg, win, optimize=True)
    grad_weight = grad_weight.reshape(w.shape)

    # grad_input: full correlation of the stride-dilated grad_output with the flipped kernel
    hp, wp = xp.shape[2:]
    eh, ew = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    z = np.zeros((n, c_out, hp + eh - 1, wp + ew - 1), dtype=gy.dtype)
    z[:, :, eh - 1:eh - 1 + stride[0] * (out_hw[0] - 1) + 1:stride[0],
      ew - 1:ew - 1 + stride[1] * (out_hw[1] - 1) + 1:stride[1]] = gy
    zwin = _windows(z, (kh, kw), (1, 1), dilation, (hp, wp)).reshape(
        n, groups, cog, hp, wp, kh, kw
    )
    flipped = w[:, :, ::-1, ::-1].reshape(groups, cog, cig, kh, kw)
    grad_xp = np.einsum("ngohwij,gocij->ngchw", zwin, flipped, optimize=True)
    grad_xp = grad_xp.reshape(n, groups * cig, hp, wp)
    (top, _), (left, _) = pads
    grad_input = np.ascontiguousarray(
        grad_xp[:, :, top:top + x.shape[2], left:left + x.shape[3]]
    )
    grad_bias = None if b is None else gy.sum(axis=(0, 2, 3))
    return (grad_input[0] if unbatched else grad_input), grad_weight, grad_bias


# --------------------------------------------------------------------------- pooling


def _n_windows(size, k, s, p, d, ceil_mode):
    """torch's output length of a pooling axis."""
    last_start = size + 2 * p - d * (k - 1) - 1
    if ceil_mode:
        n = -(-last_start // s) + 1
        if (n - 1) * s >= size + p:  # must start inside the input or the left padding
            n -= 1
        return n
    return last_start // s + 1


def _pool_setup(input, kernel_size, stride, padding, dilation, ceil_mode):
    x, unbatched = _nchw(input)
    kernel = _hw(kernel_size, "kernel_size", 1)
    no_stride = stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
    stride = kernel if no_stride else _hw(stride, "stride", 1)
    padding = _hw(padding, "padding", 0)
    dilation = _hw(dilation, "dilation", 1)
    if type(ceil_mode) is not bool:
        raise TypeError(f"ceil_mode must be a bool, not {ceil_mode!r}")
    for p, k in zip(padding, kernel, strict=True):
        if p > k // 2:
            raise ValueError(f"padding {padding} should be at most half of kernel {kernel}")
    out_hw = tuple(
        _n_windows(size, k, s, p, d, ceil_mode)
        for size, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation, strict=True)
    )
    if out_hw[0] < 1 or out_hw[1] < 1:
        raise ValueError(f"the output would be {out_hw[0]}x{out_hw[1]}: kernel too large")
    # room for every window, including a ceil-mode one that overhangs the padded input
    extra = tuple(
        max(0, (o - 1) * s + d * (k - 1) + 1 - (size + 2 * p))
        for size, o, k, s, p, d in zip(
            x.shape[2:], out_hw, kernel, stride, padding, dilation, strict=True
        )
    )
    pads = ((padding[0], padding[0] + extra[0]), (padding[1], padding[1] + extra[1]))
    return x, kernel, stride, padding, dilation, out_hw, pads, unbatched


def _scatter_grid(out_hw, kernel, stride, dilation):
    """Padded rows and columns, broadcastable to (oh, ow, kh, kw), of every window tap."""
    r = np.arange(out_hw[0])[:, None] * stride[0] + np.arange(kernel[0])[None, :] * dilation[0]
    c = np.arange(out_hw[1])[:, None] * stride[1] + np.arange(kernel[1])[None, :] * dilation[1]
    return r[:, None, :, None], c[None, :, None, :]


def _max_select(x, kernel, stride, padding, dilation, out_hw, pads):
    """Maxima (N, C, oh, ow) and the flat input index h * W + w of each (torch's choice)."""
    xp = np.pad(x, ((0, 0), (0, 0)) + pads, constant_values=-np.inf)
    kh, kw = kernel
    win = _windows(xp, kernel, stride, dilation, out_hw).reshape(*x.shape[:2], *out_hw, kh * kw)
    nan = np.isnan(win)
    tap = np.where(nan.any(axis=-1), kh * kw - 1 - np.argmax(nan[..., ::-1], axis=-1),
                   np.argmax(win, axis=-1))
    values = np.take_along_axis(win, tap[..., None], axis=-1)[..., 0]
    h, w = x.shape[2:]
    oh = np.arange(out_hw[0])[:, None]
    ow = np.arange(out_hw[1])[None, :]
    row = oh * stride[0] - padding[0] + (tap // kw) * dilation[0]
    col = ow * stride[1] - padding[1] + (tap % kw) * dilation[1]
    # all input values of the window are -inf: torch reports the first tap inside the input
    outside = (row < 0) | (row >= h) | (col < 0) | (col >= w)
    start_r = oh * stride[0] - padding[0]
    start_c = ow * stride[1] - padding[1]
    first_r = np.where(start_r < 0, start_r + (-start_r + dilation[0] - 1) // dilation[0]
                       * dilation[0], start_r)
    first_c = np.where(start_c < 0, start_c + (-start_c + dilation[1] - 1) // dilation[1]
                       * dilation[1], start_c)
    row = np.where(outside, first_r, row)
    col = np.where(outside, first_c, col)
    return values, row * w + col


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """torch.nn.functional.max_pool2d."""
    x, kernel, stride, padding, dilation, out_hw, pads, unbatched = _pool_setup(
        input, kernel_size, stride, padding, dilation, ceil_mode
    )
    values, flat = _max_select(x, kernel, stride, padding, dilation, out_hw, pads)
    if unbatched:
        values, flat = values[0], flat[0]
    if return_indices:
        return values, flat.astype(np.int64)
    return values


def max_pool2d_backward(grad_output, input, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    """grad_input of max_pool2d."""
    x, kernel, stride, padding, dilation, out_hw, pads, unbatched = _pool_setup(
        input, kernel_size, stride, padding, dilation, ceil_mode
    )
    n, c, h, w = x.shape
    gy = _grad(grad_output, (n, c) + out_hw, unbatched, x.dtype)
    _, flat = _max_select(x, kernel, stride, padding, dilation, out_hw, pads)
    grad = np.zeros((n, c, h * w), dtype=x.dtype)
    ok = (flat >= 0) & (flat < h * w)
    nn = np.broadcast_to(np.arange(n)[:, None, None, None], flat.shape)
    cc = np.broadcast_to(np.arange(c)[None, :, None, None], flat.shape)
    np.add.at(grad, (nn[ok], cc[ok], flat[ok]), gy[ok])
    grad = grad.reshape(n, c, h, w)
    return grad[0] if unbatched else grad


def _avg_setup(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
               divisor_override):
    setup = _pool_setup(input, kernel_size, stride, padding, 1, ceil_mode)
    if type(count_include_pad) is not bool:
        raise TypeError(f"count_include_pad must be a bool, not {count_include_pad!r}")
    if divisor_override is not None:
        if not _integer(divisor_override):
            raise TypeError(f"divisor_override must be an int, not {divisor_override!r}")
        if divisor_override == 0:
            raise ValueError("divisor_override must be non-zero")
    return setup


def _avg_divisor(size_hw, kernel, stride, padding, out_hw, count_include_pad, divisor_override):
    """torch's divisor (oh, ow): the window clipped at the padded border, padding counted or
    not."""
    if divisor_override is not None:
        return np.full(out_hw, divisor_override)
    counts = []
    for size, k, s, p, o in zip(size_hw, kernel, stride, padding, out_hw, strict=True):
        lo = np.arange(o) * s - p
        hi = np.minimum(lo + k, size + p)
        if not count_include_pad:
            lo, hi = np.maximum(lo, 0), np.minimum(hi, size)
        counts.append(hi - lo)
    return np.outer(counts[0], counts[1])


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """torch.nn.functional.avg_pool2d."""
    x, kernel, stride, padding, _, out_hw, pads, unbatched = _avg_setup(
        input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )
    xp = np.pad(x, ((0, 0), (0, 0)) + pads)
    sums = _windows(xp, kernel, stride, (1, 1), out_hw).sum(axis=(-2, -1))
    divisor = _avg_divisor(x.shape[2:], kernel, stride, padding, out_hw, count_include_pad,
                           divisor_override)
    y = sums / divisor.astype(x.dtype)
    return y[0] if unbatched else y


def avg_pool2d_backward(grad_output, input, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None):
    """grad_input of avg_pool2d."""
    x, kernel, stride, padding, _, out_hw, pads, unbatched = _avg_setup(
        input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )
    n, c, h, w = x.shape
    gy = _real(grad_output, "grad_output").astype(x.dtype, copy=False)
    if unbatched:
        gy = gy[None]
    divisor = _avg_divisor(x.shape[2:], kernel, stride, padding, out_hw, count_include_pad,
                           divisor_override)
    share = gy / divisor.astype(x.dtype)
    rows, cols = _scatter_grid(out_hw, kernel, stride, (1, 1))
    grad_p = np.zeros((n, c, h + sum(pads[0]), w + sum(pads[1])), dtype=x.dtype)
    np.add.at(grad_p, (slice(None), slice(None), rows, cols), share[:, :, :, :, None, None])
    grad = np.ascontiguousarray(grad_p[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w])
    return grad[0] if unbatched else grad
