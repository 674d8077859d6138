"""One search of a function's problems: hypothesis's engine, driven directly.

:func:`search` runs hypothesis's conjecture engine (``ConjectureRunner``: generation, the
example database's replay, shrinking) over a strategy of problems with a test that raises
:class:`~refconv.conformance.guard.ConformanceFailure`, and returns the smallest failure it
shrank to with the engine's statistics. It is what ``@given`` does, minus what a checker does
not need (argument reflection, the final replay and its report, per-example global-state
isolation), which halves hypothesis's cost per example (0.86 -> 0.31 ms on the benchmark
machine, README "Where a check's time goes").

The same search, with the same seed, draws the same problems in the same order whatever the
test answers until its first failure: the look-ahead explorer
(:mod:`refconv.conformance.lookahead`) relies on it to draw problems in another process before
the judge has judged them.

This module and :mod:`refconv.strategies._choices` are refconv's only contact with hypothesis's
internal API; pyproject.toml admits the versions it was tested against (6.131 to 6.170).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from random import Random
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.control import BuildContext
from hypothesis.internal.conjecture import engine as hypothesis_engine
from hypothesis.internal.conjecture import providers
from hypothesis.internal.conjecture.choice import choices_key
from hypothesis.internal.conjecture.data import ConjectureData
from hypothesis.internal.conjecture.shrinker import sort_key
from hypothesis.internal.escalation import InterestingOrigin
from hypothesis.statistics import note_statistics

from refconv.conformance.guard import ConformanceFailure

#: Phases of hypothesis's engine a search runs (no explicit examples: refconv replays its own
#: corpus before searching; no explain phase: the diagnoses explain a failure).
PHASES = (Phase.reuse, Phase.generate, Phase.target, Phase.shrink)

#: The one origin every failure is reported under: the engine shrinks towards the smallest
#: failing problem, whatever check it fails ("slipping" between kinds of failure is allowed).
_ORIGIN = InterestingOrigin.from_exception(ConformanceFailure("", "", ""))


@dataclass
class SearchResult:
    """What one search found.

    ``failure``: the failure on the smallest failing problem (None if every problem passed);
    ``statistics``: the engine's statistics dictionary (``ConjectureRunner.statistics``: test
    cases, status and timing per phase, the reason it stopped); ``valid``: problems the test
    was run on.
    """

    failure: ConformanceFailure | None
    statistics: dict[str, Any] = field(default_factory=dict)
    valid: int = 0


@contextlib.contextmanager
def _shrink_budget(seconds: float) -> Iterator[None]:
    """Cap hypothesis's shrinking time (its engine reads this module constant at shrink start)."""
    previous = getattr(hypothesis_engine, "MAX_SHRINKING_SECONDS", None)
    if previous is None:  # a hypothesis without the knob: keep its own budget
        yield
        return
    hypothesis_engine.MAX_SHRINKING_SECONDS = seconds
    try:
        yield
    finally:
        hypothesis_engine.MAX_SHRINKING_SECONDS = previous


@contextlib.contextmanager
def _without_local_constants() -> Iterator[None]:
    """Hypothesis sometimes draws a literal found in the source of the "local" modules imported
    so far (not installed in site-packages): which problems a seed draws would then depend on
    how refconv was installed and on what was imported before the search. Searches draw from
    hypothesis's global constants only, the same in every process."""
    collect = getattr(providers, "_get_local_constants", None)
    if collect is None:  # a hypothesis from before local constants: nothing to turn off
        yield
        return
    providers._get_local_constants = lambda: providers.Constants()
    providers.CONSTANTS_CACHE.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = collect
        providers.CONSTANTS_CACHE.cache.clear()


def _runner_attribute(runner: Any, *names: str) -> Any:
    """The first of ``names`` the engine has (hypothesis renamed some between versions, e.g.
    ``interesting_examples`` -> ``interesting_test_cases`` in 6.16x)."""
    for name in names:
        if hasattr(runner, name):
            return getattr(runner, name)
    raise RuntimeError(f"this hypothesis has none of {names}: see pyproject.toml's range")


def engine_settings(max_examples: int, database: Any) -> settings:
    """The engine's settings for a search (every health check off: the strategies are valid by
    construction, and slow user code is what a checker is for)."""
    return settings(
        max_examples=max_examples,
        database=database,
        deadline=None,
        derandomize=False,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        phases=PHASES,
        print_blob=False,
    )


def search(
    strategy: st.SearchStrategy[Any],
    test: Callable[[Any], None],
    *,
    max_examples: int,
    seed: int | None,
    database: Any = None,
    database_key: bytes | None = None,
    shrink_seconds: float = 300.0,
) -> SearchResult:
    """Search ``strategy``'s problems for one that ``test`` fails, and shrink it.

    Parameters
    ----------
    strategy : the problems
    test : ``test(problem)`` raises :class:`ConformanceFailure` when the problem fails; any
        ``BaseException`` that is not an ``Exception`` (e.g. a stop request) ends the search and
        propagates
    max_examples : valid problems to try before stopping (shrinking comes on top)
    seed : the engine's random seed (None: a fresh one); the same seed draws the same problems
        in the same order for the same test outcomes
    database, database_key : where failures are saved and replayed first (None: nowhere)
    shrink_seconds : wall-clock safety net of the shrink phase
    """
    failures: dict[tuple[Any, ...], ConformanceFailure] = {}

    def test_function(data: ConjectureData) -> None:
        with BuildContext(data, is_final=False, wrapped_test=test):
            problem = data.draw(strategy)
            try:
                test(problem)
            except ConformanceFailure as failure:
                failures[choices_key(data.choices)] = failure
                data.mark_interesting(_ORIGIN)

    runner = hypothesis_engine.ConjectureRunner(
        test_function,
        settings=engine_settings(max_examples, database),
        random=Random(seed) if seed is not None else None,
        database_key=database_key if database is not None else None,
    )
    with _shrink_budget(shrink_seconds), _without_local_constants():
        runner.run()
    failure = None
    interesting = _runner_attribute(runner, "interesting_test_cases", "interesting_examples")
    if interesting:
        smallest = min(interesting.values(), key=lambda result: sort_key(result.nodes))
        failure = failures.get(choices_key(smallest.choices))
        if failure is None:  # never seen: fail closed rather than report a pass
            raise RuntimeError("the search lost the failure it shrank to")
    note_statistics(runner.statistics)  # for hypothesis's own statistics reporting
    valid = _runner_attribute(runner, "valid_test_cases", "valid_examples")
    return SearchResult(failure, dict(runner.statistics), valid)


__all__ = ["PHASES", "SearchResult", "engine_settings", "search"]
