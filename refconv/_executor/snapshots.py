"""Copies of a call's arguments taken before the call, and whether the call changed them.

One definition for both sides: the executor (:mod:`serve`, which reports mutated arguments to
the judge) and the judge's in-process calls of trusted code
(:class:`refconv.conformance.calls.InProcess`). ``unchanged`` trusts nothing about ``after``:
user code may have put anything in a list it was given.

Standard library and NumPy only; parses as Python 3.8 (see the package docstring).
"""

from __future__ import annotations


def snapshot(value, clone=None):
    """A copy of an argument deep enough to detect in-place changes: arrays copied (with
    ``clone``, e.g. one that keeps the memory layout; default ``ndarray.copy``), dicts, lists
    and tuples copied one level per level, anything else kept as is."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return clone(value) if clone is not None and value.size else value.copy()
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, (tuple, list)):
        return type(value)(snapshot(v, clone) for v in value)
    return value


def unchanged(before, after) -> bool:
    """Whether ``after`` still equals the snapshot ``before`` (same shapes, dtypes and values,
    NaN equal to NaN)."""
    import numpy as np

    if isinstance(before, np.ndarray):
        return (
            isinstance(after, np.ndarray)
            and before.shape == after.shape
            and before.dtype == after.dtype
            and bool(np.array_equal(before, after, equal_nan=before.dtype.kind == "f"))
        )
    if isinstance(before, (tuple, list)):
        return (
            isinstance(after, (tuple, list))
            and len(before) == len(after)
            and all(unchanged(b, a) for b, a in zip(before, after))
        )
    if isinstance(before, dict):
        try:
            return dict(after) == before
        except Exception:  # noqa: BLE001 - a hostile mapping
            return False
    return True
