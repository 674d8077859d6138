"""Grading with refconv: points, platforms' result files, class reports, clusters.

The Python face, for notebook graders (nbgrader, Otter): two lines in a test cell::

    from refconv.grading import grade
    result = grade("submission.ipynb", points={"conv_forward": 2, "pool_backward": 2})
    print(result.report); result.total      # 4.0 of result.max_total

Where the rest lives:

- :mod:`refconv.grading.scheme`: the grading file (``--grading FILE``, TOML) and
  :func:`~refconv.grading.scheme.score`, points from a check's JSON document;
- :mod:`refconv.grading.writers`: Gradescope, PrairieLearn and Coursera result files;
- :mod:`refconv.grading.html`: the self-contained HTML class report (``--html``);
- :mod:`refconv.grading.batch`: one submission, one judge subprocess (``refconv check FOLDER``);
- :mod:`refconv.grading.cluster`: the same, as tasks on a Dask cluster (``--dask``).
"""

from __future__ import annotations

import dataclasses
import os
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from refconv.grading.scheme import FunctionScore, Scheme, Score, load_scheme, score

__all__ = ["Grade", "FunctionScore", "Scheme", "Score", "grade", "load_scheme", "score"]


@dataclass(frozen=True)
class Grade:
    """The result of :func:`grade`.

    Attributes
    ----------
    total, max_total : points earned, and available
    functions : one :class:`FunctionScore` per scored function (status, points, classes)
    report : the text report ``refconv check`` prints (verdicts, counterexamples, snippets)
    document : the JSON document ``refconv check --json`` writes (what the writers read)
    score : the whole :class:`Score` (gradable, error)
    """

    total: float
    max_total: float
    functions: tuple[FunctionScore, ...]
    report: str
    document: dict[str, Any]
    score: Score

    @property
    def fraction(self) -> float:
        """total / max_total, in [0, 1]."""
        return self.score.fraction


def grade(
    target: str | os.PathLike[str] | Mapping[str, Any] | types.ModuleType | Any,
    functions: list[str] | tuple[str, ...] | None = None,
    points: Mapping[str, float] | None = None,
    *,
    scheme: Scheme | None = None,
    seed: int | None = None,
    max_examples: int = 100,
    ties: str = "torch",
    strict: bool = False,
    timeout: float = 10.0,
    oracle: str | None = None,
    api: str | None = None,
) -> Grade:
    """Check ``target`` and score it.

    Parameters
    ----------
    target : a ``.py`` file or ``.ipynb`` notebook (path), an importable module name, or a
        namespace that already holds the functions: a module or any object with the functions
        as attributes, or a mapping such as a notebook's ``globals()``. A file or module runs
        in the confined executor, like ``refconv check``; a namespace's functions already run
        in *this* process and are called here (not isolated: pass the notebook's file to
        isolate it).
    functions : the functions to check, of one API (default: those in ``points``, else all
        of the API's)
    points : points per function (default: the scheme's; else one per defined function)
    scheme : a :class:`Scheme` (e.g. ``load_scheme("grading.toml")``); ``points`` overrides
        its points
    seed : the exploration's seed (default: the scheme's, else 0)
    max_examples, ties, strict, timeout : as ``refconv check``'s options
    oracle : "torch", "numpy" or "auto" (default: ``$REFCONV_ORACLE``, else auto), as
        ``refconv check --oracle``
    api : "seed", "cs231n" or "functional" (default: the API of ``functions`` or ``points``,
        else detected from the names the target defines), as ``refconv check --api``

    Raises
    ------
    ValueError, TypeError : a bad argument, before any check runs
    refconv.conformance.target.TargetLoadError : a file or module that cannot be loaded
    """
    from refconv import API_FUNCTIONS

    scheme = scheme or Scheme()
    if points is not None:
        scheme = dataclasses.replace(scheme, points=dict(points))
    names = tuple(functions) if functions is not None else tuple(scheme.functions or ())
    every = tuple(name for group in API_FUNCTIONS.values() for name in group)
    unknown = [n for n in names if n not in every]
    if unknown:
        raise ValueError(f"functions: unknown {unknown[0]!r}; expected some of " + ", ".join(every))
    if api is not None and api not in API_FUNCTIONS:
        raise ValueError(f"api: {api!r}; expected one of " + ", ".join(API_FUNCTIONS))
    owners = {a for a, group in API_FUNCTIONS.items() if names and set(names) <= set(group)}
    if names and not owners:
        raise ValueError(f"functions: {', '.join(names)} belong to several APIs")
    if api is not None and owners and api not in owners:
        raise ValueError(f"api: {api!r}, but the functions are {next(iter(owners))}'s")
    api = api or next(iter(owners), None)
    if ties not in ("torch", "subgradient", "all"):
        raise ValueError(f"ties: {ties!r}; expected 'torch', 'subgradient' or 'all'")
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 1:
        raise ValueError(f"max_examples: expected a positive integer, got {max_examples!r}")
    if not (isinstance(timeout, int | float) and timeout > 0):
        raise ValueError(f"timeout: expected a positive number of seconds, got {timeout!r}")
    if seed is None:
        seed = scheme.seed if scheme.seed is not None else 0
    from refconv import oracle as oracles

    oracles.select(oracle)

    from refconv.conformance.apis import detect
    from refconv.conformance.session import (
        CheckOptions,
        run_check,
        run_isolated_check,
        versions,
    )

    settings = {
        "functions": names or None,
        "max_examples": max_examples,
        "seed": seed,
        "policy": ties,
        "timeout": timeout,
        "strict": strict,
    }
    if not isinstance(target, str | os.PathLike):
        namespace = types.SimpleNamespace(**target) if isinstance(target, Mapping) else target
        present = [n for n in every if callable(getattr(namespace, n, None))]
        options = CheckOptions(api=api or detect(present).name, **settings)
        run = run_check(
            namespace,
            getattr(namespace, "__name__", "<namespace>"),
            options,
            loader="impl = ...  # the namespace that was graded",
            present=present,
            context={"versions": versions(), "isolation": {"level": "in-process"}},
        )
    else:
        from refconv.conformance.isolation import IsolatedTarget

        with IsolatedTarget(str(target), names=every) as isolated:
            options = CheckOptions(api=api or detect(isolated.functions).name, **settings)
            run = run_isolated_check(isolated, options)
    result = score(run.document, scheme)
    return Grade(result.total, result.max_total, result.functions, run.text, run.document, result)
