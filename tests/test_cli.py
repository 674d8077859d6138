"""`refconv check` end to end: exit codes, report, JSON, notebooks, folders, pytest plugin."""

import json
import os
import subprocess
import sys
from pathlib import Path

from refconv.conformance import diagnose as texts

ZOO = Path(__file__).parent / "zoo"


def refconv(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "refconv", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
        check=False,
    )


def test_default_target_is_refconv_and_conforms():
    done = refconv(
        "check", "--functions", "zero_pad,create_mask_from_window", "--max-examples", "20"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "refconv check refconv" in done.stdout
    assert "2 passed, 0 failed" in done.stdout


def test_buggy_file_fails_with_report_and_json(tmp_path):
    report = tmp_path / "report.json"
    done = refconv(
        "check",
        str(ZOO / "bug_seed_pool_backward_max_input_slice.py"),
        "--functions",
        "pool_forward,pool_backward",
        "--json",
        str(report),
    )
    assert done.returncode == 1
    out = done.stdout
    assert "pool_backward            FAIL" in out
    slice_texts = (texts.POOL_INPUT_SLICE, texts.POOL_INPUT_SLICE_ALL_TIES)
    assert any(f"diagnosis: {text}" in out for text in slice_texts)
    assert "reproduce:" in out and "impl.pool_backward(dA, cache, mode=mode)" in out
    document = json.loads(report.read_text())
    assert document["target"].endswith("bug_seed_pool_backward_max_input_slice.py")
    by_function = {r["function"]: r for r in document["results"]}
    assert by_function["pool_forward"]["status"] == "pass"
    failed = by_function["pool_backward"]
    assert failed["status"] == "fail" and failed["examples"] > 0
    counterexample = failed["counterexample"]
    assert {"inputs", "expected", "actual", "worst", "repro", "seed"} <= set(counterexample)


def test_repro_snippet_runs_and_shows_the_mismatch(tmp_path):
    report = tmp_path / "report.json"
    refconv(
        "check",
        str(ZOO / "bug_distribute_n_plus.py"),
        "--functions",
        "distribute_value",
        "--json",
        str(report),
    )
    snippet = json.loads(report.read_text())["results"][0]["counterexample"]["repro"]
    done = subprocess.run(
        [sys.executable, "-c", snippet], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 1, done.stderr  # the failure reproduces: the snippet says so
    assert "max |a - expected| =" in done.stdout
    assert float(done.stdout.split("=")[-1]) > 0


def test_missing_functions_are_reported_not_failed(tmp_path):
    partial = tmp_path / "partial.py"
    partial.write_text(
        "import numpy as np\n\ndef zero_pad(X, pad):\n"
        "    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))\n"
    )
    done = refconv("check", str(partial), "--max-examples", "10")
    assert done.returncode == 0, done.stdout
    assert "1 passed, 0 failed, 0 errors, 7 missing" in done.stdout


def test_usage_and_load_errors_exit_2(tmp_path):
    assert refconv("check", str(tmp_path / "nope.py")).returncode == 2
    assert refconv("check", "--functions", "conv_fwd").returncode == 2
    assert refconv("check", "--ties", "some").returncode == 2
    broken = tmp_path / "broken.py"
    broken.write_text("def zero_pad(X, pad)\n    return X\n")
    done = refconv("check", str(broken))
    assert done.returncode == 2 and "cannot load" in done.stderr


def test_notebook_target(tmp_path):
    source = (ZOO / "correct_loops.py").read_text()
    cells = [
        {"cell_type": "code", "source": ["%matplotlib inline\n", "import numpy as np\n"]},
        {"cell_type": "code", "source": source},
        {"cell_type": "code", "source": ["np.random.seed(1)\n", "raise RuntimeError('demo')\n"]},
    ]
    notebook = tmp_path / "student.ipynb"
    notebook.write_text(
        json.dumps({"cells": cells, "nbformat": 4, "nbformat_minor": 5, "metadata": {}})
    )
    done = refconv(
        "check", str(notebook), "--functions", "zero_pad,distribute_value", "--max-examples", "10"
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_folder_is_graded_one_row_per_submission(tmp_path):
    for stem in ("correct_vectorised", "bug_seed_unpad_pad0"):
        (tmp_path / f"{stem}.py").write_text((ZOO / f"{stem}.py").read_text())
    (tmp_path / "crash.py").write_text("raise SystemExit(3)\n")
    (tmp_path / "hog.py").write_text("import numpy as np\nX = np.ones(2**40)\n")  # 8 TiB
    report = tmp_path / "batch.json"
    done = refconv(
        "check",
        str(tmp_path),
        "--functions",
        "conv_backward",
        "--max-examples",
        "20",
        "--json",
        str(report),
    )
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    row = {
        name: next(line for line in lines if name in line)
        for name in ("correct_vectorised.py", "bug_seed_unpad_pad0.py", "crash.py")
    }
    assert "1/1 passed" in row["correct_vectorised.py"]
    assert texts.EMPTY_UNPAD in row["bug_seed_unpad_pad0.py"]
    assert "4 submissions: 1 conform, 3 do not" in done.stdout
    assert len(json.loads(report.read_text())["submissions"]) == 4


def test_pytest_plugin_gives_one_test_per_function(tmp_path):
    junit = tmp_path / "junit.xml"
    target = ZOO / "bug_seed_unpad_pad0.py"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--refconv-target",
            str(target),
            "--refconv-max-examples",
            "20",
            f"--junitxml={junit}",
            "-q",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout
    assert "1 failed, 7 passed" in done.stdout
    assert texts.EMPTY_UNPAD in done.stdout
    xml = junit.read_text()
    assert xml.count("<testcase") == 8 and 'name="conv_backward"' in xml


def test_ci_gate_script_fails_a_buggy_submission_and_writes_the_report(tmp_path):
    script = Path(__file__).parent.parent / "ci" / "refconv-gate.sh"
    done = subprocess.run(
        ["bash", str(script), str(ZOO / "bug_db_flat.py"), "--functions", "conv_backward"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"},
    )
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads((tmp_path / "refconv-report.json").read_text())
    assert report["results"][0]["diagnosis"] == texts.DB_SHAPE


def test_json_has_hypothesis_statistics_per_function(tmp_path):
    report = tmp_path / "report.json"
    refconv(
        "check",
        str(ZOO / "bug_distribute_n_plus.py"),
        "--functions",
        "zero_pad,distribute_value",
        "--max-examples",
        "10",
        "--database",
        "none",
        "--json",
        str(report),
    )
    passed, failed = json.loads(report.read_text())["results"]
    assert passed["status"] == "pass" and failed["status"] == "fail"
    for result in (passed, failed):
        statistics = result["statistics"]
        assert set(statistics["examples"]) == {"corpus", "reuse", "generate", "shrink"}
        assert statistics["examples"]["corpus"] >= 1  # the seed corpus is replayed first
        assert statistics["seconds"]["total"] >= statistics["seconds"]["generate"] > 0
    assert passed["statistics"]["examples"]["generate"] >= 10
    assert passed["statistics"]["examples"]["shrink"] == passed["statistics"]["shrinks"] == 0
    assert passed["statistics"]["stopped_because"] == "settings.max_examples=10"
    assert failed["statistics"]["shrinks"] > 0


def test_bad_options_are_usage_errors_before_the_target_runs(tmp_path):
    # The target would hang at import: an exit 2 naming the option proves nothing ran first.
    target = tmp_path / "hangs.py"
    target.write_text("while True:\n    pass\n")
    cases = {
        ("--json", str(tmp_path / "missing" / "r.json")): "--json",
        ("--python", str(tmp_path)): "--python",
        ("--plot", str(target)): "--plot",
    }
    for options, named in cases.items():
        done = refconv("check", str(target), "--import-timeout", "600", *options)
        assert done.returncode == 2, (options, done.stderr)
        assert named in done.stderr and "Traceback" not in done.stderr


def test_json_report_is_written_when_the_counterexample_holds_nan(tmp_path):
    target = tmp_path / "nan.py"
    target.write_text(
        "import numpy as np\n\ndef distribute_value(dz, shape):\n"
        "    return np.full(shape, np.nan)\n"
    )
    report = tmp_path / "r.json"
    done = refconv("check", str(target), "--functions", "distribute_value", "--json", str(report))
    assert done.returncode == 1, done.stderr
    (result,) = json.loads(report.read_text())["results"]
    assert result["status"] == "fail" and result["counterexample"]["worst"]["actual"] is None
