"""refconv bench: the comparison machinery and the report (the timed run itself is opt-in)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from refconv import _parallel, bench, conv
from refconv.cli import main


def test_compare_reports_the_median_paired_ratio_and_the_faster_torch_layout():
    def slow():
        time.sleep(0.004)

    def fast():
        time.sleep(0.001)

    ours, theirs, ratio, layout = bench.compare(slow, {"NCHW": slow, "channels_last": fast}, 3)
    assert layout == "channels_last"
    assert ours > theirs
    assert ratio > 1.5


def test_report_flags_missed_targets_and_memory_over_budget():
    shape = bench.ConvShape("conv", 1, 4, 1, 1)
    rows = [
        bench._row("conv forward", shape, np.dtype("float64"), 1.0, 2.0, 0.5, "NCHW",
                   {"refconv_gflops": 1, "torch_gflops": 1, "numpy_gemm_gflops": 1,
                    "share_of_gemm": 0.9}),
        bench._row("conv backward", shape, np.dtype("float64"), 3.0, 1.0, 3.0, "NCHW"),
    ]
    document = {
        "machine": {"refconv": "x", "torch": "y", "torch_threads": 2, "numpy": "z",
                    "numpy_blas": "b", "python": "3", "cpu": "cpu", "cores": 2},
        "rounds": 3,
        "rows": [r.__dict__ | {"met": r.met} for r in rows],
        "gemm_share_target": 0.7,
        "gemm_shares": [{"dtype": "float64", "shape": "conv large: batch 1", "share": 0.5}],
        "memory": [{"shape": "s", "call": "forward", "peak_extra": 10, "outputs": 1,
                    "budget": 5}],
        "chunk_budget": 4,
    }
    text = bench.format_report(document)
    assert "conv forward" in text and " ok " in text
    assert "conv backward" in text and "MISSED" in text
    assert "50% of NumPy's GEMM rate" in text
    assert text.rstrip().endswith("3 target(s) missed")


def test_bench_is_a_refconv_subcommand(capsys):
    try:
        main(["bench", "--help"])
    except SystemExit as exc:
        assert exc.code == 0
    assert "interleaved" in capsys.readouterr().out


def test_refconv_speed_records_examples_per_hypothesis_test(tmp_path):
    import json
    import subprocess
    import sys

    (tmp_path / "test_sample.py").write_text(
        "from hypothesis import given, settings, strategies as st\n"
        "@settings(max_examples=25, database=None)\n"
        "@given(st.integers())\n"
        "def test_law(n):\n"
        "    assert n == n\n"
        "def test_plain():\n"
        "    pass\n"
    )
    speed = tmp_path / "speed.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         f"--refconv-speed={speed}", str(tmp_path / "test_sample.py")],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [json.loads(line) for line in speed.read_text().splitlines()]
    assert [line["test"].split("::")[-1] for line in lines] == ["test_law"]  # not test_plain
    assert lines[0]["examples"] == 25
    assert lines[0]["phases"]["generate"]["valid"] == 25
    assert "1 hypothesis tests: 25 examples" in done.stdout


@pytest.mark.parametrize(
    ("argument", "words"),
    [
        (["--rounds", "0"], ["--rounds", "must be >= 1", "0"]),
        (["--threads", "-1"], ["--threads", "must be >= 1", "-1"]),
        (["--dtypes", "float16"], ["--dtypes", "float64 and/or float32", "float16"]),
        (["--rounds", "many"], ["--rounds", "whole number", "many"]),
    ],
)
def test_bench_rejects_bad_arguments_naming_them(argument, words, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", *argument])
    assert exit_info.value.code == 2
    message = capsys.readouterr().err
    for word in words:
        assert word in message


def test_peak_memory_probe_measures_one_conv_call():
    shape = bench.ConvShape("tiny", 2, 8, 3, 4)
    measured = bench.peak_memory(shape, np.dtype("float64"), "backward")
    # dA_prev, dW and db of that layer, in bytes
    assert measured["outputs"] == (2 * 8 * 8 * 3 + 3 * 3 * 3 * 4 + 4) * 8
    assert measured["budget"] == measured["outputs"] + conv.MEMORY_BUDGET
    assert 0 <= measured["peak_extra"] < measured["budget"] + 2**20


def test_bad_thread_count_in_the_environment_names_the_variable(monkeypatch):
    for bad in ("lots", "0", "-2"):
        monkeypatch.setenv("REFCONV_NUM_THREADS", bad)
        with pytest.raises(ValueError, match=f"REFCONV_NUM_THREADS.*'{bad}'"):
            _parallel._default_threads()
    monkeypatch.setenv("REFCONV_NUM_THREADS", "3")
    assert _parallel._default_threads() == 3
