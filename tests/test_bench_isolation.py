"""refconv bench --isolation: the machinery and the report's structure (never its timings)."""

from __future__ import annotations

import json

import pytest

from refconv import bench_isolation
from refconv.cli import main

FUNCTIONS = ["zero_pad", "distribute_value"]


@pytest.fixture(scope="module")
def document():
    """One small real run: both targets, both paths, one round, two functions."""
    return bench_isolation.run(rounds=1, functions=FUNCTIONS, max_examples=5, warmup=False)


def test_one_round_measures_both_paths_of_both_targets_with_the_same_verdicts(document):
    assert document["rounds"] == 1
    assert document["functions"] == FUNCTIONS
    assert [t["spec"] for t in document["targets"]] == list(bench_isolation.TARGETS)
    for t in document["targets"]:
        assert len(t["isolated"]) == len(t["in_process"]) == len(t["ratios"]) == 1
        assert t["first"] in (["isolated"], ["in-process"])
        for m in t["isolated"] + t["in_process"]:
            assert list(m["verdicts"]) == FUNCTIONS
            assert set(m["verdicts"].values()) == {"pass"}
            assert 0 <= m["load_seconds"] <= m["seconds"]
            assert all(m["examples"][name] >= 5 for name in FUNCTIONS)
            assert m["cpu_seconds"] > 0
        # the executor's processes are counted on the isolated path only
        assert all(m["executor_cpu_seconds"] > 0 for m in t["isolated"])
        assert all(m["executor_cpu_seconds"] == 0 for m in t["in_process"])
        assert len(t["cpu_ratios"]) == 1 and t["median_cpu_ratio"] > 0
        assert t["verdicts_agree_per_round"] == [True]
        assert t["verdicts_agree"] is True
        assert t["median_ratio"] == t["ratios"][0] > 0
        assert t["met"] == (t["median_ratio"] <= bench_isolation.TARGET_RATIO)
        assert t["isolation"].get("level") in ("namespaces", "process")
    # the two targets start in opposite orders within a round
    assert {t["first"][0] for t in document["targets"]} == {"isolated", "in-process"}
    assert json.loads(json.dumps(document)) == document


def test_report_prints_the_table_the_rounds_and_the_verdict_agreement(document):
    text = bench_isolation.format_report(document)
    assert "tests/zoo/correct_loops.py" in text
    assert "refconv (seed API)" in text
    assert "round 1:" in text
    assert "verdicts: the same on both paths in every round" in text
    for name in FUNCTIONS:
        assert name in text


def test_differing_verdicts_are_reported():
    def measured(seconds: float, status: str) -> bench_isolation.Measurement:
        return bench_isolation.Measurement(
            seconds, 0.1, {"zero_pad": status}, {}, {}, cpu_seconds=seconds / 2
        )

    report = bench_isolation.TargetReport("t", None)
    report.isolated = [measured(2.0, "pass"), measured(3.0, "pass"), measured(4.0, "pass")]
    report.in_process = [measured(1.0, "pass"), measured(2.0, "fail"), measured(4.0, "pass")]
    assert report.ratios == report.cpu_ratios == [2.0, 1.5, 1.0]
    assert report.agree == [True, False, True]
    summary = report.summary()
    assert summary["median_ratio"] == 1.5
    assert summary["isolated_total_seconds"] == 9.0
    assert summary["verdicts_agree"] is False
    assert summary["met"] is False


def test_refconv_bench_isolation_runs_it_and_writes_json(tmp_path, monkeypatch, capsys):
    real_run = bench_isolation.run
    asked = {}

    def small_run(rounds: int) -> dict:
        asked["rounds"] = rounds
        return real_run(rounds=rounds, functions=["distribute_value"], max_examples=3,
                        warmup=False, targets=(None,))

    monkeypatch.setattr(bench_isolation, "run", small_run)
    out = tmp_path / "iso.json"
    assert main(["bench", "--isolation", "--rounds", "1", "--json", str(out)]) == 0
    assert asked == {"rounds": 1}
    saved = json.loads(out.read_text())
    assert [t["target"] for t in saved["targets"]] == ["refconv (seed API)"]
    assert saved["targets"][0]["verdicts_agree"] is True
    assert "refconv (seed API)" in capsys.readouterr().out
    assert bench_isolation.main(["--rounds", "1"]) == 0  # python -m refconv.bench_isolation
    assert asked == {"rounds": 1}
    main(["bench", "--isolation"])
    assert asked == {"rounds": bench_isolation.DEFAULT_ROUNDS}


@pytest.mark.parametrize("argv", [["bench", "--isolation", "--rounds", "0"],
                                  ["bench", "--isolation", "--rounds", "many"]])
def test_bad_rounds_are_rejected(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "--rounds" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench_isolation.main(argv[2:])
