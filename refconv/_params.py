"""Validation of the functional (torch-like) API: the one place that mirrors torch's checks.

Every argument combination that ``torch.nn.functional`` rejects is rejected here too, with an
exception that names the parameter and shows the offending value:

- ``TypeError`` where torch's argument parser raises ``TypeError``: a bool, float, string, None or
  NumPy array where an int or a tuple of ints is expected, a non-bool ``ceil_mode`` or
  ``count_include_pad``, a string ``padding`` for the transposed convolution; and, as in the rest
  of refconv, arrays that are not real numbers (:func:`refconv._validation.as_float_array`);
- ``ValueError`` where torch raises ``RuntimeError`` (or, for a 2-D ``avg_pool2d`` input,
  ``IndexError``): wrong number of dimensions or of values in a tuple, non-positive sizes, strides,
  dilations or groups, negative padding, incompatible channel counts, a kernel (dilated extent)
  larger than the padded input, pooling padding above half the kernel, ``padding="same"`` with a
  stride, an ``output_padding`` not smaller than either the stride or the dilation, an empty
  output, a zero ``divisor_override``, a ``grad_output`` whose shape is not the forward output's.

Like torch's argument parser, all type checks of a call run before any value check, so a call that
is wrong in both ways raises ``TypeError`` in both libraries.

The checks do not depend on the batch size. torch runs some of its checks inside its kernels, which
an empty batch (N = 0) never reaches: it then accepts ``dilation=0`` and an empty spatial input in
``conv2d``, and a bad ``output_padding``, ``dilation=0`` or an empty output in
``conv_transpose2d``. refconv rejects those calls whatever N (a deliberate difference: for N = 0,
refconv raises exactly when torch raises on the same call with N = 1). Likewise the checks do not
depend on the dtype: torch's float32 transposed convolution with a one-row (or one-column) kernel
returns an empty output where its float64 one raises "Output size is too small"; refconv raises.
Other deliberate differences: refconv promotes mixed float32/float64 arrays (torch raises) and
integer/bool arrays (torch computes in the integer type), and rejects float16 and complex arrays
(``TypeError``), and an input with zero channels in ``conv2d`` (torch returns a 0-channel output).

Each ``*_args`` function returns the parsed call: arrays in the core's layout (NHWC, weights
HWIO), the :class:`~refconv._windows.Geometry` and the dtype the result is computed in.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from refconv import _validation as v
from refconv._windows import Geometry, output_length
from refconv.pool import avg_pool2d_divisor

IntOrPair = int | Sequence[int]

_NCHW = "(N, C, H, W) or (C, H, W)"

# --- phase 1: types ------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _int_or_ints(value: Any, name: str) -> tuple[int, ...]:
    """An int (not bool) or a tuple/list of ints, as torch's ``int[2]`` arguments; length unchecked.

    A single int is returned as a 1-tuple. NumPy integers are accepted (torch does), NumPy arrays
    are not (torch does not).
    """
    if _is_int(value):
        return (int(value),)
    if isinstance(value, (tuple, list)):
        bad = [item for item in value if not _is_int(item)]
        if not bad:
            return tuple(int(item) for item in value)
        raise TypeError(
            f"{name} must be an int or a tuple of ints, got {v._describe(value)} "
            f"(element {bad[0]!r} of type {type(bad[0]).__name__})"
        )
    raise TypeError(
        f"{name} must be an int or a tuple of ints, got {v._describe(value)} "
        f"({type(value).__name__})"
    )


def _int(value: Any, name: str) -> int:
    if not _is_int(value):
        raise TypeError(f"{name} must be an int, got {v._describe(value)} ({type(value).__name__})")
    return int(value)


def _bool(value: Any, name: str) -> bool:
    """torch's ``bool`` arguments accept Python bools only (not ints, not numpy.bool_)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {v._describe(value)} ({type(value).__name__})")
    return value


def _array(value: Any, name: str) -> np.ndarray:
    return v.as_float_array(value, name)


# --- phase 2: values -----------------------------------------------------------------------------


def _pair(values: tuple[int, ...], name: str, minimum: int, what: str = "") -> tuple[int, int]:
    """Expand a 1-tuple, check there are two values, each at least ``minimum``."""
    if len(values) not in (1, 2):
        raise ValueError(
            f"{name} must be a single int or a tuple of two ints (height, width), got {values!r}"
        )
    pair = (values[0], values[0]) if len(values) == 1 else (values[0], values[1])
    if min(pair) < minimum:
        shown = pair if len(values) == 2 else values[0]
        raise ValueError(f"{name} must be >= {minimum}{what}, got {shown!r}")
    return pair


def _batched(array: np.ndarray, name: str) -> tuple[np.ndarray, bool]:
    """``(N, C, H, W)`` as is, ``(C, H, W)`` with a batch axis of 1 added; ``unbatched`` flag."""
    if array.ndim not in (3, 4):
        raise ValueError(
            f"{name} must be a 3-D (unbatched) or 4-D (batched) array {_NCHW}, "
            f"got shape {array.shape} ({array.ndim}-D)"
        )
    unbatched = array.ndim == 3
    array = array[None] if unbatched else array
    _, c, h, w = array.shape
    if c < 1 or h < 1 or w < 1:
        raise ValueError(
            f"{name} must have at least one channel, row and column (only the batch may be "
            f"empty), got shape {array.shape[1:] if unbatched else array.shape}"
        )
    return array, unbatched


def _nhwc(array: np.ndarray) -> np.ndarray:
    return np.moveaxis(array, 1, 3)


def _hwio(weight: np.ndarray) -> np.ndarray:
    """torch's ``(O, I, kh, kw)`` weight as the core's ``(kh, kw, I, O)`` (a view)."""
    return weight.transpose(2, 3, 1, 0)


def _check_weight(weight: np.ndarray, name: str, layout: str) -> None:
    if weight.ndim != 4:
        raise ValueError(
            f"{name} must be a 4-D array {layout}, got shape {weight.shape} ({weight.ndim}-D)"
        )
    if weight.shape[2] < 1 or weight.shape[3] < 1:
        raise ValueError(f"{name} must have a kernel of at least 1x1, got shape {weight.shape}")


def _check_groups(groups: int, channels: int, name: str, what: str) -> None:
    if groups < 1:
        raise ValueError(f"groups must be >= 1, got {groups}")
    if channels < groups or channels % groups:
        raise ValueError(
            f"{name} has {channels} {what} (shape dimension 0), which is not a positive multiple "
            f"of groups = {groups}"
        )


def _check_bias(bias: np.ndarray | None, channels: int) -> None:
    if bias is not None and bias.shape != (channels,):
        raise ValueError(
            f"bias must be a 1-D array of {channels} elements (one per output channel), "
            f"got shape {bias.shape}"
        )


@dataclass(frozen=True)
class ConvCall:
    """A validated ``conv2d``/``conv_transpose2d`` call in the core's layout."""

    x: np.ndarray  # (N, H, W, C_in), a view of the input
    w: np.ndarray  # HWIO, a view of the weight
    bias: np.ndarray | None
    geometry: Geometry
    groups: int
    dtype: np.dtype
    unbatched: bool
    out_shape: tuple[int, ...]  # of the forward output, NCHW (CHW when unbatched)


def conv2d_args(
    input: Any,
    weight: Any,
    bias: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: Any,
) -> ConvCall:
    """Validate the arguments of ``conv2d`` (see :mod:`refconv.functional`)."""
    x = _array(input, "input")
    w = _array(weight, "weight")
    b = None if bias is None else _array(bias, "bias")
    stride_t = _int_or_ints(stride, "stride")
    if isinstance(padding, str):
        padding_t: tuple[int, ...] | str = padding
    else:
        padding_t = _int_or_ints(padding, "padding")
    dilation_t = _int_or_ints(dilation, "dilation")
    groups = _int(groups, "groups")

    x, unbatched = _batched(x, "input")
    _check_weight(w, "weight", "(C_out, C_in/groups, kH, kW)")
    c_out, c_per_group, kh, kw = w.shape
    _check_groups(groups, c_out, "weight", "output channels")
    n, c_in, h, wd = x.shape
    if c_per_group * groups != c_in:
        raise ValueError(
            f"weight has {c_per_group} input channels per group (shape {w.shape}), so with "
            f"groups = {groups} the input must have {c_per_group * groups} channels, "
            f"but it has {c_in} (shape {x.shape[1:] if unbatched else x.shape})"
        )
    _check_bias(b, c_out)
    sh, sw = _pair(stride_t, "stride", 1)
    dh, dw = _pair(dilation_t, "dilation", 1)
    if isinstance(padding_t, str):
        if padding_t not in ("valid", "same"):
            raise ValueError(f"padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
        if padding_t == "same":
            if (sh, sw) != (1, 1):
                raise ValueError(
                    f"padding='same' is not supported with stride > 1, got stride={stride!r}"
                )
            total_h, total_w = dh * (kh - 1), dw * (kw - 1)
            pads = (total_h // 2, total_h - total_h // 2, total_w // 2, total_w - total_w // 2)
        else:
            pads = (0, 0, 0, 0)
    else:
        ph, pw = _pair(padding_t, "padding", 0)
        pads = (ph, ph, pw, pw)
    extent_h, extent_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    padded_h, padded_w = h + pads[0] + pads[1], wd + pads[2] + pads[3]
    if extent_h > padded_h or extent_w > padded_w:
        raise ValueError(
            f"weight's kernel {kh}x{kw} with dilation ({dh}, {dw}) spans {extent_h}x{extent_w}, "
            f"larger than the input {h}x{wd} padded to {padded_h}x{padded_w}: no window fits"
        )
    geometry = Geometry(h, wd, (kh, kw), (sh, sw), pads, (dh, dw))
    out_shape = (n, c_out, *geometry.out_shape)
    return ConvCall(
        x=_nhwc(x),
        w=_hwio(w),
        bias=b,
        geometry=geometry,
        groups=groups,
        dtype=np.result_type(x, w, *([] if b is None else [b])),
        unbatched=unbatched,
        out_shape=out_shape[1:] if unbatched else out_shape,
    )


def conv_transpose2d_args(
    input: Any,
    weight: Any,
    bias: Any,
    stride: Any,
    padding: Any,
    output_padding: Any,
    groups: Any,
    dilation: Any,
) -> ConvCall:
    """Validate the arguments of ``conv_transpose2d``; ``geometry`` is its adjoint conv2d's."""
    x = _array(input, "input")
    w = _array(weight, "weight")
    b = None if bias is None else _array(bias, "bias")
    stride_t = _int_or_ints(stride, "stride")
    padding_t = _int_or_ints(padding, "padding")  # torch: no padding strings here
    output_padding_t = _int_or_ints(output_padding, "output_padding")
    groups = _int(groups, "groups")
    dilation_t = _int_or_ints(dilation, "dilation")

    x, unbatched = _batched(x, "input")
    _check_weight(w, "weight", "(C_in, C_out/groups, kH, kW)")
    c_in_w, c_out_per_group, kh, kw = w.shape
    _check_groups(groups, c_in_w, "weight", "input channels")
    if c_out_per_group < 1:
        raise ValueError(f"weight must have at least one output channel, got shape {w.shape}")
    n, c_in, h, wd = x.shape
    if c_in_w != c_in:
        raise ValueError(
            f"weight has {c_in_w} input channels (shape {w.shape}, dimension 0) but the input "
            f"has {c_in} (shape {x.shape[1:] if unbatched else x.shape})"
        )
    c_out = c_out_per_group * groups
    _check_bias(b, c_out)
    sh, sw = _pair(stride_t, "stride", 1)
    ph, pw = _pair(padding_t, "padding", 0)
    oph, opw = _pair(output_padding_t, "output_padding", 0)
    dh, dw = _pair(dilation_t, "dilation", 1)
    for axis, op, s, d in (("height", oph, sh, dh), ("width", opw, sw, dw)):
        if op >= s and op >= d:
            raise ValueError(
                f"output_padding must be smaller than either stride or dilation (torch's rule), "
                f"got output_padding={op}, stride={s}, dilation={d} along the {axis}"
            )
    out_h = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    out_w = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(
            f"the output would be {out_h}x{out_w}: padding={padding!r} is too large for the input "
            f"{h}x{wd} with kernel {kh}x{kw}, stride ({sh}, {sw}), dilation ({dh}, {dw}) and "
            f"output_padding ({oph}, {opw})"
        )
    geometry = Geometry(out_h, out_w, (kh, kw), (sh, sw), (ph, ph, pw, pw), (dh, dw))
    out_shape = (n, c_out, out_h, out_w)
    return ConvCall(
        x=_nhwc(x),
        w=_hwio(w),
        bias=b,
        geometry=geometry,
        groups=groups,
        dtype=np.result_type(x, w, *([] if b is None else [b])),
        unbatched=unbatched,
        out_shape=out_shape[1:] if unbatched else out_shape,
    )


@dataclass(frozen=True)
class PoolCall:
    """A validated ``max_pool2d``/``avg_pool2d`` call in the core's layout."""

    x: np.ndarray  # (N, H, W, C), a view of the input
    geometry: Geometry
    unbatched: bool
    out_shape: tuple[int, ...]  # NCHW (CHW when unbatched)
    divisor: np.ndarray | int = 1  # avg_pool2d only (torch's divisor map)


def pool2d_args(
    op: str,
    input: Any,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: Any,
    count_include_pad: Any = True,
    divisor_override: Any = None,
) -> PoolCall:
    """Validate the arguments of ``max_pool2d`` (``op="max"``) or ``avg_pool2d`` (``"avg"``)."""
    x = _array(input, "input")
    kernel_t = _int_or_ints(kernel_size, "kernel_size")
    stride_t = () if stride is None else _int_or_ints(stride, "stride")
    padding_t = _int_or_ints(padding, "padding")
    dilation_t = _int_or_ints(dilation, "dilation")
    ceil_mode = _bool(ceil_mode, "ceil_mode")
    if op == "avg":
        count_include_pad = _bool(count_include_pad, "count_include_pad")
        if divisor_override is not None:
            divisor_override = _int(divisor_override, "divisor_override")

    x, unbatched = _batched(x, "input")
    kh, kw = _pair(kernel_t, "kernel_size", 1)
    sh, sw = (kh, kw) if stride_t == () else _pair(stride_t, "stride", 1)
    ph, pw = _pair(padding_t, "padding", 0)
    dh, dw = _pair(dilation_t, "dilation", 1)
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(
            f"padding must be at most half of kernel_size (torch: pad <= kernel_size // 2 per "
            f"axis), got padding ({ph}, {pw}) with kernel_size ({kh}, {kw})"
        )
    if op == "avg" and divisor_override == 0:
        raise ValueError("divisor_override must not be zero")
    n, c, h, wd = x.shape
    out_h = output_length(h, kh, sh, ph, ph, dh, ceil_mode)
    out_w = output_length(wd, kw, sw, pw, pw, dw, ceil_mode)
    if out_h < 1 or out_w < 1:
        raise ValueError(
            f"kernel_size ({kh}, {kw}) with dilation ({dh}, {dw}) does not fit the input {h}x{wd} "
            f"padded by ({ph}, {pw}) (stride ({sh}, {sw}), ceil_mode={ceil_mode}): the output "
            f"would be {out_h}x{out_w}"
        )
    geometry = Geometry(h, wd, (kh, kw), (sh, sw), (ph, ph, pw, pw), (dh, dw), ceil_mode)
    divisor: np.ndarray | int = 1
    if op == "avg":
        divisor = avg_pool2d_divisor(geometry, count_include_pad, divisor_override)
    out_shape = (n, c, out_h, out_w)
    return PoolCall(
        x=_nhwc(x),
        geometry=geometry,
        unbatched=unbatched,
        out_shape=out_shape[1:] if unbatched else out_shape,
        divisor=divisor,
    )


def grad_output_arg(grad_output: Any) -> np.ndarray:
    """Phase 1 for ``grad_output``: a real array (checked before the forward's arguments)."""
    return _array(grad_output, "grad_output")


def check_grad_output(grad_output: np.ndarray, out_shape: tuple[int, ...]) -> np.ndarray:
    """``grad_output`` must have the forward output's shape; returned batched NHWC."""
    if grad_output.shape != tuple(out_shape):
        raise ValueError(
            f"grad_output must have the shape of the forward output, {tuple(out_shape)}, "
            f"got {grad_output.shape}"
        )
    batched = grad_output[None] if len(out_shape) == 3 else grad_output
    return _nhwc(batched)
