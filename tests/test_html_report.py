"""The HTML class report (``refconv check FOLDER --html FILE``, :mod:`refconv.grading.html`).

The unit tests run everywhere: the page's structure, its scores (from the grading scheme), the
escaping of hostile text from submissions, and that it loads nothing from outside. The browser
test opens the page in a real headless Chromium, driven through the DevTools protocol over a
pipe (``--remote-debugging-pipe``: no extra Python package), and checks that the table and the
chart render, that the page's own style and script run under its Content-Security-Policy, that
a hostile submission's markup stays text, and that clicking a column header sorts the table
(and clicking it again reverses it). It is skipped when no Chromium binary exists, except on
CI (the CI environment variable set), where that is a failure.

The fixture ``tests/data/class_report.json`` is real ``refconv check FOLDER --json`` output
(8 submissions). Regenerate it, with ``docs/html_report.png``, by
``python docs/make_html_report_screenshot.py``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from refconv.conformance import diagnose as texts
from refconv.grading.html import (
    LOAD_ERROR_CATEGORY,
    NOTHING_DEFINED_CATEGORY,
    class_report,
    diagnosis_counts,
    failure_category,
    format_value,
    write_class_report,
)
from refconv.grading.scheme import Scheme, score

FIXTURE = Path(__file__).parent / "data" / "class_report.json"

#: Markup a submission could smuggle into its report: through a printed line or an exception's
#: message (notes, messages, diagnoses), a file name, an input's name, the repro snippet.
HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


@pytest.fixture(scope="module")
def documents() -> list[dict[str, Any]]:
    return json.loads(FIXTURE.read_text())["submissions"]


def _by_name(documents: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(d for d in documents if Path(d["target"]).name == name)


def _hostile_document() -> dict[str, Any]:
    """A submission whose every text field is markup."""
    return {
        "target": f"/class/{HOSTILE}.py",
        "notes": [f"the file printed {HOSTILE}"],
        "results": [
            {
                "function": "zero_pad",
                "status": "fail",
                "message": f"zero_pad() raised ValueError: {HOSTILE}",
                "diagnosis": HOSTILE,
                "notes": [HOSTILE],
                "advice": [HOSTILE],
                "counterexample": {
                    "problem": HOSTILE,
                    "kind": "exception",
                    "inputs": {HOSTILE: [[1.0, 2.0]], "pad": HOSTILE},
                    "expected": {HOSTILE: [1.0]},
                    "actual": {HOSTILE: [2.0]},
                    "worst": {
                        "name": HOSTILE,
                        "index": [0],
                        "actual": 2.0,
                        "expected": 1.0,
                        "bound": 0.0,
                        "count": 1,
                        "total": 1,
                    },
                    "seed": 0,
                    "repro": f"print('</pre>{HOSTILE}')",
                },
            },
            {"function": "pool_forward", "status": "error", "message": HOSTILE},
        ],
    }


def _png(width: int = 2, height: int = 1) -> bytes:
    """A valid PNG (grey pixels), small enough to build here."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    rows = b"".join(b"\0" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


class _Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: _Node | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[_Node | str] = []

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self, tag: str | None = None):
        for child in self.children:
            if isinstance(child, _Node):
                if tag is None or child.tag == tag:
                    yield child
                yield from child.iter(tag)

    def find(self, tag: str, **attrs: str) -> _Node | None:
        return next(
            (n for n in self.iter(tag) if all(n.attrs.get(k) == v for k, v in attrs.items())),
            None,
        )

    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())


class _Tree(HTMLParser):
    """The page as a tree of tags (the parser a browser would be, minus the tolerance)."""

    VOID = {"meta", "img", "br", "wbr", "rect", "link", "input", "hr"}

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root = self.current = _Node("#root", {}, None)
        self.tags: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        node = _Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        if tag not in self.VOID:
            self.current = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.current.children.append(_Node(tag, dict(attrs), self.current))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        assert node is not None and node.parent is not None, f"stray </{tag}>"
        self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def _rows(tree: _Tree) -> list[_Node]:
    table = tree.root.find("table", id="results-table")
    assert table is not None
    body = table.find("tbody")
    assert body is not None
    return [row for row in body.children if isinstance(row, _Node)]


def _headers(tree: _Tree) -> list[str]:
    table = tree.root.find("table", id="results-table")
    assert table is not None
    thead = table.find("thead")
    assert thead is not None
    return [th.text().strip() for th in thead.iter("th")]


# -- the page -----------------------------------------------------------------------------------


def test_fixture_is_real_check_output(documents):
    names = [Path(d["target"]).name for d in documents]
    assert len(names) == 8 and names == sorted(names)
    assert any(d.get("error") for d in documents), "the fixture keeps a load error"
    assert any(r.get("counterexample") for d in documents for r in d.get("results", []))
    assert all(
        "repro" in r["counterexample"]
        for d in documents
        for r in d.get("results", [])
        if r.get("counterexample")
    )


def test_structure(documents):
    page = class_report(documents, source="class/")
    assert page.startswith("<!DOCTYPE html>")
    tree = _Tree(page)
    assert tree.current is tree.root, "every element is closed"
    assert tree.root.find("title").text() == "refconv class report"
    rows = _rows(tree)
    assert [r.attrs["data-submission"] for r in rows] == [Path(d["target"]).name for d in documents]
    headers = _headers(tree)
    assert headers[0] == "Submission" and headers[-3:] == ["Passed", "Score", "%"]
    assert headers[1:-3] == [
        "zero_pad",
        "conv_single_step",
        "conv_forward",
        "conv_backward",
        "pool_forward",
        "create_mask_from_window",
        "distribute_value",
        "pool_backward",
    ]
    thead = tree.root.find("table", id="results-table").find("thead")
    assert all(th.find("button") is not None for th in thead.iter("th")), "headers are buttons"
    for index, (row, document) in enumerate(zip(rows, documents, strict=True)):
        link = row.find("a")
        assert link.attrs["href"] == f"#sub-{index}"
        section = tree.root.find("article", id=f"sub-{index}")
        assert section is not None and Path(document["target"]).name in section.text()
        cells = [c for c in row.children if isinstance(c, _Node) and c.tag == "td"]
        statuses = [c.attrs["data-status"] for c in cells if "data-status" in c.attrs]
        if document.get("error"):
            assert "load-error" in row.classes() and set(statuses) == {"error"}
            assert document["error"] in section.text()
        else:
            expected = {r["function"]: r["status"] for r in document["results"]}
            assert statuses == [expected[name] for name in headers[1:-3]]
        for cell in cells:
            if "data-status" in cell.attrs:  # the status in words, not by colour alone
                assert cell.attrs["data-status"] in cell.text()
                assert f"st-{cell.attrs['data-status']}" in cell.classes()
        # every failure has its section, linked from its cell
        for result in document.get("results", []):
            if result["status"] in ("fail", "error"):
                anchor = f"sub-{index}-{result['function']}"
                failure = tree.root.find("section", id=anchor)
                assert failure is not None and result["message"] in failure.text()
                assert row.find("a", href=f"#{anchor}") is not None
                example = result.get("counterexample")
                if example:
                    assert failure.find("pre", **{"class": "repro"}).text() == example["repro"]
    summary = {
        card.attrs["data-key"]: card.find("dd").text()
        for card in tree.root.find("section", id="summary").iter("div")
    }
    conforming = sum(
        not d.get("error")
        and any(r["status"] != "missing" for r in d["results"])
        and all(r["status"] in ("pass", "missing") for r in d["results"])
        for d in documents
    )
    assert summary["submissions"] == str(len(documents))
    assert summary["conform"].startswith(f"{conforming} (")
    assert summary["load errors"] == "1"


def test_counterexample_details(documents):
    tree = _Tree(class_report(documents))
    index = [Path(d["target"]).name for d in documents].index("bug_avg_uses_max.py")
    failure = tree.root.find("section", id=f"sub-{index}-pool_forward")
    text = failure.text()
    avg_computes_max = texts.MODE_COMPUTES_OTHER.format(mode="average", other="max")
    assert avg_computes_max in text  # the diagnosis
    assert "shape (1, 2, 2, 1), float64" in text and "A_prev[0, :, :, 0] =" in text  # inputs
    assert "expected" in text and "actual" in text and "0.0025" in text and "0.01" in text
    assert "worst at A[0, 0, 0, 0]: actual 0.01, expected 0.0025" in text


def test_diagnosis_chart(documents):
    page = class_report(documents)
    tree = _Tree(page)
    chart = tree.root.find("svg", id="diagnosis-chart")
    bars = list(chart.iter("g"))
    groups = diagnosis_counts(documents)
    assert len(bars) == min(len(groups), 10)
    counts = [int(b.attrs["data-count"]) for b in bars]
    assert counts == sorted(counts, reverse=True) and counts[0] >= 2
    # The fixture's shared diagnosis: two submissions mark every tied maximum.
    top = bars[0]
    assert top.attrs["data-label"] == texts.MASK_ALL_TIES
    assert f"2 of {len(documents)} submissions (25%)" in top.text()
    labels = [b.attrs["data-label"] for b in bars]
    assert LOAD_ERROR_CATEGORY in labels and NOTHING_DEFINED_CATEGORY in labels
    for bar in bars:
        fill = next(r for r in bar.iter("rect") if "fill" in r.classes())
        share = int(bar.attrs["data-count"]) / len(documents)
        assert float(fill.attrs["width"]) == pytest.approx(max(3.0, 600 * share), abs=0.1)


def test_failure_categories():
    assert failure_category({"status": "fail", "diagnosis": "kernel flipped"}) == "kernel flipped"
    raised = {
        "status": "fail",
        "message": "conv_forward() raised IndexError: index 3 is out of bounds",
        "counterexample": {"kind": "exception"},
    }
    assert failure_category(raised) == "raises IndexError (no diagnosis)"
    value = {"status": "fail", "message": "wrong values in Z", "counterexample": {"kind": "value"}}
    assert failure_category(value) == "wrong values (no diagnosis)"
    error = {"status": "error", "message": "the executor died\nTraceback ..."}
    assert failure_category(error) == "error: the executor died"
    documents = [
        {"target": "a.py", "results": [value, {**value, "function": "conv_backward"}]},
        {"target": "b.py", "results": [value]},
        {"target": "c.py", "error": "boom", "results": []},
    ]
    groups = diagnosis_counts(documents)
    assert [(g.label, len(g.submissions), g.failures) for g in groups] == [
        ("wrong values (no diagnosis)", 2, 3),
        (LOAD_ERROR_CATEGORY, 1, 1),
    ]
    assert "2 of 3 submissions (67%) \u00b7 3 failures" in class_report(documents)


def test_scores_come_from_the_scheme(documents):
    scheme = Scheme(points={"conv_forward": 2, "conv_backward": 3, "pool_forward": 1})
    tree = _Tree(class_report(documents, scheme=scheme))
    assert _headers(tree)[1:-3] == ["conv_forward", "conv_backward", "pool_forward"]
    for row, document in zip(_rows(tree), documents, strict=True):
        expected = score(document, scheme)
        cells = [c for c in row.children if isinstance(c, _Node) and c.tag == "td"]
        *functions, passed, total, percent = cells
        assert total.attrs["data-sort"] == f"{expected.total:.6g}"
        assert total.text() == f"{expected.total:.6g} / {expected.max_total:.6g}"
        assert percent.text() == f"{100 * expected.fraction:.0f}%"
        for cell, function in zip(functions, expected.functions, strict=True):
            points = cell.find("span", **{"class": "pts"}).text()
            assert points == f"{function.points:.6g}/{function.max_points:.6g}"
    # bug_db_flat fails conv_backward only: 2 + 1 of 6 points
    row = next(r for r in _rows(tree) if r.attrs["data-submission"] == "bug_db_flat.py")
    assert "3 / 6" in row.text()


def test_hostile_text_is_escaped(documents):
    page = class_report([*documents, _hostile_document()], title=HOSTILE, source=HOSTILE)
    tree = _Tree(page)
    assert tree.tags.count("script") == 1, "the page's own script only"
    assert "<script>window" not in page and "onerror=" not in page.replace("onerror=&quot;", "")
    images = list(tree.root.iter("img"))
    assert all(img.attrs["src"].startswith("data:image/png;base64,") for img in images)
    assert not any(n.attrs.get("onerror") for n in tree.root.iter())
    # ... and reads as the text it is
    index = len(documents)
    section = tree.root.find("article", id=f"sub-{index}")
    text = section.text()
    assert text.count(HOSTILE) >= 8
    assert f"print('</pre>{HOSTILE}')" in text
    assert tree.root.find("title").text() == HOSTILE
    row = _rows(tree)[-1]
    assert row.attrs["data-submission"] == Path(f"/class/{HOSTILE}.py").name


def test_no_external_assets(documents, tmp_path):
    plots = tmp_path / "plots"
    (plots / "bug_avg_uses_max").mkdir(parents=True)
    (plots / "bug_avg_uses_max" / "pool_forward.png").write_bytes(_png())
    page = class_report([*documents, _hostile_document()], plots=plots)
    assert "http://" not in page and "https://" not in page
    for match in re.finditer(r'\b(?:src|href)\s*=\s*"([^"]*)"', page):
        assert match.group(1).startswith(("#", "data:image/png;base64,")), match.group(0)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    tree = _Tree(page)
    policy = tree.root.find("meta", **{"http-equiv": "Content-Security-Policy"}).attrs["content"]
    assert "default-src 'none'" in policy and "img-src data:" in policy
    assert "unsafe-inline" not in policy
    for tag in ("script", "style"):
        (node,) = tree.root.iter(tag)
        digest = base64.b64encode(hashlib.sha256(node.text().encode()).digest()).decode()
        assert f"{tag}-src 'sha256-{digest}'" in policy, f"the {tag} runs under the policy"


def test_heatmaps_are_embedded(documents, tmp_path):
    plots = tmp_path / "plots"
    (plots / "bug_avg_uses_max").mkdir(parents=True)
    (plots / "bug_avg_uses_max" / "pool_forward.png").write_bytes(_png(3, 2))
    (plots / "bug_db_flat").mkdir()
    (plots / "bug_db_flat" / "conv_backward.png").write_text(f"{HOSTILE} is not a PNG")
    tree = _Tree(class_report(documents, plots=plots))
    names = [Path(d["target"]).name for d in documents]
    good = tree.root.find("section", id=f"sub-{names.index('bug_avg_uses_max.py')}-pool_forward")
    (image,) = good.iter("img")
    assert image.attrs["src"] == "data:image/png;base64," + base64.b64encode(_png(3, 2)).decode()
    assert "pool_forward" in image.attrs["alt"]
    bad = tree.root.find("section", id=f"sub-{names.index('bug_db_flat.py')}-conv_backward")
    assert not list(bad.iter("img")) and "not a PNG file" in bad.text()
    assert len(list(tree.root.iter("img"))) == 1
    # a single target's --plot DIR holds DIR/<function>.png
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "pool_forward.png").write_bytes(_png())
    alone = _Tree(
        class_report([_by_name(documents, "bug_avg_uses_max.py")], plots=tmp_path / "one")
    )
    assert len(_rows(alone)) == 1 and len(list(alone.root.iter("img"))) == 1


def test_format_value():
    text = format_value("A", [[[[0.0], [1.5]], [[None], [2.0]]]])
    assert text.splitlines()[0] == "shape (1, 2, 2, 1), float64"
    assert "A[0, :, :, 0] =" in text and "nan" in text and "1.5" in text
    big = format_value("A", [[0.0] * 10] * 10)
    assert big == "shape (10, 10), float64 (100 entries: see the repro)"
    assert format_value("mode", "max") == "'max'" and format_value("f", 2) == "2"
    assert "True" in format_value("mask", [[True, False]])


def test_write_class_report_is_atomic(documents, tmp_path, monkeypatch):
    path = tmp_path / "report.html"
    path.write_text("old")
    assert write_class_report(path, documents, source="class/") == path
    assert path.read_text(encoding="utf-8") == class_report(documents, source="class/")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"], "no temporary left"

    def interrupted(source: str, target: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("refconv.grading.html.os.replace", interrupted)
    with pytest.raises(OSError, match="disk full"):
        write_class_report(path, documents[:1])
    assert path.read_text(encoding="utf-8") == class_report(documents, source="class/")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"], "no temporary left"


def test_empty_and_passing_classes():
    passing = {
        "target": "ok.py",
        "results": [{"function": "zero_pad", "status": "pass", "message": ""}],
    }
    page = class_report([passing])
    assert "No failures" in page and 'id="diagnosis-chart"' not in page
    assert _headers(_Tree(page))[1:-3] == ["zero_pad"]
    assert "<tbody></tbody>" in class_report([])


# -- in a real browser --------------------------------------------------------------------------


def _chromium() -> str | None:
    names = (os.environ.get("REFCONV_CHROMIUM"), "chromium", "chromium-browser")
    names += ("google-chrome", "google-chrome-stable")
    return next((shutil.which(n) for n in names if n and shutil.which(n)), None)


_TRAMPOLINE = """
import fcntl, os, sys
ends = [int(sys.argv[1]), int(sys.argv[2])]
copies = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in ends]  # clear of 3 and 4
os.dup2(copies[0], 3)
os.dup2(copies[1], 4)
for fd in set(ends + copies) - {3, 4}:
    os.close(fd)
os.execv(sys.argv[3], sys.argv[3:])
"""


class _Chromium:
    """Headless Chromium driven through the DevTools protocol over ``--remote-debugging-pipe``:
    it reads NUL-terminated JSON commands on its fd 3 and answers on its fd 4."""

    def __init__(self, binary: str, width: int = 1280, height: int = 900) -> None:
        self.profile = tempfile.mkdtemp(prefix="refconv-chromium-")
        self.log = tempfile.TemporaryFile()
        commands_r, commands_w = os.pipe()
        answers_r, answers_w = os.pipe()
        arguments = [
            "--headless=new",
            "--no-sandbox",  # as root (CI containers); the page is our own file
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--hide-scrollbars",
            "--remote-debugging-pipe",
            f"--user-data-dir={self.profile}",
            f"--window-size={width},{height}",
            "about:blank",
        ]
        try:
            # A trampoline puts the pipe's ends at fds 3 and 4, then becomes the browser (no
            # preexec_fn: pytest-xdist workers have threads).
            self.process = subprocess.Popen(
                [sys.executable, "-c", _TRAMPOLINE, str(commands_r), str(answers_w)]
                + [binary, *arguments],
                pass_fds=(commands_r, answers_w),
                stdin=subprocess.DEVNULL,
                stdout=self.log,
                stderr=self.log,
                start_new_session=True,
            )
        finally:
            os.close(commands_r)
            os.close(answers_w)
        self._out, self._in = commands_w, answers_r
        self._buffer = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []
        self.session = ""

    def stderr(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]

    def call(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        """Send one command (to the page's session once attached); return its result."""
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if self.session and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self.session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                answer = json.loads(raw)
                if answer.get("id") == self._next:
                    if "error" in answer:
                        raise RuntimeError(f"{method}: {answer['error']}")
                    return answer.get("result", {})
                self.events.append(answer)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{method}: no answer in {timeout} s\n{self.stderr()}")
            if select.select([self._in], [], [], left)[0]:
                chunk = os.read(self._in, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"chromium exited during {method}\n{self.stderr()}")
                self._buffer += chunk

    def open(self, url: str, width: int = 1280, height: int = 900) -> None:
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + 20
        while self.js("document.readyState") != "complete":
            assert time.monotonic() < deadline, "the page did not finish loading"
            time.sleep(0.05)

    def js(self, expression: str) -> Any:
        answer = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in answer:
            raise RuntimeError(f"{expression}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def click(self, selector: str) -> None:
        """A real mouse click (pressed, released) at the middle of the element."""
        box = self.js(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        x, y = box
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=5)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait(timeout=10)
        for fd in (self._out, self._in):
            os.close(fd)
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    binary = _chromium()
    if binary is None:
        reason = "no Chromium binary (apt-get install chromium, or set REFCONV_CHROMIUM)"
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"CI is set and the browser test cannot run: {reason}")
        print(f"test_html_report: skipping the browser test: {reason}")
        pytest.skip(reason)
    chromium = _Chromium(binary)
    try:
        chromium.call("Browser.getVersion", timeout=60)
        yield chromium
    finally:
        chromium.close()


ROW_ORDER = (
    "[...document.querySelectorAll('#results-table tbody tr')].map(r => r.dataset.submission)"
)


def _column(browser: _Chromium, header: str) -> int:
    return browser.js(
        "[...document.querySelectorAll('#results-table thead th')]"
        f".findIndex(th => th.textContent.trim() === {json.dumps(header)})"
    )


def _header(column: int) -> str:
    """The selector of a column header's button."""
    return f"#results-table thead th:nth-child({column + 1}) button"


def _keys(browser: _Chromium, column: int) -> list[float]:
    return browser.js(
        "[...document.querySelectorAll('#results-table tbody tr')]"
        f".map(r => parseFloat(r.cells[{column}].dataset.sort))"
    )


def _sort_state(browser: _Chromium) -> dict[str, str]:
    return browser.js(
        "Object.fromEntries([...document.querySelectorAll('#results-table thead th')]"
        ".filter(th => th.hasAttribute('aria-sort'))"
        ".map(th => [th.textContent.trim(), th.getAttribute('aria-sort')]))"
    )


def test_in_chromium(browser, documents, tmp_path):
    plots = tmp_path / "plots"
    (plots / "bug_avg_uses_max").mkdir(parents=True)
    (plots / "bug_avg_uses_max" / "pool_forward.png").write_bytes(_png(40, 20))
    hostile = copy.deepcopy(_hostile_document())
    hostile["target"] = "/class/zz_hostile.py"  # a plain name: the sort test compares names
    classroom = [*documents, hostile]
    page = write_class_report(tmp_path / "report.html", classroom, plots=plots, source="class/")
    browser.open(page.as_uri())
    names = [Path(d["target"]).name for d in classroom]

    # The table renders: every row, styled by the page's own (hashed) style sheet.
    assert browser.js(ROW_ORDER) == names
    table = browser.js(
        "(() => { const r = document.getElementById('results-table').getBoundingClientRect();"
        " return [r.width, r.height]; })()"
    )
    assert table[0] > 900 and table[1] > 30 * len(names)
    colours = browser.js(
        "['pass', 'fail', 'error', 'missing'].map(s => getComputedStyle("
        "document.querySelector('td.st-' + s)).backgroundColor)"
    )
    assert colours == [
        "rgb(218, 251, 225)",
        "rgb(255, 235, 233)",
        "rgb(255, 241, 194)",
        "rgb(238, 241, 244)",
    ]

    # The chart renders: its bars have a size on screen, the longest for the top diagnosis.
    bars = browser.js(
        "[...document.querySelectorAll('#diagnosis-chart g.bar')].map(g => {"
        " const r = g.querySelector('rect.fill').getBoundingClientRect();"
        " return [+g.dataset.count, r.width, r.height]; })"
    )
    assert len(bars) == min(len(diagnosis_counts(classroom)), 10)
    assert all(width > 0 and height > 5 for _, width, height in bars)
    assert bars[0][1] == max(width for _, width, _ in bars) and bars[0][0] >= 2
    chart = browser.js(
        "(() => { const r = document.getElementById('diagnosis-chart').getBoundingClientRect();"
        " return [r.width, r.height]; })()"
    )
    assert chart[0] > 500 and chart[1] > 30 * len(bars)
    assert browser.js("document.querySelector('#diagnosis-chart text.value').textContent") == (
        f"2 of {len(classroom)} submissions ({100 * 2 / len(classroom):.0f}%)"
    )
    # The heatmap decoded (a data: URL the policy allows).
    assert browser.js("[...document.images].map(i => [i.complete, i.naturalWidth])") == [[True, 40]]

    # Hostile markup stayed text: nothing of it ran or became an element.
    assert browser.js("typeof window.__pwned") == "undefined"
    assert browser.js("document.scripts.length") == 1
    hostile_section = f"document.getElementById('sub-{len(documents)}').textContent"
    assert HOSTILE in browser.js(hostile_section)

    # Sorting: by score, ascending, then descending; ties keep the table's order (stable).
    score_column = _column(browser, "Score")
    browser.click(_header(score_column))
    ascending = browser.js(ROW_ORDER)
    assert ascending != names, "the order changed"
    keys = _keys(browser, score_column)
    assert keys == sorted(keys)
    assert _sort_state(browser) == {"Score": "ascending"}
    for key in set(keys):  # stable
        tied = [n for n, k in zip(ascending, keys, strict=True) if k == key]
        assert tied == [n for n in names if n in tied]
    browser.click(_header(score_column))
    descending, keys = browser.js(ROW_ORDER), _keys(browser, score_column)
    assert keys == sorted(keys, reverse=True)
    assert _sort_state(browser) == {"Score": "descending"}
    for key in set(keys):  # still stable
        tied = [n for n, k in zip(descending, keys, strict=True) if k == key]
        assert tied == [n for n in names if n in tied]

    # Numbers compare as numbers (100% after 88%), not as text.
    percent = _column(browser, "%")
    browser.click(_header(percent))
    keys = _keys(browser, percent)
    assert keys == sorted(keys) and keys[-1] == 100 and len(set(keys)) > 3

    # By name: ascending, then exactly reversed (names are unique).
    browser.click(_header(0))
    assert browser.js(ROW_ORDER) == sorted(names)
    assert _sort_state(browser) == {"Submission": "ascending"}
    browser.click(_header(0))
    assert browser.js(ROW_ORDER) == sorted(names, reverse=True)
    assert _sort_state(browser) == {"Submission": "descending"}

    # By a function's status: passes first.
    column = _column(browser, "conv_forward")
    browser.click(_header(column))
    keys = _keys(browser, column)
    assert keys == sorted(keys) and keys[0] == 0 and keys[-1] > 0

    # The links reach the sections.
    browser.click("#results-table tbody tr:first-child th a")
    assert browser.js("location.hash") == "#sub-0"

    screenshot = base64.b64decode(browser.call("Page.captureScreenshot", format="png")["data"])
    assert screenshot.startswith(b"\x89PNG") and len(screenshot) > 10_000
    (tmp_path / "report.png").write_bytes(screenshot)

    # No script error, and nothing refused by the policy (the browser logs refusals).
    problems = [
        event
        for event in browser.events
        if event.get("method") == "Runtime.exceptionThrown"
        or (
            event.get("method") == "Log.entryAdded"
            and event["params"]["entry"].get("level") == "error"
        )
    ]
    assert not problems, problems
