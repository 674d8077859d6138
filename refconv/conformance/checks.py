"""The engine's one entry point to judge a function on one problem: :func:`check`.

A check takes an implementation (any object with some of an API's functions as attributes:
refconv itself, refconv.stepwise, a student's module, an isolated target), one problem and a tie
policy. It returns the advice collected (behaviour outside the API's contract) when the
implementation conforms and raises :class:`~refconv.conformance.guard.ConformanceFailure`
otherwise. The same checks run in refconv's own property suite (``properties/``), in
``refconv check`` and in the pytest plugin.

Where the rest lives: the check of each function is in its API profile
(:mod:`refconv.conformance.apis`); the guarded call of user code in
:mod:`~refconv.conformance.guard`; the tie references in :mod:`~refconv.conformance.ties`; the
allowed error in :mod:`~refconv.conformance.tolerance`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from refconv.conformance.apis import api_of
from refconv.conformance.calls import implementation
from refconv.conformance.guard import DEFAULT_TIMEOUT, ConformanceFailure, Context
from refconv.conformance.ties import TIE_POLICIES

__all__ = ["DEFAULT_TIMEOUT", "TIE_POLICIES", "ConformanceFailure", "check"]


def _as_float(problem: Any) -> Any | None:
    """The same problem with its integer arrays as float64, or None if it has none."""
    fields = dict(problem.__dict__)
    converted = False
    for key, value in fields.items():
        if isinstance(value, np.ndarray) and value.dtype.kind in "iub":
            fields[key] = value.astype(np.float64)
            converted = True
    return type(problem)(**fields) if converted else None


def check(
    function: str,
    impl: Any,
    problem: Any,
    policy: str = "torch",
    timeout: float | None = DEFAULT_TIMEOUT,
    strict: bool = False,
) -> list[tuple[str, str]]:
    """Run the conformance check of ``function`` on one problem; raise ConformanceFailure.

    Returns the advice ``(topic, text)`` collected on the way: behaviour outside the API's
    contract, which fails only with ``strict``. Integer input is such behaviour: a failure on
    integer-valued input given as an int array is advice when the same values as float64 pass.
    """
    checker = api_of(function).checks[function]  # ValueError for an unknown function
    if policy not in TIE_POLICIES:
        raise ValueError(f"policy must be one of {TIE_POLICIES}, got {policy!r}")
    impl = implementation(impl)
    if not impl.present(function):
        raise ValueError(f"the implementation defines no {function}()")
    ctx = Context(policy=policy, timeout=timeout, strict=strict)
    try:
        checker(impl, problem, ctx)
    except ConformanceFailure as failure:
        floats = None if strict or failure.kind in ("timeout", "crash") else _as_float(problem)
        if floats is None:
            raise
        checker(impl, floats, ctx)  # in the contract: its failure is the verdict
        ctx.advice.append(
            (
                "integer input",
                f"{function} fails on integer input (an int array, {failure.message}) where "
                "the same values as floats pass: convert with np.asarray(x, dtype=float)",
            )
        )
    return ctx.advice
