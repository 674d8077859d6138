"""Memory layouts of an input array: fresh C arrays, Fortran order, negative strides, strided
slices and read-only arrays (:data:`LAYOUTS`), the same values in each (:func:`as_layout`), and
:func:`with_input_layout` (and :func:`draw_input_layout`), which draw one for a problem's main
input."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from refconv.strategies._choices import Draw, composite

#: Memory layouts of an input array that real callers pass: fresh C arrays first (what
#: shrinking heads to), then views.
LAYOUTS = ("fresh", "fortran", "negative strides", "strided slice", "read-only")


def as_layout(array: np.ndarray, layout: str) -> np.ndarray:
    """``array``'s values in memory laid out as ``layout`` (one of :data:`LAYOUTS`).

    ``"fortran"``: column-major; ``"negative strides"``: a reversed view of a reversed copy;
    ``"strided slice"``: every other element of a larger array along the last axis;
    ``"read-only"``: a copy whose ``writeable`` flag is off.
    """
    if layout == "fresh":
        return np.array(array)
    if layout == "fortran":
        return np.asfortranarray(array)
    if layout == "negative strides":
        return np.array(array[::-1])[::-1]
    if layout == "strided slice":
        wide = np.zeros(array.shape[:-1] + (2 * array.shape[-1],), dtype=array.dtype)
        wide[..., ::2] = array
        return wide[..., ::2]
    if layout == "read-only":
        frozen = np.array(array)
        frozen.flags.writeable = False
        return frozen
    raise InvalidArgument(f"layout must be one of {LAYOUTS}, got {layout!r}")


#: The field holding each problem's main input array.
_MAIN_INPUT = ("A_prev", "X", "x", "a_slice_prev")


def draw_input_layout(draw: Draw, problem: Any) -> Any:
    """``problem`` with its main input (``A_prev``, ``X``, ``x`` or ``a_slice_prev``) in a drawn
    one of the :data:`LAYOUTS`, same values (reported as ``event("input layout: ...")``); a
    problem without one, unchanged (nothing drawn). For use inside a :func:`composite`."""
    name = next((n for n in _MAIN_INPUT if isinstance(getattr(problem, n, None), np.ndarray)), None)
    if name is None:
        return problem
    layout = draw.choice(LAYOUTS)
    event(f"input layout: {layout}")
    fields = dict(problem.__dict__)
    fields[name] = as_layout(fields[name], layout)
    return type(problem)(**fields)


@composite
def _with_input_layout(draw: Draw, problem: Any) -> Any:
    return draw_input_layout(draw, problem)


def with_input_layout(problem: Any) -> st.SearchStrategy[Any]:
    """``problem`` with its main input (``A_prev``, ``X``, ``x`` or ``a_slice_prev``) in one of
    the :data:`LAYOUTS`, same values; the layout is reported as ``event("input layout: ...")``.
    Use as ``problems.flatmap(with_input_layout)``."""
    if not any(isinstance(getattr(problem, n, None), np.ndarray) for n in _MAIN_INPUT):
        return st.just(problem)
    return _with_input_layout(problem)
