"""Result files for Gradescope, PrairieLearn and Coursera (refconv.grading.writers).

Every file a writer produces is validated against a JSON Schema written from the platform's
documentation (tests/schemas/), on documents of real checks, run once in this process on zoo
files (trusted code: the same documents ``refconv check FILE --json`` writes, without starting
an executor), and on the fail-closed paths.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import types
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from refconv import SEED_FUNCTIONS
from refconv.conformance.session import CheckOptions, run_check, versions
from refconv.conformance.target import TargetLoadError, load_target
from refconv.grading import writers
from refconv.grading.scheme import Scheme, score
from refconv.grading.writers import (
    COURSERA_FEEDBACK,
    COURSERA_HTML,
    coursera,
    gradescope,
    prairielearn,
    write_coursera,
    write_failure,
    write_gradescope,
    write_prairielearn,
    write_results,
)

ZOO = Path(__file__).parent / "zoo"
SCHEMAS = Path(__file__).parent / "schemas"
MODES = ("show", "after_deadline", "never")
POINTS = {"zero_pad": 1, "create_mask_from_window": 1, "distribute_value": 2}
CREDIT = {"forward_values": 0.8, "backward_values": 0.75, "contract": 0.2}


def validator(name):
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


GRADESCOPE = validator("gradescope_results")
PRAIRIELEARN = validator("prairielearn_results")
COURSERA = validator("coursera_feedback")


def valid(validator, data, where=""):
    """Validate, naming the case and the failing place."""
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    if errors:
        pytest.fail(f"{where}: {errors[0].message} at {list(errors[0].absolute_path)}")


def strict_json(path):
    """The file's JSON, refusing NaN and infinity as the platforms' parsers may."""

    def reject(constant):
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(Path(path).read_text(encoding="ascii"), parse_constant=reject)


def check(namespace, name, functions, loader="impl = ...  # the namespace checked"):
    present = [n for n in SEED_FUNCTIONS if callable(getattr(namespace, n, None))]
    return run_check(
        namespace,
        name,
        CheckOptions(functions=functions, max_examples=10),
        loader=loader,
        present=present,
        context={"versions": versions(), "isolation": {"level": "in-process"}},
    )


def _hostile_pool_forward(A_prev, hparameters, mode="max"):
    """Raises an exception that carries its input: what "never" must not let through."""
    raise ValueError(f"<b>leak</b> *{np.asarray(A_prev).ravel().tolist()}*")


def _hostile_distribute_value(dz, shape):
    """Returns the repr of its input instead of an array (a "type" failure quoting it)."""
    return f"{float(dz) + 0.123456789:.6f}"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Real check documents, and a real heatmap of a value failure."""
    mixed_target = load_target(ZOO / "bug_distribute_n_plus.py")
    mixed = check(
        mixed_target.namespace,
        str(ZOO / "bug_distribute_n_plus.py"),
        tuple(POINTS),
        mixed_target.repro_loader(),
    )
    advice_target = load_target(ZOO / "bug_zeros_like_pool_backward.py")
    advice = check(
        advice_target.namespace,
        str(ZOO / "bug_zeros_like_pool_backward.py"),
        ("pool_backward",),
        advice_target.repro_loader(),
    )
    hostile = check(
        types.SimpleNamespace(
            pool_forward=_hostile_pool_forward, distribute_value=_hostile_distribute_value
        ),
        "hostile.py",
        ("pool_forward", "distribute_value"),
    )
    nothing = check(types.SimpleNamespace(), "empty.py", None)
    broken = tmp_path_factory.mktemp("broken") / "broken.py"
    broken.write_text("def zero_pad(X, pad:\n    return X\n")
    with pytest.raises(TargetLoadError) as error:
        load_target(broken)
    # What `refconv check FILE --json` writes when the file cannot be loaded (refconv/cli.py).
    load_error = {
        "target": str(broken),
        "options": CheckOptions().reported(),
        "error": str(error.value),
        "results": [],
    }
    from refconv.conformance.plot import plot_results

    pictures = plot_results(mixed.results, tmp_path_factory.mktemp("plots"))
    plots = {picture.stem: picture for picture in pictures}
    assert "distribute_value" in plots
    return types.SimpleNamespace(
        mixed=mixed.document,
        advice=advice.document,
        hostile=hostile.document,
        nothing=nothing.document,
        load_error=load_error,
        plots=plots,
    )


def documents(runs):
    return {
        "mixed": runs.mixed,
        "advice": runs.advice,
        "hostile": runs.hostile,
        "nothing": runs.nothing,
        "load_error": runs.load_error,
    }


def schemes():
    for mode in MODES:
        yield Scheme(counterexamples=mode)
        yield Scheme(points=POINTS, credit=CREDIT, counterexamples=mode)


def by_name(tests):
    return {t["name"]: t for t in tests}


def test_the_documents_are_what_the_tests_need(runs):
    mixed = {r["function"]: r for r in runs.mixed["results"]}
    assert mixed["distribute_value"]["status"] == "fail"
    assert mixed["distribute_value"]["counterexample"]["kind"] == "value"
    assert mixed["zero_pad"]["status"] == "pass"
    advice = runs.advice["results"][0]
    assert advice["status"] == "pass" and advice["advice"]
    hostile = {r["function"]: r for r in runs.hostile["results"]}
    assert "[" in hostile["pool_forward"]["message"]
    assert hostile["distribute_value"]["counterexample"]["kind"] == "type"
    assert "0.12345" in hostile["distribute_value"]["message"]


# --- every writer, every document, every visibility: valid against the documented schema


def test_every_file_matches_its_platforms_schema(runs):
    for name, document in documents(runs).items():
        for scheme in schemes():
            where = (name, scheme.counterexamples, scheme.points is not None)
            valid(GRADESCOPE, gradescope(document, scheme, runs.plots), where)
            results = prairielearn(document, scheme, runs.plots)
            valid(PRAIRIELEARN, results, where)
            assert len(writers._dumps(results)) <= writers.PRAIRIELEARN_MAX_BYTES
            feedback, page = coursera(document, scheme, runs.plots)
            valid(COURSERA, feedback, where)
            assert feedback["feedbackType"] == "HTML" and "fractionalScore" in feedback
            assert_page(page)


class _Tags(HTMLParser):
    VOID = {"meta", "img", "br", "hr", "link"}

    def __init__(self):
        super().__init__()
        self.open, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, (tag, self.open)
        self.open.pop()


def assert_page(page):
    assert page.startswith("<!DOCTYPE html>")
    parser = _Tags()
    parser.feed(page)
    parser.close()
    assert parser.open == []
    assert "script" not in parser.tags  # nothing runs; and nothing from the document is markup
    assert "Content-Security-Policy" in page


def test_the_written_files_are_strict_json_and_validate(runs, tmp_path):
    scheme = Scheme(points=POINTS, credit=CREDIT)
    written = write_gradescope(tmp_path / "gs" / "results.json", runs.mixed, scheme, runs.plots)
    assert strict_json(tmp_path / "gs" / "results.json") == written
    valid(GRADESCOPE, written)
    # PrairieLearn does not create /grade/results: the writer creates missing folders.
    pl_file = tmp_path / "grade" / "results" / "results.json"
    written = write_prairielearn(pl_file, runs.mixed, scheme, runs.plots)
    assert strict_json(pl_file) == written
    valid(PRAIRIELEARN, written)
    feedback, page = write_coursera(tmp_path / "shared", runs.mixed, scheme, runs.plots)
    assert strict_json(tmp_path / "shared" / COURSERA_FEEDBACK) == feedback
    assert (tmp_path / "shared" / COURSERA_HTML).read_text(encoding="utf-8") == page
    valid(COURSERA, feedback)
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        ["results.json", "results.json", COURSERA_FEEDBACK, COURSERA_HTML]
    ), "no temporary file left behind"


# --- points


def test_points_and_partial_credit_add_up(runs):
    scheme = Scheme(points=POINTS, credit=CREDIT)
    expected = score(runs.mixed, scheme)
    assert 0 < expected.total < expected.max_total == 4
    results = gradescope(runs.mixed, scheme)
    tests = results["tests"]
    assert [t["name"] for t in tests] == list(POINTS)
    assert math.isclose(results["score"], sum(t["score"] for t in tests))
    assert math.isclose(results["score"], expected.total)
    assert math.isclose(sum(t["max_score"] for t in tests), expected.max_total)
    assert by_name(tests)["distribute_value"]["status"] == "failed"
    assert by_name(tests)["zero_pad"]["status"] == "passed"
    classes = by_name(tests)["distribute_value"]["extra_data"]["classes"]
    shares = scheme.shares("distribute_value")
    assert set(classes) == set(shares) == {"forward_values", "contract"}
    for name, share in shares.items():
        assert math.isclose(classes[name]["max_points"], 2 * share)
        assert classes[name]["points"] == 0 and not classes[name]["earned"]
    assert (
        "forward values: 0 of 1.6 points, not earned"
        in by_name(tests)["distribute_value"]["output"]
    )

    pl = prairielearn(runs.mixed, scheme)
    assert math.isclose(sum(t["points"] for t in pl["tests"]), expected.total)
    assert math.isclose(sum(t["max_points"] for t in pl["tests"]), expected.max_total)
    assert math.isclose(pl["score"], expected.fraction) and pl["gradable"] is True
    feedback, _ = coursera(runs.mixed, scheme)
    assert math.isclose(feedback["fractionalScore"], expected.fraction)


def test_the_contract_share_is_lost_to_advice_and_said_so(runs):
    scheme = Scheme(points={"pool_backward": 5}, credit=CREDIT)
    values, contract = 5 * 0.75 / 0.95, 5 * 0.2 / 0.95
    test = gradescope(runs.advice, scheme)["tests"][0]
    assert test["status"] == "passed"  # it conforms; only the contract's extra share is lost
    assert math.isclose(test["score"], values) and test["max_score"] == 5
    classes = test["extra_data"]["classes"]
    assert classes["backward_values"]["earned"] and not classes["contract"]["earned"]
    assert classes["contract"]["points"] == 0
    assert math.isclose(classes["contract"]["max_points"], contract)
    assert (
        "contract (no advice): 0 of 1.05263 points, not earned: the check gave advice"
        in (test["output"])
    )
    assert "integer input" in test["output"]
    pl = prairielearn(runs.advice, scheme)
    assert math.isclose(pl["score"], values / 5)
    assert "not earned: the check gave advice" in pl["tests"][0]["output"]
    # Without a contract share, advice costs nothing.
    assert gradescope(runs.advice, Scheme(points={"pool_backward": 5}))["score"] == 5


def test_default_scheme_scores_the_defined_functions_and_nothing_else(runs):
    results = gradescope(runs.nothing)
    assert results["score"] == 0 and results["tests"] == []
    assert "defines none of the checked functions" in results["output"]
    pl = prairielearn(runs.nothing)
    assert pl["gradable"] is True and pl["score"] == 0 and pl["tests"] == []
    # With [points], an absent function counts in the maximum.
    results = gradescope(runs.nothing, Scheme(points=POINTS))
    assert [t["score"] for t in results["tests"]] == [0, 0, 0]
    assert sum(t["max_score"] for t in results["tests"]) == 4


# --- visibility of counterexamples


def marks_of_counterexamples(document):
    """Strings that only a counterexample (or its snippet) would put in an output."""
    marks = ["load_target", "Reproduce", "reproduce it", "worst at", "data:image/png"]
    for result in document["results"]:
        example = result.get("counterexample")
        if example:
            marks.append(example["problem"])
            marks += [line for line in example["repro"].splitlines() if "np.array(" in line]
    return marks


def everything(document, scheme, plots):
    """All three platforms' outputs for ``document``, as one string."""
    feedback, page = coursera(document, scheme, plots)
    text = "\n".join(
        [
            json.dumps(gradescope(document, scheme, plots)),
            json.dumps(prairielearn(document, scheme, plots)),
            json.dumps(feedback),
            page,
        ]
    )
    return text.replace("\\\\", "")  # Markdown's escapes (in JSON) out: search the words


def test_show_puts_counterexample_and_repro_in_the_failing_test(runs):
    scheme = Scheme(points=POINTS)
    example = {r["function"]: r for r in runs.mixed["results"]}["distribute_value"][
        "counterexample"
    ]
    tests = by_name(gradescope(runs.mixed, scheme)["tests"])
    output = tests["distribute_value"]["output"]
    assert "```python\n" + example["repro"].splitlines()[0] in output
    assert example["problem"] in output and "worst at a\\[0, 0\\]" in output
    pl = by_name(prairielearn(runs.mixed, scheme, runs.plots)["tests"])["distribute_value"]
    assert example["repro"].strip() in pl["output"] and "worst at a[0, 0]" in pl["output"]
    _, page = coursera(runs.mixed, scheme, runs.plots)
    first_line = html.escape(example["repro"].splitlines()[0])
    assert f"<pre><code>{first_line}" in page and 'src="data:image/png;base64,' in page
    # The passing functions' tests carry no counterexample.
    assert "load_target" not in tests["zero_pad"]["output"]


@pytest.mark.parametrize("document", ["mixed", "hostile"])
def test_never_shows_no_counterexample_anywhere(runs, document):
    document = documents(runs)[document]
    text = everything(document, Scheme(counterexamples="never"), runs.plots)
    for mark in marks_of_counterexamples(document):
        assert mark not in text, mark
    assert "Counterexamples are not shown for this assignment." in text
    # The verdicts and the diagnoses stay.
    for result in document["results"]:
        if result["status"] == "fail":
            assert writers._withhold(result["message"]).split(writers._WITHHELD)[0] in text
            assert result["diagnosis"] is None or result["diagnosis"] in text


def test_never_cuts_messages_that_quote_the_inputs(runs):
    shown = by_name(prairielearn(runs.hostile, Scheme(counterexamples="show"))["tests"])
    assert "leak" in shown["pool_forward"]["message"]
    assert "*[0.0" in shown["pool_forward"]["message"]
    hidden = by_name(prairielearn(runs.hostile, Scheme(counterexamples="never"))["tests"])
    message = hidden["pool_forward"]["message"]
    assert "pool_forward() raised ValueError" in message and "leak" in message
    assert "[0.0" not in message and "[the rest is withheld" in message
    assert "0.123" not in hidden["distribute_value"]["message"]
    assert "got str" in hidden["distribute_value"]["message"]
    assert "[the rest is withheld" in hidden["distribute_value"]["message"]
    # after_deadline on PrairieLearn and Coursera is "never": there is no later release.
    scheme = Scheme(counterexamples="after_deadline")
    feedback, page = coursera(runs.hostile, scheme, runs.plots)
    later = json.dumps(prairielearn(runs.hostile, scheme, runs.plots)) + json.dumps(feedback) + page
    assert "[the rest is withheld" in later and "[0.0" not in later
    for mark in marks_of_counterexamples(runs.hostile):
        assert mark not in later, mark


def test_after_deadline_moves_the_counterexample_into_a_test_released_after_the_due_date(runs):
    scheme = Scheme(points=POINTS, counterexamples="after_deadline")
    results = gradescope(runs.mixed, scheme, runs.plots)
    valid(GRADESCOPE, results)
    tests = results["tests"]
    assert [t["name"] for t in tests] == [*POINTS, "distribute_value: counterexample"]
    scored, released = tests[2], tests[3]
    assert scored["visibility"] == "visible" and scored["max_score"] == 2
    for mark in marks_of_counterexamples(runs.mixed):
        assert mark not in scored["output"].replace("\\", ""), mark
    assert "released after the due date" in scored["output"]
    assert "likely cause" in scored["output"].lower()  # the diagnosis stays visible
    assert released["visibility"] == "after_due_date"
    assert released["score"] == 0 and released["max_score"] == 0
    assert released["status"] == "failed"
    assert "load_target" in released["output"]
    assert "worst at a[0, 0]" in released["output"].replace("\\", "")
    assert [t["visibility"] for t in tests].count("after_due_date") == 1
    assert math.isclose(results["score"], sum(t["score"] for t in tests))
    # The visible test of a message quoting its inputs is cut; the released one has it all.
    hostile = by_name(gradescope(runs.hostile, Scheme(counterexamples="after_deadline"))["tests"])
    assert "withheld" in hostile["pool_forward"]["output"]
    assert "withheld" not in hostile["pool_forward: counterexample"]["output"]
    assert "0.0\\]" in hostile["pool_forward: counterexample"]["output"]


def test_untrusted_text_is_escaped(runs):
    scheme = Scheme(counterexamples="show")
    output = by_name(gradescope(runs.hostile, scheme)["tests"])["pool_forward"]["output"]
    [wrong] = [line for line in output.splitlines() if line.startswith("**What is wrong:**")]
    assert "<b>" not in wrong and "\\<b\\>leak\\</b\\> \\*\\[0.0\\]\\*" in wrong
    _, page = coursera(runs.hostile, scheme)
    assert "<b>leak" not in page and "&lt;b&gt;leak" in page


# --- PrairieLearn's images


def test_prairielearn_images_are_the_heatmaps_as_data_urls(runs):
    png = Path(runs.plots["distribute_value"]).read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    results = prairielearn(runs.mixed, Scheme(points=POINTS), runs.plots)
    [image] = results["images"]
    assert image["label"].startswith("distribute_value")
    prefix = "data:image/png;base64,"
    assert image["url"].startswith(prefix)
    assert base64.b64decode(image["url"][len(prefix) :], validate=True) == png
    # Only failing functions' heatmaps; none when counterexamples are hidden.
    stale = {**runs.plots, "zero_pad": runs.plots["distribute_value"]}
    assert len(prairielearn(runs.mixed, Scheme(points=POINTS), stale)["images"]) == 1
    for mode in ("after_deadline", "never"):
        assert "images" not in prairielearn(runs.mixed, Scheme(counterexamples=mode), runs.plots)


def test_a_heatmap_that_cannot_be_read_is_left_out_and_said_so(runs, tmp_path):
    bad = tmp_path / "distribute_value.png"
    bad.write_text("not a png")
    for plots in ({"distribute_value": bad}, {"distribute_value": tmp_path / "absent.png"}):
        results = prairielearn(runs.mixed, None, plots)
        valid(PRAIRIELEARN, results)
        assert "images" not in results
        assert "the heatmap of distribute_value is left out" in results["output"]
        _, page = coursera(runs.mixed, None, plots)
        assert "the heatmap of distribute_value is left out" in page


def test_prairielearn_stays_within_its_size_limit(runs, monkeypatch):
    whole = writers._dumps(prairielearn(runs.mixed, None, runs.plots))
    without_image = writers._dumps(prairielearn(runs.mixed))
    monkeypatch.setattr(writers, "PRAIRIELEARN_MAX_BYTES", len(without_image) + 500)
    assert len(whole) > writers.PRAIRIELEARN_MAX_BYTES
    results = prairielearn(runs.mixed, None, runs.plots)
    valid(PRAIRIELEARN, results)
    assert "images" not in results
    assert "heatmaps of distribute_value are left out" in results["message"]
    assert len(writers._dumps(results)) <= writers.PRAIRIELEARN_MAX_BYTES
    monkeypatch.setattr(writers, "PRAIRIELEARN_MAX_BYTES", 3000)
    results = prairielearn(runs.mixed, None, runs.plots)
    valid(PRAIRIELEARN, results)
    assert "outputs are shortened" in results["message"]
    assert len(writers._dumps(results)) <= 3000


def test_coursera_feedback_stays_within_64_kb():
    text = writers._plain_feedback(["x" * 70000, "y" * 10])
    assert len(text.encode("utf-8")) <= writers.COURSERA_MAX_FEEDBACK
    assert text.endswith("Coursera shows at most 64 KB]")


# --- a submission that cannot be loaded


def test_a_load_error_is_not_gradable_on_prairielearn(runs, tmp_path):
    reason = runs.load_error["error"]
    written = write_prairielearn(tmp_path / "results.json", runs.load_error, Scheme(points=POINTS))
    valid(PRAIRIELEARN, written)
    assert written["gradable"] is False and written["score"] == 0
    assert reason in written["message"] and written["format_errors"] == [reason]


def test_a_load_error_scores_0_with_its_reason(runs, tmp_path):
    reason = runs.load_error["error"]
    scheme = Scheme(points=POINTS)
    results = write_gradescope(tmp_path / "results.json", runs.load_error, scheme)
    valid(GRADESCOPE, results)
    assert results["score"] == 0 and reason in results["output"]
    assert [t["max_score"] for t in results["tests"]] == [1, 1, 2]  # the maximum still shows
    assert all(t["score"] == 0 and t["status"] == "failed" for t in results["tests"])
    feedback, page = write_coursera(tmp_path / "shared", runs.load_error, scheme)
    valid(COURSERA, feedback)
    assert feedback["fractionalScore"] == 0 and reason in feedback["feedback"]
    assert "SyntaxError" in page and "could not be loaded" in page


# --- fail closed


def written_files(tmp_path, document, scheme=None, **kwargs):
    """(Gradescope, PrairieLearn, Coursera feedback, Coursera page) as written."""
    write_gradescope(tmp_path / "gs.json", document, scheme, **kwargs)
    write_prairielearn(tmp_path / "pl.json", document, scheme, **kwargs)
    write_coursera(tmp_path / "coursera", document, scheme, **kwargs)
    gs, pl = strict_json(tmp_path / "gs.json"), strict_json(tmp_path / "pl.json")
    feedback = strict_json(tmp_path / "coursera" / COURSERA_FEEDBACK)
    page = (tmp_path / "coursera" / COURSERA_HTML).read_text(encoding="utf-8")
    valid(GRADESCOPE, gs)
    valid(PRAIRIELEARN, pl)
    valid(COURSERA, feedback)
    assert_page(page)
    return gs, pl, feedback, page


def assert_failed(files, reason):
    gs, pl, feedback, page = files
    assert gs["score"] == 0 and reason in gs["output"]
    assert pl["gradable"] is False and pl["score"] == 0 and reason in pl["message"]
    assert feedback["fractionalScore"] == 0 and reason in feedback["feedback"]
    assert reason in page


def test_no_document_still_writes_every_file(tmp_path):
    files = written_files(tmp_path, None, Scheme(points=POINTS), reason="the check crashed")
    assert_failed(files, "the check crashed")
    assert [t["max_score"] for t in files[0]["tests"]] == [1, 1, 2]
    assert_failed(written_files(tmp_path / "default", None), "the check produced no result")


def test_a_writer_that_raises_still_writes_a_failure(runs, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom in score")

    monkeypatch.setattr(writers, "score", broken)
    files = written_files(tmp_path, runs.mixed, Scheme(points=POINTS))
    assert_failed(files, "RuntimeError: boom in score")


def test_a_document_that_cannot_be_scored_still_writes_a_failure(tmp_path):
    files = written_files(tmp_path, {"results": "not a list", "target": 3})
    gs, pl, feedback, _ = files
    assert gs["score"] == 0 and pl["score"] == 0 and feedback["fractionalScore"] == 0


def test_a_result_that_cannot_be_serialised_still_writes_a_failure(runs, tmp_path, monkeypatch):
    monkeypatch.setattr(writers, "gradescope", lambda *a, **k: {"score": float("nan")})
    monkeypatch.setattr(writers, "prairielearn", lambda *a, **k: {"score": {1, 2}})
    monkeypatch.setattr(writers, "coursera", lambda *a, **k: ({"fractionalScore": math.inf}, ""))
    files = written_files(tmp_path, runs.mixed)
    assert_failed(files, "refconv failed while writing the results")
    assert "Out of range float values are not JSON compliant" in files[0]["output"]


def test_an_interrupt_still_leaves_a_file_then_propagates(runs, tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(writers, "score", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_gradescope(tmp_path / "results.json", runs.mixed)
    results = strict_json(tmp_path / "results.json")
    valid(GRADESCOPE, results)
    assert results["score"] == 0 and "KeyboardInterrupt" in results["output"]


def test_a_failure_reason_hides_quoted_data_when_counterexamples_are_hidden(tmp_path):
    reason = "the check crashed on A_prev = [[0.5, 0.25]]"
    never = write_prairielearn(
        tmp_path / "a.json", None, Scheme(counterexamples="never"), reason=reason
    )
    assert "0.5" not in never["message"] and "withheld" in never["message"]
    shown = write_prairielearn(tmp_path / "b.json", None, Scheme(), reason=reason)
    assert reason in shown["message"]


def test_an_unwritable_place_raises_oserror_naming_the_file(runs, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    target = blocker / "results.json"  # its folder is a file: it cannot be made
    with pytest.raises(OSError, match="cannot write the Gradescope results .*a_file"):
        write_gradescope(target, runs.mixed)
    with pytest.raises(OSError, match="cannot write the PrairieLearn results"):
        write_prairielearn(target, runs.mixed)
    with pytest.raises(OSError, match="cannot write the Coursera feedback page"):
        write_coursera(blocker, runs.mixed)
    with pytest.raises(OSError, match="cannot write the Gradescope results"):
        write_failure("gradescope", target, "anything")
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        try:
            with pytest.raises(PermissionError, match="locked"):
                write_gradescope(locked / "results.json", runs.mixed)
            assert list(locked.iterdir()) == []
        finally:
            locked.chmod(0o700)


def test_a_crash_while_replacing_keeps_the_old_file_whole(runs, tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    write_gradescope(path, runs.mixed)
    before = path.read_bytes()

    def refuse(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writers.os, "replace", refuse)
    with pytest.raises(OSError, match="No space left"):
        write_gradescope(path, runs.advice)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


# --- the calls the CLI makes


def test_write_failure_for_each_platform(tmp_path):
    scheme = Scheme(points=POINTS)
    gs = write_failure("gradescope", tmp_path / "gs.json", "grading file: bad key", scheme)
    valid(GRADESCOPE, gs)
    assert gs["score"] == 0 and "grading file: bad key" in gs["output"] and len(gs["tests"]) == 3
    pl = write_failure("prairielearn", tmp_path / "pl.json", "grading file: bad key")
    valid(PRAIRIELEARN, pl)
    assert pl["gradable"] is False
    feedback, page = write_failure("coursera", tmp_path / "shared", "grading file: bad key")
    valid(COURSERA, feedback)
    assert (tmp_path / "shared" / COURSERA_HTML).exists()
    with pytest.raises(ValueError, match="platform"):
        write_failure("moodle", tmp_path / "x.json", "anything")


def test_write_results_writes_every_platform_and_reports_the_first_error(runs, tmp_path):
    outputs = {
        "gradescope": tmp_path / "autograder" / "results" / "results.json",
        "prairielearn": tmp_path / "grade" / "results" / "results.json",
        "coursera": tmp_path / "shared",
    }
    write_results(outputs, runs.mixed, Scheme(points=POINTS), runs.plots)
    valid(GRADESCOPE, strict_json(outputs["gradescope"]))
    valid(PRAIRIELEARN, strict_json(outputs["prairielearn"]))
    valid(COURSERA, strict_json(outputs["coursera"] / COURSERA_FEEDBACK))
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    outputs["gradescope"] = blocker / "results.json"
    outputs["prairielearn"] = tmp_path / "again" / "results.json"
    with pytest.raises(OSError, match="Gradescope"):
        write_results(outputs, None, reason="the check crashed")
    assert strict_json(outputs["prairielearn"])["gradable"] is False  # still written
    with pytest.raises(ValueError, match="platform"):
        write_results({"moodle": tmp_path / "m.json"}, runs.mixed)
