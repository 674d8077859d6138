"""Zoo entry: BUG - the weight gradient ignores groups: grad_weight is (C_out, C_in, kh, kw), every
output channel against every input channel.

Otherwise as correct_loops.py, a correct torch-like functional API, sliding windows (a loop over
the kernel offsets).

All eight functions. Every op is written as a Python loop over the kh * kw kernel offsets; each
offset reads (or writes) one strided slice of the padded input, with the whole batch, all
channels and all output positions at once. NCHW throughout, like torch.nn.functional.
"""
import numbers

import numpy as np

# --------------------------------------------------------------------------- argument checking


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _pair(value, name, minimum):
    """An int or a tuple/list of one or two ints -> (int, int), each >= minimum."""
    if _is_int(value):
        values = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and all(_is_int(v) for v in value):
        if len(value) == 1:
            values = (int(value[0]), int(value[0]))
        elif len(value) == 2:
            values = (int(value[0]), int(value[1]))
        else:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    else:
        raise TypeError(f"{name} must be an int or a tuple of ints, got {value!r}")
    if min(values) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return values


def _int(value, name, minimum):
    if not _is_int(value):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def _bool(value, name):
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return value


def _array(value, name):
    """A float32/float64 ndarray (ints and bools become float64)."""
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be an array, got {value!r}")
    array = np.asarray(value)
    if array.dtype.kind in "biu":
        return array.astype(np.float64)
    if array.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {array.dtype}")
    return array


def _batched(x, name):
    """(N, C, H, W) as is, (C, H, W) with a batch axis added; and whether it was unbatched."""
    if x.ndim not in (3, 4):
        raise ValueError(f"{name} must be 3-D (C, H, W) or 4-D (N, C, H, W), got shape {x.shape}")
    unbatched = x.ndim == 3
    if unbatched:
        x = x[None]
    if min(x.shape[1:]) < 1:
        raise ValueError(f"{name} must have at least one channel, row and column, got {x.shape}")
    return x, unbatched


def _check_weight(w):
    if w.ndim != 4:
        raise ValueError(f"weight must be 4-D, got shape {w.shape}")
    if min(w.shape[2:]) < 1:
        raise ValueError(f"weight must have a kernel of at least 1x1, got shape {w.shape}")


def _check_bias(bias, channels):
    if bias is not None and bias.shape != (channels,):
        raise ValueError(f"bias must have shape ({channels},), got {bias.shape}")


def _check_grad(grad, expected):
    if grad.shape != tuple(expected):
        raise ValueError(f"grad_output must have shape {tuple(expected)}, got {grad.shape}")


def _out_len(size, k, s, lo, hi, d=1, ceil_mode=False):
    """torch's number of windows along one axis (pooling's ceil_mode rule included)."""
    span = size + lo + hi - d * (k - 1) - 1
    if ceil_mode:
        n = -(-span // s) + 1
        # the last window must start inside the input or the left padding
        if (n - 1) * s >= size + lo:
            n -= 1
        return n
    return span // s + 1


# --------------------------------------------------------------------------- the window loops


def _taps(i, d, s, n):
    """Rows (or columns) of the padded input read by kernel offset i of n windows."""
    return slice(i * d, i * d + s * (n - 1) + 1, s)


def _correlate(xp, w, out_hw, stride, dilation, groups):
    """Grouped cross-correlation of a padded (N, C_in, Hp, Wp) input: (N, C_out, oh, ow)."""
    n = xp.shape[0]
    c_out, cig, kh, kw = w.shape
    cog = c_out // groups
    oh, ow = out_hw
    y = np.zeros((n, c_out, oh, ow), dtype=np.result_type(xp, w))
    for g in range(groups):
        xg = xp[:, g * cig:(g + 1) * cig]
        wg = w[g * cog:(g + 1) * cog]
        yg = y[:, g * cog:(g + 1) * cog]
        for i in range(kh):
            rows = _taps(i, dilation[0], stride[0], oh)
            for j in range(kw):
                cols = _taps(j, dilation[1], stride[1], ow)
                yg += np.einsum("nchw,oc->nohw", xg[:, :, rows, cols], wg[:, :, i, j])
    return y


def _scatter(gy, w, padded_hw, stride, dilation, groups):
    """Adjoint of _correlate: every window sends grad * weight back to its taps."""
    n, c_out, oh, ow = gy.shape
    _, cig, kh, kw = w.shape
    cog = c_out // groups
    gxp = np.zeros((n, cig * groups) + tuple(padded_hw), dtype=np.result_type(gy, w))
    for g in range(groups):
        gyg = gy[:, g * cog:(g + 1) * cog]
        wg = w[g * cog:(g + 1) * cog]
        gxg = gxp[:, g * cig:(g + 1) * cig]
        for i in range(kh):
            rows = _taps(i, dilation[0], stride[0], oh)
            for j in range(kw):
                cols = _taps(j, dilation[1], stride[1], ow)
                gxg[:, :, rows, cols] += np.einsum("nohw,oc->nchw", gyg, wg[:, :, i, j])
    return gxp


def _weight_grad(xp, gy, kernel, stride, dilation, groups):
    """d(loss)/d(weight) of _correlate: (C_out, C_in, kh, kw)."""
    n, c_out, oh, ow = gy.shape
    kh, kw = kernel
    gw = np.zeros((c_out, xp.shape[1], kh, kw), dtype=np.result_type(xp, gy))
    for i in range(kh):
        rows = _taps(i, dilation[0], stride[0], oh)
        for j in range(kw):
            cols = _taps(j, dilation[1], stride[1], ow)
            gw[:, :, i, j] = np.einsum("nohw,nchw->oc", gy, xp[:, :, rows, cols])
    return gw


# --------------------------------------------------------------------------- conv2d


def _conv2d_args(input, weight, bias, stride, padding, dilation, groups):
    x = _array(input, "input")
    w = _array(weight, "weight")
    b = None if bias is None else _array(bias, "bias")
    x, unbatched = _batched(x, "input")
    _check_weight(w)
    groups = _int(groups, "groups", 1)
    c_out, cig, kh, kw = w.shape
    if c_out % groups != 0:
        raise ValueError(f"weight's {c_out} output channels are not divisible by groups={groups}")
    if x.shape[1] != cig * groups:
        raise ValueError(
            f"input has {x.shape[1]} channels, weight {w.shape} with groups={groups} "
            f"expects {cig * groups}"
        )
    _check_bias(b, c_out)
    stride = _pair(stride, "stride", 1)
    dilation = _pair(dilation, "dilation", 1)
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0, 0, 0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError("padding='same' is not supported with stride > 1")
            total_h, total_w = dilation[0] * (kh - 1), dilation[1] * (kw - 1)
            # torch puts the odd row/column at the bottom/right
            pads = (total_h // 2, total_h - total_h // 2, total_w // 2, total_w - total_w // 2)
        else:
            raise ValueError(f"padding must be 'valid', 'same' or ints, got {padding!r}")
    else:
        ph, pw = _pair(padding, "padding", 0)
        pads = (ph, ph, pw, pw)
    h, wd = x.shape[2:]
    if (
        dilation[0] * (kh - 1) + 1 > h + pads[0] + pads[1]
        or dilation[1] * (kw - 1) + 1 > wd + pads[2] + pads[3]
    ):
        raise ValueError(f"kernel {kh}x{kw} (dilation {dilation}) is larger than the padded input")
    out_hw = (
        _out_len(h, kh, stride[0], pads[0], pads[1], dilation[0]),
        _out_len(wd, kw, stride[1], pads[2], pads[3], dilation[1]),
    )
    dtype = np.result_type(x, w, *([] if b is None else [b]))
    x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
    out_shape = (x.shape[0], c_out) + out_hw
    return x, w, b, stride, pads, dilation, groups, out_hw, unbatched, out_shape


def _pad(x, pads, value=0.0, size=None):
    """x (N, C, H, W) inside a buffer with `pads` (top, bottom, left, right) of `value`."""
    top, bottom, left, right = pads
    n, c, h, w = x.shape
    ph, pw = size if size is not None else (h + top + bottom, w + left + right)
    xp = np.full((n, c, ph, pw), value, dtype=x.dtype)
    xp[:, :, top:top + h, left:left + w] = x
    return xp


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """torch.nn.functional.conv2d: (N, C_in, H, W) or (C_in, H, W) input."""
    x, w, b, stride, pads, dilation, groups, out_hw, unbatched, _ = _conv2d_args(
        input, weight, bias, stride, padding, dilation, groups
    )
    y = _correlate(_pad(x, pads), w, out_hw, stride, dilation, groups)
    if b is not None:
        y += b.astype(y.dtype)[None, :, None, None]
    return y[0] if unbatched else y


def conv2d_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1):
    """(grad_input, grad_weight, grad_bias) of conv2d; grad_bias is None without a bias."""
    grad = _array(grad_output, "grad_output")
    x, w, b, stride, pads, dilation, groups, out_hw, unbatched, out_shape = _conv2d_args(
        input, weight, bias, stride, padding, dilation, groups
    )
    _check_grad(grad, out_shape[1:] if unbatched else out_shape)
    gy = grad.astype(x.dtype, copy=False)
    if unbatched:
        gy = gy[None]
    xp = _pad(x, pads)
    gxp = _scatter(gy, w, xp.shape[2:], stride, dilation, groups)
    top, _, left, _ = pads
    gx = gxp[:, :, top:top + x.shape[2], left:left + x.shape[3]]
    gw = _weight_grad(xp, gy, w.shape[2:], stride, dilation, groups)
    gx = np.ascontiguousarray(gx)
    gb = None if b is None else gy.sum(axis=(0, 2, 3))
    return (gx[0] if unbatched else gx), gw, gb


# --------------------------------------------------------------------------- conv_transpose2d


def _conv_transpose2d_args(input, weight, bias, stride, padding, output_padding, groups,
                           dilation):
    x = _array(input, "input")
    w = _array(weight, "weight")
    b = None if bias is None else _array(bias, "bias")
    x, unbatched = _batched(x, "input")
    _check_weight(w)
    groups = _int(groups, "groups", 1)
    c_in, cog, kh, kw = w.shape
    if cog < 1:
        raise ValueError(f"weight must have at least one output channel, got shape {w.shape}")
    if c_in % groups != 0:
        raise ValueError(f"weight's {c_in} input channels are not divisible by groups={groups}")
    if x.shape[1] != c_in:
        raise ValueError(f"input has {x.shape[1]} channels, weight {w.shape} expects {c_in}")
    c_out = cog * groups
    _check_bias(b, c_out)
    if isinstance(padding, str):
        raise TypeError("conv_transpose2d takes no padding strings")
    stride = _pair(stride, "stride", 1)
    padding = _pair(padding, "padding", 0)
    output_padding = _pair(output_padding, "output_padding", 0)
    dilation = _pair(dilation, "dilation", 1)
    for op, s, d in zip(output_padding, stride, dilation, strict=True):
        if op >= s and op >= d:
            raise ValueError(
                f"output_padding must be smaller than either stride or dilation, got "
                f"output_padding={output_padding}, stride={stride}, dilation={dilation}"
            )
    h, wd = x.shape[2:]
    out_hw = tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + op + 1
        for n, s, p, d, k, op in zip(
            (h, wd), stride, padding, dilation, (kh, kw), output_padding, strict=True
        )
    )
    if min(out_hw) < 1:
        raise ValueError(f"the output would be {out_hw[0]}x{out_hw[1]}: too small")
    dtype = np.result_type(x, w, *([] if b is None else [b]))
    x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
    out_shape = (x.shape[0], c_out) + out_hw
    return x, w, b, stride, padding, dilation, groups, out_hw, unbatched, out_shape


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """torch.nn.functional.conv_transpose2d: the adjoint of conv2d w.r.t. its input."""
    x, w, b, stride, padding, dilation, groups, out_hw, unbatched, _ = _conv_transpose2d_args(
        input, weight, bias, stride, padding, output_padding, groups, dilation
    )
    ph, pw = padding
    yp = _scatter(x, w, (out_hw[0] + 2 * ph, out_hw[1] + 2 * pw), stride, dilation, groups)
    y = np.ascontiguousarray(yp[:, :, ph:ph + out_hw[0], pw:pw + out_hw[1]])
    if b is not None:
        y += b.astype(y.dtype)[None, :, None, None]
    return y[0] if unbatched else y


def conv_transpose2d_backward(grad_output, input, weight, bias=None, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1):
    """(grad_input, grad_weight, grad_bias) of conv_transpose2d."""
    grad = _array(grad_output, "grad_output")
    x, w, b, stride, padding, dilation, groups, out_hw, unbatched, out_shape = (
        _conv_transpose2d_args(input, weight, bias, stride, padding, output_padding, groups,
                               dilation)
    )
    _check_grad(grad, out_shape[1:] if unbatched else out_shape)
    gy = grad.astype(x.dtype, copy=False)
    if unbatched:
        gy = gy[None]
    ph, pw = padding
    gyp = _pad(gy, (ph, ph, pw, pw))
    gx = _correlate(gyp, w, x.shape[2:], stride, dilation, groups)
    gw = _weight_grad(gyp, x, w.shape[2:], stride, dilation, groups)
    gb = None if b is None else gy.sum(axis=(0, 2, 3))
    return (gx[0] if unbatched else gx), gw, gb


# --------------------------------------------------------------------------- pooling


def _pool_args(input, kernel_size, stride, padding, dilation, ceil_mode):
    x = _array(input, "input")
    x, unbatched = _batched(x, "input")
    kernel = _pair(kernel_size, "kernel_size", 1)
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        stride = kernel
    else:
        stride = _pair(stride, "stride", 1)
    padding = _pair(padding, "padding", 0)
    dilation = _pair(dilation, "dilation", 1)
    ceil_mode = _bool(ceil_mode, "ceil_mode")
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"padding {padding} must be at most half of kernel_size {kernel}")
    out_hw = tuple(
        _out_len(n, k, s, p, p, d, ceil_mode)
        for n, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation, strict=True)
    )
    if min(out_hw) < 1:
        raise ValueError(f"kernel_size {kernel} does not fit the input: output {out_hw}")
    # buffer large enough for every window (a ceil-mode window may overhang the padding)
    size = tuple(
        max(n + 2 * p, (o - 1) * s + d * (k - 1) + 1)
        for n, o, k, s, p, d in zip(
            x.shape[2:], out_hw, kernel, stride, padding, dilation, strict=True
        )
    )
    out_shape = x.shape[:2] + out_hw
    return x, kernel, stride, padding, dilation, out_hw, size, unbatched, out_shape


def _first_tap(n_out, s, p, d):
    """Padded coordinate of torch's starting tap: the first one not in the top/left padding."""
    start = np.arange(n_out) * s - p
    skip = np.maximum(-(start // d), 0)  # ceil(-start / d) taps before the input starts
    return start + skip * d + p


def _max_pool(x, kernel, stride, padding, dilation, out_hw, size):
    """Maxima and their (row, column) in the PADDED buffer: first maximum in scan order, or the
    last NaN (torch); a window whose input values are all -inf keeps torch's starting tap."""
    ph, pw = padding
    xp = _pad(x, (ph, ph, pw, pw), -np.inf, size)
    oh, ow = out_hw
    best = np.full(x.shape[:2] + out_hw, -np.inf, dtype=x.dtype)
    row0 = _first_tap(oh, stride[0], ph, dilation[0])
    col0 = _first_tap(ow, stride[1], pw, dilation[1])
    arg_r = np.broadcast_to(row0[:, None], best.shape).copy()
    arg_c = np.broadcast_to(col0[None, :], best.shape).copy()
    for i in range(kernel[0]):
        rows = _taps(i, dilation[0], stride[0], oh)
        r = np.arange(oh)[:, None] * stride[0] + i * dilation[0]
        for j in range(kernel[1]):
            cols = _taps(j, dilation[1], stride[1], ow)
            c = np.arange(ow)[None, :] * stride[1] + j * dilation[1]
            v = xp[:, :, rows, cols]
            take = (v > best) | np.isnan(v)
            best = np.where(take, v, best)
            arg_r = np.where(take, r, arg_r)
            arg_c = np.where(take, c, arg_c)
    return best, arg_r, arg_c


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """torch.nn.functional.max_pool2d (padding acts as -inf)."""
    x, kernel, stride, padding, dilation, out_hw, size, unbatched, _ = _pool_args(
        input, kernel_size, stride, padding, dilation, ceil_mode
    )
    y, arg_r, arg_c = _max_pool(x, kernel, stride, padding, dilation, out_hw, size)
    if unbatched:
        y, arg_r, arg_c = y[0], arg_r[0], arg_c[0]
    if return_indices:
        # torch's indices: flat h * W + w in the unpadded input plane
        indices = ((arg_r - padding[0]) * x.shape[3] + (arg_c - padding[1])).astype(np.int64)
        return y, indices
    return y


def max_pool2d_backward(grad_output, input, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    """grad_input of max_pool2d: each window's gradient goes to its maximum."""
    grad = _array(grad_output, "grad_output")
    x, kernel, stride, padding, dilation, out_hw, size, unbatched, out_shape = _pool_args(
        input, kernel_size, stride, padding, dilation, ceil_mode
    )
    _check_grad(grad, out_shape[1:] if unbatched else out_shape)
    gy = grad.astype(x.dtype, copy=False).reshape(out_shape)
    _, arg_r, arg_c = _max_pool(x, kernel, stride, padding, dilation, out_hw, size)
    n, c, h, w = x.shape
    nn = np.arange(n)[:, None, None, None]
    cc = np.arange(c)[None, :, None, None]
    gxp = np.zeros((n, c) + size, dtype=x.dtype)
    np.add.at(gxp, (nn, cc, arg_r, arg_c), gy)
    # a window with no input value sent its gradient into the padding: dropped here
    ph, pw = padding
    gx = np.ascontiguousarray(gxp[:, :, ph:ph + h, pw:pw + w])
    return gx[0] if unbatched else gx


def _avg_args(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    x, kernel, stride, padding, _, out_hw, size, unbatched, out_shape = _pool_args(
        input, kernel_size, stride, padding, 1, ceil_mode
    )
    count_include_pad = _bool(count_include_pad, "count_include_pad")
    if divisor_override is not None:
        if not _is_int(divisor_override):
            raise TypeError(f"divisor_override must be an int, got {divisor_override!r}")
        if divisor_override == 0:
            raise ValueError("divisor_override must not be zero")
        divisor_override = int(divisor_override)
    return (x, kernel, stride, padding, out_hw, size, unbatched, out_shape, count_include_pad,
            divisor_override)


def _avg_divisor(x_hw, kernel, stride, padding, out_hw, count_include_pad,
                 divisor_override=None):
    """torch's divisor of every window, an int or an (oh, ow) array."""
    if divisor_override is not None:
        return divisor_override
    extents = []
    for n, k, s, p, o in zip(x_hw, kernel, stride, padding, out_hw, strict=True):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)  # a ceil-mode window is clipped at the padding
        if count_include_pad:
            extents.append(end - start)
        else:
            extents.append(np.minimum(end, n) - np.maximum(start, 0))
    return extents[0][:, None] * extents[1][None, :]


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """torch.nn.functional.avg_pool2d."""
    x, kernel, stride, padding, out_hw, size, unbatched, _, cip, override = _avg_args(
        input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )
    ph, pw = padding
    xp = _pad(x, (ph, ph, pw, pw), 0.0, size)
    total = np.zeros(x.shape[:2] + out_hw, dtype=x.dtype)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            total += xp[:, :, _taps(i, 1, stride[0], out_hw[0]), _taps(j, 1, stride[1], out_hw[1])]
    divisor = _avg_divisor(x.shape[2:], kernel, stride, padding, out_hw, cip, override)
    y = total / np.asarray(divisor, dtype=x.dtype)
    return y[0] if unbatched else y


def avg_pool2d_backward(grad_output, input, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None):
    """grad_input of avg_pool2d: each window's gradient / divisor to each of its cells."""
    grad = _array(grad_output, "grad_output")
    x, kernel, stride, padding, out_hw, size, unbatched, out_shape, cip, override = _avg_args(
        input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )
    _check_grad(grad, out_shape[1:] if unbatched else out_shape)
    gy = grad.astype(x.dtype, copy=False).reshape(out_shape)
    divisor = _avg_divisor(x.shape[2:], kernel, stride, padding, out_hw, cip, override)
    share = gy / np.asarray(divisor, dtype=x.dtype)
    gxp = np.zeros(x.shape[:2] + size, dtype=x.dtype)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            gxp[:, :, _taps(i, 1, stride[0], out_hw[0]), _taps(j, 1, stride[1], out_hw[1])] += share
    ph, pw = padding
    gx = np.ascontiguousarray(gxp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]])
    return gx[0] if unbatched else gx
