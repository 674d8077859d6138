"""Invalid functional calls for error parity: one mutation of a valid call.

Each mutation changes one thing of a valid call: an argument's type (bool, float, str, None,
NumPy array, element types), its value (zero, negative, too many values, padding above half the
kernel, output_padding >= stride and dilation, 'same' with a stride, a kernel larger than the
padded input, ...) or an array's shape (dimensions, channels, bias, empty sizes), or the shape
of grad_output. Some mutants stay valid (np.int64 values, one-element lists, stride=() for
pooling, output_padding == stride below the dilation, a ceil-mode window overhanging the input):
the property only demands that refconv raises exactly when torch does.

:func:`refconv.strategies.functional_configs` applies :func:`_mutant` to three valid calls in
four when ``valid=False``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from hypothesis import event
from hypothesis import strategies as st

from refconv.problems import FunctionalProblem
from refconv.strategies._choices import Draw, composite

_INT_TYPE_MUTANTS: tuple[Any, ...] = (True, False, 1.0, 2.5, "1", None, (1, 1.0), (True, 1))
_INT_VALUE_MUTANTS: tuple[Any, ...] = (0, -1, (1, 0), (0, -2), (1, 1, 1), (), [1], np.int64(2))


def _replace_kwarg(problem: FunctionalProblem, name: str, value: Any) -> FunctionalProblem:
    return dataclasses.replace(problem, kwargs={**problem.kwargs, name: value})


def _replace_array(problem: FunctionalProblem, name: str, value: Any) -> FunctionalProblem:
    return dataclasses.replace(problem, **{name: value})


def _resized(array: np.ndarray, axis: int, size: int) -> np.ndarray:
    """``array`` with dimension ``axis`` cut or zero-extended to ``size``."""
    shape = list(array.shape)
    shape[axis] = size
    out = np.zeros(shape, dtype=array.dtype)
    common = tuple(slice(0, min(a, b)) for a, b in zip(array.shape, shape, strict=True))
    out[common] = array[common]
    return out


def _int_params(op: str) -> tuple[str, ...]:
    return {
        "conv2d": ("stride", "padding", "dilation", "groups"),
        "conv_transpose2d": ("stride", "padding", "output_padding", "groups", "dilation"),
        "max_pool2d": ("kernel_size", "stride", "padding", "dilation"),
        "avg_pool2d": ("kernel_size", "stride", "padding"),
    }[op]


def _pair_of(value: Any) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        return (int(value[0]), int(value[-1]))
    return (int(value), int(value))


@composite
def _mutant(draw: Draw, problem: FunctionalProblem) -> FunctionalProblem:
    """One mutation of a valid problem (reported as ``event("mutation: ...")``)."""
    op = problem.op
    channel_axis = 0 if problem.input.ndim == 3 else 1
    spatial = problem.input.shape[-2:]
    kinds = [
        "int type",
        "int value",
        "input ndim",
        "empty input",
        "grad_output shape",
    ]
    if op in ("conv2d", "conv_transpose2d"):
        kinds += ["weight shape", "bias shape", "groups"]
    if op == "conv2d":
        kinds += ["padding string", "kernel too large"]
    if op == "conv_transpose2d":
        kinds += ["output_padding", "padding string", "padding too large"]
    if op in ("max_pool2d", "avg_pool2d"):
        kinds += ["pool padding", "kernel too large", "bool flags"]
    if op == "avg_pool2d":
        kinds += ["divisor_override"]
    kind = draw.choice(kinds)
    event(f"mutation: {kind}")

    if kind == "int type":
        name = draw.choice(_int_params(op))
        values = _INT_TYPE_MUTANTS + ((np.array([1, 1]),) if name != "groups" else ())
        return _replace_kwarg(problem, name, draw.choice(values))
    if kind == "int value":
        name = draw.choice(_int_params(op))
        value = draw(st.sampled_from(_INT_VALUE_MUTANTS + ((-2,) if name == "groups" else ())))
        return _replace_kwarg(problem, name, value)
    if kind == "input ndim":
        x = problem.input
        return _replace_array(problem, "input", x[0] if x.ndim == 3 else x[None])
    if kind == "empty input":
        axis = draw.choice((channel_axis, problem.input.ndim - 2, problem.input.ndim - 1))
        if axis == channel_axis and op == "conv2d":
            axis = problem.input.ndim - 1  # torch accepts C_in == 0 oddly; refconv does not
        return _replace_array(problem, "input", _resized(problem.input, axis, 0))
    if kind == "grad_output shape":
        grad = problem.grad_output
        axis = draw.integer(0, grad.ndim - 1)
        return _replace_array(problem, "grad_output", _resized(grad, axis, grad.shape[axis] + 1))
    if kind == "weight shape":
        w = problem.weight
        change = draw.choice(("dim0 + 1", "dim1 + 1", "dim1 = 0", "kernel 0", "ndim"))
        if change == "ndim":
            return _replace_array(problem, "weight", w[0] if draw.boolean() else w[None])
        axis, size = {
            "dim0 + 1": (0, w.shape[0] + 1),
            "dim1 + 1": (1, w.shape[1] + 1),
            "dim1 = 0": (1, 0),
            "kernel 0": (2 + draw.integer(0, 1), 0),
        }[change]
        return _replace_array(problem, "weight", _resized(w, axis, size))
    if kind == "bias shape":
        c_out = problem.grad_output.shape[channel_axis]
        dtype = problem.input.dtype
        bias = draw(
            st.sampled_from(
                (
                    np.zeros(c_out + 1, dtype),
                    np.zeros((1, c_out), dtype),
                    np.zeros((), dtype),
                    np.zeros(max(c_out - 1, 0), dtype),
                )
            )
        )
        return _replace_array(problem, "bias", bias)
    if kind == "groups":
        return _replace_kwarg(problem, "groups", draw.integer(2, 5))
    if kind == "padding string":
        value = draw.choice(("same", "valid", "full", "SAME", ""))
        mutant = _replace_kwarg(problem, "padding", value)
        if value == "same" and draw.boolean():
            mutant = _replace_kwarg(mutant, "stride", draw(st.sampled_from((2, (1, 2), [2, 1]))))
        return mutant
    if kind == "kernel too large":
        axis = draw.integer(0, 1)
        if op == "conv2d":
            pad = problem.kwargs.get("padding", 0)
            pads = (0, 0) if isinstance(pad, str) else _pair_of(pad)
            size = spatial[axis] + 2 * pads[axis] + draw.integer(1, 2)
            return _replace_array(problem, "weight", _resized(problem.weight, 2 + axis, size))
        kernel = list(_pair_of(problem.kwargs["kernel_size"]))
        pad = _pair_of(problem.kwargs.get("padding", 0))
        kernel[axis] = spatial[axis] + 2 * pad[axis] + draw.integer(1, 2)
        return _replace_kwarg(problem, "kernel_size", tuple(kernel))
    if kind == "output_padding":
        stride = _pair_of(problem.kwargs.get("stride", 1))
        dilation = _pair_of(problem.kwargs.get("dilation", 1))
        axis = draw.integer(0, 1)
        value = [0, 0]
        value[axis] = draw(
            st.sampled_from((stride[axis], dilation[axis], max(stride[axis], dilation[axis])))
        )
        return _replace_kwarg(problem, "output_padding", tuple(value))
    if kind == "padding too large":
        axis = draw.integer(0, 1)
        value = [0, 0]
        value[axis] = spatial[axis] * 2 + draw.integer(0, 3)
        return _replace_kwarg(problem, "padding", tuple(value))
    if kind == "pool padding":
        kernel = _pair_of(problem.kwargs["kernel_size"])
        axis = draw.integer(0, 1)
        value = [0, 0]
        value[axis] = kernel[axis] // 2 + 1  # torch: pad <= kernel_size // 2
        return _replace_kwarg(problem, "padding", tuple(value))
    if kind == "bool flags":
        names = ["ceil_mode"] + (["count_include_pad"] if op == "avg_pool2d" else [])
        name = draw.choice(names)
        value = draw(st.sampled_from((1, 0, None, "yes", np.bool_(True), True, False)))
        return _replace_kwarg(problem, name, value)
    assert kind == "divisor_override"
    value = draw(st.sampled_from((0, -1, 2.0, True, np.int64(3), "2")))
    return _replace_kwarg(problem, "divisor_override", value)
