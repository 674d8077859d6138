"""API profiles: one declarative object per API that ``refconv check`` can judge.

An :class:`Api` says everything the engine needs about one API: its functions (in the order
they are checked and reported), the check of each (how to call it from a problem, how to read
its outputs, what to compare them with), the problems that exercise it, the corpus replayed
first, the diagnoses of its common bugs and the reproduction snippet of a failure. The engine
(:mod:`refconv.conformance.checks`, :mod:`~refconv.conformance.runner`), the reports, the plot,
the JSON, the grading writers and the pytest plugin are written once against this object.

Profiles:

- ``seed`` (:mod:`.seed`): the "Convolution model - Step by Step" notebook's eight functions,
  NHWC, ``hparameters`` dicts, cache tuples;
- ``cs231n`` (:mod:`.cs231n`): CS231n assignment 2's four naive layers, NCHW, ``conv_param`` and
  ``pool_param`` dicts, rectangular pools;
- ``functional`` (:mod:`.functional`): torch-like NCHW functions (``conv2d``, ``max_pool2d``...)
  with their backward through the adapter ``<op>_backward(grad_output, *forward arguments)``,
  and error parity with torch.

No two profiles share a function name, so a function name alone says which profile judges it
(:func:`api_of`); :func:`detect` picks a target's profile from the names it defines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from refconv import API_FUNCTIONS
from refconv.conformance.guard import Check, Recheck


@dataclass(frozen=True)
class Api:
    """Everything the engine needs to judge one API.

    Attributes
    ----------
    name : the ``--api`` value
    title : one line naming the API in reports
    functions : the functions, in the order they are checked and reported
    checks : function -> ``check(impl, problem, ctx)``
    problems : function -> hypothesis strategy of problems that exercise it
    corpus : function -> explicit problems replayed before exploring
    explain : ``explain(failure, recheck)`` fills ``failure.diagnosis`` and ``notes``
    repro : ``repro(failure, loader, has_forward)`` -> a snippet that prints what differs
    forwards : backward function -> the forward whose cache it is fed
    helpers : function -> functions it usually calls (a failing helper is noted)
    cost : function -> relative checking cost (the costliest start first with workers)
    layout : how 4-D arrays are laid out, "NHWC" or "NCHW" (reports show them so)
    unused_inputs : function -> problem arrays it does not read (reports leave them out)
    contract : the README section that states what is checked
    oracle_free : functions whose check needs no oracle; they are checked first, while torch
        loads (reports keep the order of ``functions``)
    """

    name: str
    title: str
    functions: tuple[str, ...]
    checks: Mapping[str, Check]
    problems: Callable[[str], Any]
    corpus: Callable[[str], tuple[Any, ...]]
    explain: Callable[[Any, Recheck], None]
    repro: Callable[[Any, str, bool], str]
    forwards: Mapping[str, str] = field(default_factory=dict)
    helpers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    cost: Mapping[str, int] = field(default_factory=dict)
    layout: str = "NHWC"
    unused_inputs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    contract: str = ""
    oracle_free: tuple[str, ...] = ()

    def check_order(self, names: Iterable[str]) -> list[str]:
        """``names`` in the order they are checked: those needing no oracle first, each group
        in the order given."""
        names = list(names)
        return [n for n in names if n in self.oracle_free] + [
            n for n in names if n not in self.oracle_free
        ]

    def has_forward(self, present: Iterable[str]) -> dict[str, bool]:
        """For each backward function: whether the target defines the forward feeding it."""
        present = set(present)
        return {backward: forward in present for backward, forward in self.forwards.items()}


API_NAMES: tuple[str, ...] = tuple(API_FUNCTIONS)


def _load() -> dict[str, Api]:
    from refconv.conformance.apis.cs231n import CS231N
    from refconv.conformance.apis.functional import FUNCTIONAL
    from refconv.conformance.apis.seed import SEED

    return {"seed": SEED, "cs231n": CS231N, "functional": FUNCTIONAL}


_REGISTRY: dict[str, Api] = {}


def apis() -> dict[str, Api]:
    """The profiles by name (imported on first use)."""
    if not _REGISTRY:
        _REGISTRY.update(_load())
    return _REGISTRY


def get(name: str) -> Api:
    """The profile called ``name``; ValueError naming the choices otherwise."""
    if name not in API_NAMES:
        raise ValueError(f"api must be one of {', '.join(API_NAMES)}, got {name!r}")
    return apis()[name]


def all_functions() -> tuple[str, ...]:
    """Every function of every profile (what a target is searched for before detection)."""
    return tuple(f for name in API_NAMES for f in API_FUNCTIONS[name])


def api_of(function: str) -> Api:
    """The profile that defines ``function``; ValueError naming every choice otherwise."""
    for api in apis().values():
        if function in api.functions:
            return api
    raise ValueError(f"function must be one of {', '.join(all_functions())}, got {function!r}")


def detect(present: Iterable[str]) -> Api:
    """The profile of a target that defines the functions ``present``.

    The profile with the most functions present wins (the seed on a tie, then the order of
    :data:`API_NAMES`); the seed when the target defines none (all its functions are then
    reported missing).
    """
    present = set(present)
    counts = {name: len(present & set(API_FUNCTIONS[name])) for name in API_NAMES}
    best = max(API_NAMES, key=lambda name: counts[name])  # first of the maxima: seed first
    return apis()[best]
