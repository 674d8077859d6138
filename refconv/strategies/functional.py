"""Valid calls of the functional (torch-like, NCHW) API: :mod:`refconv.functional` and
``torch.nn.functional``.

Every geometric parameter is drawn per axis (kernel, stride, padding, dilation, output_padding
are pairs, H != W), and passed either as an int (when both axes agree, half of the time) or as a
tuple; arguments equal to torch's default are sometimes omitted, so that the defaults are
exercised too. As for the seed API (see :mod:`refconv.strategies`), problems are valid by
construction (sizes drawn in an order that makes the constraints ranges) and the channel counts,
drawn last, are capped to fit hypothesis's choice budget.

:func:`functional_configs` draws calls of any of the four ops and, with ``valid=False``, mutates
most of them into invalid ones with :mod:`refconv.strategies.mutants`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from numpy.typing import DTypeLike

from refconv._params import pool2d_args
from refconv._windows import output_length
from refconv.problems import FUNCTIONAL_OPS, FunctionalProblem
from refconv.strategies._choices import Draw, composite
from refconv.strategies._values import (
    _CHOICE_BUDGET,
    _GRADIENT_ELEMENT_BYTES,
    _INPUT_ELEMENT_BYTES,
    VALUE_KINDS,
    _bound,
    _draw_kernel,
    _draw_values,
    _fitting_range,
    _float_dtype,
    _kinds,
)
from refconv.strategies.mutants import _mutant

__all__ = [
    "conv2d_problems",
    "conv_transpose2d_problems",
    "max_pool2d_problems",
    "avg_pool2d_problems",
    "functional_configs",
    "has_empty_max_window",
]

_FUNCTIONAL_DEFAULTS: dict[str, dict[str, Any]] = {
    "conv2d": {"stride": 1, "padding": 0, "dilation": 1, "groups": 1},
    "conv_transpose2d": {
        "stride": 1,
        "padding": 0,
        "output_padding": 0,
        "groups": 1,
        "dilation": 1,
    },
    "max_pool2d": {
        "stride": None,
        "padding": 0,
        "dilation": 1,
        "ceil_mode": False,
        "return_indices": False,
    },
    "avg_pool2d": {
        "stride": None,
        "padding": 0,
        "ceil_mode": False,
        "count_include_pad": True,
        "divisor_override": None,
    },
}


def _draw_pair(draw: Draw, low: int, high: int) -> tuple[int, int]:
    """Two independent ints in ``[low, high]`` (height, width)."""
    first = draw.integer(low, high)
    second = draw.integer(low, high)
    return first, second


def _as_argument(draw: Draw, pair: tuple[int, int], name: str) -> Any:
    """``pair`` as torch would receive it: an int when both axes agree (half of the time), a tuple
    otherwise (sometimes a list)."""
    if pair[0] == pair[1] and draw.boolean():
        return pair[0]
    if pair[0] != pair[1]:
        event(f"{name}: differs per axis")
    return list(pair) if draw.integer(0, 4) == 4 else pair


def _kwargs(draw: Draw, op: str, values: dict[str, Any]) -> dict[str, Any]:
    """Drop arguments equal to torch's default half of the time (the defaults get exercised)."""
    defaults = _FUNCTIONAL_DEFAULTS[op]
    out = {}
    for name, value in values.items():
        is_default = name in defaults and _same_value(value, defaults[name])
        if is_default and draw.boolean():
            continue
        out[name] = value
    return out


def _same_value(value: Any, default: Any) -> bool:
    if default is None or isinstance(default, bool):
        return value is default
    return not isinstance(value, (tuple, list, str, bool)) and value == default


def _batch_events(n: int, unbatched: bool, height: int, width: int) -> None:
    if unbatched:
        event("unbatched (C, H, W) input")
    elif n == 0:
        event("empty batch (N == 0)")
    else:
        event("N == 1" if n == 1 else "N > 1")
    if height != width:
        event("H != W")


def _draw_batch(draw: Draw, max_batch: int) -> tuple[int, bool]:
    """``(N, unbatched)``: a 3-D input one time in six, an empty batch one time in ten."""
    unbatched = draw.integer(0, 5) == 5
    empty = draw.integer(0, 9) == 9
    n = draw.integer(1, max_batch)
    if unbatched:
        return 1, True
    return (0 if empty else n), False


def _nchw_values(
    draw: Draw,
    n: int,
    unbatched: bool,
    chw: tuple[int, int, int],
    dtype: np.dtype,
    kinds: tuple[str, ...],
    allow_nan: bool,
    label: str,
) -> np.ndarray:
    shape = chw if unbatched else (n, *chw)
    return _draw_values(draw, shape, dtype, kinds, allow_nan, label)


def _fits(cost: int) -> bool:
    return cost <= _CHOICE_BUDGET


@composite
def _conv2d_problems(
    draw: Draw,
    dtype: np.dtype,
    kinds: tuple[str, ...],
    max_batch: int,
    max_side: int,
    max_groups: int,
    max_channels_per_group: int,
    max_kernel: int,
    max_stride: int,
    max_dilation: int,
    max_pad: int,
    allow_nan: bool,
) -> FunctionalProblem:
    n, unbatched = _draw_batch(draw, max_batch)
    height, width = _draw_pair(draw, 1, max_side)
    mode = draw.choice(("int", "same", "valid"))
    dilation = _draw_pair(draw, 1, max_dilation)
    if mode == "same":
        stride = (1, 1)
        kernel = _draw_pair(draw, 1, max_kernel)
        pads = tuple(
            part
            for d, k in zip(dilation, kernel, strict=True)
            for part in (d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
        )
        padding: Any = "same"
        event("padding='same'" + (" (odd total: extra at bottom/right)" if sum(pads) % 2 else ""))
    else:
        pad = (0, 0) if mode == "valid" else _draw_pair(draw, 0, max_pad)
        padding = "valid" if mode == "valid" else _as_argument(draw, pad, "padding")
        pads = (pad[0], pad[0], pad[1], pad[1])
        # the dilated kernel must fit the padded input: k <= (H + 2p - 1) // d + 1
        kernel = (
            _draw_kernel(draw, (1, min(max_kernel, (height + 2 * pad[0] - 1) // dilation[0] + 1))),
            _draw_kernel(draw, (1, min(max_kernel, (width + 2 * pad[1] - 1) // dilation[1] + 1))),
        )
        stride = _draw_pair(draw, 1, max_stride)
        event(f"padding={mode!r}" if mode == "valid" else "padding: ints")
    geometry_out = (
        output_length(height, kernel[0], stride[0], pads[0], pads[1], dilation[0]),
        output_length(width, kernel[1], stride[1], pads[2], pads[3], dilation[1]),
    )
    batch = max(n, 1)

    def cost(groups: int, c_in: int = 1, c_out: int = 1) -> int:
        inputs = batch * groups * c_in * height * width + groups * c_out * c_in * math.prod(kernel)
        outputs = batch * groups * c_out * math.prod(geometry_out)
        return _INPUT_ELEMENT_BYTES * (inputs + groups * c_out) + _GRADIENT_ELEMENT_BYTES * outputs

    groups = draw.integer(*_fitting_range(1, max_groups, lambda g: _fits(cost(g))))
    c_in = draw.integer(
        *_fitting_range(1, max_channels_per_group, lambda c: _fits(cost(groups, c)))
    )
    c_out = draw.integer(
        *_fitting_range(1, max_channels_per_group, lambda c: _fits(cost(groups, c_in, c)))
    )
    has_bias = draw.integer(0, 3) > 0
    _batch_events(n, unbatched, height, width)
    if groups > 1:
        event("groups > 1" + (" (depthwise)" if c_in == 1 else ""))
    if max(dilation) > 1:
        event("dilation > 1")
    if any(s > k for s, k in zip(stride, kernel, strict=True)):
        event("stride > kernel (gaps)")
    if not has_bias:
        event("bias=None")
    x = _nchw_values(
        draw, n, unbatched, (groups * c_in, height, width), dtype, kinds, allow_nan, "input"
    )
    weight = _draw_values(draw, (groups * c_out, c_in, *kernel), dtype, kinds, allow_nan, "weight")
    bias = (
        _draw_values(draw, (groups * c_out,), dtype, kinds, allow_nan, "bias") if has_bias else None
    )
    out_chw = (groups * c_out, *geometry_out)
    grad = _nchw_values(draw, n, unbatched, out_chw, dtype, ("normal",), False, "grad_output")
    kwargs = _kwargs(
        draw,
        "conv2d",
        {
            "stride": _as_argument(draw, stride, "stride"),
            "padding": padding,
            "dilation": _as_argument(draw, dilation, "dilation"),
            "groups": groups,
        },
    )
    return FunctionalProblem("conv2d", x, weight, bias, kwargs, grad)


@composite
def _conv_transpose2d_problems(
    draw: Draw,
    dtype: np.dtype,
    kinds: tuple[str, ...],
    max_batch: int,
    max_side: int,
    max_groups: int,
    max_channels_per_group: int,
    max_kernel: int,
    max_stride: int,
    max_dilation: int,
    max_pad: int,
    allow_nan: bool,
) -> FunctionalProblem:
    n, unbatched = _draw_batch(draw, max_batch)
    height, width = _draw_pair(draw, 1, max_side)
    kernel = _draw_pair(draw, 1, max_kernel)
    stride = _draw_pair(draw, 1, max_stride)
    dilation = _draw_pair(draw, 1, max_dilation)
    # torch: output_padding < stride or < dilation, per axis
    output_padding = tuple(
        draw.integer(0, max(s, d) - 1) for s, d in zip(stride, dilation, strict=True)
    )
    # the output (size - 1) * s - 2p + d * (k - 1) + op + 1 must be >= 1
    padding = tuple(
        draw.integer(0, min(max_pad, ((size - 1) * s + d * (k - 1) + op) // 2))
        for size, s, d, k, op in zip(
            (height, width), stride, dilation, kernel, output_padding, strict=True
        )
    )
    out_hw = tuple(
        (size - 1) * s - 2 * p + d * (k - 1) + op + 1
        for size, s, d, k, op, p in zip(
            (height, width), stride, dilation, kernel, output_padding, padding, strict=True
        )
    )
    batch = max(n, 1)

    def cost(groups: int, c_in: int = 1, c_out: int = 1) -> int:
        inputs = batch * groups * c_in * height * width + groups * c_in * c_out * math.prod(kernel)
        outputs = batch * groups * c_out * math.prod(out_hw)
        return _INPUT_ELEMENT_BYTES * (inputs + groups * c_out) + _GRADIENT_ELEMENT_BYTES * outputs

    groups = draw.integer(*_fitting_range(1, max_groups, lambda g: _fits(cost(g))))
    c_in = draw.integer(
        *_fitting_range(1, max_channels_per_group, lambda c: _fits(cost(groups, c)))
    )
    c_out = draw.integer(
        *_fitting_range(1, max_channels_per_group, lambda c: _fits(cost(groups, c_in, c)))
    )
    has_bias = draw.integer(0, 3) > 0
    _batch_events(n, unbatched, height, width)
    if groups > 1:
        event("groups > 1")
    if max(output_padding) > 0:
        event("output_padding > 0")
    if any(op >= s for op, s in zip(output_padding, stride, strict=True)):
        event("output_padding >= stride (allowed: < dilation)")
    if max(padding) > 0:
        event("padding > 0")
    x = _nchw_values(
        draw, n, unbatched, (groups * c_in, height, width), dtype, kinds, allow_nan, "input"
    )
    weight = _draw_values(draw, (groups * c_in, c_out, *kernel), dtype, kinds, allow_nan, "weight")
    bias = (
        _draw_values(draw, (groups * c_out,), dtype, kinds, allow_nan, "bias") if has_bias else None
    )
    grad = _nchw_values(
        draw, n, unbatched, (groups * c_out, *out_hw), dtype, ("normal",), False, "grad_output"
    )
    kwargs = _kwargs(
        draw,
        "conv_transpose2d",
        {
            "stride": _as_argument(draw, stride, "stride"),
            "padding": _as_argument(draw, padding, "padding"),
            "output_padding": _as_argument(draw, output_padding, "output_padding"),
            "groups": groups,
            "dilation": _as_argument(draw, dilation, "dilation"),
        },
    )
    return FunctionalProblem("conv_transpose2d", x, weight, bias, kwargs, grad)


def has_empty_max_window(problem: FunctionalProblem) -> bool:
    """Whether a ``max_pool2d`` problem has a window whose taps all fall in the padding.

    Possible only with dilation (e.g. H = 2, kernel 2, dilation 3, padding 1). torch's forward
    returns ``-inf`` there with an index outside the plane, and its backward then writes out of
    bounds (heap corruption in torch 2.x CPU): never hand such a problem to torch's backward.
    """
    kwargs = dict(problem.kwargs)
    kwargs.pop("return_indices", None)
    defaults = {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False}
    call = pool2d_args("max", problem.input, **{**defaults, **kwargs})
    geometry = call.geometry
    (_, kw), (dh, dw) = geometry.kernel, geometry.dilation
    rows, cols = geometry.window_starts()
    first = geometry.first_inside_offset()
    row = rows[:, None] + (first // kw) * dh
    col = cols[None, :] + (first % kw) * dw
    return bool(((row >= geometry.height) | (col >= geometry.width)).any())


def _draw_pool_geometry(
    draw: Draw,
    height: int,
    width: int,
    max_kernel: int,
    max_stride: int,
    max_dilation: int,
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]:
    """Kernel, stride, padding, dilation per axis with an output of at least one window."""
    kernel, padding, dilation = [], [], []
    for size in (height, width):
        k = draw.integer(1, max_kernel)
        # torch: pad <= k // 2; the kernel must fit the padded input: k <= size + 2p
        p = draw.integer(max(0, -(-(k - size) // 2)), k // 2)
        d_max = max_dilation if k == 1 else min(max_dilation, (size + 2 * p - 1) // (k - 1))
        d = draw.integer(1, max(1, d_max))
        kernel.append(k)
        padding.append(p)
        dilation.append(d)
    stride = _draw_pair(draw, 1, max_stride)
    return (
        (kernel[0], kernel[1]),
        stride,
        (padding[0], padding[1]),
        (dilation[0], dilation[1]),
    )


@composite
def _pool2d_problems(
    draw: Draw,
    op: str,
    dtype: np.dtype,
    kinds: tuple[str, ...],
    max_batch: int,
    max_side: int,
    max_channels: int,
    max_kernel: int,
    max_stride: int,
    max_dilation: int,
    allow_nan: bool,
) -> FunctionalProblem:
    n, unbatched = _draw_batch(draw, max_batch)
    height, width = _draw_pair(draw, 1, max_side)
    kernel, stride, padding, dilation = _draw_pool_geometry(
        draw, height, width, max_kernel, max_stride, max_dilation if op == "max" else 1
    )
    ceil_mode = draw.boolean()
    stride_is_kernel = draw.integer(0, 3) == 3
    if stride_is_kernel:
        stride = kernel
    out_hw = tuple(
        output_length(size, k, s, p, p, d, ceil_mode)
        for size, k, s, p, d in zip((height, width), kernel, stride, padding, dilation, strict=True)
    )
    floor_hw = tuple(
        output_length(size, k, s, p, p, d)
        for size, k, s, p, d in zip((height, width), kernel, stride, padding, dilation, strict=True)
    )
    batch = max(n, 1)

    def cost(channels: int) -> int:
        per_channel = _INPUT_ELEMENT_BYTES * height * width + _GRADIENT_ELEMENT_BYTES * math.prod(
            out_hw
        )
        return batch * channels * per_channel

    channels = draw.integer(*_fitting_range(1, max_channels, lambda c: _fits(cost(c))))
    _batch_events(n, unbatched, height, width)
    if ceil_mode:
        event("ceil_mode" + (" (extra window)" if out_hw != floor_hw else ""))
    if max(padding) > 0:
        event("padding > 0")
    if max(dilation) > 1:
        event("dilation > 1")
    if any(s > k for s, k in zip(stride, kernel, strict=True)):
        event("stride > kernel (gaps)")
    x = _nchw_values(
        draw, n, unbatched, (channels, height, width), dtype, kinds, allow_nan, "input"
    )
    grad = _nchw_values(
        draw, n, unbatched, (channels, *out_hw), dtype, ("normal",), False, "grad_output"
    )
    values: dict[str, Any] = {
        "kernel_size": _as_argument(draw, kernel, "kernel_size"),
        "stride": None
        if stride_is_kernel and draw.boolean()
        else _as_argument(draw, stride, "stride"),
        "padding": _as_argument(draw, padding, "padding"),
    }
    if op == "max":
        values["dilation"] = _as_argument(draw, dilation, "dilation")
        values["ceil_mode"] = ceil_mode
        values["return_indices"] = draw.boolean()
    else:
        count_include_pad = draw.boolean()
        divisor_override = None
        if draw.integer(0, 3) == 3:
            divisor_override = draw.choice((1, 2, 3, 5, -2))
            event("divisor_override")
        if not count_include_pad:
            event("count_include_pad=False")
        values.update(
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
            divisor_override=divisor_override,
        )
    kwargs = {"kernel_size": values.pop("kernel_size"), **_kwargs(draw, f"{op}_pool2d", values)}
    problem = FunctionalProblem(f"{op}_pool2d", x, None, None, kwargs, grad)
    if op == "max" and has_empty_max_window(problem):
        event("max window entirely in the padding")
    return problem


def _functional_bounds(**bounds: int) -> dict[str, int]:
    minima = {"max_batch": 1, "max_side": 1, "max_groups": 1, "max_channels_per_group": 1}
    return {
        name: _bound(value, name, 0 if name == "max_pad" else minima.get(name, 1))
        for name, value in bounds.items()
    }


def conv2d_problems(
    *,
    dtype: DTypeLike = np.float64,
    kinds: Sequence[str] = VALUE_KINDS,
    max_batch: int = 2,
    max_side: int = 5,
    max_groups: int = 3,
    max_channels_per_group: int = 2,
    max_kernel: int = 3,
    max_stride: int = 3,
    max_dilation: int = 2,
    max_pad: int = 2,
    allow_nan: bool = False,
) -> st.SearchStrategy[FunctionalProblem]:
    """Valid ``conv2d`` calls of :mod:`refconv.functional` / ``torch.nn.functional`` (NCHW).

    Draws the batch (``N`` in [1, max_batch]; one time in six an unbatched ``(C, H, W)`` input,
    one time in ten an empty batch), ``H`` and ``W`` independently, the padding mode (ints
    per axis in [0, max_pad], ``"valid"`` or ``"same"``, the latter with stride 1), dilation and
    kernel size per axis (the dilated kernel always fits the padded input; the largest fitting
    size a quarter of the time), stride per axis, then ``groups`` in [1, max_groups] and the
    channels per group in [1, max_channels_per_group] (one input channel per group: depthwise),
    a bias three times in four, the arrays with :func:`values` and a random ``grad_output`` of
    the output's shape. Pairs are passed as an int when both axes agree (half of the time), else
    as a tuple or list; arguments equal to torch's default are omitted half of the time.

    Returns
    -------
    SearchStrategy[FunctionalProblem]
        ``op == "conv2d"``; call it with ``problem.forward(refconv.functional)`` and
        ``problem.backward(refconv.functional)``.
    """
    return _conv2d_problems(
        _float_dtype(dtype),
        _kinds(kinds),
        **_functional_bounds(
            max_batch=max_batch,
            max_side=max_side,
            max_groups=max_groups,
            max_channels_per_group=max_channels_per_group,
            max_kernel=max_kernel,
            max_stride=max_stride,
            max_dilation=max_dilation,
            max_pad=max_pad,
        ),
        allow_nan=bool(allow_nan),
    )


def conv_transpose2d_problems(
    *,
    dtype: DTypeLike = np.float64,
    kinds: Sequence[str] = VALUE_KINDS,
    max_batch: int = 2,
    max_side: int = 4,
    max_groups: int = 2,
    max_channels_per_group: int = 2,
    max_kernel: int = 3,
    max_stride: int = 3,
    max_dilation: int = 2,
    max_pad: int = 2,
    allow_nan: bool = False,
) -> st.SearchStrategy[FunctionalProblem]:
    """Valid ``conv_transpose2d`` calls (weight ``(C_in, C_out/groups, kH, kW)``).

    Like :func:`conv2d_problems`, plus ``output_padding`` per axis in ``[0, max(stride,
    dilation) - 1]`` (torch's rule, so ``output_padding >= stride`` is reached whenever the
    dilation is larger) and ``padding`` per axis capped so that the output is at least 1x1.

    Returns
    -------
    SearchStrategy[FunctionalProblem]
    """
    return _conv_transpose2d_problems(
        _float_dtype(dtype),
        _kinds(kinds),
        **_functional_bounds(
            max_batch=max_batch,
            max_side=max_side,
            max_groups=max_groups,
            max_channels_per_group=max_channels_per_group,
            max_kernel=max_kernel,
            max_stride=max_stride,
            max_dilation=max_dilation,
            max_pad=max_pad,
        ),
        allow_nan=bool(allow_nan),
    )


def max_pool2d_problems(
    *,
    dtype: DTypeLike = np.float64,
    kinds: Sequence[str] = VALUE_KINDS,
    max_batch: int = 2,
    max_side: int = 6,
    max_channels: int = 3,
    max_kernel: int = 4,
    max_stride: int = 3,
    max_dilation: int = 3,
    allow_nan: bool = False,
) -> st.SearchStrategy[FunctionalProblem]:
    """Valid ``max_pool2d`` calls: per axis kernel, padding in ``[0, kernel // 2]``, dilation
    (the dilated kernel fits the padded input), stride (or ``None``/the kernel a quarter of the
    time), ``ceil_mode`` half of the time, ``return_indices`` half of the time.

    With dilation a window may lie entirely in the padding: such problems are labelled
    ``"max window entirely in the padding"``; see :func:`has_empty_max_window`.

    Returns
    -------
    SearchStrategy[FunctionalProblem]
    """
    return _pool2d_problems(
        "max",
        _float_dtype(dtype),
        _kinds(kinds),
        _bound(max_batch, "max_batch", 1),
        _bound(max_side, "max_side", 1),
        _bound(max_channels, "max_channels", 1),
        _bound(max_kernel, "max_kernel", 1),
        _bound(max_stride, "max_stride", 1),
        _bound(max_dilation, "max_dilation", 1),
        bool(allow_nan),
    )


def avg_pool2d_problems(
    *,
    dtype: DTypeLike = np.float64,
    kinds: Sequence[str] = VALUE_KINDS,
    max_batch: int = 2,
    max_side: int = 6,
    max_channels: int = 3,
    max_kernel: int = 4,
    max_stride: int = 3,
    allow_nan: bool = False,
) -> st.SearchStrategy[FunctionalProblem]:
    """Valid ``avg_pool2d`` calls: as :func:`max_pool2d_problems` without dilation, plus
    ``count_include_pad`` (half of the time False) and ``divisor_override`` (a quarter of the
    time, from ``1, 2, 3, 5, -2``).

    Returns
    -------
    SearchStrategy[FunctionalProblem]
    """
    return _pool2d_problems(
        "avg",
        _float_dtype(dtype),
        _kinds(kinds),
        _bound(max_batch, "max_batch", 1),
        _bound(max_side, "max_side", 1),
        _bound(max_channels, "max_channels", 1),
        _bound(max_kernel, "max_kernel", 1),
        _bound(max_stride, "max_stride", 1),
        1,
        bool(allow_nan),
    )


@composite
def _functional_configs(
    draw: Draw, valid: bool, dtype: np.dtype, ops: tuple[str, ...]
) -> FunctionalProblem:
    op = draw.choice(ops)
    event(f"op: {op}")
    small = {"kinds": ("small_int",), "dtype": dtype}
    strategy = {
        "conv2d": conv2d_problems(max_side=4, **small),
        "conv_transpose2d": conv_transpose2d_problems(max_side=3, **small),
        "max_pool2d": max_pool2d_problems(max_side=4, max_channels=2, **small),
        "avg_pool2d": avg_pool2d_problems(max_side=4, max_channels=2, **small),
    }[op]
    problem = draw(strategy)
    if valid or draw.integer(0, 3) == 0:
        return problem
    return draw(_mutant(problem))


def functional_configs(
    valid: bool = False,
    *,
    ops: Sequence[str] = FUNCTIONAL_OPS,
    dtype: DTypeLike = np.float64,
) -> st.SearchStrategy[FunctionalProblem]:
    """Calls of the four functional ops, with invalid configurations when ``valid=False``.

    The op is drawn first, then a valid problem of the op's strategy (small sizes, small-integer
    values). With ``valid=False``, three times in four one mutation is applied: a wrong type (bool,
    float, string, None, NumPy array, bad elements) or value (zero, negative, the wrong number of
    values) for one int argument, a wrong input/weight/bias shape, an empty input dimension,
    wrong groups, ``padding`` strings, a kernel larger than the padded input, pooling padding
    above half the kernel, bad ``output_padding``, too much transposed padding, non-bool
    ``ceil_mode``/``count_include_pad``, bad ``divisor_override``, a ``grad_output`` of the wrong
    shape. Some mutants remain valid; which do is torch's call (see
    ``properties/test_functional.py``, error parity).

    Parameters
    ----------
    valid : bool, default False
        Whether every configuration must be valid (then no mutation is applied).
    ops : sequence of op names, default all of :data:`refconv.problems.FUNCTIONAL_OPS`
    dtype : float32 or float64, default float64

    Returns
    -------
    SearchStrategy[FunctionalProblem]
        Reports ``"op: ..."`` and ``"mutation: ..."`` with :func:`hypothesis.event`.
    """
    if isinstance(ops, str):
        ops = (ops,)
    ops = tuple(ops)
    if not ops or any(op not in FUNCTIONAL_OPS for op in ops):
        raise InvalidArgument(f"ops must be a non-empty subset of {FUNCTIONAL_OPS}, got {ops!r}")
    return _functional_configs(bool(valid), _float_dtype(dtype), ops)
