"""One check of one target, start to end: the results, the text report and the JSON document.

``refconv check TARGET`` (:mod:`refconv.cli`) and the grading API
(:func:`refconv.grading.grade`) both run :func:`run_check` on an implementation: an
:class:`~refconv.conformance.isolation.IsolatedTarget` for a user's file, or an in-process
namespace for code that already runs in the caller's process (a notebook kernel's functions).
The document is what ``--json`` writes and what every grading writer reads.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import refconv
from refconv import oracle
from refconv.conformance import apis
from refconv.conformance.report import json_report, text_report
from refconv.conformance.runner import FunctionResult, run_all


@dataclass(frozen=True)
class CheckOptions:
    """What a check is asked to do (the command line's options; README "refconv check").

    ``api`` names the API profile (:mod:`refconv.conformance.apis`); ``functions`` None checks
    all of its functions (those absent are ``missing``).
    """

    api: str = "seed"
    functions: tuple[str, ...] | None = None
    max_examples: int = 100
    seed: int = 0
    policy: str = "torch"
    timeout: float | None = 10.0
    strict: bool = False
    database: Any = None

    def reported(self) -> dict[str, Any]:
        """The options as the reports print them (``"options"`` of the JSON)."""
        return {
            "api": self.api,
            "policy": self.policy,
            "seed": self.seed,
            "max_examples": self.max_examples,
            "timeout": self.timeout,
            "strict": self.strict,
            "oracle": oracle.name(),
        }


@dataclass
class CheckRun:
    """The outcome of :func:`run_check`: per-function results, and both reports."""

    results: list[FunctionResult]
    text: str
    document: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Every present function conforms, and at least one is present."""
        present = [r for r in self.results if r.status != "missing"]
        return bool(present) and all(r.ok for r in present)


def versions(executor: dict[str, Any] | None = None) -> dict[str, Any]:
    """Versions that a verdict depends on: the judge's, and the executor's as it reported them."""
    import hypothesis
    import numpy

    executor = executor or {}
    return {
        "refconv": refconv.__version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "hypothesis": hypothesis.__version__,
        "oracle": oracle.describe(),
        "executor": {k: executor.get(k) for k in ("python", "numpy")},
    }


def _run(
    impl: Any,
    names: list[str] | None,
    options: CheckOptions,
    workers: int,
    worker_loader: Callable[[], Any] | None,
    progress: Callable[[str, int], None] | None,
    finished: Callable[[int, int], None] | None,
    target_key: str,
    explorer: Any,
) -> list[FunctionResult]:
    return run_all(
        impl,
        names,
        api=options.api,
        workers=workers,
        loader=worker_loader,
        finished=finished,
        database=options.database,
        max_examples=options.max_examples,
        seed=options.seed,
        policy=options.policy,
        timeout=options.timeout,
        progress=progress,
        target_key=target_key,
        strict=options.strict,
        explorer=explorer,
    )


def run_check(
    impl: Any,
    name: str,
    options: CheckOptions,
    *,
    loader: str,
    present: list[str],
    notes: list[str] = (),
    context: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
    isolation: str = "",
    workers: int = 1,
    worker_loader: Callable[[], Any] | None = None,
    progress: Callable[[str, int], None] | None = None,
    finished: Callable[[int, int], None] | None = None,
    target_key: str = "",
    explorer: Any = None,
) -> CheckRun:
    """Check ``impl`` and build both reports.

    Parameters
    ----------
    impl : the implementation (an ``Implementation``, or a namespace checked in this process)
    name : how the reports name the target
    loader : Python source binding ``impl`` in the repro snippets
    present : the functions the target defines (a backward's snippet builds its cache with
        the target's own forward when that is present)
    notes : facts about loading the target, printed above the table
    context : extra top-level JSON entries (versions, isolation), or a function that returns
        them once the checks are done (the oracle's version is known once it is imported)
    isolation : one-line summary of the isolation reached, for the text report
    workers, worker_loader, progress, finished, target_key, explorer : see
        :func:`refconv.conformance.runner.run_all`
    """
    names = list(options.functions) if options.functions is not None else None
    results = _run(
        impl, names, options, workers, worker_loader, progress, finished, target_key, explorer
    )
    has_forward = apis.get(options.api).has_forward(present)
    reported = options.reported()
    text = text_report(name, results, reported, loader, has_forward, list(notes), isolation)
    document = json.loads(
        json_report(
            name,
            results,
            reported,
            loader,
            has_forward,
            list(notes),
            context() if callable(context) else context,
        )
    )
    return CheckRun(results, text, document)


def run_isolated_check(target: Any, options: CheckOptions, **run: Any) -> CheckRun:
    """:func:`run_check` on an open :class:`~refconv.conformance.isolation.IsolatedTarget`:
    its name, repro loader, functions, load notes, key, versions and isolation reached go into
    the reports. ``run``: the remaining options of :func:`run_check` (workers, progress...)."""
    isolation = target.executor.get("isolation") or {}
    return run_check(
        target,
        target.name,
        options,
        loader=target.repro_loader(),
        present=target.functions,
        notes=target.notes,
        context=lambda: {"versions": versions(target.executor), "isolation": isolation},
        isolation=(
            f"{isolation.get('level', '?')} (target run by Python "
            f"{target.executor.get('python')}, NumPy {target.executor.get('numpy')})"
        ),
        target_key=target.digest,
        **run,
    )
