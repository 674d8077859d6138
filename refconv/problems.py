"""Test problems of every API: the arguments of one call, plus the upstream gradient.

Seed API: :class:`PadProblem` ... :class:`DistributeProblem`; CS231n: :class:`Cs231nConvProblem`,
:class:`Cs231nPoolProblem`; functional API: :class:`FunctionalProblem`. Each problem owns its
geometry (``geometry``, ``out_shape``) so that no check, diagnosis or report re-derives it.

These small frozen dataclasses are what :mod:`refconv.strategies` generates and what the
conformance engine (:mod:`refconv.conformance`) feeds to an implementation. Their ``repr`` and
:meth:`python_source` are written to be pasted into a bug report.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from refconv._executor.wire import from_layout_state, layout_state
from refconv._windows import Geometry, output_length


def array_source(array: np.ndarray, name: str | None = None) -> str:
    """Python source that rebuilds ``array`` exactly: dtype, values and memory layout.

    A fresh C-contiguous array is a literal, ``np.array([...], dtype=...)`` (flat and reshaped
    beyond two dimensions). Other layouts are rebuilt from a literal the way such arrays arise,
    so that the result has the same ``strides`` and contiguity flags: ``np.asfortranarray(...)``
    for Fortran order, a ``[::-1]`` of the flipped literal for negative strides, a slice of a
    larger (zero-filled) literal for gaps, a ``.transpose(...)`` for other axis orders and, as a
    last resort (overlapping or odd strides), ``np.lib.stride_tricks.as_strided`` on a literal
    buffer. An empty or non-native array is a plain literal (same values and shape).

    With ``name`` the source is an assignment statement, and a read-only array gets a second
    line ``name.setflags(write=False)``; without, it is one expression (read-only through
    ``as_strided(..., writeable=False)``, a view with the same strides).
    """
    array = np.asarray(array)
    text = _layout_source(array)
    if name is None:
        if not array.flags.writeable:
            text = f"np.lib.stride_tricks.as_strided({text}, writeable=False)"
        return text
    text = f"{name} = {text}"
    if not array.flags.writeable:
        text += f"\n{name}.setflags(write=False)"
    return text


def _literal(array: np.ndarray) -> str:
    """A fresh C-contiguous array of ``array``'s values (the historical format)."""
    dtype = f"np.{array.dtype}"
    if array.ndim <= 2:
        return f"np.array({_values_text(array.tolist())}, dtype={dtype})"
    flat = array.reshape(-1).tolist()
    return f"np.array({_values_text(flat)}, dtype={dtype}).reshape({array.shape})"


def _values_text(values: Any) -> str:
    """``repr`` of nested lists of numbers, with NaN and infinities spelled as NumPy names."""
    text = repr(values)
    if "nan" not in text and "inf" not in text:
        return text

    def spell(value: Any) -> str:
        if isinstance(value, list):
            return "[" + ", ".join(spell(v) for v in value) + "]"
        if isinstance(value, float) and not np.isfinite(value):
            return "np.nan" if np.isnan(value) else ("np.inf" if value > 0 else "-np.inf")
        if isinstance(value, complex) and not np.isfinite(value):
            return f"complex({spell(value.real)}, {spell(value.imag)})"
        return repr(value)

    return spell(values)


def _c_strides(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    strides, step = [], itemsize
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


def _layout_source(array: np.ndarray) -> str:
    """An expression for a writeable array with ``array``'s values, dtype and strides."""
    plain = array.flags.c_contiguous and array.strides == _c_strides(array.shape, array.itemsize)
    if plain or array.size == 0 or not array.dtype.isnative:  # (an empty array has no layout)
        return _literal(array)
    for build in (_built_like, _built_by_transpose, _built_by_as_strided):
        text = build(array)
        if text is not None and _rebuilds(text, array):
            return text
    return _literal(array)  # same values, a fresh layout


def _rebuilds(text: str, array: np.ndarray) -> bool:
    try:
        rebuilt = eval(text, {"np": np})  # noqa: S307 - our own source of number literals
    except Exception:  # noqa: BLE001 - a candidate that NumPy rejects is not used
        return False
    return (
        rebuilt.dtype == array.dtype
        and rebuilt.shape == array.shape
        and rebuilt.strides == array.strides
        and rebuilt.flags.c_contiguous == array.flags.c_contiguous
        and rebuilt.flags.f_contiguous == array.flags.f_contiguous
        and np.array_equal(rebuilt, array, equal_nan=array.dtype.kind in "fc")
    )


def _index_text(slices: list[str]) -> str:
    """``[a, b]`` without trailing full slices; empty when every slice is full."""
    while slices and slices[-1] == ":":
        slices = slices[:-1]
    return f"[{', '.join(slices)}]" if slices else ""


def _unflipped(array: np.ndarray) -> tuple[np.ndarray, str]:
    """``array`` with its negative strides flipped, and the index that flips them back."""
    flips = [s < 0 for s in array.strides]
    if not any(flips):
        return array, ""
    index = tuple(slice(None, None, -1) if f else slice(None) for f in flips)
    return array[index], _index_text(["::-1" if f else ":" for f in flips])


def _enclosing(array: np.ndarray) -> tuple[tuple[int, ...], list[str], list[slice]] | None:
    """For positive strides in decreasing order: the smallest shape of a C-contiguous array of
    which ``array``'s layout is a slice (``[:stop:step]`` per axis, from 0), and that slice."""
    shape, strides = array.shape, array.strides

    def search(axis: int, contiguous: int) -> list[tuple[int, int]] | None:
        # (size, step) of axes 0..axis, innermost last, given the stride of axis in the C array
        n, stride = shape[axis], strides[axis]
        if stride <= 0 or stride % contiguous:
            return None
        step = stride // contiguous
        extent = (n - 1) * step + 1
        if axis == 0:
            return [(extent, step)]
        outer = strides[axis - 1]
        if outer % contiguous:
            return None
        room = outer // contiguous  # size x (step of the next axis out)
        # a length-1 axis is most naturally a [:1] of a full axis; others the smallest fit
        sizes = range(extent, room + 1)
        for size in [room, *sizes] if n == 1 else sizes:
            if room % size == 0:
                found = search(axis - 1, contiguous * size)
                if found is not None:
                    return [*found, (size, step)]
        return None

    found = search(array.ndim - 1, array.itemsize) if array.ndim else []
    if found is None:
        return None
    texts, slices = [], []
    for n, (size, step) in zip(shape, found, strict=True):
        extent = (n - 1) * step + 1
        slices.append(slice(0, extent, step))
        if step == 1:
            texts.append(":" if extent == size else f":{extent}")
        else:
            texts.append(f"::{step}" if len(range(0, size, step)) == n else f":{extent}:{step}")
    return tuple(size for size, _ in found), texts, slices


def _slice_of_literal(array: np.ndarray, fortran: bool = False) -> str | None:
    """``array`` (positive strides, C-like axis order; the reversed order with ``fortran``)
    as a slice of a zero-filled literal."""
    view = array.T if fortran else array
    enclosing = _enclosing(view)
    if enclosing is None:
        return None
    big_shape, texts, slices = enclosing
    big = np.zeros(big_shape, dtype=array.dtype)
    big[tuple(slices)] = view
    if fortran:
        return f"np.asfortranarray({_literal(big.T)}){_index_text(texts[::-1])}"
    return f"{_literal(big)}{_index_text(texts)}"


def _axis_order(array: np.ndarray) -> list[int]:
    """Axes from the largest stride to the smallest (length-1 axes innermost among equals)."""
    return sorted(range(array.ndim), key=lambda i: (-array.strides[i], array.shape[i] == 1))


def _built_like(array: np.ndarray) -> str | None:
    """C order, or Fortran order, possibly sliced and flipped."""
    positive, flip = _unflipped(array)
    order = _axis_order(positive)
    if order == sorted(order):
        text = _slice_of_literal(positive)
    elif order == sorted(order, reverse=True):
        text = _slice_of_literal(positive, fortran=True)
    else:
        return None
    return None if text is None else text + flip


def _built_by_transpose(array: np.ndarray) -> str | None:
    """Any axis order: a transpose of a (sliced) C literal, possibly flipped."""
    positive, flip = _unflipped(array)
    order = _axis_order(positive)
    text = _slice_of_literal(positive.transpose(order))
    if text is None:
        return None
    inverse = tuple(int(i) for i in np.argsort(order))
    return f"{text}.transpose({inverse}){flip}"


def _built_by_as_strided(array: np.ndarray) -> str | None:
    """Any non-negative strides that are multiples of the item size: ``as_strided`` over a
    literal buffer holding each element at its offset."""
    positive, flip = _unflipped(array)
    itemsize = positive.itemsize
    if any(s % itemsize for s in positive.strides):
        return None
    steps = [s // itemsize for s in positive.strides]
    span = sum((n - 1) * s for n, s in zip(positive.shape, steps, strict=True)) + 1
    buffer = np.zeros(span, dtype=positive.dtype)
    for index in np.ndindex(*positive.shape):
        buffer[sum(i * s for i, s in zip(index, steps, strict=True))] = positive[index]
    return (
        f"np.lib.stride_tricks.as_strided({_literal(buffer)}, shape={positive.shape}, "
        f"strides={positive.strides}){flip}"
    )


def _rebuild_problem(cls: type, state: dict[str, tuple[bool, Any]]) -> Any:
    """Inverse of ``_Problem.__reduce__``."""
    values = {
        name: from_layout_state(*payload) if is_array else payload
        for name, (is_array, payload) in state.items()
    }
    return cls(**values)


class _Problem:
    """Shared helpers: an exact, copy-pasteable Python rendering of the fields."""

    def python_source(self) -> str:
        lines = []
        for field in fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            if isinstance(value, np.ndarray):
                lines.append(array_source(value, field.name))  # its layout and flags too
            else:
                lines.append(f"{field.name} = {value!r}")
        return "\n".join(lines)

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)  # type: ignore[arg-type]
            if isinstance(getattr(self, f.name), np.ndarray)
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.summary()})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickling an array view loses its layout (worker processes send failures back):
        # arrays travel with their strides, offset and writeability.
        state = {}
        for field in fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            state[field.name] = (
                (True, layout_state(value))
                if isinstance(value, np.ndarray)
                else (
                    False,
                    value,
                )
            )
        return (_rebuild_problem, (type(self), state))

    def summary(self) -> str:
        """One line: shapes of the arrays and the scalar parameters."""
        parts = []
        for field in fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            if isinstance(value, np.ndarray):
                parts.append(f"{field.name}{value.shape}")
            else:
                parts.append(f"{field.name}={value!r}")
        return ", ".join(parts)


@dataclass(frozen=True, repr=False, eq=False)
class PadProblem(_Problem):
    """``zero_pad(X, pad)``."""

    X: np.ndarray
    pad: int


@dataclass(frozen=True, repr=False, eq=False)
class SingleStepProblem(_Problem):
    """``conv_single_step(a_slice_prev, W, b)``; ``b`` has shape (1, 1, 1)."""

    a_slice_prev: np.ndarray
    W: np.ndarray
    b: np.ndarray


@dataclass(frozen=True, repr=False, eq=False)
class ConvProblem(_Problem):
    """``conv_forward(A_prev, W, b, {"stride": stride, "pad": pad})`` and its backward.

    ``dZ`` is the upstream gradient, of the forward output's shape, drawn independently
    (random, so that reading it at a wrong index shows).
    """

    A_prev: np.ndarray
    W: np.ndarray
    b: np.ndarray
    stride: int
    pad: int
    dZ: np.ndarray

    @property
    def hparameters(self) -> dict[str, int]:
        return {"stride": self.stride, "pad": self.pad}

    @property
    def geometry(self) -> Geometry:
        """The window geometry of the convolution (NHWC)."""
        _, h, w, _ = self.A_prev.shape
        f, p, s = self.W.shape[0], self.pad, self.stride
        return Geometry(h, w, (f, f), (s, s), (p, p, p, p))

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        m, h, w, _ = self.A_prev.shape
        f = self.W.shape[0]
        p, s = self.pad, self.stride
        return (m, output_length(h, f, s, p, p), output_length(w, f, s, p, p), self.W.shape[3])


@dataclass(frozen=True, repr=False, eq=False)
class PoolProblem(_Problem):
    """``pool_forward(A_prev, {"f": f, "stride": stride}, mode)`` and its backward with ``dA``."""

    A_prev: np.ndarray
    f: int
    stride: int
    mode: str
    dA: np.ndarray

    @property
    def hparameters(self) -> dict[str, int]:
        return {"f": self.f, "stride": self.stride}

    @property
    def geometry(self) -> Geometry:
        """The window geometry of the pooling (NHWC, no padding)."""
        _, h, w, _ = self.A_prev.shape
        return Geometry(h, w, (self.f, self.f), (self.stride, self.stride), (0, 0, 0, 0))

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        m, h, w, c = self.A_prev.shape
        return (
            m,
            output_length(h, self.f, self.stride, 0, 0),
            output_length(w, self.f, self.stride, 0, 0),
            c,
        )


@dataclass(frozen=True, repr=False, eq=False)
class WindowProblem(_Problem):
    """``create_mask_from_window(x)``."""

    x: np.ndarray


@dataclass(frozen=True, repr=False, eq=False)
class DistributeProblem(_Problem):
    """``distribute_value(dz, shape)``."""

    dz: float
    shape: tuple[int, int]


Problem = Any  # any of the dataclasses above


FUNCTIONAL_OPS: tuple[str, ...] = ("conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d")
"""The ops of :mod:`refconv.functional` (each also has an ``<op>_backward``)."""


@dataclass(frozen=True, repr=False, eq=False)
class FunctionalProblem(_Problem):
    """One call of :mod:`refconv.functional` (or ``torch.nn.functional``), NCHW like torch.

    ``op`` names the forward function; ``input`` (and ``weight``, ``bias`` for the convolutions)
    are its array arguments, ``kwargs`` everything else, exactly as they would be passed (possibly
    invalid values, when the problem comes from ``functional_configs(valid=False)``).
    ``grad_output`` is the upstream gradient for ``<op>_backward`` (None when the forward output
    has no well-defined shape because the call is invalid).
    """

    op: str
    input: np.ndarray
    weight: np.ndarray | None
    bias: np.ndarray | None
    kwargs: dict[str, Any]
    grad_output: np.ndarray | None

    @property
    def arrays_in(self) -> tuple[np.ndarray | None, ...]:
        """The positional array arguments of the forward: (input, weight, bias) or (input,)."""
        if self.op in ("conv2d", "conv_transpose2d"):
            return (self.input, self.weight, self.bias)
        return (self.input,)

    def forward(self, module: Any) -> Any:
        """``module.<op>(*arrays, **kwargs)`` with the problem's NumPy arrays."""
        return getattr(module, self.op)(*self.arrays_in, **self.kwargs)

    def backward(self, module: Any, grad_output: np.ndarray | None = None) -> Any:
        """``module.<op>_backward(grad_output, *arrays, **kwargs)`` (``return_indices`` dropped)."""
        kwargs = {k: v for k, v in self.kwargs.items() if k != "return_indices"}
        grad = self.grad_output if grad_output is None else grad_output
        return getattr(module, f"{self.op}_backward")(grad, *self.arrays_in, **kwargs)

    def inputs_source(self) -> str:
        """Python source of the call's arguments alone (arrays, ``kwargs``)."""
        return super().python_source()

    def python_source(self) -> str:
        """Copy-pasteable reproduction: the arrays, then the refconv.functional call."""
        source = self.inputs_source()
        names = {"conv2d": "input, weight, bias", "conv_transpose2d": "input, weight, bias"}
        args = names.get(self.op, "input")
        return f"{source}\ny = refconv.functional.{self.op}({args}, **kwargs)"


@dataclass(frozen=True, repr=False, eq=False)
class Cs231nConvProblem(_Problem):
    """``conv_forward_naive(x, w, b, {"stride": stride, "pad": pad})`` and its backward.

    NCHW: ``x`` (N, C, H, W), ``w`` (F, C, HH, WW), ``b`` (F,); ``dout`` is the upstream
    gradient, of the forward output's shape (N, F, H', W').
    """

    x: np.ndarray
    w: np.ndarray
    b: np.ndarray
    stride: int
    pad: int
    dout: np.ndarray

    @property
    def conv_param(self) -> dict[str, int]:
        return {"stride": self.stride, "pad": self.pad}

    @property
    def geometry(self) -> Geometry:
        """The window geometry (of the NHWC view of ``x``)."""
        _, _, h, w = self.x.shape
        p, s = self.pad, self.stride
        return Geometry(h, w, tuple(self.w.shape[2:]), (s, s), (p, p, p, p))

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        n_h, n_w = self.geometry.out_shape
        return (self.x.shape[0], self.w.shape[0], n_h, n_w)


@dataclass(frozen=True, repr=False, eq=False)
class Cs231nPoolProblem(_Problem):
    """``max_pool_forward_naive(x, pool_param)`` and its backward with ``dout``.

    ``pool_param`` is ``{"pool_height": pool_height, "pool_width": pool_width, "stride": stride}``;
    no padding; NCHW.
    """

    x: np.ndarray
    pool_height: int
    pool_width: int
    stride: int
    dout: np.ndarray

    @property
    def pool_param(self) -> dict[str, int]:
        return {
            "pool_height": self.pool_height,
            "pool_width": self.pool_width,
            "stride": self.stride,
        }

    @property
    def geometry(self) -> Geometry:
        """The window geometry (of the NHWC view of ``x``)."""
        _, _, h, w = self.x.shape
        kernel, s = (self.pool_height, self.pool_width), self.stride
        return Geometry(h, w, kernel, (s, s), (0, 0, 0, 0))

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        n, c = self.x.shape[:2]
        return (n, c, *self.geometry.out_shape)
