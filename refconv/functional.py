"""torch-parity functional API: ``torch.nn.functional``'s 2-D convolution and pooling in NumPy.

Same names, argument names, defaults and layouts as torch (NCHW input, ``(C_out, C_in/groups, kH,
kW)`` weights, ``(C_in, C_out/groups, kH, kW)`` for the transposed convolution), plus an explicit
backward function for each op, taking ``grad_output`` followed by exactly the forward's arguments::

    from refconv import functional as F

    y = F.conv2d(x, w, b, stride=(2, 1), padding="valid", groups=2)
    dx, dw, db = F.conv2d_backward(dy, x, w, b, stride=(2, 1), padding="valid", groups=2)

These functions are a thin face over the *same* vectorised core as the seed API
(:mod:`refconv.conv`, :mod:`refconv.pool`): they validate (:mod:`refconv._params`, which rejects
exactly the calls torch rejects), move NCHW to the core's NHWC (weights to HWIO), call the core and
move the result back. The transposed convolution is the adjoint of conv2d: its forward is conv2d's
input-gradient.

Dtypes: float32 and float64 arrays compute and return in their own dtype (float64 as soon as one
array is float64, where torch would refuse to mix); bool and integer arrays are promoted to
float64. Inputs are never modified. 3-D input ``(C, H, W)`` is unbatched, as in torch, and gives
3-D output.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from refconv import _params as p
from refconv import conv, pool

__all__ = [
    "conv2d",
    "conv2d_backward",
    "conv_transpose2d",
    "conv_transpose2d_backward",
    "max_pool2d",
    "max_pool2d_backward",
    "avg_pool2d",
    "avg_pool2d_backward",
]

IntOrPair = p.IntOrPair


def _nchw(y: np.ndarray, unbatched: bool) -> np.ndarray:
    """Core NHWC result -> contiguous NCHW (CHW when unbatched)."""
    out = np.ascontiguousarray(np.moveaxis(y, 3, 1))
    return out[0] if unbatched else out


def _oihw(dw: np.ndarray) -> np.ndarray:
    """Core HWIO weight gradient -> torch's ``(dim 0, dim 1, kH, kW)`` weight layout."""
    return np.ascontiguousarray(dw.transpose(3, 2, 0, 1))


# --- convolution ---------------------------------------------------------------------------------


def conv2d(
    input: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None = None,
    stride: IntOrPair = 1,
    padding: IntOrPair | str = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
) -> np.ndarray:
    """2-D convolution (cross-correlation), as ``torch.nn.functional.conv2d``.

    Parameters
    ----------
    input : array_like, shape (N, C_in, H, W) or (C_in, H, W)
    weight : array_like, shape (C_out, C_in / groups, kH, kW)
    bias : array_like, shape (C_out,), optional
    stride : int or (int, int), default 1
        Step between windows, >= 1.
    padding : int, (int, int), ``"valid"`` or ``"same"``, default 0
        Zeros added on both sides of each axis (>= 0). ``"valid"`` is 0; ``"same"`` keeps the
        input size (stride 1 only): total padding ``dilation * (k - 1)`` per axis, the odd one
        at the bottom/right.
    dilation : int or (int, int), default 1
        Spacing between kernel taps, >= 1.
    groups : int, default 1
        Input and output channels are split into ``groups`` independent convolutions; ``groups ==
        C_in`` with ``C_out = m * C_in`` is a depthwise convolution.

    Returns
    -------
    output : ndarray, shape (N, C_out, H_out, W_out) (no N for unbatched input), with
        ``H_out = (H + pad_top + pad_bottom - dilation[0] * (kH - 1) - 1) // stride[0] + 1``
        and likewise ``W_out``.

    Raises
    ------
    TypeError, ValueError
        Exactly where torch rejects the call (see :mod:`refconv._params`), naming the parameter.
    """
    call = p.conv2d_args(input, weight, bias, stride, padding, dilation, groups)
    y = conv.conv2d_forward(
        call.x.astype(call.dtype, copy=False),
        call.w.astype(call.dtype, copy=False),
        call.bias,
        call.geometry,
        call.groups,
    )
    return _nchw(y, call.unbatched)


def conv2d_backward(
    grad_output: ArrayLike,
    input: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None = None,
    stride: IntOrPair = 1,
    padding: IntOrPair | str = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of :func:`conv2d` (what torch autograd computes for ``output.backward(grad)``).

    Parameters
    ----------
    grad_output : array_like, shape of ``conv2d(input, weight, bias, ...)``'s output
        Gradient of the loss with respect to the output.
    input, weight, bias, stride, padding, dilation, groups
        Exactly the arguments of the forward call (see :func:`conv2d`).

    Returns
    -------
    grad_input : ndarray, shape of ``input``
    grad_weight : ndarray, shape of ``weight``
    grad_bias : ndarray, shape (C_out,), or None when ``bias`` is None

    All three are in the forward's dtype (``grad_output`` is cast to it, as torch does).
    """
    grad = p.grad_output_arg(grad_output)
    call = p.conv2d_args(input, weight, bias, stride, padding, dilation, groups)
    dy = p.check_grad_output(grad, call.out_shape).astype(call.dtype, copy=False)
    dx, dw, db = conv.conv2d_backward(
        dy,
        call.x.astype(call.dtype, copy=False),
        call.w.astype(call.dtype, copy=False),
        call.geometry,
        call.groups,
    )
    return _nchw(dx, call.unbatched), _oihw(dw), None if call.bias is None else db


def conv_transpose2d(
    input: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None = None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    output_padding: IntOrPair = 0,
    groups: int = 1,
    dilation: IntOrPair = 1,
) -> np.ndarray:
    """2-D transposed convolution, as ``torch.nn.functional.conv_transpose2d``.

    The adjoint of :func:`conv2d` with respect to its input: ``conv_transpose2d(y, w, stride=s,
    padding=p, dilation=d, groups=g)`` is the ``grad_input`` of a ``conv2d(x, w, stride=s,
    padding=p, dilation=d, groups=g)`` whose output gradient is ``y``.

    Parameters
    ----------
    input : array_like, shape (N, C_in, H, W) or (C_in, H, W)
    weight : array_like, shape (C_in, C_out / groups, kH, kW)
    bias : array_like, shape (C_out,), optional
    stride : int or (int, int), default 1
    padding : int or (int, int), default 0
        ``dilation * (k - 1) - padding`` zeros are implicitly added on both sides of the input;
        no strings (torch has none here).
    output_padding : int or (int, int), default 0
        Extra rows/columns at the bottom/right of the output; per axis it must be smaller than
        either the stride or the dilation.
    groups : int, default 1
    dilation : int or (int, int), default 1

    Returns
    -------
    output : ndarray, shape (N, C_out, H_out, W_out) (no N for unbatched input), with
        ``H_out = (H - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kH - 1)
        + output_padding[0] + 1`` and likewise ``W_out``.
    """
    call = p.conv_transpose2d_args(
        input, weight, bias, stride, padding, output_padding, groups, dilation
    )
    y = conv.conv_transpose2d_forward(
        call.x.astype(call.dtype, copy=False),
        call.w.astype(call.dtype, copy=False),
        call.bias,
        call.geometry,
        call.groups,
    )
    return _nchw(y, call.unbatched)


def conv_transpose2d_backward(
    grad_output: ArrayLike,
    input: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None = None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    output_padding: IntOrPair = 0,
    groups: int = 1,
    dilation: IntOrPair = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of :func:`conv_transpose2d`.

    Parameters
    ----------
    grad_output : array_like, shape of the forward output
    input, weight, bias, stride, padding, output_padding, groups, dilation
        Exactly the arguments of the forward call.

    Returns
    -------
    grad_input : ndarray, shape of ``input`` (a conv2d of ``grad_output`` with ``weight``)
    grad_weight : ndarray, shape of ``weight`` (C_in, C_out / groups, kH, kW)
    grad_bias : ndarray, shape (C_out,), or None when ``bias`` is None
    """
    grad = p.grad_output_arg(grad_output)
    call = p.conv_transpose2d_args(
        input, weight, bias, stride, padding, output_padding, groups, dilation
    )
    dy = p.check_grad_output(grad, call.out_shape).astype(call.dtype, copy=False)
    dx, dw, db = conv.conv_transpose2d_backward(
        dy,
        call.x.astype(call.dtype, copy=False),
        call.w.astype(call.dtype, copy=False),
        call.geometry,
        call.groups,
    )
    return _nchw(dx, call.unbatched), _oihw(dw), None if call.bias is None else db


# --- pooling -------------------------------------------------------------------------------------


def max_pool2d(
    input: ArrayLike,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """2-D max pooling, as ``torch.nn.functional.max_pool2d``.

    Padding acts as ``-inf`` (it is never the maximum of a window that has an input element).
    Ties go to the first maximum in row-major window order; a NaN is the maximum (the last NaN of
    a window when there are several), as torch CPU. With dilation a window may have all its taps
    in the padding: its output is ``-inf`` and its index torch's (outside the plane), and
    :func:`max_pool2d_backward` sends its gradient nowhere (torch's backward writes out of bounds).

    Parameters
    ----------
    input : array_like, shape (N, C, H, W) or (C, H, W)
    kernel_size : int or (int, int)
    stride : int, (int, int) or None, default None (= kernel_size; an empty tuple too)
    padding : int or (int, int), default 0
        At most ``kernel_size // 2`` per axis.
    dilation : int or (int, int), default 1
    ceil_mode : bool, default False
        Round the number of windows up; an extra last window is kept only if it starts inside
        the input or the left/top padding.
    return_indices : bool, default False
        Also return, for each output element, the flat index ``h * W + w`` of its maximum in the
        (unpadded) input plane, as int64 (torch's ``max_unpool2d`` convention).

    Returns
    -------
    output : ndarray, shape (N, C, H_out, W_out) (no N for unbatched input), dtype of ``input``
    indices : ndarray of int64, same shape (only with ``return_indices=True``)
    """
    call = p.pool2d_args("max", input, kernel_size, stride, padding, dilation, ceil_mode)
    values, offsets = pool.max_pool2d_argmax(call.x, call.geometry)
    output = _nchw(values, call.unbatched)
    if return_indices:
        return output, _nchw(pool.max_pool2d_indices(offsets, call.geometry), call.unbatched)
    return output


def max_pool2d_backward(
    grad_output: ArrayLike,
    input: ArrayLike,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    ceil_mode: bool = False,
) -> np.ndarray:
    """Gradient of :func:`max_pool2d` with respect to ``input``.

    Each window's ``grad_output`` goes to its maximum (torch's rule, see :func:`max_pool2d`);
    overlapping windows add up.

    Parameters
    ----------
    grad_output : array_like, shape of the forward output
    input, kernel_size, stride, padding, dilation, ceil_mode
        The arguments of the forward call (``return_indices`` does not change the gradient).

    Returns
    -------
    grad_input : ndarray, shape and dtype of ``input``
    """
    grad = p.grad_output_arg(grad_output)
    call = p.pool2d_args("max", input, kernel_size, stride, padding, dilation, ceil_mode)
    dy = p.check_grad_output(grad, call.out_shape).astype(call.x.dtype, copy=False)
    return _nchw(pool.max_pool2d_backward(dy, call.x, call.geometry), call.unbatched)


def avg_pool2d(
    input: ArrayLike,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> np.ndarray:
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d``.

    Each window's sum (padding counts as zero) is divided by torch's divisor: ``divisor_override``
    when given; otherwise the window is clipped at the padded boundary (a ceil-mode window may
    overhang it) and ``count_include_pad=True`` divides by the clipped window's size, padding
    included, ``count_include_pad=False`` by its number of input cells.

    Parameters
    ----------
    input : array_like, shape (N, C, H, W) or (C, H, W)
    kernel_size : int or (int, int)
    stride : int, (int, int) or None, default None (= kernel_size)
    padding : int or (int, int), default 0
        At most ``kernel_size // 2`` per axis.
    ceil_mode : bool, default False
    count_include_pad : bool, default True
    divisor_override : int, optional
        Non-zero (negative values are allowed, as in torch).

    Returns
    -------
    output : ndarray, shape (N, C, H_out, W_out) (no N for unbatched input), dtype of ``input``
    """
    call = p.pool2d_args(
        "avg", input, kernel_size, stride, padding, 1, ceil_mode, count_include_pad,
        divisor_override,
    )  # fmt: skip
    return _nchw(pool.avg_pool2d_forward(call.x, call.geometry, call.divisor), call.unbatched)


def avg_pool2d_backward(
    grad_output: ArrayLike,
    input: ArrayLike,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> np.ndarray:
    """Gradient of :func:`avg_pool2d`: each window's ``grad_output / divisor`` to its cells.

    Parameters
    ----------
    grad_output : array_like, shape of the forward output
    input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        The arguments of the forward call.

    Returns
    -------
    grad_input : ndarray, shape and dtype of ``input``
    """
    grad = p.grad_output_arg(grad_output)
    call = p.pool2d_args(
        "avg", input, kernel_size, stride, padding, 1, ceil_mode, count_include_pad,
        divisor_override,
    )  # fmt: skip
    dy = p.check_grad_output(grad, call.out_shape).astype(call.x.dtype, copy=False)
    grad_input = pool.avg_pool2d_backward(dy, call.x.shape, call.geometry, call.divisor)
    return _nchw(grad_input, call.unbatched)
