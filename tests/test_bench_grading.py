"""refconv bench --grading: the profiler's structure and bookkeeping (never its timings)."""

from __future__ import annotations

import argparse
import json

import pytest

from refconv import bench_grading
from refconv.conformance import guard, isolation, runner, session
from refconv.conformance.apis import seed

TARGETS = dict(bench_grading.TARGETS)
CORRECT = TARGETS["correct_loops"]


@pytest.fixture(scope="module")
def profile():
    """One small real profile of the plain-loop correct target, in this process."""
    return bench_grading.profile_target(CORRECT, max_examples=3, startup=0.5)


def test_both_breakdowns_have_every_row_non_negative(profile):
    assert list(profile["stages"]) == list(bench_grading.STAGES)
    assert list(profile["activities"]) == list(bench_grading.ACTIVITIES)
    for rows in (profile["stages"], profile["activities"]):
        assert all(seconds >= 0 for seconds in rows.values()), rows


def test_each_breakdown_sums_to_the_wall_time(profile):
    wall = profile["wall"]
    assert wall == pytest.approx(0.5 + profile["check_seconds"])
    for rows in (profile["stages"], profile["activities"]):
        # Only the statements between the spans are not attributed (microseconds).
        assert sum(rows.values()) == pytest.approx(wall, rel=0.02, abs=0.05)


def test_the_target_share_is_a_fraction_and_the_calls_were_counted(profile):
    assert 0 <= profile["target_share"] <= 1
    assert profile["activities"]["target's own calls"] > 0
    assert profile["calls"]["executor round trips"] >= 8 * 3
    assert profile["calls"]["oracle"] > 0 and profile["calls"]["tolerance"] > 0
    assert set(profile["verdicts"].values()) == {"pass"}
    assert profile["stages"]["generate"] > 0 and profile["stages"]["shrink"] == 0


def test_the_wrapped_functions_are_restored_afterwards(profile):
    from hypothesis.internal.conjecture.engine import ConjectureRunner

    from refconv import oracle

    for owner, name in [
        (guard, "compare"),
        (seed, "dot_bound"),
        (oracle, "conv_forward"),
        (runner, "explain"),
        (runner, "run_function"),
        (runner, "search"),
        (session, "run_all"),
    ]:
        assert getattr(owner, name).__qualname__ != "_timed.<locals>.wrap.<locals>.timed"
        assert "wrap" not in getattr(owner, name).__qualname__
        assert "bench_grading" not in getattr(owner, name).__module__
    assert isolation.IsolatedTarget.start.__module__ == isolation.__name__
    assert ConjectureRunner.generate_new_examples.__module__.startswith("hypothesis")


def test_a_failing_target_is_shrunk_and_diagnosed():
    spec = TARGETS["bug_db_flat"]
    ledger = bench_grading.Ledger()
    with bench_grading._instrumented(ledger):
        result = runner.run_function(
            isolation.IsolatedTarget(spec), "conv_backward", max_examples=5, shrink_calls=20
        )
    assert result.status == "fail"
    assert ledger.stage.get("shrink", 0) > 0
    assert ledger.calls.get("diagnosis") == 1


def test_the_command_is_timed_with_and_without_the_pipeline_with_the_same_results():
    spec = TARGETS["correct_vectorised"]
    walls = bench_grading.command_walls(spec, max_examples=2, runs=2)
    piped, alone = walls["pipeline"], walls["one core"]
    assert len(piped["runs"]) == 2 and min(piped["runs"]) <= piped["seconds"] <= max(piped["runs"])
    assert piped["seconds"] > 0 and alone["seconds"] > 0
    assert piped["verdicts"] == alone["verdicts"] and set(piped["verdicts"].values()) == {"pass"}
    assert piped["examples"] == alone["examples"]


def test_a_baseline_checkout_is_timed_in_the_same_rounds(tmp_path):
    import shutil

    baseline = tmp_path / "old"
    baseline.mkdir()
    shutil.copytree(bench_grading._ZOO.parent.parent / "refconv", baseline / "refconv")
    walls = bench_grading.command_walls(
        TARGETS["correct_vectorised"],
        modes=("one core", "baseline"),
        max_examples=2,
        runs=1,
        baseline=str(baseline),
    )
    assert walls["baseline"]["verdicts"] == walls["one core"]["verdicts"]


def test_quick_run_from_args_prints_and_writes_json(tmp_path, capsys, monkeypatch):
    # One submission per batch run; the profile in this process, start-up not re-measured, the
    # commands not run (command_walls has its own test).
    monkeypatch.setattr(bench_grading, "BATCH_FILES", ("correct_vectorised.py",))
    monkeypatch.setattr(bench_grading, "startup_seconds", lambda: 0.5)
    monkeypatch.setattr(bench_grading, "profile_in_fresh_process", bench_grading.profile_target)
    monkeypatch.setattr(
        bench_grading,
        "command_walls",
        lambda spec, modes, **kw: {
            m: {"seconds": 1.0, "runs": [1.0], "verdicts": {}, "examples": {}} for m in modes
        },
    )
    out = tmp_path / "grading.json"
    args = argparse.Namespace(max_examples=2, seed=0, quick=True, no_batch=False, json=str(out))
    assert bench_grading.run_from_args(args) == 0
    printed = capsys.readouterr().out
    assert "share inside the target's own code" in printed
    assert "correct_loops: " in printed and "target)" in printed
    assert "--workers 2" in printed
    document = json.loads(out.read_text())
    assert [t["label"] for t in document["targets"]] == ["correct_loops"]
    runs = document["batch"]["runs"]
    assert [r["workers"] for r in runs] == [1, 2]
    assert all(r["codes"] == [0] and r["per_hour"] > 0 for r in runs)
    assert 0 <= document["targets"][0]["target_share"] <= 1
