"""`refconv check --workers N` on one target: the functions in N processes, the same report."""

import json
import pickle
import subprocess
import sys
import types
from pathlib import Path

import numpy as np

from refconv.conformance.checks import ConformanceFailure
from refconv.conformance.runner import RemoteError, _portable_exception, run_all
from refconv.problems import PadProblem

ZOO = Path(__file__).parent / "zoo"
FUNCTIONS = "conv_single_step,create_mask_from_window,pool_backward"


def check_json(tmp_path, name, *args):
    report = tmp_path / f"{name}.json"
    done = subprocess.run(
        [sys.executable, "-m", "refconv", "check", *args, "--json", str(report)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done, json.loads(report.read_text())


def comparable(result):
    """A result without what depends on the machine's speed."""
    result = dict(result)
    result.pop("seconds")
    statistics = dict(result.pop("statistics"))
    statistics.pop("seconds")
    return result, statistics


def test_workers_give_the_sequential_report(tmp_path):
    common = [str(ZOO / "seed_notebook.py"), "--functions", FUNCTIONS, "--max-examples", "20"]
    common += ["--database", "none", "--seed", "3"]
    done1, one = check_json(tmp_path, "one", *common, "--workers", "1")
    done2, two = check_json(tmp_path, "two", *common, "--workers", "2")
    assert done1.returncode == done2.returncode == 1, done2.stderr
    assert [r["function"] for r in two["results"]] == FUNCTIONS.split(",")
    for first, second in zip(one["results"], two["results"], strict=True):
        assert first["status"] == second["status"] == "fail"
        assert first["diagnosis"] == second["diagnosis"]
        assert first["counterexample"]["problem"] == second["counterexample"]["problem"]
        assert comparable(first) == comparable(second)
    # the text reports differ only in the seconds column
    assert done1.stdout.count("FAIL") == done2.stdout.count("FAIL") == 6


def test_a_hanging_implementation_still_times_out_in_a_worker(tmp_path):
    done, document = check_json(
        tmp_path,
        "hang",
        str(ZOO / "bug_while_no_advance.py"),
        "--functions",
        "distribute_value,pool_backward",
        "--max-examples",
        "20",
        "--database",
        "none",
        "--timeout",
        "1",
        "--workers",
        "2",
    )
    assert done.returncode == 1, done.stdout + done.stderr
    by_function = {r["function"]: r for r in document["results"]}
    assert by_function["distribute_value"]["status"] == "pass"
    assert by_function["pool_backward"]["counterexample"]["kind"] == "timeout"


def test_workers_share_the_failure_database(tmp_path):
    args = [str(ZOO / "bug_db_flat.py"), "--functions", "zero_pad,conv_backward"]
    args += ["--max-examples", "20", "--database", str(tmp_path / "db"), "--workers", "2"]
    _, first = check_json(tmp_path, "first", *args)
    _, again = check_json(tmp_path, "again", *args)
    assert first["results"][1]["statistics"]["examples"]["reuse"] == 0
    assert again["results"][1]["status"] == "fail"
    assert again["results"][1]["statistics"]["examples"]["reuse"] > 0  # replayed from the database


def test_run_all_in_processes_needs_no_picklable_implementation():
    # lambdas do not pickle: fork hands the implementation to the workers as it is
    impl = types.SimpleNamespace(
        zero_pad=lambda X, pad: np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0))),
        distribute_value=lambda dz, shape: np.full(shape, dz / (shape[0] * shape[1])),
    )
    options = {"max_examples": 5, "database": None}
    parallel = run_all(impl, ["zero_pad", "distribute_value"], workers=2, **options)
    sequential = run_all(impl, ["zero_pad", "distribute_value"], **options)
    assert [r.status for r in parallel] == [r.status for r in sequential] == ["pass", "pass"]
    assert [r.examples for r in parallel] == [r.examples for r in sequential]


def test_failures_cross_processes_without_the_users_exception_class():
    UserError = type("UserError", (Exception,), {"__module__": "_refconv_target_student_1"})
    failure = ConformanceFailure(
        "zero_pad",
        "exception",
        "zero_pad() raised UserError: bad pad",
        PadProblem(X=np.zeros((1, 2, 2, 1)), pad=1),
        details="Traceback (your code) ...",
        exception=_portable_exception(UserError("bad pad")),
        notes=["a note"],
    )
    copy = pickle.loads(pickle.dumps(failure))
    assert isinstance(copy, ConformanceFailure) and copy.notes == ["a note"]
    assert copy.problem.pad == 1 and copy.details == failure.details
    assert isinstance(copy.exception, RemoteError) and str(copy.exception) == "UserError: bad pad"
    assert isinstance(_portable_exception(ValueError("x")), ValueError)
