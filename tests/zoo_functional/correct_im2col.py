"""Zoo entry: correct torch-like functional API, im2col / col2im and matrix products.

All eight functions. Every window of the padded input is gathered into a column (fancy
indexing), a convolution is one batched matmul per group, its gradients are the transposed
products and a col2im scatter (np.add.at); the transposed convolution is col2im of the product.
Pooling reduces the columns. The average-pooling divisor is the pooled count of a mask of ones.
"""
import numbers
from collections import namedtuple

import numpy as np

ConvCall = namedtuple(
    "ConvCall", "x w b stride pads dilation groups out_hw unbatched out_shape"
)
PoolCall = namedtuple(
    "PoolCall", "x kernel stride padding dilation out_hw buffer_hw unbatched out_shape"
)


# --------------------------------------------------------------------------- validation


def _check_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__} {value!r}")


def _two(value, name, minimum):
    """torch's int[2]: an int, or a tuple/list of one or two ints."""
    if isinstance(value, (tuple, list)):
        for item in value:
            _check_int(item, name)
        if len(value) not in (1, 2):
            raise ValueError(f"{name}: expected one or two values, got {len(value)}")
        h, w = value[0], value[-1]
    else:
        _check_int(value, name)
        h = w = value
    if h < minimum or w < minimum:
        raise ValueError(f"{name}: values must be >= {minimum}, got {value!r}")
    return int(h), int(w)


def _to_array(value, name):
    array = np.asarray(value)
    if array.dtype in (np.float32, np.float64):
        return array
    if array.dtype.kind in "biu":
        return array.astype(np.float64)
    raise TypeError(f"{name}: expected a real float32/float64 array, got dtype {array.dtype}")


def _as_batch(x):
    if x.ndim == 4:
        batch, unbatched = x, False
    elif x.ndim == 3:
        batch, unbatched = x[np.newaxis], True
    else:
        raise ValueError(f"input: expected (N, C, H, W) or (C, H, W), got {x.ndim}-D {x.shape}")
    if 0 in batch.shape[1:]:
        raise ValueError(f"input: empty channel or spatial axis in {x.shape}")
    return batch, unbatched


def _check_grad_output(grad_output, call):
    grad = _to_array(grad_output, "grad_output")
    expected = call.out_shape[1:] if call.unbatched else call.out_shape
    if grad.shape != expected:
        raise ValueError(f"grad_output: expected shape {expected}, got {grad.shape}")
    return grad.reshape(call.out_shape).astype(call.x.dtype, copy=False)


def _common_dtype(x, w, b):
    dtype = np.result_type(x, w) if b is None else np.result_type(x, w, b)
    return x.astype(dtype, copy=False), w.astype(dtype, copy=False)


def _parse_conv2d(input, weight, bias, stride, padding, dilation, groups):
    x, unbatched = _as_batch(_to_array(input, "input"))
    w = _to_array(weight, "weight")
    b = None if bias is None else _to_array(bias, "bias")
    _check_int(groups, "groups")
    if groups < 1:
        raise ValueError(f"groups must be positive, got {groups}")
    if w.ndim != 4 or 0 in w.shape[2:]:
        raise ValueError(f"weight: expected (C_out, C_in / groups, kH, kW), got {w.shape}")
    c_out, c_in_per_group, kh, kw = w.shape
    if c_out % groups:
        raise ValueError(f"weight: {c_out} output channels do not split into {groups} groups")
    if c_in_per_group * groups != x.shape[1]:
        raise ValueError(
            f"input: {x.shape[1]} channels, but weight {w.shape} and groups={groups} need "
            f"{c_in_per_group * groups}"
        )
    if b is not None and b.shape != (c_out,):
        raise ValueError(f"bias: expected shape ({c_out},), got {b.shape}")
    stride = _two(stride, "stride", 1)
    dilation = _two(dilation, "dilation", 1)
    extent_h, extent_w = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    if padding == "valid":
        pads = (0, 0, 0, 0)
    elif padding == "same":
        if stride != (1, 1):
            raise ValueError("padding='same' needs stride 1")
        total_h, total_w = extent_h - 1, extent_w - 1  # the odd one at the bottom/right
        pads = (total_h // 2, total_h - total_h // 2, total_w // 2, total_w - total_w // 2)
    elif isinstance(padding, str):
        raise ValueError(f"padding: unknown string {padding!r}")
    else:
        ph, pw = _two(padding, "padding", 0)
        pads = (ph, ph, pw, pw)
    padded_h = x.shape[2] + pads[0] + pads[1]
    padded_w = x.shape[3] + pads[2] + pads[3]
    if extent_h > padded_h or extent_w > padded_w:
        raise ValueError(
            f"the dilated kernel ({extent_h}x{extent_w}) does not fit the padded input "
            f"({padded_h}x{padded_w})"
        )
    out_hw = ((padded_h - extent_h) // stride[0] + 1, (padded_w - extent_w) // stride[1] + 1)
    x, w = _common_dtype(x, w, b)
    out_shape = (x.shape[0], c_out) + out_hw
    return ConvCall(x, w, b, stride, pads, dilation, groups, out_hw, unbatched, out_shape)


def _parse_conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups,
                            dilation):
    x, unbatched = _as_batch(_to_array(input, "input"))
    w = _to_array(weight, "weight")
    b = None if bias is None else _to_array(bias, "bias")
    _check_int(groups, "groups")
    if groups < 1:
        raise ValueError(f"groups must be positive, got {groups}")
    if w.ndim != 4 or 0 in w.shape[1:]:
        raise ValueError(f"weight: expected (C_in, C_out / groups, kH, kW), got {w.shape}")
    c_in, c_out_per_group, kh, kw = w.shape
    if c_in % groups:
        raise ValueError(f"weight: {c_in} input channels do not split into {groups} groups")
    if x.shape[1] != c_in:
        raise ValueError(f"input: {x.shape[1]} channels, weight {w.shape} needs {c_in}")
    c_out = c_out_per_group * groups
    if b is not None and b.shape != (c_out,):
        raise ValueError(f"bias: expected shape ({c_out},), got {b.shape}")
    if isinstance(padding, str):
        raise TypeError("padding: conv_transpose2d takes ints, not strings")
    stride = _two(stride, "stride", 1)
    padding = _two(padding, "padding", 0)
    output_padding = _two(output_padding, "output_padding", 0)
    dilation = _two(dilation, "dilation", 1)
    out_hw = []
    for n, k, s, p, op, d in zip(x.shape[2:], (kh, kw), stride, padding, output_padding,
                                 dilation, strict=True):
        if op >= s and op >= d:
            raise ValueError(
                f"output_padding {output_padding}: must be smaller than the stride {stride} "
                f"or the dilation {dilation}"
            )
        out_hw.append((n - 1) * s - 2 * p + d * (k - 1) + op + 1)
    if min(out_hw) < 1:
        raise ValueError(f"output size {tuple(out_hw)} is too small")
    x, w = _common_dtype(x, w, b)
    out_shape = (x.shape[0], c_out) + tuple(out_hw)
    pads = (padding[0], padding[0], padding[1], padding[1])
    return ConvCall(x, w, b, stride, pads, dilation, groups, tuple(out_hw), unbatched, out_shape)


def _pool_length(n, k, s, p, d, ceil_mode):
    numerator = n + 2 * p - d * (k - 1) - 1
    if not ceil_mode:
        return numerator // s + 1
    length = (numerator + s - 1) // s + 1
    if (length - 1) * s >= n + p:  # that last window would start in the right padding
        length -= 1
    return length


def _parse_pool(input, kernel_size, stride, padding, dilation, ceil_mode):
    x, unbatched = _as_batch(_to_array(input, "input"))
    kernel = _two(kernel_size, "kernel_size", 1)
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        stride = kernel  # torch's default: windows side by side
    else:
        stride = _two(stride, "stride", 1)
    padding = _two(padding, "padding", 0)
    dilation = _two(dilation, "dilation", 1)
    if not isinstance(ceil_mode, bool):
        raise TypeError(f"ceil_mode: expected a bool, got {type(ceil_mode).__name__}")
    if any(p > k // 2 for p, k in zip(padding, kernel, strict=True)):
        raise ValueError(f"padding {padding} is more than half of kernel_size {kernel}")
    out_hw = tuple(
        _pool_length(n, k, s, p, d, ceil_mode)
        for n, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation, strict=True)
    )
    if min(out_hw) < 1:
        raise ValueError(f"output size {out_hw} is too small for kernel_size {kernel}")
    buffer_hw = tuple(
        max(n + 2 * p, (o - 1) * s + (k - 1) * d + 1)
        for n, o, k, s, p, d in zip(
            x.shape[2:], out_hw, kernel, stride, padding, dilation, strict=True
        )
    )
    out_shape = x.shape[:2] + out_hw
    return PoolCall(x, kernel, stride, padding, dilation, out_hw, buffer_hw, unbatched, out_shape)


def _parse_avg(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
               divisor_override):
    call = _parse_pool(input, kernel_size, stride, padding, 1, ceil_mode)
    if not isinstance(count_include_pad, bool):
        raise TypeError(f"count_include_pad: expected a bool, got {type(count_include_pad)}")
    if divisor_override is not None:
        _check_int(divisor_override, "divisor_override")
        if divisor_override == 0:
            raise ValueError("divisor_override must not be zero")
    return call


# --------------------------------------------------------------------------- im2col / col2im


def _grid(out_hw, kernel, stride, dilation):
    """Padded row of every (tap, window) pair, (kh, 1, oh, 1), and column, (1, kw, 1, ow)."""
    rows = np.arange(kernel[0])[:, None] * dilation[0] + np.arange(out_hw[0])[None, :] * stride[0]
    cols = np.arange(kernel[1])[:, None] * dilation[1] + np.arange(out_hw[1])[None, :] * stride[1]
    return rows[:, None, :, None], cols[None, :, None, :]


def _im2col(xp, out_hw, kernel, stride, dilation):
    """(N, C, Hp, Wp) -> (N, C, kh, kw, oh, ow): every tap of every window."""
    rows, cols = _grid(out_hw, kernel, stride, dilation)
    return xp[:, :, rows, cols]


def _col2im(patches, buffer_shape, out_hw, kernel, stride, dilation):
    """Adjoint of _im2col: add (N, C, kh, kw, oh, ow) back onto a (N, C, Hp, Wp) buffer."""
    rows, cols = _grid(out_hw, kernel, stride, dilation)
    out = np.zeros(buffer_shape, dtype=patches.dtype)
    np.add.at(out, (slice(None), slice(None), rows, cols), patches)
    return out


def _pad(x, pads, buffer_hw=None, value=0.0):
    top, bottom, left, right = pads
    n, c, h, w = x.shape
    hp, wp = buffer_hw or (h + top + bottom, w + left + right)
    xp = np.full((n, c, hp, wp), value, dtype=x.dtype)
    xp[:, :, top:top + h, left:left + w] = x
    return xp


def _crop(xp, pads, hw):
    top, _, left, _ = pads
    return np.ascontiguousarray(xp[:, :, top:top + hw[0], left:left + hw[1]])


def _finish(y, unbatched):
    return y[0] if unbatched else y


def _grouped_columns(xp, groups, out_hw, kernel, stride, dilation):
    """im2col matrix of each group: (N, G, C/G * kh * kw, oh * ow)."""
    n, c = xp.shape[:2]
    patches = _im2col(xp, out_hw, kernel, stride, dilation)
    return patches.reshape(n, groups, (c // groups) * kernel[0] * kernel[1],
                           out_hw[0] * out_hw[1])


def _grouped_matrix(w, groups):
    """(O, I, kh, kw) -> (G, O/G, I * kh * kw)."""
    return w.reshape(groups, w.shape[0] // groups, -1)


# --------------------------------------------------------------------------- conv2d


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """torch.nn.functional.conv2d via im2col."""
    c = _parse_conv2d(input, weight, bias, stride, padding, dilation, groups)
    kernel = c.w.shape[2:]
    columns = _grouped_columns(_pad(c.x, c.pads), c.groups, c.out_hw, kernel, c.stride,
                               c.dilation)
    y = (_grouped_matrix(c.w, c.groups) @ columns).reshape(c.out_shape)
    if c.b is not None:
        y = y + c.b.astype(y.dtype).reshape(1, -1, 1, 1)
    return _finish(y, c.unbatched)


def conv2d_backward(grad_output, input, weight, bias=None, stride=1, padding=0, dilation=1,
                    groups=1):
    """Gradients of conv2d: (grad_input, grad_weight, grad_bias or None)."""
    grad = _to_array(grad_output, "grad_output")
    c = _parse_conv2d(input, weight, bias, stride, padding, dilation, groups)
    gy = _check_grad_output(grad, c)
    kernel = c.w.shape[2:]
    n, c_out = c.out_shape[:2]
    xp = _pad(c.x, c.pads)
    columns = _grouped_columns(xp, c.groups, c.out_hw, kernel, c.stride, c.dilation)
    gy_mat = gy.reshape(n, c.groups, c_out // c.groups, -1)         # (N, G, O/G, L)
    grad_weight = (gy_mat @ columns.transpose(0, 1, 3, 2)).sum(axis=0).reshape(c.w.shape)
    grad_columns = _grouped_matrix(c.w, c.groups).transpose(0, 2, 1) @ gy_mat
    patches = grad_columns.reshape((n, c.x.shape[1]) + tuple(kernel) + c.out_hw)
    grad_xp = _col2im(patches, xp.shape, c.out_hw, kernel, c.stride, c.dilation)
    grad_input = _finish(_crop(grad_xp, c.pads, c.x.shape[2:]), c.unbatched)
    grad_bias = None if c.b is None else gy.sum(axis=(0, 2, 3))
    return grad_input, grad_weight, grad_bias


# --------------------------------------------------------------------------- conv_transpose2d


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """torch.nn.functional.conv_transpose2d: col2im of weight^T @ input."""
    c = _parse_conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups,
                                dilation)
    n, c_in, h, w = c.x.shape
    kernel = c.w.shape[2:]
    x_mat = c.x.reshape(n, c.groups, c_in // c.groups, h * w)
    columns = _grouped_matrix(c.w, c.groups).transpose(0, 2, 1) @ x_mat
    c_out = c.out_shape[1]
    patches = columns.reshape((n, c_out) + tuple(kernel) + (h, w))
    top, bottom, left, right = c.pads
    buffer_shape = (n, c_out, c.out_hw[0] + top + bottom, c.out_hw[1] + left + right)
    yp = _col2im(patches, buffer_shape, (h, w), kernel, c.stride, c.dilation)
    y = _crop(yp, c.pads, c.out_hw)
    if c.b is not None:
        y += c.b.astype(y.dtype).reshape(1, -1, 1, 1)
    return _finish(y, c.unbatched)


def conv_transpose2d_backward(grad_output, input, weight, bias=None, stride=1, padding=0,
                              output_padding=0, groups=1, dilation=1):
    """Gradients of conv_transpose2d: (grad_input, grad_weight, grad_bias or None)."""
    grad = _to_array(grad_output, "grad_output")
    c = _parse_conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups,
                                dilation)
    gy = _check_grad_output(grad, c)
    n, c_in, h, w = c.x.shape
    kernel = c.w.shape[2:]
    columns = _grouped_columns(_pad(gy, c.pads), c.groups, (h, w), kernel, c.stride,
                               c.dilation)                          # (N, G, C_out/G * k, H*W)
    w_mat = _grouped_matrix(c.w, c.groups)                          # (G, C_in/G, C_out/G * k)
    grad_input = (w_mat @ columns).reshape(c.x.shape)
    x_mat = c.x.reshape(n, c.groups, c_in // c.groups, h * w)
    grad_weight = (x_mat @ columns.transpose(0, 1, 3, 2)).sum(axis=0).reshape(c.w.shape)
    grad_bias = None if c.b is None else gy.sum(axis=(0, 2, 3))
    return _finish(grad_input, c.unbatched), grad_weight, grad_bias


# --------------------------------------------------------------------------- max_pool2d


def _first_tap(out_len, s, p, d):
    """torch's starting coordinate: the first tap of each window not in the top/left padding."""
    start = np.arange(out_len) * s - p
    return np.where(start < 0, start + (-start + d - 1) // d * d, start)


def _argmax(call):
    """Window maxima (N, C, oh, ow) and the (row, column) of each in the input."""
    ph, pw = call.padding
    xp = _pad(call.x, (ph, ph, pw, pw), call.buffer_hw, -np.inf)
    n, ch = call.x.shape[:2]
    kh, kw = call.kernel
    columns = _im2col(xp, call.out_hw, call.kernel, call.stride, call.dilation)
    columns = columns.reshape((n, ch, kh * kw) + call.out_hw)
    tap = np.argmax(columns, axis=2)                               # the first maximum
    isnan = np.isnan(columns)
    last_nan = kh * kw - 1 - np.argmax(isnan[:, :, ::-1], axis=2)  # torch: the last NaN wins
    tap = np.where(isnan.any(axis=2), last_nan, tap)
    values = np.take_along_axis(columns, tap[:, :, None], axis=2)[:, :, 0]
    rows, cols = _grid(call.out_hw, call.kernel, call.stride, call.dilation)
    oh_idx = np.arange(call.out_hw[0])[:, None]
    ow_idx = np.arange(call.out_hw[1])[None, :]
    row = rows[tap // kw, 0, oh_idx, 0] - ph
    col = cols[0, tap % kw, 0, ow_idx] - pw
    h, w = call.x.shape[2:]
    # a window whose input values are all -inf: torch keeps its first tap inside the input
    in_padding = (row < 0) | (row >= h) | (col < 0) | (col >= w)
    row0 = _first_tap(call.out_hw[0], call.stride[0], ph, call.dilation[0])[:, None]
    col0 = _first_tap(call.out_hw[1], call.stride[1], pw, call.dilation[1])[None, :]
    row = np.where(in_padding, row0, row)
    col = np.where(in_padding, col0, col)
    return values, row, col


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """torch.nn.functional.max_pool2d."""
    call = _parse_pool(input, kernel_size, stride, padding, dilation, ceil_mode)
    values, row, col = _argmax(call)
    if not return_indices:
        return _finish(values, call.unbatched)
    indices = (row * call.x.shape[3] + col).astype(np.int64)
    return _finish(values, call.unbatched), _finish(indices, call.unbatched)


def max_pool2d_backward(grad_output, input, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    """Gradient of max_pool2d: every grad_output element goes to its window's maximum."""
    grad = _to_array(grad_output, "grad_output")
    call = _parse_pool(input, kernel_size, stride, padding, dilation, ceil_mode)
    gy = _check_grad_output(grad, call)
    _, row, col = _argmax(call)
    n, ch, h, w = call.x.shape
    flat = row * w + col
    keep = (flat >= 0) & (flat < h * w)
    batch = np.broadcast_to(np.arange(n)[:, None, None, None], flat.shape)
    channel = np.broadcast_to(np.arange(ch)[None, :, None, None], flat.shape)
    grad_input = np.zeros((n, ch, h * w), dtype=call.x.dtype)
    np.add.at(grad_input, (batch[keep], channel[keep], flat[keep]), gy[keep])
    return _finish(grad_input.reshape(call.x.shape), call.unbatched)


# --------------------------------------------------------------------------- avg_pool2d


def _divisor(call, count_include_pad, divisor_override):
    """torch's divisor of each window: how many cells of the (padded) input it covers."""
    if divisor_override is not None:
        return divisor_override
    h, w = call.x.shape[2:]
    ph, pw = call.padding
    if count_include_pad:
        # the padded input (not the extra ceil-mode overhang) counts
        mask = _pad(np.ones((1, 1, h + 2 * ph, w + 2 * pw)), (0, 0, 0, 0), call.buffer_hw)
    else:
        mask = _pad(np.ones((1, 1, h, w)), (ph, ph, pw, pw), call.buffer_hw)
    patches = _im2col(mask, call.out_hw, call.kernel, call.stride, call.dilation)
    return patches.sum(axis=(2, 3))[0, 0]


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """torch.nn.functional.avg_pool2d."""
    call = _parse_avg(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                      divisor_override)
    ph, pw = call.padding
    xp = _pad(call.x, (ph, ph, pw, pw), call.buffer_hw)
    sums = _im2col(xp, call.out_hw, call.kernel, call.stride, call.dilation).sum(axis=(2, 3))
    divisor = _divisor(call, count_include_pad, divisor_override)
    return _finish(sums / np.asarray(divisor, dtype=call.x.dtype), call.unbatched)


def avg_pool2d_backward(grad_output, input, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None):
    """Gradient of avg_pool2d: grad_output / divisor to every cell of the window."""
    grad = _to_array(grad_output, "grad_output")
    call = _parse_avg(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                      divisor_override)
    gy = _check_grad_output(grad, call)
    divisor = _divisor(call, count_include_pad, divisor_override)
    share = gy / np.asarray(divisor, dtype=call.x.dtype)
    kh, kw = call.kernel
    patches = np.broadcast_to(share[:, :, None, None], share.shape[:2] + (kh, kw) + call.out_hw)
    buffer_shape = call.x.shape[:2] + call.buffer_hw
    grad_xp = _col2im(patches, buffer_shape, call.out_hw, call.kernel, call.stride, call.dilation)
    ph, pw = call.padding
    grad_input = _crop(grad_xp, (ph, ph, pw, pw), call.x.shape[2:])
    return _finish(grad_input, call.unbatched)
