"""Test problems for the seed API: the arguments of one call, plus the upstream gradient.

These small frozen dataclasses are what :mod:`refconv.strategies` generates and what the
conformance engine (:mod:`refconv.conformance`) feeds to an implementation. Their ``repr`` and
:meth:`python_source` are written to be pasted into a bug report.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from refconv._windows import output_length


def array_source(array: np.ndarray) -> str:
    """Python source that rebuilds ``array`` exactly (dtype included)."""
    dtype = f"np.{array.dtype}"
    if array.ndim <= 2:
        return f"np.array({array.tolist()!r}, dtype={dtype})"
    return f"np.array({array.reshape(-1).tolist()!r}, dtype={dtype}).reshape({array.shape})"


class _Problem:
    """Shared helpers: an exact, copy-pasteable Python rendering of the fields."""

    def python_source(self) -> str:
        lines = []
        for field in fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            text = array_source(value) if isinstance(value, np.ndarray) else repr(value)
            lines.append(f"{field.name} = {text}")
        return "\n".join(lines)

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)  # type: ignore[arg-type]
            if isinstance(getattr(self, f.name), np.ndarray)
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.summary()})"

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

    def python_source(self) -> str:
        """Copy-pasteable reproduction: the arrays, then the refconv.functional call."""
        source = super().python_source()
        names = {"conv2d": "input, weight, bias", "conv_transpose2d": "input, weight, bias"}
        args = names.get(self.op, "input")
        return f"{source}\ny = refconv.functional.{self.op}({args}, **kwargs)"
