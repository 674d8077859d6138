"""Result files for grading platforms: Gradescope, PrairieLearn and Coursera.

Each platform runs ``refconv check`` on one submission inside its own container and reads a
result file back. The writers turn the JSON document of that check (what ``refconv check FILE
--json`` writes) and a :class:`~refconv.grading.scheme.Scheme` (``--grading FILE``) into that
file. The builders (:func:`gradescope`, :func:`prairielearn`, :func:`coursera`) are pure; the
``write_*`` functions write the files, atomically and **fail closed**.

Gradescope (``--gradescope FILE``)
    ``/autograder/results/results.json``, as the autograder specification describes it
    (https://gradescope-autograders.readthedocs.io/en/latest/specs/, "Output format"): a
    top-level ``score`` and ``output`` (Markdown, ``"output_format": "md"``) and one entry of
    ``tests`` per scored function, named after it (``"conv_forward"``), with ``score``,
    ``max_score``, ``status`` (``"passed"`` / ``"failed"``), ``output`` (Markdown),
    ``visibility`` and ``extra_data`` (the refconv status and the points of each property
    class). ``stdout_visibility`` is ``"hidden"``: what ``refconv check`` prints holds every
    counterexample. The ``--plot`` heatmaps are left out: Gradescope renders "some basic
    Markdown" and sanitises HTML, and documents no way to embed an image.

PrairieLearn (``--prairielearn FILE``)
    ``/grade/results/results.json`` of an external grader
    (https://docs.prairielearn.com/externalGrading/, "Grading results"): ``gradable``,
    ``score`` in [0, 1], ``message``, ``output``, ``images`` (the heatmaps, as
    ``{"label", "url": "data:image/png;base64,..."}``) and ``tests`` with ``name``,
    ``description``, ``points``, ``max_points``, ``message`` and ``output`` (plain text: the
    ``pl-external-grader-results`` element shows them in ``<pre>``, escaped). A submission that
    cannot be loaded is ``"gradable": false`` (PrairieLearn then neither awards nor takes points,
    and does not count the attempt) with the reason in ``message`` and ``format_errors``. The
    file must stay under 1 MB: heatmaps are dropped first, then outputs are shortened, and the
    message says so. The folder ``/grade/results`` is not created by PrairieLearn: the writer
    creates missing folders.

Coursera (``--coursera DIR``)
    ``DIR/feedback.json`` and ``DIR/htmlFeedback.html`` of a custom grader, ``DIR`` being
    ``/shared`` (https://github.com/coursera/programming-assignments-demo, "custom-graders/
    README.md": ``{"fractionalScore": 0.2, "feedback": "...", "feedbackType": "HTML"}``, and
    "rich feedback" in ``/shared/htmlFeedback.html``). ``fractionalScore`` is in [0, 1];
    ``feedback`` holds the same report as plain text, cut to Coursera's 64 KB (Coursera shows
    only the rich feedback when there is one, but ``feedback`` is required). The HTML page is
    self-contained: inline style, no script, heatmaps as ``data:`` URLs, every piece of text
    from the document escaped.

What is shown follows ``scheme.counterexamples``:

- ``"show"``: each failing function's output has its counterexample (the problem, the worst
  entry) and the snippet that reproduces it (``repro``); PrairieLearn and Coursera get the
  heatmaps too;
- ``"after_deadline"``: on Gradescope the scored test stays visible without the
  counterexample, which goes into a separate 0-point test ``"<function>: counterexample"``
  with ``"visibility": "after_due_date"``. PrairieLearn and Coursera have no release after a
  deadline in their result files: there it means ``"never"``;
- ``"never"``: no counterexample, snippet or heatmap anywhere. The verdict's message and the
  diagnosis stay, but a message that quotes text from the submission (an exception's message,
  the repr of a returned object) is cut where it starts quoting numeric data (``[0.5, ...``,
  ``array(``, ``0.1234``): a submission could otherwise raise an exception carrying its
  inputs. The same holds for the advice, and for the visible test under
  ``"after_deadline"``.

Fail closed: if ``document`` is None, or building or serialising the file raises anything, the
``write_*`` functions still write a valid file that scores 0 and says why (on PrairieLearn as
``"gradable": false``, so the attempt is not lost to an error of the grader). Only a file that
cannot be written at all raises :class:`OSError`. A file is written to a temporary file in the
same folder, then moved into place (:func:`os.replace`): a crash never leaves half a file.
"""

from __future__ import annotations

import base64
import errno
import html
import json
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import refconv
from refconv.grading._files import atomic_write
from refconv.grading.scheme import ClassScore, Scheme, Score, score

__all__ = [
    "COURSERA_FEEDBACK",
    "COURSERA_HTML",
    "PLATFORMS",
    "PRAIRIELEARN_MAX_BYTES",
    "coursera",
    "coursera_failure",
    "gradescope",
    "gradescope_failure",
    "prairielearn",
    "prairielearn_failure",
    "write_coursera",
    "write_failure",
    "write_gradescope",
    "write_prairielearn",
    "write_results",
]

#: The platforms, as ``write_failure`` and ``write_results`` name them.
PLATFORMS = ("gradescope", "prairielearn", "coursera")

GRADESCOPE_DOCS = "https://gradescope-autograders.readthedocs.io/en/latest/specs/"
PRAIRIELEARN_DOCS = "https://docs.prairielearn.com/externalGrading/"
COURSERA_DOCS = (
    "https://github.com/coursera/programming-assignments-demo/blob/master/custom-graders/README.md"
)

#: Coursera's file names, in the ``--coursera`` folder (``/shared`` on Coursera).
COURSERA_FEEDBACK = "feedback.json"
COURSERA_HTML = "htmlFeedback.html"
#: Coursera trims ``feedback`` to 64 KB before showing it.
COURSERA_MAX_FEEDBACK = 64 * 1024
#: PrairieLearn's limit on ``results.json`` ("this file should be limited to 1 MB").
PRAIRIELEARN_MAX_BYTES = 1_000_000
#: A heatmap larger than this is left out of the Coursera page (the page says so).
MAX_IMAGE_BYTES = 2 * 1024 * 1024
#: How much of a reason (an exception's text) a failure file quotes.
MAX_REASON = 4000
#: How much of a message, diagnosis, note or piece of advice an output quotes (a submission's
#: exception can carry any amount of text).
MAX_TEXT = 2000

_PNG = b"\x89PNG\r\n\x1a\n"
_CLASS_LABELS = {
    "forward_values": "forward values",
    "backward_values": "backward values",
    "contract": "contract (no advice)",
}
_HEADLINES = {
    "pass": "passes",
    "fail": "fails",
    "error": "could not be checked",
    "missing": "is not defined",
}
#: Kinds of failure whose message quotes the submission (an exception's text, a returned repr).
_QUOTING_KINDS = ("exception", "type", "crash")
#: Where a text starts quoting numeric data: an array or list of numbers, ``array(``, a decimal
#: with 3 or more digits after the point. refconv's own messages write shapes and positions as
#: integers in parentheses, so they never match.
_QUOTED_DATA = re.compile(r"\[\s*[-+]?(?:\d|\.\d|nan|inf)|array\(|\d\.\d{3,}", re.IGNORECASE)
_WITHHELD = " [the rest is withheld: it may quote the hidden inputs]"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


# --- small helpers


def _clean(text: Any) -> str:
    """Text from a document as a plain string: newlines normalised, control characters out."""
    return _CONTROL.sub("", str(text).replace("\r\n", "\n").replace("\r", "\n"))


def _short(text: Any) -> str:
    """:func:`_clean`, at most :data:`MAX_TEXT` characters."""
    return _clip(_clean(text), MAX_TEXT)


def _num(value: float) -> str:
    """A number of points as people write it: 2, 1.6, 0.333333."""
    value = round(float(value), 6)
    return f"{value:g}" if value != 0 else "0"


def _percent(fraction: float) -> str:
    return f"{_num(100 * fraction)}%"


def _withhold(text: str) -> str:
    """``text`` cut where it starts quoting numeric data (see the module's docstring)."""
    found = _QUOTED_DATA.search(text)
    if found is None:
        return text
    return text[: found.start()].rstrip(" :,=([*'\"") + _WITHHELD


def _reason(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return _clip(text, MAX_REASON)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _md(text: str) -> str:
    """Untrusted text as literal Markdown (backslash escapes; one paragraph per line)."""
    return _MD_SPECIAL.sub(r"\\\1", _clean(text)).replace("\n", "  \n")


def _fence(text: str, language: str = "") -> str:
    """A fenced Markdown code block holding ``text`` verbatim, whatever backticks it holds."""
    runs = [len(run) for run in re.findall(r"`+", text)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return f"{fence}{language}\n{_clean(text).rstrip()}\n{fence}"


def _code_span(text: str) -> str:
    text = _clean(text).replace("\n", " ")
    runs = [len(run) for run in re.findall(r"`+", text)]
    ticks = "`" * (max(runs, default=0) + 1)
    return f"{ticks} {text} {ticks}"


def _e(text: Any) -> str:
    return html.escape(_clean(text), quote=True)


def _dumps(data: Any) -> bytes:
    """Strict JSON (no NaN or infinity), ASCII only, newline-terminated."""
    return (json.dumps(data, indent=2, allow_nan=False) + "\n").encode("ascii")


def _atomic_write(path: Path, data: bytes) -> None:
    """:func:`~refconv.grading._files.atomic_write`, creating missing folders first (a
    platform may not create its results folder, e.g. PrairieLearn's /grade/results)."""
    folder = path.parent
    if not folder.is_dir():
        existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
        if existing is not None and not existing.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, f"{existing} is not a folder")
        folder.mkdir(parents=True, exist_ok=True)
    atomic_write(path, data)


def _write(path: Path, data: bytes, what: str) -> None:
    """:func:`_atomic_write`, its OSError naming the file and what it is."""
    try:
        _atomic_write(path, data)
    except OSError as exc:
        # OSError(errno, text) is the errno's subclass (PermissionError, ...), like ``exc``.
        raise OSError(exc.errno, f"cannot write the {what} {path}: {exc.strerror or exc}") from exc


def _png_data_url(path: str | os.PathLike[str], limit: int | None = None) -> tuple[str | None, str]:
    """(``data:image/png;base64,...`` URL or None, why it is None)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return None, f"cannot read {path}: {exc.strerror or exc}"
    if not data.startswith(_PNG):
        return None, f"{path} is not a PNG file"
    if limit is not None and len(data) > limit:
        return None, f"{path} is larger than {limit // 1024} KB"
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii"), ""


# --- what the three formats share: one verdict per scored function


@dataclass(frozen=True)
class _Example:
    """A counterexample as the outputs show it."""

    problem: str
    kind: str
    worst: str
    repro: str


@dataclass(frozen=True)
class _Verdict:
    """One scored function, ready to render (``message`` is ``full_message`` with quoted data
    withheld when the scheme hides counterexamples)."""

    function: str
    status: str
    points: float
    max_points: float
    classes: tuple[ClassScore, ...]
    message: str
    full_message: str
    diagnosis: str
    notes: tuple[str, ...]
    advice: tuple[str, ...]
    example: _Example | None

    @property
    def headline(self) -> str:
        return f"{self.function} {_HEADLINES.get(self.status, self.status)}"

    @property
    def points_text(self) -> str:
        return f"{_num(self.points)} of {_num(self.max_points)} points"

    def class_lines(self) -> list[str]:
        """One line per property class; none when the function has a single class."""
        if len(self.classes) < 2:
            return []
        lines = []
        for c in self.classes:
            if c.earned:
                why = "earned"
            elif self.status != "pass":
                why = "not earned: the function does not pass"
            else:
                why = "not earned: the check gave advice (below)"
            label = _CLASS_LABELS.get(c.name, c.name)
            lines.append(f"{label}: {_num(c.points)} of {_num(c.max_points)} points, {why}")
        return lines


def _value(value: Any) -> str:
    if value is None:
        return "NaN or inf"
    return repr(float(value)) if isinstance(value, int | float) else _clean(value)


def _worst(worst: Any) -> str:
    """The worst entry of a value failure, as ``Mismatch.describe`` words it."""
    if not isinstance(worst, Mapping):
        return ""
    name = _clean(worst.get("name", "?"))
    index = worst.get("index") or []
    where = f"{name}[{', '.join(map(str, index))}]" if index else name
    actual, expected = worst.get("actual"), worst.get("expected")
    text = (
        f"{worst.get('count', '?')} of {worst.get('total', '?')} entries of {name} differ; "
        f"worst at {where}: actual {_value(actual)}, expected {_value(expected)}"
    )
    bound = worst.get("bound")
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        allowed = f", allowed {float(bound):.3g}" if isinstance(bound, int | float) else ""
        text += f" (|diff| = {abs(actual - expected):.3g}{allowed})"
    return text


def _advice(item: Any) -> str:
    """One piece of advice: a text (what ``refconv check --json`` writes), or a
    ``[topic, text]`` pair."""
    if isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 2:
        return _short(f"{_clean(item[0])}: {_clean(item[1])}")
    return _short(item)


def _verdicts(result: Score, scheme: Scheme) -> list[_Verdict]:
    hide = scheme.counterexamples != "show"
    verdicts = []
    for f in result.functions:
        entry = f.result if isinstance(f.result, Mapping) else {}
        example = entry.get("counterexample")
        example = example if isinstance(example, Mapping) else None
        if not result.gradable:
            full = "not checked: the submission could not be loaded"
        elif f.status == "missing":  # the headline says it, unless the message says more
            full = _short(entry.get("message") or "")
            full = "" if full == f"{f.function} is not defined" else full
        else:
            full = _short(entry.get("message") or "")
        kind = str(example.get("kind", "")) if example else ""
        quoting = kind in _QUOTING_KINDS or f.status == "error"
        advice = tuple(_advice(item) for item in entry.get("advice") or [])
        notes = tuple(_short(note) for note in entry.get("notes") or [])
        if hide:
            advice = tuple(_withhold(text) for text in advice)
            notes = tuple(_withhold(note) for note in notes)
        verdicts.append(
            _Verdict(
                function=f.function,
                status=f.status,
                points=f.points,
                max_points=f.max_points,
                classes=f.classes,
                message=_withhold(full) if hide and quoting else full,
                full_message=full,
                diagnosis=_short(entry.get("diagnosis") or ""),
                notes=notes,
                advice=advice,
                example=(
                    _Example(
                        problem=_short(example.get("problem", "")),
                        kind=kind,
                        worst=_worst(example.get("worst")),
                        repro=_clean(example.get("repro") or ""),
                    )
                    if example
                    else None
                ),
            )
        )
    return verdicts


def _policy_text(scheme: Scheme, platform: str) -> str:
    if scheme.counterexamples == "show":
        return (
            "Each failing function shows its smallest counterexample and a Python snippet that "
            "reproduces it (it needs refconv; replace the path in load_target(...) by your "
            "file's)."
        )
    if scheme.counterexamples == "after_deadline" and platform == "gradescope":
        return (
            "The counterexamples, and the snippets that reproduce them, are released after the "
            "due date."
        )
    return "Counterexamples are not shown for this assignment."


def _checked_with(document: Mapping[str, Any]) -> str:
    options = document.get("options") if isinstance(document.get("options"), Mapping) else {}
    versions = document.get("versions") if isinstance(document.get("versions"), Mapping) else {}
    oracle = versions.get("oracle")
    parts = [f"refconv {versions.get('refconv', refconv.__version__)}"]
    if oracle:
        parts.append(f"oracle {oracle}")
    for key, label in (("policy", "ties"), ("seed", "seed"), ("max_examples", "examples")):
        if key in options:
            parts.append(f"{label} {options[key]}")
    return "Checked by " + ", ".join(_clean(p) for p in parts) + "."


def _summary(result: Score) -> str:
    if not result.functions:
        return "refconv check: 0 points (no function scored)."
    passed = sum(1 for f in result.functions if f.passed)
    return (
        f"refconv check: {_num(result.total)} of {_num(result.max_total)} points "
        f"({_percent(result.fraction)}); {passed} of {len(result.functions)} functions pass."
    )


def _document_notes(document: Mapping[str, Any]) -> list[str]:
    return [_clean(note) for note in document.get("notes") or [] if str(note).strip()]


def _reveal(scheme: Scheme, platform: str) -> str:
    """Where the counterexamples go: "show" (with the verdicts), "later" (Gradescope's test
    released after the due date) or "never"."""
    if scheme.counterexamples == "show":
        return "show"
    if scheme.counterexamples == "after_deadline" and platform == "gradescope":
        return "later"
    return "never"


def _load_error(result: Score) -> str:
    return _clip(_clean(result.error or "unknown error"), MAX_REASON)


def _failing(verdict: _Verdict) -> bool:
    return verdict.status in ("fail", "error")


# --- Gradescope


def _md_example(example: _Example) -> list[str]:
    lines = [
        f"**Counterexample** ({_md(example.kind or 'failure')}): {_code_span(example.problem)}"
    ]
    if example.worst:
        lines += ["", _md(example.worst)]
    if example.repro:
        lines += ["", "Reproduce it:", "", _fence(example.repro, "python")]
    return lines


def _md_test(verdict: _Verdict, reveal: str, scheme: Scheme) -> str:
    lines = [f"**{_md(verdict.headline)}**: {verdict.points_text}"]
    classes = verdict.class_lines()
    if classes:
        lines += ["", *(f"- {_md(line)}" for line in classes)]
    message = verdict.full_message if reveal == "show" else verdict.message
    if message:
        lines += ["", f"**What is wrong:** {_md(message)}"]
    if verdict.diagnosis:
        lines += ["", f"**Likely cause:** {_md(verdict.diagnosis)}"]
    if verdict.notes:
        lines += ["", "**Notes:**", *(f"- {_md(note)}" for note in verdict.notes)]
    if verdict.advice:
        costs = "contract" in scheme.shares(verdict.function)
        lines += [
            "",
            "**Advice** (outside the seed API's contract, not a failure"
            + ("; it costs the contract share of the points" if costs else "")
            + "):",
            *(f"- {_md(text)}" for text in verdict.advice),
        ]
    if verdict.example is not None:
        if reveal == "show":
            lines += ["", *_md_example(verdict.example)]
        elif reveal == "later":
            lines += [
                "",
                "The counterexample and a snippet that reproduces it are released after the due "
                f"date, in the test {_md(verdict.function)}: counterexample.",
            ]
    return "\n".join(lines)


def _md_released(verdict: _Verdict) -> str:
    """The after-due-date test's output: the whole message and the counterexample."""
    lines = [f"**{_md(verdict.headline)}**"]
    if verdict.full_message:
        lines += ["", f"**What is wrong:** {_md(verdict.full_message)}"]
    if verdict.example is not None:
        lines += ["", *_md_example(verdict.example)]
    return "\n".join(lines)


def _gradescope_test(
    name: str,
    points: float,
    max_points: float,
    passed: bool,
    output: str,
    visibility: str = "visible",
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "name": name,
        "name_format": "text",
        "score": points,
        "max_score": max_points,
        "status": "passed" if passed else "failed",
        "output": output,
        "output_format": "md",
        "visibility": visibility,
        "extra_data": dict(extra or {}),
    }


def gradescope(
    document: Mapping[str, Any],
    scheme: Scheme | None = None,
    plots: Mapping[str, str | os.PathLike[str]] | None = None,
) -> dict[str, Any]:
    """Gradescope's ``results.json`` for one submission.

    Parameters
    ----------
    document : the JSON document of ``refconv check FILE --json``
    scheme : points, credit and visibility (default: one point per defined function)
    plots : ignored: Gradescope documents no way to embed an image (kept for a uniform call)

    Returns
    -------
    dict
        ``score`` (the sum of the tests' scores), ``output`` (Markdown), ``output_format``
        ``"md"``, ``stdout_visibility`` ``"hidden"``, ``extra_data`` and ``tests``: one per
        scored function, plus, under ``counterexamples = "after_deadline"``, a 0-point
        ``"<function>: counterexample"`` test with ``"visibility": "after_due_date"`` after each
        failing function that has one. A document with a load error scores 0, its reason in
        ``output``, every scored function a failed 0-point test.
    """
    del plots
    scheme = scheme or Scheme()
    result = score(document, scheme)
    verdicts = _verdicts(result, scheme)
    reveal = _reveal(scheme, "gradescope")
    extra = {
        "refconv": {
            "target": result.target,
            "gradable": result.gradable,
            "fraction": result.fraction,
            "max_score": result.max_total,
            "counterexamples": scheme.counterexamples,
        }
    }
    if not result.gradable:
        output = "\n".join(
            [
                f"**The submission could not be loaded**, so nothing was checked: it scores 0 of "
                f"{_num(result.max_total)} points.",
                "",
                _fence(_load_error(result), "text"),
            ]
        )
        tests = [
            _gradescope_test(
                v.function, 0.0, v.max_points, False, f"**{_md(v.function)}**: {_md(v.message)}"
            )
            for v in verdicts
        ]
        return {
            "score": 0.0,
            "output": output,
            "output_format": "md",
            "test_output_format": "md",
            "test_name_format": "text",
            "stdout_visibility": "hidden",
            "extra_data": extra,
            "tests": tests,
        }
    lines = [f"**{_md(_summary(result))}**", "", _md(_checked_with(document))]
    notes = _document_notes(document)
    if notes:
        lines += ["", "**About your file:**", *(f"- {_md(note)}" for note in notes)]
    if not verdicts:
        lines += ["", "Your file defines none of the checked functions."]
    if any(v.example is not None for v in verdicts):
        lines += ["", _md(_policy_text(scheme, "gradescope"))]
    tests = []
    for v in verdicts:
        tests.append(
            _gradescope_test(
                v.function,
                v.points,
                v.max_points,
                v.status == "pass",
                _md_test(v, reveal, scheme),
                extra={
                    "status": v.status,
                    "classes": {
                        c.name: {"points": c.points, "max_points": c.max_points, "earned": c.earned}
                        for c in v.classes
                    },
                },
            )
        )
        if reveal == "later" and v.example is not None:
            tests.append(
                _gradescope_test(
                    f"{v.function}: counterexample",
                    0.0,
                    0.0,
                    False,
                    _md_released(v),
                    visibility="after_due_date",
                    extra={"counterexample_of": v.function},
                )
            )
    seconds = sum(
        float(r.get("seconds") or 0)
        for r in document.get("results") or []
        if isinstance(r, Mapping) and isinstance(r.get("seconds"), int | float)
    )
    return {
        "score": result.total,
        "execution_time": math.ceil(seconds),
        "output": "\n".join(lines),
        "output_format": "md",
        "test_output_format": "md",
        "test_name_format": "text",
        "stdout_visibility": "hidden",
        "extra_data": extra,
        "tests": tests,
    }


def gradescope_failure(reason: str, scheme: Scheme | None = None) -> dict[str, Any]:
    """The Gradescope file when grading failed: score 0 and the reason; with a scheme that
    names its functions, each a failed 0-point test (so the maximum shows)."""
    scheme = scheme or Scheme()
    reason = _clip(_clean(reason), MAX_REASON)
    tests = [
        _gradescope_test(name, 0.0, float(scheme.points[name]), False, "Not graded (see above).")
        for name in scheme.functions or []
        if scheme.points is not None
    ]
    return {
        "score": 0.0,
        "output": "\n".join(
            [
                "**refconv could not grade this submission**, so it scores 0 for now. This is an "
                "error of the grader, not necessarily of your code: please tell the course staff.",
                "",
                _fence(reason, "text"),
            ]
        ),
        "output_format": "md",
        "test_output_format": "md",
        "test_name_format": "text",
        "stdout_visibility": "hidden",
        "extra_data": {"refconv": {"gradable": False, "error": reason}},
        "tests": tests,
    }


# --- PrairieLearn (and the plain text Coursera's "feedback" reuses)


def _text_example(example: _Example) -> list[str]:
    lines = [f"counterexample ({example.kind or 'failure'}): {example.problem}"]
    if example.worst:
        lines.append(example.worst)
    if example.repro:
        lines += ["", "reproduce it:", "", example.repro.rstrip()]
    return lines


def _text_message(verdict: _Verdict, reveal: str) -> str:
    lines = [f"{verdict.headline}: {verdict.points_text}."]
    message = verdict.full_message if reveal == "show" else verdict.message
    if message:
        lines.append(message)
    if verdict.diagnosis:
        lines.append(f"likely cause: {verdict.diagnosis}")
    return "\n".join(lines)


def _text_output(verdict: _Verdict, reveal: str) -> str:
    lines = list(verdict.class_lines())
    lines += [f"note: {note}" for note in verdict.notes]
    if verdict.advice:
        lines.append("advice (outside the seed API's contract, not a failure):")
        lines += [f"  {text}" for text in verdict.advice]
    if verdict.example is not None and reveal == "show":
        if lines:
            lines.append("")
        lines += _text_example(verdict.example)
    return "\n".join(lines)


def _images(
    verdicts: Sequence[_Verdict],
    plots: Mapping[str, str | os.PathLike[str]] | None,
    limit: int | None,
) -> tuple[list[dict[str, str]], list[str]]:
    """The heatmaps of failing functions, as images, and notes on those left out."""
    images, notes = [], []
    for verdict in verdicts:
        path = (plots or {}).get(verdict.function)
        if path is None or not _failing(verdict):
            continue
        url, why = _png_data_url(path, limit)
        if url is None:
            notes.append(f"the heatmap of {verdict.function} is left out: {why}")
            continue
        label = f"{verdict.function}: expected, actual and their difference on the counterexample"
        images.append({"label": label, "url": url})
    return images, notes


def _fit(results: dict[str, Any], limit: int) -> dict[str, Any]:
    """``results`` within ``limit`` bytes: heatmaps dropped (last first), then the tests'
    outputs shortened, then left out; ``message`` says what went."""
    left_out: list[str] = []
    while len(_dumps(results)) > limit and results.get("images"):
        image = results["images"].pop()
        left_out.append(image.get("label", "a heatmap").split(":")[0])
    if not results.get("images"):
        results.pop("images", None)
    shortened = False
    for keep in (20000, 4000, 500, 0):
        if len(_dumps(results)) <= limit:
            break
        shortened = True
        for test in results.get("tests", []):
            output = test.get("output", "")
            if len(output) > keep:
                test["output"] = output[:keep] + "\n[... cut: PrairieLearn's 1 MB limit]"
    if left_out:
        results["message"] += (
            "\nThe heatmaps of " + ", ".join(reversed(left_out)) + " are left out: PrairieLearn "
            "limits results to 1 MB."
        )
    if shortened:
        results["message"] += "\nSome outputs are shortened: PrairieLearn limits results to 1 MB."
    return results


def prairielearn(
    document: Mapping[str, Any],
    scheme: Scheme | None = None,
    plots: Mapping[str, str | os.PathLike[str]] | None = None,
) -> dict[str, Any]:
    """PrairieLearn's external-grader ``results.json`` for one submission.

    Parameters
    ----------
    document : the JSON document of ``refconv check FILE --json``
    scheme : points, credit and visibility (default: one point per defined function).
        PrairieLearn has no release after a deadline: ``"after_deadline"`` is ``"never"``.
    plots : function name -> PNG file of ``--plot``; the failing functions' heatmaps become
        ``images`` (``data:image/png;base64,...`` URLs) when counterexamples are shown

    Returns
    -------
    dict
        ``gradable``, ``score`` (``total / max_total`` in [0, 1]), ``message``, ``output``,
        ``tests`` (one per scored function: ``name``, ``description``, ``points``,
        ``max_points``, ``message``, ``output``) and ``images`` when there are any; at most
        :data:`PRAIRIELEARN_MAX_BYTES` once serialised. A document with a load error gives
        ``"gradable": false``, ``score`` 0, the reason in ``message`` and ``format_errors``.
    """
    scheme = scheme or Scheme()
    result = score(document, scheme)
    if not result.gradable:
        reason = _load_error(result)
        return {
            "gradable": False,
            "score": 0.0,
            "message": "The submission could not be loaded, so it was not graded:\n" + reason,
            "format_errors": [reason],
            "tests": [],
        }
    verdicts = _verdicts(result, scheme)
    reveal = _reveal(scheme, "prairielearn")
    output = [_checked_with(document)]
    notes = _document_notes(document)
    output += [f"about your file: {note}" for note in notes]
    if not verdicts:
        output.append("Your file defines none of the checked functions.")
    if any(v.example is not None for v in verdicts):
        output.append(_policy_text(scheme, "prairielearn"))
    results: dict[str, Any] = {
        "gradable": True,
        "score": min(max(result.fraction, 0.0), 1.0),
        "message": _summary(result),
        "output": "\n".join(output),
        "tests": [
            {
                "name": v.function,
                "description": f"refconv's conformance check of {v.function}",
                "points": v.points,
                "max_points": v.max_points,
                "message": _text_message(v, reveal),
                "output": _text_output(v, reveal),
            }
            for v in verdicts
        ],
    }
    if reveal == "show":
        images, left_out = _images(verdicts, plots, None)
        if images:
            results["images"] = images
        if left_out:
            results["output"] += "\n" + "\n".join(left_out)
    return _fit(results, PRAIRIELEARN_MAX_BYTES)


def prairielearn_failure(reason: str) -> dict[str, Any]:
    """The PrairieLearn file when grading failed: ``"gradable": false`` (no points awarded or
    taken, the attempt not counted), ``score`` 0, the reason in ``message``."""
    reason = _clip(_clean(reason), MAX_REASON)
    return {
        "gradable": False,
        "score": 0.0,
        "message": (
            "refconv could not grade this submission. This is an error of the grader, not "
            "necessarily of your code: please tell the course staff.\n" + reason
        ),
        "tests": [],
    }


# --- Coursera

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 1.5em; color: #1b1b1b; max-width: 60em; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
.pass { color: #176f2c; } .fail, .error { color: #a4161a; } .missing { color: #555; }
pre { background: #f4f4f4; padding: .6em; overflow-x: auto; white-space: pre-wrap; }
code { font-family: ui-monospace, monospace; }
figure { margin: 1em 0; } img { max-width: 100%; }
"""
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_SYMBOLS = {"pass": "\u2713", "fail": "\u2717", "error": "!", "missing": "\u2013"}


def _page(title: str, body: Sequence[str]) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
            f"<title>{_e(title)}</title>",
            f"<style>{_STYLE}</style>",
            "</head>",
            "<body>",
            *body,
            "</body>",
            "</html>",
            "",
        ]
    )


def _html_verdict(verdict: _Verdict, reveal: str, image: str | None) -> list[str]:
    status = verdict.status if verdict.status in _SYMBOLS else "error"
    out = [
        f'<section id="{_e(verdict.function)}">',
        f'<h2 class="{status}">{_SYMBOLS[status]} {_e(verdict.headline)}: '
        f"{_e(verdict.points_text)}</h2>",
    ]
    classes = verdict.class_lines()
    if classes:
        out += ["<ul>", *(f"<li>{_e(line)}</li>" for line in classes), "</ul>"]
    message = verdict.full_message if reveal == "show" else verdict.message
    if message:
        out.append(f"<p><strong>What is wrong:</strong> {_e(message)}</p>")
    if verdict.diagnosis:
        out.append(f"<p><strong>Likely cause:</strong> {_e(verdict.diagnosis)}</p>")
    if verdict.notes:
        out += ["<ul>", *(f"<li>note: {_e(note)}</li>" for note in verdict.notes), "</ul>"]
    if verdict.advice:
        out += [
            "<p><strong>Advice</strong> (outside the seed API's contract, not a failure):</p>",
            "<ul>",
            *(f"<li>{_e(text)}</li>" for text in verdict.advice),
            "</ul>",
        ]
    if verdict.example is not None and reveal == "show":
        example = verdict.example
        out.append(
            f"<p><strong>Counterexample</strong> ({_e(example.kind or 'failure')}): "
            f"<code>{_e(example.problem)}</code></p>"
        )
        if example.worst:
            out.append(f"<p>{_e(example.worst)}</p>")
        if image:
            out.append(
                f'<figure><img src="{image}" alt="{_e(verdict.function)}: expected, actual and '
                'their difference as heatmaps"><figcaption>expected, actual and their '
                "difference</figcaption></figure>"
            )
        if example.repro:
            out += ["<p>Reproduce it:</p>", f"<pre><code>{_e(example.repro)}</code></pre>"]
    out.append("</section>")
    return out


def _plain_feedback(lines: Sequence[str]) -> str:
    """Coursera's ``feedback``: plain text within its 64 KB."""
    text = "\n".join(lines)
    data = text.encode("utf-8", "replace")
    if len(data) <= COURSERA_MAX_FEEDBACK:
        return text
    cut = "\n[... cut: Coursera shows at most 64 KB]"
    keep = COURSERA_MAX_FEEDBACK - len(cut.encode("utf-8"))
    return data[:keep].decode("utf-8", "ignore") + cut


def coursera(
    document: Mapping[str, Any],
    scheme: Scheme | None = None,
    plots: Mapping[str, str | os.PathLike[str]] | None = None,
) -> tuple[dict[str, Any], str]:
    """Coursera's ``feedback.json`` and the HTML feedback page for one submission.

    Parameters
    ----------
    document : the JSON document of ``refconv check FILE --json``
    scheme : points, credit and visibility (default: one point per defined function).
        Coursera has no release after a deadline: ``"after_deadline"`` is ``"never"``.
    plots : function name -> PNG file of ``--plot``, embedded in the page as ``data:`` URLs
        when counterexamples are shown

    Returns
    -------
    (dict, str)
        ``{"fractionalScore", "feedback", "feedbackType": "HTML"}`` and the page
        (``htmlFeedback.html``). A document with a load error scores 0, with the reason.
    """
    scheme = scheme or Scheme()
    result = score(document, scheme)
    if not result.gradable:
        reason = _load_error(result)
        head = "The submission could not be loaded, so nothing was checked: it scores 0."
        page = _page("refconv feedback", [f"<h1>{_e(head)}</h1>", f"<pre>{_e(reason)}</pre>"])
        return (
            {
                "fractionalScore": 0.0,
                "feedback": _plain_feedback([head, reason]),
                "feedbackType": "HTML",
            },
            page,
        )
    verdicts = _verdicts(result, scheme)
    reveal = _reveal(scheme, "coursera")
    notes = _document_notes(document)
    policy = _policy_text(scheme, "coursera") if any(v.example for v in verdicts) else ""
    images: dict[str, str] = {}
    left_out: list[str] = []
    if reveal == "show":
        for verdict in verdicts:
            path = (plots or {}).get(verdict.function)
            if path is not None and _failing(verdict):
                url, why = _png_data_url(path, MAX_IMAGE_BYTES)
                if url is None:
                    left_out.append(f"the heatmap of {verdict.function} is left out: {why}")
                else:
                    images[verdict.function] = url
    body = [f"<h1>{_e(_summary(result))}</h1>", f"<p>{_e(_checked_with(document))}</p>"]
    if notes:
        body += ["<p>About your file:</p>", "<ul>", *(f"<li>{_e(n)}</li>" for n in notes), "</ul>"]
    if not verdicts:
        body.append("<p>Your file defines none of the checked functions.</p>")
    if policy:
        body.append(f"<p>{_e(policy)}</p>")
    body += [f"<p>{_e(line)}</p>" for line in left_out]
    for verdict in verdicts:
        body += _html_verdict(verdict, reveal, images.get(verdict.function))
    text = [_summary(result), _checked_with(document), *(f"about your file: {n}" for n in notes)]
    if policy:
        text.append(policy)
    for verdict in verdicts:
        text += ["", _text_message(verdict, reveal)]
        output = _text_output(verdict, reveal)
        if output:
            text.append(output)
    feedback = {
        "fractionalScore": min(max(result.fraction, 0.0), 1.0),
        "feedback": _plain_feedback(text),
        "feedbackType": "HTML",
    }
    return feedback, _page("refconv feedback", body)


def coursera_failure(reason: str) -> tuple[dict[str, Any], str]:
    """Coursera's files when grading failed: ``fractionalScore`` 0 and the reason."""
    reason = _clip(_clean(reason), MAX_REASON)
    head = (
        "refconv could not grade this submission, so it scores 0 for now. This is an error of "
        "the grader, not necessarily of your code: please tell the course staff."
    )
    page = _page("refconv feedback", [f"<h1>{_e(head)}</h1>", f"<pre>{_e(reason)}</pre>"])
    return (
        {
            "fractionalScore": 0.0,
            "feedback": _plain_feedback([head, reason]),
            "feedbackType": "HTML",
        },
        page,
    )


# --- writing, fail closed

_NO_DOCUMENT = "the check produced no result"


def _fail_closed(
    build: Callable[[], Any], fallback: Callable[[str], Any], scheme: Scheme | None
) -> tuple[Any, BaseException | None]:
    """``build()``, or ``fallback(reason)`` if it raises anything; and what it raised, if that
    was not an Exception (KeyboardInterrupt, SystemExit: re-raised once the file is written)."""
    hide = scheme is not None and scheme.counterexamples != "show"
    try:
        return build(), None
    except _Missing as exc:
        reason = str(exc)
        return fallback(_withhold(reason) if hide else reason), None
    except BaseException as exc:
        reason = f"refconv failed while writing the results: {_reason(exc)}"
        return fallback(_withhold(reason) if hide else reason), (
            None if isinstance(exc, Exception) else exc
        )


class _Missing(Exception):
    """No document: its text is the whole reason."""


def _no_document(reason: str | None) -> str:
    return _clip(_clean(reason or _NO_DOCUMENT), MAX_REASON)


def write_gradescope(
    path: str | os.PathLike[str],
    document: Mapping[str, Any] | None,
    scheme: Scheme | None = None,
    plots: Mapping[str, str | os.PathLike[str]] | None = None,
    *,
    reason: str | None = None,
) -> dict[str, Any]:
    """Write Gradescope's ``results.json`` to ``path``, fail closed.

    Parameters
    ----------
    path : the file (``/autograder/results/results.json``); missing folders are created
    document : the check's JSON document, or None when there is none (then ``reason`` says why)
    scheme, plots : as :func:`gradescope`
    reason : why there is no document (default: "the check produced no result")

    Returns
    -------
    dict
        What was written: :func:`gradescope`'s, or :func:`gradescope_failure`'s when
        ``document`` is None or building or serialising raised.

    Raises
    ------
    OSError : the file cannot be written (it names the file)
    """

    def build() -> tuple[dict[str, Any], bytes]:
        if document is None:
            raise _Missing(_no_document(reason))
        results = gradescope(document, scheme, plots)
        return results, _dumps(results)

    def fallback(why: str) -> tuple[dict[str, Any], bytes]:
        results = gradescope_failure(why, scheme)
        return results, _dumps(results)

    (results, data), interrupted = _fail_closed(build, fallback, scheme)
    _write(Path(path), data, "Gradescope results")
    if interrupted is not None:
        raise interrupted
    return results


def write_prairielearn(
    path: str | os.PathLike[str],
    document: Mapping[str, Any] | None,
    scheme: Scheme | None = None,
    plots: Mapping[str, str | os.PathLike[str]] | None = None,
    *,
    reason: str | None = None,
) -> dict[str, Any]:
    """Write PrairieLearn's ``results.json`` to ``path``, fail closed.

    Parameters
    ----------
    path : the file (``/grade/results/results.json``); missing folders are created (PrairieLearn
        does not create ``/grade/results``)
    document, reason : as :func:`write_gradescope`
    scheme, plots : as :func:`prairielearn`

    Returns
    -------
    dict
        What was written: :func:`prairielearn`'s, or :func:`prairielearn_failure`'s
        (``"gradable": false``).

    Raises
    ------
    OSError : the file cannot be written (it names the file)
    """

    def build() -> tuple[dict[str, Any], bytes]:
        if document is None:
            raise _Missing(_no_document(reason))
        results = prairielearn(document, scheme, plots)
        return results, _dumps(results)

    def fallback(why: str) -> tuple[dict[str, Any], bytes]:
        results = prairielearn_failure(why)
        return results, _dumps(results)

    (results, data), interrupted = _fail_closed(build, fallback, scheme)
    _write(Path(path), data, "PrairieLearn results")
    if interrupted is not None:
        raise interrupted
    return results


def write_coursera(
    folder: str | os.PathLike[str],
    document: Mapping[str, Any] | None,
    scheme: Scheme | None = None,
    plots: Mapping[str, str | os.PathLike[str]] | None = None,
    *,
    reason: str | None = None,
) -> tuple[dict[str, Any], str]:
    """Write Coursera's ``feedback.json`` and ``htmlFeedback.html`` into ``folder``, fail closed.

    The page is written first, then ``feedback.json`` (which announces it); each atomically.

    Parameters
    ----------
    folder : the folder (``/shared`` on Coursera); created when missing
    document, reason : as :func:`write_gradescope`
    scheme, plots : as :func:`coursera`

    Returns
    -------
    (dict, str)
        What was written: :func:`coursera`'s, or :func:`coursera_failure`'s.

    Raises
    ------
    OSError : a file cannot be written (it names the file)
    """

    def build() -> tuple[tuple[dict[str, Any], str], bytes, bytes]:
        if document is None:
            raise _Missing(_no_document(reason))
        feedback, page = coursera(document, scheme, plots)
        return (feedback, page), _dumps(feedback), page.encode("utf-8", "replace")

    def fallback(why: str) -> tuple[tuple[dict[str, Any], str], bytes, bytes]:
        feedback, page = coursera_failure(why)
        return (feedback, page), _dumps(feedback), page.encode("utf-8", "replace")

    (written, feedback_data, page_data), interrupted = _fail_closed(build, fallback, scheme)
    folder = Path(folder)
    _write(folder / COURSERA_HTML, page_data, "Coursera feedback page")
    _write(folder / COURSERA_FEEDBACK, feedback_data, "Coursera feedback")
    if interrupted is not None:
        raise interrupted
    return written


_WRITERS: dict[str, Callable[..., Any]] = {
    "gradescope": write_gradescope,
    "prairielearn": write_prairielearn,
    "coursera": write_coursera,
}


def write_failure(
    platform: str, path: str | os.PathLike[str], reason: str, scheme: Scheme | None = None
) -> Any:
    """Write ``platform``'s file saying grading failed (score 0, ``reason``): for the CLI, when
    the check crashed, the grading file is bad, or there is nothing to check.

    Parameters
    ----------
    platform : "gradescope", "prairielearn" or "coursera"
    path : the file (Gradescope, PrairieLearn) or the folder (Coursera)
    reason : what went wrong, shown to the student: say it for them
    scheme : when known, Gradescope lists its functions as 0-point tests

    Raises
    ------
    ValueError : an unknown platform
    OSError : the file cannot be written
    """
    if platform not in _WRITERS:
        raise ValueError(f"platform: {platform!r}; expected one of " + ", ".join(PLATFORMS))
    return _WRITERS[platform](path, None, scheme, reason=reason)


def write_results(
    outputs: Mapping[str, str | os.PathLike[str]],
    document: Mapping[str, Any] | None,
    scheme: Scheme | None = None,
    plots: Mapping[str, str | os.PathLike[str]] | None = None,
    *,
    reason: str | None = None,
) -> None:
    """Write every requested platform's file (``outputs``: platform -> path), fail closed.

    Each file is attempted even when another cannot be written; then the first OSError is
    raised.

    Raises
    ------
    ValueError : an unknown platform (before anything is written)
    OSError : a file cannot be written
    """
    unknown = [p for p in outputs if p not in _WRITERS]
    if unknown:
        raise ValueError(f"platform: {unknown[0]!r}; expected one of " + ", ".join(PLATFORMS))
    errors: list[OSError] = []
    for platform, path in outputs.items():
        try:
            _WRITERS[platform](path, document, scheme, plots, reason=reason)
        except OSError as exc:
            errors.append(exc)
    if errors:
        raise errors[0]
