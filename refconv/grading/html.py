"""The class report: one self-contained HTML page for a batch (``refconv check FOLDER --html``).

:func:`class_report` turns the JSON documents of a batch (one per submission, as ``refconv
check FILE --json`` writes them) into a single page with

- a summary: how many submissions, how many conform, how many could not be loaded;
- a table, submission x function, each cell the function's status (pass, fail, error, missing;
  a colour *and* a word and a symbol) and its points, then the submission's functions passed,
  score and percentage; clicking a column header sorts the rows by it (numerically for the
  numbers, stable, ascending then descending, ``aria-sort`` kept up to date);
- a bar chart (inline SVG) of the most frequent diagnoses across the class: the failures
  grouped by diagnosis, or by the kind of failure when the check found no diagnosis, with the
  number and percentage of submissions showing each;
- per submission, a section (linked from its row) with each failure: message, diagnosis, the
  counterexample's inputs (shapes, and the values of small arrays), expected and actual
  outputs, the worst entry, the heatmaps of ``--plot`` when given, and the repro snippet.

The page has no external asset at all: the style and script are inline, the heatmaps are
``data:`` URLs, and its Content-Security-Policy forbids loading anything else (``default-src
'none'``) and runs only the page's own script and style (by hash). Everything taken from a
document is escaped: a submission's output and its exceptions' messages are untrusted text,
never markup.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
import os
import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from refconv import API_FUNCTIONS, SEED_FUNCTIONS
from refconv.grading._files import atomic_write
from refconv.grading.scheme import FunctionScore, Scheme, Score, score

__all__ = [
    "DEFAULT_TITLE",
    "LOAD_ERROR_CATEGORY",
    "NOTHING_DEFINED_CATEGORY",
    "DiagnosisCount",
    "class_report",
    "diagnosis_counts",
    "failure_category",
    "format_value",
    "write_class_report",
]

DEFAULT_TITLE = "refconv class report"

#: Status of a function: the word shown, a symbol (the status is never told by colour alone)
#: and its rank when the table is sorted by that function's column.
STATUSES = {
    "pass": ("pass", "\u2713", 0),
    "fail": ("fail", "\u2717", 1),
    "error": ("error", "!", 2),
    "missing": ("missing", "\u2013", 3),
}
#: The chart shows this many diagnoses, the most frequent; the list under it has them all.
CHART_ROWS = 10
#: Arrays with at most this many entries are shown in full; larger ones by their shape only.
SMALL_ARRAY = 64
#: Heatmaps larger than this (bytes) are left out of the page, which says so.
MAX_IMAGE_BYTES = 4 * 1024 * 1024
_PNG = b"\x89PNG\r\n\x1a\n"

#: The category of a failure the check could not diagnose, by the counterexample's kind.
_KIND_CATEGORIES = {
    "value": "wrong values (no diagnosis)",
    "shape": "wrong output shape (no diagnosis)",
    "type": "wrong return type (no diagnosis)",
    "mutation": "modifies its inputs (no diagnosis)",
    "timeout": "does not finish in time (no diagnosis)",
    "crash": "the process crashed (no diagnosis)",
    "parity": "accepts a call torch rejects (no diagnosis)",
}
LOAD_ERROR_CATEGORY = "the submission could not be loaded"
NOTHING_DEFINED_CATEGORY = "the submission defines none of the checked functions"


def _e(value: Any) -> str:
    """Escaped text (quotes included: safe in an attribute too)."""
    return html.escape(str(value), quote=True)


def _name(document: Mapping[str, Any]) -> str:
    return Path(str(document.get("target", "?"))).name or str(document.get("target", "?"))


def _stem(document: Mapping[str, Any]) -> str:
    return Path(str(document.get("target", "?"))).stem


def _results(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        str(r.get("function")): r for r in document.get("results", []) or [] if isinstance(r, dict)
    }


def _present(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The results of the functions the submission defines."""
    return [r for r in _results(document).values() if r.get("status") != "missing"]


def _conforms(document: Mapping[str, Any]) -> bool:
    """What ``refconv check`` exits 0 for: loaded, one function present, every present one
    passes."""
    if document.get("error"):
        return False
    present = _present(document)
    return bool(present) and all(r.get("status") == "pass" for r in present)


def _failures(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [r for r in _results(document).values() if r.get("status") in ("fail", "error")]


def failure_category(result: Mapping[str, Any]) -> str:
    """What a failure is grouped by in the chart: its diagnosis, else the kind of failure.

    Parameters
    ----------
    result : one entry of a document's ``"results"`` (status "fail" or "error")

    Returns
    -------
    str : the diagnosis when the check found one; else, for an exception, its type ("raises
        ValueError (no diagnosis)"), for another kind of counterexample the kind ("wrong
        values (no diagnosis)"), and for an error of the check itself (no counterexample) the
        status and the message's first line
    """
    diagnosis = str(result.get("diagnosis") or "").strip()
    if diagnosis:
        return diagnosis
    example = result.get("counterexample") or {}
    kind = example.get("kind") if isinstance(example, dict) else None
    message = str(result.get("message") or "").strip()
    if kind in (None, "exception"):
        raised = re.search(r"raised ([A-Za-z_][\w.]*)", message)
        if raised:
            return f"raises {raised.group(1)} (no diagnosis)"
    if kind in _KIND_CATEGORIES:
        return _KIND_CATEGORIES[kind]
    first = message.splitlines()[0] if message else ""
    return f"{result.get('status', 'fail')}: {first[:120]}" if first else "failed (no message)"


@dataclass
class DiagnosisCount:
    """One bar of the chart: a diagnosis, the failures showing it and where."""

    label: str
    failures: int = 0
    submissions: list[int] = field(default_factory=list)  # indices into the documents
    functions: list[str] = field(default_factory=list)


def diagnosis_counts(documents: Sequence[Mapping[str, Any]]) -> list[DiagnosisCount]:
    """The failures of a class grouped by :func:`failure_category`, most frequent first.

    Parameters
    ----------
    documents : the submissions' JSON documents

    Returns
    -------
    list of DiagnosisCount : one per category, ordered by the number of submissions showing it
        (then its number of failures, then its label: a stable order); a document that could
        not be loaded counts under :data:`LOAD_ERROR_CATEGORY`, one that defines no checked
        function under :data:`NOTHING_DEFINED_CATEGORY`
    """
    groups: dict[str, DiagnosisCount] = {}
    for index, document in enumerate(documents):
        if document.get("error"):
            entries = [(LOAD_ERROR_CATEGORY, None)]
        elif not _present(document):
            entries = [(NOTHING_DEFINED_CATEGORY, None)]
        else:
            entries = [(failure_category(r), str(r.get("function"))) for r in _failures(document)]
        for label, function in entries:
            group = groups.setdefault(label, DiagnosisCount(label))
            group.failures += 1
            if index not in group.submissions:
                group.submissions.append(index)
            if function is not None and function not in group.functions:
                group.functions.append(function)
    return sorted(groups.values(), key=lambda g: (-len(g.submissions), -g.failures, g.label))


def _columns(documents: Sequence[Mapping[str, Any]], scheme: Scheme) -> list[str]:
    """The functions of the table: the scheme's, else those any document reports on."""
    if scheme.functions is not None:
        return scheme.functions
    seen = {name for document in documents for name in _results(document)}
    every = [name for names in API_FUNCTIONS.values() for name in names]
    return [name for name in every if name in seen] or list(SEED_FUNCTIONS)


def _number(value: float) -> str:
    return f"{value:.6g}"


def _plot_file(
    plots: Path | None, document: Mapping[str, Any], function: str, alone: bool
) -> Path | None:
    """The heatmap of ``--plot``: ``DIR/<stem>/<function>.png`` for a batch, and
    ``DIR/<function>.png`` for a single target (``alone``)."""
    if plots is None:
        return None
    candidates = [plots / _stem(document) / f"{function}.png"]
    if alone:
        candidates.append(plots / f"{function}.png")
    return next((p for p in candidates if p.is_file()), None)


def _image(path: Path, alt: str) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            return f'<p class="note">heatmap {_e(path.name)} left out ({size} bytes)</p>'
        data = path.read_bytes()
    except OSError as exc:
        return f'<p class="note">heatmap {_e(path.name)} unreadable: {_e(exc)}</p>'
    if not data.startswith(_PNG):
        return f'<p class="note">heatmap {_e(path.name)} left out: not a PNG file</p>'
    encoded = base64.b64encode(data).decode("ascii")
    return (
        f'<figure class="heatmap"><img src="data:image/png;base64,{encoded}" alt="{_e(alt)}">'
        f"<figcaption>{_e(alt)}</figcaption></figure>"
    )


# -- values -------------------------------------------------------------------------------------


def _as_array(value: Any) -> np.ndarray | None:
    """A nested list of a document as an array (null entries, JSON's NaN and inf, as NaN)."""
    if not isinstance(value, list):
        return None
    try:
        array = np.asarray(value)
        if array.dtype == object:
            array = np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError):
        return None
    return array if array.dtype.kind in "biuf" else None


def _layout(function: Any) -> str:
    """The layout of a function's 4-D arrays (its API profile's), NHWC when unknown."""
    from refconv.conformance.apis import api_of

    try:
        return api_of(str(function)).layout
    except ValueError:
        return "NHWC"


def _grid(array: np.ndarray) -> str:
    with np.printoptions(precision=6, suppress=True, linewidth=100, threshold=SMALL_ARRAY + 1):
        return np.array2string(array, separator=" ")


def format_value(name: str, value: Any, layout: str = "NHWC") -> str:
    """A counterexample's input or output as text.

    Parameters
    ----------
    name : the value's name (labels the slices of a 4-D array)
    layout : "NHWC" or "NCHW", the API's layout of 4-D arrays
    value : as in the JSON document: a nested list for an array (null for NaN or infinity),
        else a scalar or a string

    Returns
    -------
    str : an array's shape and dtype, then, when it has at most :data:`SMALL_ARRAY` entries,
        its values (a 4-D array (m, H, W, C) as its H x W slices, one per sample and
        channel); anything else as its ``repr``
    """
    array = _as_array(value)
    if array is None:
        return repr(value)
    head = f"shape {tuple(array.shape)}, {array.dtype}"
    if array.size > SMALL_ARRAY:
        return f"{head} ({array.size} entries: see the repro)"
    if array.ndim == 4 and layout == "NCHW":
        slices = [
            f"{name}[{i}, {c}, :, :] =\n{_grid(array[i, c])}"
            for i in range(array.shape[0])
            for c in range(array.shape[1])
        ]
        return head + "\n" + "\n".join(slices)
    if array.ndim == 4:
        slices = [
            f"{name}[{i}, :, :, {c}] =\n{_grid(array[i, :, :, c])}"
            for i in range(array.shape[0])
            for c in range(array.shape[3])
        ]
        return head + "\n" + "\n".join(slices)
    return f"{head}\n{_grid(array)}"


def _worst(worst: Any) -> str:
    if not isinstance(worst, dict):
        return ""
    index = worst.get("index") or []
    where = f"{worst.get('name')}[{', '.join(map(str, index))}]" if index else worst.get("name")
    actual, expected, bound = worst.get("actual"), worst.get("expected"), worst.get("bound")
    text = (
        f"{worst.get('count')} of {worst.get('total')} entries of {worst.get('name')} differ; "
        f"worst at {where}: actual {actual!r}, expected {expected!r}"
    )
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        diff = abs(actual - expected)
        allowed = f", allowed {bound:.3g}" if isinstance(bound, int | float) else ""
        if math.isfinite(diff):
            text += f" (|diff| = {diff:.3g}{allowed})"
    return text


# -- pieces of the page -------------------------------------------------------------------------


def _status_cell(
    document: Mapping[str, Any], function: str, scored: FunctionScore | None, anchor: str
) -> str:
    if document.get("error"):
        status = "error"
    elif scored is not None:
        status = scored.status
    else:
        status = str(_results(document).get(function, {}).get("status", "missing"))
    word, symbol, rank = STATUSES.get(status, (status, "?", 4))
    result = _results(document).get(function, {})
    tip = ""
    if status in ("fail", "error"):
        tip = str(result.get("diagnosis") or result.get("message") or document.get("error") or "")
    points = ""
    if scored is not None:
        points = f'<span class="pts">{_number(scored.points)}/{_number(scored.max_points)}</span>'
    label = f'<span class="sym" aria-hidden="true">{symbol}</span> {_e(word)}'
    if status in ("fail", "error") and not document.get("error"):
        label = f'<a href="#{anchor}-{_e(function)}">{label}</a>'
    title = f' title="{_e(tip)}"' if tip else ""
    return (
        f'<td class="st st-{_e(status)}" data-sort="{rank}" data-status="{_e(status)}"{title}>'
        f"{label}{points}</td>"
    )


def _table(
    documents: Sequence[Mapping[str, Any]], scores: Sequence[Score], columns: Sequence[str]
) -> str:
    head = ['<th scope="col" data-type="text"><button type="button">Submission</button></th>']
    for function in columns:
        label = _e(function).replace("_", "_<wbr>")
        head.append(
            f'<th scope="col" data-type="number" data-function="{_e(function)}">'
            f'<button type="button">{label}</button></th>'
        )
    for label in ("Passed", "Score", "%"):
        head.append(
            f'<th scope="col" data-type="number"><button type="button">{label}</button></th>'
        )
    rows = []
    for index, (document, scored) in enumerate(zip(documents, scores, strict=True)):
        anchor = f"sub-{index}"
        by_name = {f.function: f for f in scored.functions}
        name = _name(document)
        note = ' <span class="tag">load error</span>' if document.get("error") else ""
        cells = [
            f'<th scope="row" data-sort="{_e(name)}"><a href="#{anchor}">{_e(name)}</a>{note}</th>'
        ]
        cells += [
            _status_cell(document, function, by_name.get(function), anchor) for function in columns
        ]
        results = _results(document).values()
        passed = sum(r.get("status") == "pass" for r in results)
        present = sum(r.get("status") != "missing" for r in results)
        cells.append(f'<td class="num" data-sort="{passed}">{passed}/{present}</td>')
        cells.append(
            f'<td class="num" data-sort="{_number(scored.total)}">'
            f"{_number(scored.total)} / {_number(scored.max_total)}</td>"
        )
        percent = 100 * scored.fraction
        cells.append(f'<td class="num" data-sort="{percent:.4f}">{percent:.0f}%</td>')
        kind = "load-error" if document.get("error") else "ok" if _conforms(document) else "bad"
        rows.append(
            f'<tr id="row-{index}" class="{kind}" data-submission="{_e(name)}">'
            + "".join(cells)
            + "</tr>"
        )
    return (
        '<table id="results-table" class="results">'
        "<caption>Each function's verdict and points, per submission. Click a column header to "
        "sort by it; click again to reverse.</caption>"
        f"<thead><tr>{''.join(head)}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _wrap(text: str, width: int, lines: int) -> list[str]:
    wrapped = textwrap.wrap(text, width) or [""]
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = wrapped[-1][: width - 1].rstrip() + "\u2026"
    return wrapped


def _chart(groups: Sequence[DiagnosisCount], documents: Sequence[Mapping[str, Any]]) -> str:
    """The bar chart as inline SVG: per diagnosis its label, then a bar as long as the number of
    submissions showing it, with that number and its share of the class."""
    if not groups:
        return '<p class="all-good">No failures: no diagnosis to show.</p>'
    shown = list(groups[:CHART_ROWS])
    rest = groups[CHART_ROWS:]
    total = len(documents)
    width, left, track, line, bar, gap, wrap = 960, 4, 600, 17, 18, 12, 118
    parts, y = [], 4
    for rank, group in enumerate(shown):
        count = len(group.submissions)
        share = 100 * count / total if total else 0.0
        names = ", ".join(_name(documents[i]) for i in group.submissions)
        tip = f"{group.label}\n{count} of {total} submissions ({share:.0f}%), {group.failures} "
        tip += f"failure{'s' if group.failures != 1 else ''}: {names}"
        lines = [[_e(text)] for text in _wrap(group.label, wrap, 2)]
        if group.functions:
            functions = " (" + ", ".join(group.functions) + ")"
            if len(html.unescape("".join(lines[-1]))) + len(functions) > wrap:
                lines.append([])
            lines[-1].append(f'<tspan class="functions">{_e(functions)}</tspan>')
        texts = []
        for pieces in lines:
            y += line
            texts.append(f'<text class="label" x="{left}" y="{y}">{"".join(pieces)}</text>')
        y += 6
        length = max(3.0, track * count / total) if total else 3.0
        value = f"{count} of {total} submission{'s' if total != 1 else ''} ({share:.0f}%)"
        if group.failures != count:
            value += f" \u00b7 {group.failures} failures"
        parts.append(
            f'<g class="bar" data-rank="{rank}" data-count="{count}" data-percent="{share:.1f}" '
            f'data-label="{_e(group.label)}"><title>{_e(tip)}</title>{"".join(texts)}'
            f'<rect class="track" x="{left}" y="{y}" width="{track}" height="{bar}" rx="3"></rect>'
            f'<rect class="fill" x="{left}" y="{y}" width="{length:.1f}" height="{bar}" rx="3">'
            f'</rect><text class="value" x="{left + track + 10}" y="{y + bar - 5}">{_e(value)}'
            "</text></g>"
        )
        y += bar + gap
    height = y
    summary = "; ".join(f"{g.label}: {len(g.submissions)} of {total} submissions" for g in shown)
    more = ""
    if rest:
        most = max(len(g.submissions) for g in rest)
        more = (
            f'<p class="meta">and {len(rest)} more diagnos{"is" if len(rest) == 1 else "es"}, '
            f"each in at most {most} submission{'s' if most != 1 else ''}: see the list below.</p>"
        )
    return (
        f'<svg id="diagnosis-chart" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-label="{_e("Most frequent diagnoses. " + summary)}">{"".join(parts)}</svg>{more}'
    )


def _diagnosis_table(
    groups: Sequence[DiagnosisCount], documents: Sequence[Mapping[str, Any]]
) -> str:
    if not groups:
        return ""
    total = len(documents)
    rows = []
    for group in groups:
        links = ", ".join(
            f'<a href="#sub-{i}">{_e(_name(documents[i]))}</a>' for i in group.submissions
        )
        share = 100 * len(group.submissions) / total if total else 0.0
        rows.append(
            f"<tr><td>{_e(group.label)}</td><td>{_e(', '.join(group.functions))}</td>"
            f'<td class="num">{len(group.submissions)} ({share:.0f}%)</td>'
            f'<td class="num">{group.failures}</td><td>{links}</td></tr>'
        )
    return (
        "<details><summary>All diagnoses, with their submissions</summary>"
        '<table class="diagnoses"><thead><tr><th scope="col">Diagnosis</th>'
        '<th scope="col">Functions</th><th scope="col">Submissions</th>'
        '<th scope="col">Failures</th><th scope="col">Who</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></details>"
    )


def _failure(
    document: Mapping[str, Any],
    result: Mapping[str, Any],
    anchor: str,
    plots: Path | None,
    alone: bool,
) -> str:
    function = str(result.get("function"))
    status = str(result.get("status"))
    word, symbol, _ = STATUSES.get(status, (status, "?", 4))
    out = [
        f'<section class="failure" id="{anchor}-{_e(function)}">'
        f'<h4><code>{_e(function)}</code> <span class="badge st-{_e(status)}">'
        f'<span aria-hidden="true">{symbol}</span> {_e(word)}</span></h4><dl>'
    ]
    if result.get("message"):
        out.append(f"<dt>Message</dt><dd><pre>{_e(result['message'])}</pre></dd>")
    if result.get("diagnosis"):
        out.append(f'<dt>Diagnosis</dt><dd class="diagnosis">{_e(result["diagnosis"])}</dd>')
    notes = [str(n) for n in result.get("notes") or []]
    if notes:
        items = "".join(f"<li>{_e(n)}</li>" for n in notes)
        out.append(f"<dt>Notes</dt><dd><ul>{items}</ul></dd>")
    example = result.get("counterexample")
    layout = _layout(result.get("function"))
    if isinstance(example, dict):
        out.append(
            f"<dt>Counterexample</dt><dd><code>{_e(example.get('problem', ''))}</code> "
            f"(kind: {_e(example.get('kind', '?'))}, seed {_e(example.get('seed'))})</dd>"
        )
        inputs = example.get("inputs") or {}
        if isinstance(inputs, dict) and inputs:
            rows = "".join(
                f'<tr><th scope="row"><code>{_e(k)}</code></th>'
                f"<td><pre>{_e(format_value(k, v, layout))}</pre></td></tr>"
                for k, v in inputs.items()
            )
            out.append(f'<dt>Inputs</dt><dd><table class="values">{rows}</table></dd>')
        expected = example.get("expected") or {}
        actual = example.get("actual") or {}
        if isinstance(expected, dict) and isinstance(actual, dict) and (expected or actual):
            names = list(expected) + [k for k in actual if k not in expected]
            rows = "".join(
                f'<tr><th scope="row"><code>{_e(k)}</code></th>'
                f"<td><pre>{_e(format_value(k, expected[k], layout) if k in expected else '-')}"
                "</pre></td>"
                f"<td><pre>{_e(format_value(k, actual[k], layout) if k in actual else '-')}"
                "</pre></td></tr>"
                for k in names
            )
            out.append(
                '<dt>Expected vs actual</dt><dd><table class="values"><thead><tr><th></th>'
                '<th scope="col">expected</th><th scope="col">actual</th></tr></thead>'
                f"<tbody>{rows}</tbody></table></dd>"
            )
        worst = _worst(example.get("worst"))
        if worst:
            out.append(f'<dt>Worst entry</dt><dd class="worst">{_e(worst)}</dd>')
    out.append("</dl>")
    picture = _plot_file(plots, document, function, alone)
    if picture is not None:
        out.append(_image(picture, f"{function}: expected, actual and their difference"))
    if isinstance(example, dict) and example.get("repro"):
        out.append(
            "<details><summary>Repro snippet (Python)</summary>"
            f'<pre class="repro"><code>{_e(example["repro"])}</code></pre></details>'
        )
    out.append("</section>")
    return "".join(out)


def _submission(
    index: int,
    document: Mapping[str, Any],
    scored: Score,
    plots: Path | None,
    alone: bool,
) -> str:
    anchor = f"sub-{index}"
    results = _results(document)
    name = _name(document)
    if document.get("error"):
        verdict = '<span class="badge st-error">load error</span>'
    elif _conforms(document):
        verdict = '<span class="badge st-pass">conforms</span>'
    else:
        verdict = '<span class="badge st-fail">does not conform</span>'
    out = [
        f'<article class="submission" id="{anchor}"><h3>{_e(name)} {verdict} '
        f'<span class="score">score {_number(scored.total)} / {_number(scored.max_total)}'
        f"</span></h3>"
        f'<p class="path">{_e(document.get("target", "?"))} \u00b7 <a href="#results">back to '
        "the table</a></p>"
    ]
    if document.get("error"):
        out.append(
            f'<p class="problem">Could not be checked:</p><pre>{_e(document["error"])}</pre>'
        )
    elif not _present(document):
        out.append('<p class="problem">Defines none of the checked functions.</p>')
    for note in document.get("notes") or []:
        out.append(f'<p class="note">note: {_e(note)}</p>')
    by_status: dict[str, list[str]] = {}
    for function, result in results.items():
        by_status.setdefault(str(result.get("status")), []).append(function)
    for status, words in (("pass", "passes"), ("missing", "does not define")):
        if by_status.get(status):
            out.append(
                f'<p class="list"><strong>{words}:</strong> '
                + ", ".join(f"<code>{_e(f)}</code>" for f in by_status[status])
                + "</p>"
            )
    advice = [(f, a) for f, r in results.items() for a in r.get("advice") or []]
    if advice:
        items = "".join(f"<li><code>{_e(f)}</code>: {_e(a)}</li>" for f, a in advice)
        out.append(
            "<p><strong>advice</strong> (outside the contract, not failures):</p>"
            f'<ul class="advice">{items}</ul>'
        )
    for result in _failures(document):
        out.append(_failure(document, result, anchor, plots, alone))
    out.append("</article>")
    return "".join(out)


def _summary(documents: Sequence[Mapping[str, Any]], scores: Sequence[Score]) -> str:
    total = len(documents)
    conforming = sum(_conforms(d) for d in documents)
    errors = sum(bool(d.get("error")) for d in documents)
    mean = 100 * sum(s.fraction for s in scores) / total if total else 0.0
    cards = [
        ("submissions", str(total)),
        ("conform", f"{conforming} ({100 * conforming / total:.0f}%)" if total else "0"),
        ("do not conform", str(total - conforming - errors)),
        ("load errors", str(errors)),
        ("mean score", f"{mean:.0f}%"),
    ]
    items = "".join(
        f'<div class="card" data-key="{_e(k)}"><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>'
        for k, v in cards
    )
    return f'<dl class="cards">{items}</dl>'


def _context(documents: Sequence[Mapping[str, Any]]) -> str:
    """The check's settings and versions, from the first document that has them (raw text)."""
    for document in documents:
        options, versions = document.get("options"), document.get("versions")
        if isinstance(options, dict) and isinstance(versions, dict):
            return (
                f"refconv {versions.get('refconv', '?')}, oracle {versions.get('oracle', '?')}; "
                f"ties: {options.get('policy', '?')}, seed {options.get('seed', '?')}, up to "
                f"{options.get('max_examples', '?')} examples per function"
            )
    return ""


_STYLE = """
:root { --pass:#1a7f37; --pass-bg:#dafbe1; --fail:#b4232c; --fail-bg:#ffebe9;
  --error:#8a4b00; --error-bg:#fff1c2; --missing:#57606a; --missing-bg:#eef1f4;
  --line:#d0d7de; --ink:#1f2328; --muted:#59636e; --accent:#0969da; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  margin: 0 auto; padding: 16px 24px 48px; max-width: 1400px; }
h1 { font-size: 22px; margin: 4px 0; } h2 { font-size: 18px; margin: 28px 0 8px; }
h3 { font-size: 16px; margin: 0 0 4px; } h4 { font-size: 14px; margin: 16px 0 6px; }
.meta, .path, .note { color: var(--muted); margin: 2px 0; }
a { color: var(--accent); }
code, pre { font: 12px/1.35 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 130px; }
.card dt { color: var(--muted); font-size: 12px; } .card dd { margin: 0; font-size: 20px;
  font-weight: 600; }
table { border-collapse: collapse; }
table.results { width: 100%; }
table.results caption { caption-side: top; text-align: left; color: var(--muted); padding: 4px 0; }
table.results th, table.results td { border: 1px solid var(--line); padding: 4px 6px; }
table.results thead th { background: #f6f8fa; vertical-align: bottom; padding: 0; }
table.results thead th button { all: unset; cursor: pointer; display: block; padding: 6px;
  font-weight: 600; font-size: 12px; line-height: 1.25; }
table.results thead th button:focus-visible { outline: 2px solid var(--accent); }
table.results thead th button::after { content: " \\2195"; color: #aab1b9; }
table.results thead th[aria-sort=ascending] button::after { content: " \\25B2"; color: var(--ink); }
table.results thead th[aria-sort=descending] button::after { content: " \\25BC";
  color: var(--ink); }
table.results tbody th { text-align: left; font-weight: 500; white-space: nowrap; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.st { text-align: center; white-space: nowrap; font-size: 12px; }
td.st a { color: inherit; }
.st-pass { color: var(--pass); background: var(--pass-bg); }
.st-fail { color: var(--fail); background: var(--fail-bg); font-weight: 600; }
.st-error { color: var(--error); background: var(--error-bg); font-weight: 600; }
.st-missing { color: var(--missing); background: var(--missing-bg); }
.pts { display: block; color: var(--muted); font-weight: 400; font-size: 11px; }
tr.load-error th { background: var(--error-bg); }
.tag { font-size: 11px; color: var(--error); border: 1px solid currentColor; border-radius: 8px;
  padding: 0 5px; margin-left: 4px; }
.badge { font-size: 12px; border-radius: 10px; padding: 1px 8px; font-weight: 600; }
.score { color: var(--muted); font-weight: 400; font-size: 13px; }
svg.chart { width: 100%; height: auto; max-width: 960px; display: block; }
svg.chart rect.fill { fill: #c93c3c; } svg.chart rect.track { fill: #eef1f4; }
figure { margin: 8px 0; }
svg.chart text { font: 13px system-ui, sans-serif; fill: var(--ink); }
svg.chart text.value { font-weight: 600; }
svg.chart tspan.functions { fill: var(--muted); font-size: 12px; }
table.diagnoses td, table.diagnoses th, table.values td, table.values th {
  border: 1px solid var(--line); padding: 4px 6px; vertical-align: top; text-align: left; }
.submission { border-top: 1px solid var(--line); padding: 14px 0 6px; }
.failure { border-left: 4px solid var(--fail); padding: 2px 0 6px 12px; margin: 12px 0; }
.failure dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 0; }
.failure dt { color: var(--muted); } .failure dd { margin: 0; }
.diagnosis { font-weight: 600; }
.heatmap { margin: 10px 0; } .heatmap img { max-width: 100%; height: auto;
  border: 1px solid var(--line); }
.heatmap figcaption { color: var(--muted); font-size: 12px; }
details { margin: 8px 0; } summary { cursor: pointer; color: var(--accent); }
pre.repro { background: #f6f8fa; border: 1px solid var(--line); padding: 8px; max-height: 480px;
  overflow: auto; }
.problem { color: var(--error); font-weight: 600; }
.all-good { color: var(--pass); font-weight: 600; }
"""

_SCRIPT = """
(function () {
  "use strict";
  var table = document.getElementById("results-table");
  if (!table) { return; }
  var body = table.tBodies[0];
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  Array.prototype.forEach.call(body.rows, function (row, i) { row.setAttribute("data-order", i); });
  function key(row, column, numeric) {
    var cell = row.cells[column];
    var raw = cell.getAttribute("data-sort");
    if (raw === null) { raw = cell.textContent.trim(); }
    if (numeric) {
      var number = parseFloat(raw);
      return isNaN(number) ? -Infinity : number;
    }
    return raw;
  }
  function compare(a, b, numeric) {
    if (numeric) { return a < b ? -1 : a > b ? 1 : 0; }
    return a.localeCompare(b, undefined, {numeric: true, sensitivity: "base"});
  }
  function sortBy(column) {
    var header = headers[column];
    var numeric = header.getAttribute("data-type") === "number";
    var direction = header.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    var sign = direction === "ascending" ? 1 : -1;
    var rows = Array.prototype.slice.call(body.rows).map(function (row) {
      return {row: row, key: key(row, column, numeric), order: +row.getAttribute("data-order")};
    });
    rows.sort(function (a, b) {
      return sign * compare(a.key, b.key, numeric) || a.order - b.order;
    });
    rows.forEach(function (entry) { body.appendChild(entry.row); });
    headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", direction);
  }
  headers.forEach(function (header, column) {
    var button = header.querySelector("button");
    if (button) { button.addEventListener("click", function () { sortBy(column); }); }
  });
})();
"""


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def class_report(
    documents: Iterable[Mapping[str, Any]],
    scheme: Scheme | None = None,
    plots: Path | str | None = None,
    title: str = DEFAULT_TITLE,
    source: str | None = None,
) -> str:
    """The class report of a batch, as one self-contained HTML page.

    Parameters
    ----------
    documents : the submissions' JSON documents, in the order of the table (``refconv check
        FILE --json`` writes one; a batch's ``--json`` holds them under ``"submissions"``)
    scheme : the grading scheme the scores come from (default: one point per function defined)
    plots : the ``--plot`` folder: each failure's heatmap ``plots/<stem>/<function>.png`` is
        embedded (for a single document, ``plots/<function>.png`` too); None for no images
    title : the page's title
    source : what was checked (the batch folder), shown under the title; None to leave out

    Returns
    -------
    str : the page (UTF-8 text); everything from the documents is escaped

    Notes
    -----
    The page is the instructor's view: it shows every counterexample whatever the scheme's
    ``counterexamples`` setting (which governs what students are shown).
    """
    documents = list(documents)
    scheme = scheme or Scheme()
    folder = Path(plots) if plots is not None else None
    alone = len(documents) == 1
    scores = [score(document, scheme) for document in documents]
    columns = _columns(documents, scheme)
    groups = diagnosis_counts(documents)
    policy = "; ".join(
        [
            "default-src 'none'",
            "img-src data:",
            f"style-src {_hash(_STYLE)}",
            f"script-src {_hash(_SCRIPT)}",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    meta = [x for x in (f"refconv check {source}" if source else "", _context(documents)) if x]
    sections = "".join(
        _submission(i, d, s, folder, alone)
        for i, (d, s) in enumerate(zip(documents, scores, strict=True))
    )
    counted = len(groups)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>"
        f"<header><h1>{_e(title)}</h1>"
        + "".join(f'<p class="meta">{_e(m)}</p>' for m in meta)
        + "</header>"
        f'<section id="summary" aria-label="Summary">{_summary(documents, scores)}</section>'
        f'<section id="results"><h2>Results</h2>{_table(documents, scores, columns)}</section>'
        f'<section id="diagnoses"><h2>Most frequent diagnoses</h2>'
        f'<p class="meta">{counted} distinct diagnos{"is" if counted == 1 else "es"}; each bar: '
        "the submissions showing it, and their share of the class.</p>"
        f"<figure>{_chart(groups, documents)}</figure>{_diagnosis_table(groups, documents)}"
        "</section>"
        f'<section id="submissions"><h2>Submissions</h2>{sections}</section>'
        f"<script>{_SCRIPT}</script></body></html>\n"
    )


def write_class_report(
    path: str | os.PathLike[str],
    documents: Iterable[Mapping[str, Any]],
    scheme: Scheme | None = None,
    plots: Path | str | None = None,
    title: str = DEFAULT_TITLE,
    source: str | None = None,
) -> Path:
    """Write :func:`class_report` to ``path``, atomically.

    The page goes to a temporary file in the same folder, then is renamed over ``path``: a
    reader never sees half a page, and a failed write leaves the old file as it was.

    Parameters
    ----------
    path : the HTML file to write
    documents, scheme, plots, title, source : as for :func:`class_report`

    Returns
    -------
    Path : ``path``

    Raises
    ------
    OSError : the file cannot be written (no temporary file is left behind)
    """
    target = Path(path)
    page = class_report(documents, scheme=scheme, plots=plots, title=title, source=source)
    atomic_write(target, page.encode("utf-8"))
    return target
