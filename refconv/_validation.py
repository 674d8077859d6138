"""Input validation shared by every face of refconv (seed API, functional API, stepwise loops).

Every check raises ``TypeError`` (wrong kind of value) or ``ValueError`` (right kind, bad value)
with a message that names the parameter and shows the offending value, so that a user never gets
a silent wrong answer, an empty array or a bare ``IndexError`` from deep inside NumPy.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _describe(value: Any) -> str:
    """Short repr of a value for error messages (arrays by shape and dtype, not by content)."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (tuple, list)):
        kinds = ", ".join(type(item).__name__ for item in value[:6])
        return (
            f"{type(value).__name__} of {len(value)} ({kinds}{', ...' if len(value) > 6 else ''})"
        )
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def as_float_array(
    value: Any, name: str, ndim: int | None = None, shape_doc: str = ""
) -> np.ndarray:
    """Return ``value`` as a float32/float64 ndarray without copying when it already is one.

    Booleans and integers are promoted to float64 (README "Semantics"); float16 and extended
    precision are rejected rather than silently changed, as are complex, object and string data.

    Parameters
    ----------
    value : array_like
        The user's input. Never modified.
    name : str
        Parameter name used in error messages.
    ndim : int, optional
        Required number of dimensions.
    shape_doc : str
        Human description of the expected shape, e.g. ``"(m, n_H, n_W, n_C)"``.
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a numeric array, got {_describe(value)}")
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nested lists and the like
        raise TypeError(f"{name} must be a numeric array, got {_describe(value)}: {exc}") from None
    kind = array.dtype.kind
    if kind in "biu":
        array = array.astype(np.float64)
    elif kind == "f":
        if array.dtype not in FLOAT_DTYPES:
            raise TypeError(
                f"{name} has dtype {array.dtype}; refconv computes in float32 or float64 "
                f"(convert with .astype(np.float32) or .astype(np.float64))"
            )
    else:
        raise TypeError(
            f"{name} must be a real numeric array (bool, int, float32 or float64), "
            f"got dtype {array.dtype}"
        )
    if ndim is not None and array.ndim != ndim:
        expected = f" {shape_doc}" if shape_doc else ""
        raise ValueError(
            f"{name} must be a {ndim}-D array{expected}, got shape {array.shape} ({array.ndim}-D)"
        )
    return array


def result_dtype(*arrays: np.ndarray) -> np.dtype:
    """The dtype results are computed and returned in: float32 only if every input is float32."""
    return np.result_type(*arrays)


def check_int(value: Any, name: str, minimum: int) -> int:
    """Return ``value`` as a Python int, rejecting bools, floats and values below ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an integer, got {_describe(value)} ({type(value).__name__})"
        )
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def get_hparameter(hparameters: Any, key: str, minimum: int) -> int:
    """Read the integer ``hparameters[key]`` and check it is at least ``minimum``."""
    if not isinstance(hparameters, Mapping):
        raise TypeError(f"hparameters must be a dict, got {_describe(hparameters)}")
    if key not in hparameters:
        raise ValueError(
            f"hparameters is missing the key {key!r} (got keys {sorted(map(str, hparameters))})"
        )
    return check_int(hparameters[key], f"hparameters[{key!r}]", minimum)


def check_mode(mode: Any) -> str:
    """Pooling mode: ``"max"`` or ``"average"`` (the seed silently returned zeros otherwise)."""
    if mode not in ("max", "average"):
        raise ValueError(f"mode must be 'max' or 'average', got {mode!r}")
    return mode


def check_window_fits(name: str, kernel: int, height: int, width: int, what: str) -> None:
    """A kernel (dilated extent) larger than the (padded) input leaves no valid window."""
    if kernel > min(height, width):
        raise ValueError(
            f"{name} = {kernel} is larger than the {what} of {height}x{width}: no window fits"
        )


def check_shape(array: np.ndarray, expected: tuple[int, ...], name: str, why: str) -> None:
    """Exact shape check with the reason the shape is expected."""
    if array.shape != tuple(expected):
        raise ValueError(f"{name} must have shape {tuple(expected)} ({why}), got {array.shape}")


def check_cache(cache: Any, length: int, layout: str) -> Sequence[Any]:
    """A cache must be the tuple its forward function returned."""
    if not isinstance(cache, (tuple, list)) or len(cache) != length:
        raise ValueError(
            f"cache must be the {length}-tuple {layout} returned by the forward function, "
            f"got {_describe(cache)}"
        )
    return cache
