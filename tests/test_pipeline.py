"""The pipeline (problems drawn ahead in an explorer, torch in an oracle process) changes how
fast a check runs, never what it finds: the same report as one process, whatever the target
does, and the target sees the same calls in the same order.

The strongest case is a stateful target, whose answers depend on how many calls it has seen:
the report can only be the same if the call sequence is.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from refconv.conformance import apis
from refconv.conformance.checks import ConformanceFailure
from refconv.conformance.lookahead import Explorer, Job
from refconv.conformance.runner import run_function
from refconv.conformance.search import search
from tests.test_reproducible import without_timings

ZOO = Path(__file__).parent / "zoo"

#: Fails conv_forward on its 40th call and every 7th after it (values off by 1): the report
#: depends on the exact sequence of calls the target sees.
STATEFUL = textwrap.dedent(
    """
    import refconv

    calls = [0]

    def conv_forward(A_prev, W, b, hparameters):
        calls[0] += 1
        Z, cache = refconv.conv_forward(A_prev, W, b, hparameters)
        if calls[0] >= 40 and calls[0] % 7 == 5:
            Z = Z + 1.0
        return Z, cache

    def conv_backward(dZ, cache):
        return refconv.conv_backward(dZ, cache)
    """
)


def check(target: Path | None, tmp_path: Path, *options: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / f"report{len(list(tmp_path.iterdir()))}.json"
    command = [sys.executable, "-m", "refconv", "check", *([str(target)] if target else [])]
    done = subprocess.run(
        [*command, "--json", str(out), *options], capture_output=True, text=True, timeout=900
    )
    assert out.exists(), done.stderr[-2000:]
    return done.returncode, without_timings(json.loads(out.read_text()))


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("bug_db_flat.py", ("--functions", "conv_forward,conv_backward")),
        ("bug_flipped_kernel.py", ("--functions", "conv_single_step,conv_forward")),
        ("correct_loops.py", ("--functions", "pool_forward,pool_backward")),
        ("bug_while_no_advance.py", ("--functions", "pool_backward", "--timeout", "2")),
    ],
)
def test_the_pipeline_gives_the_report_of_one_process(tmp_path, name, options):
    options = (*options, "--max-examples", "30")
    piped = check(ZOO / name, tmp_path, *options, "--pipeline")
    alone = check(ZOO / name, tmp_path, *options, "--no-pipeline")
    assert piped == alone


def test_a_stateful_target_sees_the_same_calls_either_way(tmp_path):
    target = tmp_path / "stateful.py"
    target.write_text(STATEFUL)
    options = ("--functions", "conv_forward,conv_backward", "--max-examples", "60")
    code, piped = check(target, tmp_path, *options, "--pipeline")
    _, alone = check(target, tmp_path, *options, "--no-pipeline")
    assert code == 1 and piped["results"][0]["status"] == "fail"
    assert piped == alone


def test_refconv_passes_with_and_without_the_pipeline(tmp_path):
    piped = check(None, tmp_path, "--max-examples", "20", "--pipeline")
    alone = check(None, tmp_path, "--max-examples", "20", "--no-pipeline")
    assert piped == alone
    assert piped[0] == 0


# --- the search that look-ahead relies on ---------------------------------------------------


def _drawn(function: str, seed: int, fail_at: int | None = None) -> list[bytes]:
    """The problems a search draws (pickled), with a test failing on the ``fail_at``-th."""
    seen: list[bytes] = []

    def test(problem: Any) -> None:
        seen.append(pickle.dumps(problem))
        if fail_at is not None and len(seen) == fail_at:
            raise ConformanceFailure(function, "value", "planted", problem)

    search(apis.api_of(function).problems(function), test, max_examples=40, seed=seed)
    return seen


@pytest.mark.parametrize("function", ["conv_backward", "pool_forward", "max_pool2d"])
def test_a_search_draws_the_same_problems_until_its_first_failure(function):
    passing = _drawn(function, seed=3)
    failing = _drawn(function, seed=3, fail_at=17)
    assert len(passing) == 40
    assert failing[:17] == passing[:17]


def test_what_is_imported_does_not_change_what_a_search_draws(tmp_path, monkeypatch):
    """Hypothesis draws literals from "local" modules' source: not in refconv's searches."""
    before = _drawn("conv_forward", seed=5)
    module = tmp_path / "full_of_literals.py"
    numbers = ", ".join(str(n) for n in range(-300, 300))
    module.write_text(f"VALUES = [{numbers}]\nTEXT = {bytes(range(64))!r}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    __import__("full_of_literals")
    try:
        assert _drawn("conv_forward", seed=5) == before
    finally:
        sys.modules.pop("full_of_literals", None)


# --- the explorer ---------------------------------------------------------------------------


def test_the_explorer_streams_what_the_search_draws():
    expected = _drawn("zero_pad", seed=1)
    with Explorer() as explorer:
        explorer.assign([Job("zero_pad", 40, 1)])
        seen: list[bytes] = []
        ahead = explorer.stream("zero_pad").judge(lambda p: seen.append(pickle.dumps(p)))
    assert ahead.complete and not ahead.failed
    assert seen == expected
    assert ahead.statistics["generate-phase"]["test-cases"]


def test_a_dead_explorer_leaves_the_judge_to_search_itself():
    import refconv

    with Explorer() as explorer:
        explorer.assign([Job("zero_pad", 30, 2)])
        explorer._process.kill()
        explorer._process.join()
        alone = run_function(refconv, "zero_pad", max_examples=30, seed=2)
        ahead = run_function(
            refconv, "zero_pad", max_examples=30, seed=2, ahead=explorer.stream("zero_pad")
        )
    assert alone.status == ahead.status == "pass"
    assert alone.examples == ahead.examples


def test_a_problem_drawn_twice_ahead_is_judged_once():
    """Two draws can be the same problem (different choices, same decoded values): the search
    judges it once, so the judge must too, else the target would see an extra call."""
    import copy
    import types

    import refconv
    from refconv.conformance.lookahead import Ahead

    drawn: list[Any] = []
    search(apis.api_of("zero_pad").problems("zero_pad"), drawn.append, max_examples=3, seed=4)
    problems = [drawn[0], drawn[1], copy.deepcopy(drawn[0]), drawn[2], copy.deepcopy(drawn[1])]
    calls = []

    def zero_pad(X, pad):
        calls.append(1)
        return refconv.zero_pad(X, pad)

    class Stream:
        def judge(self, verdict):
            for problem in problems:
                verdict(problem)
            return Ahead(complete=True, statistics={})

    result = run_function(
        types.SimpleNamespace(zero_pad=zero_pad), "zero_pad", use_corpus=False, ahead=Stream()
    )
    assert result.status == "pass" and result.examples == 5
    assert len(calls) == 3
