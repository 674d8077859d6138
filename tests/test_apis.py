"""API profiles: detection, ``--api`` through the CLI, grade() and the pytest plugin, and the
functional profile's error parity on hand-made targets."""

import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from refconv import API_FUNCTIONS
from refconv import functional as F
from refconv.conformance.apis import api_of, apis, detect, get
from refconv.conformance.checks import check
from refconv.conformance.guard import ConformanceFailure
from refconv.grading import grade
from refconv.grading.scheme import Scheme
from refconv.problems import FunctionalProblem

TESTS = Path(__file__).parent
CS231N = TESTS / "zoo_cs231n"
FUNCTIONAL = TESTS / "zoo_functional"


def refconv(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "refconv", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
        check=False,
    )


# --- the registry


def test_each_profile_lists_its_faces_functions_and_checks_each():
    for name, functions in API_FUNCTIONS.items():
        api = get(name)
        assert api.functions == functions
        assert set(api.checks) == set(functions)
        assert all(api_of(f) is api for f in functions)
    every = [f for functions in API_FUNCTIONS.values() for f in functions]
    assert len(every) == len(set(every))  # a function name says which profile judges it


def test_detection_counts_the_names_a_target_defines():
    assert detect(["conv_forward_naive", "max_pool_backward_naive"]).name == "cs231n"
    assert detect(["conv2d", "max_pool2d", "zero_pad"]).name == "functional"
    assert detect(["zero_pad", "conv2d"]).name == "seed"  # a tie: the seed
    assert detect([]).name == "seed"  # nothing defined: every seed function is missing


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="api must be one of"):
        get("caffe")
    with pytest.raises(ValueError, match="function must be one of"):
        api_of("conv3d")


# --- the command line


def test_a_cs231n_file_is_detected_and_judged(tmp_path):
    report = tmp_path / "report.json"
    done = refconv(
        "check", str(CS231N / "correct_loops.py"), "--max-examples", "10", "--json", str(report)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "api: cs231n" in done.stdout.splitlines()[0]
    assert "checked as the cs231n API (detected" in done.stdout
    document = json.loads(report.read_text())
    assert document["options"]["api"] == "cs231n"
    assert [r["function"] for r in document["results"]] == list(API_FUNCTIONS["cs231n"])


def test_an_api_the_target_does_not_implement_finds_nothing():
    done = refconv("check", str(CS231N / "correct_loops.py"), "--api", "seed")
    assert done.returncode == 1
    assert "defines none of the checked functions" in done.stderr


def test_options_that_name_different_apis_are_a_usage_error():
    done = refconv("check", "--functions", "conv_forward_naive,zero_pad")
    assert done.returncode == 2 and "functions of several APIs" in done.stderr
    done = refconv("check", "--api", "functional", "--functions", "conv_forward_naive")
    assert done.returncode == 2 and "--api functional, --functions cs231n" in done.stderr


def test_without_a_target_the_api_judges_refconvs_own_face():
    done = refconv("check", "--api", "cs231n", "--max-examples", "10")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "refconv check refconv.cs231n" in done.stdout
    assert "4 functions: 4 passed" in done.stdout


def test_a_batch_detects_each_submission(tmp_path):
    for source in (CS231N / "bug_conv_dx_assign.py", FUNCTIONAL / "correct_strided.py"):
        (tmp_path / source.name).write_text(source.read_text())
    report = tmp_path / "batch.json"
    done = refconv(
        "check", str(tmp_path), "--functions", "conv_backward_naive", "--json", str(report)
    )
    # --functions names cs231n: both submissions are judged as cs231n
    assert done.returncode == 1, done.stdout + done.stderr
    documents = json.loads(report.read_text())["submissions"]
    assert {d["options"]["api"] for d in documents} == {"cs231n"}
    by_name = {Path(d["target"]).name: d for d in documents}
    assert by_name["bug_conv_dx_assign.py"]["results"][0]["status"] == "fail"
    assert by_name["correct_strided.py"]["results"][0]["status"] == "missing"


def test_the_pytest_plugin_collects_the_detected_apis_functions(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--refconv-target",
            str(CS231N / "bug_pool_backward_assign.py"),
            "--refconv-max-examples",
            "20",
            "-p",
            "no:cacheprovider",
            "-q",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "3 passed" in done.stdout and "1 failed" in done.stdout
    assert "max_pool_backward_naive" in done.stdout


# --- grading


def test_grade_detects_the_api_and_scores_its_functions():
    result = grade(str(CS231N / "bug_conv_dx_assign.py"), max_examples=20)
    assert result.document["options"]["api"] == "cs231n"
    scored = {f.function: f.status for f in result.functions}
    assert scored["conv_backward_naive"] == "fail"
    assert result.total == 3 and result.max_total == 4


def test_grade_of_a_namespace_in_this_process():
    result = grade(
        types.SimpleNamespace(conv2d=F.conv2d, conv2d_backward=F.conv2d_backward),
        max_examples=20,
    )
    assert result.document["options"]["api"] == "functional"
    assert (result.total, result.max_total) == (2, 2)


def test_a_grading_file_grades_one_api():
    assert Scheme(points={"conv2d": 1, "max_pool2d": 2}).api == "functional"
    with pytest.raises(ValueError, match="several APIs"):
        Scheme(points={"conv2d": 1, "zero_pad": 2})
    with pytest.raises(ValueError, match="but the functions are cs231n's"):
        grade(str(CS231N / "correct_loops.py"), ["conv_forward_naive"], api="seed")


# --- the functional profile's error parity


def _call(op="conv2d", **kwargs):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((1, 2, 4, 4)), rng.standard_normal((2, 2, 2, 2))
    arrays = (x, w, None) if op == "conv2d" else (x, None, None)
    problem = FunctionalProblem(op, *arrays, kwargs, None)
    return problem


def test_a_call_torch_rejects_must_raise():
    accepting = types.SimpleNamespace(
        conv2d=lambda input, weight, bias=None, **k: F.conv2d(input, weight, bias)
    )
    problem = _call(groups=3)  # 2 channels do not split into 3 groups
    with pytest.raises(ConformanceFailure) as caught:
        check("conv2d", accepting, problem)
    assert caught.value.kind == "parity"
    assert "for a call torch rejects" in caught.value.message
    assert check("conv2d", types.SimpleNamespace(conv2d=F.conv2d), problem) == []


def test_a_call_torch_accepts_must_not_raise():
    def strict_conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        if padding == "valid":
            raise ValueError("padding strings are not supported")
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)

    with pytest.raises(ConformanceFailure) as caught:
        check("conv2d", types.SimpleNamespace(conv2d=strict_conv2d), _call(padding="valid"))
    assert caught.value.kind == "exception"
    assert "(torch accepts this call)" in caught.value.message


def test_wrongly_typed_arguments_are_advice_unless_strict():
    lenient = types.SimpleNamespace(
        conv2d=lambda input, weight, bias=None, stride=1, **k: F.conv2d(
            input, weight, bias, int(stride)
        )
    )
    problem = _call(stride=2.0)  # torch: TypeError
    advice = check("conv2d", lenient, problem)
    assert [topic for topic, _ in advice] == ["typed arguments"]
    with pytest.raises(ConformanceFailure):
        check("conv2d", lenient, problem, strict=True)


def test_every_profile_is_reachable_from_the_registry():
    assert sorted(apis()) == sorted(API_FUNCTIONS)


# --- refconv.cs231n's own argument errors


def test_the_cs231n_face_names_the_bad_parameter():
    from refconv import cs231n

    x, w, b = np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2)), np.zeros(1)
    with pytest.raises(ValueError, match=r"conv_param has no 'pad' entry"):
        cs231n.conv_forward_naive(x, w, b, {"stride": 1})
    with pytest.raises(TypeError, match=r"conv_param\['stride'\] must be an int, got True"):
        cs231n.conv_forward_naive(x, w, b, {"stride": True, "pad": 0})
    with pytest.raises(TypeError, match="conv_param must be a dict, got list"):
        cs231n.conv_forward_naive(x, w, b, [1, 0])
    with pytest.raises(ValueError, match=r"b must have shape \(F,\), got \(1, 1\)"):
        cs231n.conv_forward_naive(x, w, b[None], {"stride": 1, "pad": 0})
    with pytest.raises(ValueError, match="pool_param has no 'pool_width' entry"):
        cs231n.max_pool_forward_naive(x, {"pool_height": 2, "stride": 1})
    with pytest.raises(ValueError, match="stride"):  # refconv.functional's check, by name
        cs231n.conv_forward_naive(x, w, b, {"stride": 0, "pad": 0})
