"""The grading file, scoring, and refconv.grading.grade (the notebook graders' two lines)."""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest

import refconv.stepwise
from refconv.conformance import diagnose as texts
from refconv.grading import grade
from refconv.grading.scheme import Scheme, load_scheme, score

ZOO = Path(__file__).parent / "zoo"


def document(**statuses: str) -> dict:
    """A check document with these statuses (advice on the functions marked "advice")."""
    results = []
    for function, status in statuses.items():
        advised = status == "advice"
        results.append(
            {
                "function": function,
                "status": "pass" if advised else status,
                "advice": ["unknown mode: raise ValueError for it"] if advised else [],
            }
        )
    return {"target": "t.py", "results": results}


def test_default_scheme_scores_one_point_per_defined_function():
    result = score(document(zero_pad="pass", conv_forward="fail", pool_forward="missing"))
    assert (result.total, result.max_total) == (1.0, 2.0)
    assert [f.function for f in result.functions] == ["zero_pad", "conv_forward"]


def test_points_count_an_absent_function_in_the_maximum():
    scheme = Scheme(points={"zero_pad": 1, "pool_backward": 4})
    result = score(document(zero_pad="pass", pool_backward="missing"), scheme)
    assert (result.total, result.max_total, result.fraction) == (1.0, 5.0, 0.2)


def test_partial_credit_splits_values_and_contract_and_advice_costs_the_contract_share():
    scheme = Scheme(
        points={"pool_forward": 10, "pool_backward": 10},
        credit={"forward_values": 0.8, "backward_values": 0.6, "contract": 0.2},
    )
    result = score(document(pool_forward="advice", pool_backward="pass"), scheme)
    forward, backward = result.functions
    assert forward.points == 8.0 and [c.earned for c in forward.classes] == [True, False]
    assert backward.points == 10.0
    assert [c.max_points for c in backward.classes] == [7.5, 2.5]  # 0.6 : 0.2
    assert result.total == 18.0


def test_a_failing_function_earns_no_class():
    scheme = Scheme(points={"conv_forward": 3}, credit={"contract": 0.5})
    (function,) = score(document(conv_forward="fail"), scheme).functions
    assert function.points == 0 and not any(c.earned for c in function.classes)


def test_a_load_error_scores_zero_and_is_not_gradable():
    result = score({"target": "t.py", "error": "SyntaxError", "results": []}, Scheme())
    assert not result.gradable and result.total == 0 and result.error == "SyntaxError"


def test_grading_file_round_trip(tmp_path):
    path = tmp_path / "grading.toml"
    path.write_text(
        'seed = 7\ncounterexamples = "never"\n[points]\npool_backward = 2\nzero_pad = 1\n'
        "[credit]\ncontract = 0.25\n"
    )
    scheme = load_scheme(path)
    assert scheme.seed == 7 and scheme.counterexamples == "never"
    assert scheme.functions == ["zero_pad", "pool_backward"]  # the seed API's order
    assert scheme.shares("pool_backward") == {"backward_values": 0.8, "contract": 0.2}


@pytest.mark.parametrize(
    ("text", "error", "named"),
    [
        ("points = 3", TypeError, "points must be a table"),
        ("[points]\nconv_fwd = 1", ValueError, "'conv_fwd'"),
        ("[points]\nzero_pad = -1", ValueError, "points.zero_pad"),
        ("[points]\nzero_pad = true", TypeError, "points.zero_pad"),
        ('counterexamples = "later"', ValueError, "'later'"),
        ("[credit]\nstyle = 1", ValueError, "'style'"),
        ("[credit]\nforward_values = 0", ValueError, "nothing to earn"),
        ('seed = "x"', TypeError, "seed"),
        ("deadline = 1", ValueError, "'deadline'"),
        ("[points", ValueError, "not valid TOML"),
    ],
)
def test_bad_grading_files_name_the_key_and_value(tmp_path, text, error, named):
    path = tmp_path / "grading.toml"
    path.write_text(text)
    with pytest.raises(error, match=None) as raised:
        load_scheme(path)
    assert named in str(raised.value) and str(path) in str(raised.value)


def test_grade_a_file_in_the_executor_with_points():
    result = grade(
        ZOO / "bug_db_flat.py", points={"conv_forward": 2, "conv_backward": 3}, max_examples=10
    )
    assert (result.total, result.max_total) == (2.0, 5.0)
    assert [f.status for f in result.functions] == ["pass", "fail"]
    assert texts.DB_SHAPE in result.report
    assert result.document["isolation"]["level"] in ("namespaces", "process")


def test_grade_a_namespace_in_process():
    assert grade(refconv.stepwise, functions=["zero_pad"], max_examples=5).total == 1.0
    namespace = {"zero_pad": lambda X, pad: np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))}
    result = grade(namespace, max_examples=5)
    assert (result.total, result.max_total) == (1.0, 1.0)
    assert result.document["isolation"] == {"level": "in-process"}
    broken = types.SimpleNamespace(zero_pad=lambda X, pad: X)
    assert grade(broken, max_examples=5).total == 0.0


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"functions": ["conv_fwd"]}, "conv_fwd"),
        ({"ties": "first"}, "ties"),
        ({"max_examples": 0}, "max_examples"),
        ({"timeout": -1}, "timeout"),
        ({"points": {"zero_pad": -2}}, "points.zero_pad"),
    ],
)
def test_grade_rejects_bad_arguments_before_any_check(kwargs, named):
    with pytest.raises(ValueError, match=named):
        grade(refconv.stepwise, **kwargs)


# --- the command line's grading options: fail closed ------------------------------------------


def gradescope_score(path: Path) -> tuple[float, str]:
    import json

    results = json.loads(path.read_text())
    return results["score"], results["output"]


def test_cli_bad_grading_file_exits_2_and_still_writes_a_zero_result(tmp_path):
    from refconv.cli import main

    bad = tmp_path / "grading.toml"
    bad.write_text("[points]\nconv_fwd = 1\n")
    results = tmp_path / "results.json"
    code = main(
        ["check", str(ZOO / "correct_loops.py"), "--grading", str(bad)]
        + ["--gradescope", str(results)]
    )
    assert code == 2
    points, output = gradescope_score(results)
    assert points == 0 and "conv_fwd" in output


def test_cli_platform_files_are_for_one_submission(tmp_path, capsys):
    from refconv.cli import main

    code = main(["check", str(tmp_path), "--prairielearn", str(tmp_path / "r.json")])
    assert code == 2 and "grades one submission" in capsys.readouterr().err


def test_cli_a_crash_of_the_checker_still_writes_a_zero_result(tmp_path, monkeypatch):
    from refconv.cli import main
    from refconv.conformance import session

    def crash(*args, **kwargs):
        raise RuntimeError("judge broke")

    monkeypatch.setattr(session, "run_check", crash)
    results = tmp_path / "results.json"
    with pytest.raises(RuntimeError):
        main(["check", str(ZOO / "correct_loops.py"), "--gradescope", str(results)])
    points, output = gradescope_score(results)
    assert points == 0 and "the check crashed: RuntimeError: judge broke" in output


def test_cli_grading_file_sets_points_functions_and_seed(tmp_path):
    import json

    from refconv.cli import main

    grading = tmp_path / "grading.toml"
    grading.write_text("seed = 5\n[points]\nconv_forward = 2\nconv_backward = 3\n")
    results, report = tmp_path / "results.json", tmp_path / "report.json"
    code = main(
        ["check", str(ZOO / "bug_db_flat.py"), "--grading", str(grading)]
        + ["--max-examples", "5", "--gradescope", str(results), "--json", str(report)]
    )
    assert code == 1
    document = json.loads(report.read_text())
    assert document["options"]["seed"] == 5
    assert [r["function"] for r in document["results"]] == ["conv_forward", "conv_backward"]
    assert gradescope_score(results)[0] == 2.0
