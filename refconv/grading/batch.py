"""Batch grading: one submission, one judge subprocess, one JSON document.

Every way of grading a folder (``refconv check FOLDER`` with ``--workers N``, and a Dask cluster
with ``--dask``, :mod:`refconv.grading.cluster`) grades each submission the same way:
:func:`check_command` builds the ``refconv check FILE --json REPORT`` command line from the
batch's options, and :func:`grade_submission` runs it in a subprocess of its own session and
returns ``(exit status, document)``. Whatever happens to that subprocess (a crash, a hang, a
memory hog, a report that cannot be read) becomes that submission's error document: a batch
always ends with one document per submission.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: Submission files a folder batch grades.
SUBMISSION_SUFFIXES = (".py", ".ipynb")


def submissions_in(folder: Path) -> list[Path]:
    """The submissions of a batch folder, in file-name order (the order of the report)."""
    return sorted(p for p in folder.iterdir() if p.suffix in SUBMISSION_SUFFIXES and p.is_file())


def check_options(args: Any) -> list[str]:
    """The ``refconv check`` options (no target, no ``--json``) that grade one submission of a
    batch the way ``args`` (the batch's parsed options) asks."""
    # Each submission's judge keeps to one core: the batch's workers are the parallelism.
    options = ["--max-examples", str(args.max_examples), "--seed", str(args.seed), "--no-pipeline"]
    options += ["--ties", args.ties, "--timeout", str(args.timeout)]
    options += ["--import-timeout", str(args.import_timeout), "--isolation", args.isolation]
    options += ["--memory", str(args.memory), "--database", args.database]
    if args.python:
        options += ["--python", args.python]
    if args.strict:
        options.append("--strict")
    if args.functions:
        options += ["--functions", ",".join(args.functions)]
    if args.api:
        options += ["--api", args.api]
    return options


def time_limit(args: Any) -> float:
    """Wall-clock limit of one submission's judge. Each function's search stops at its first
    hang, so a check lasts at most about one timeout per function plus the import, on top of
    normal work."""
    return max(300.0, 20 * args.timeout + 2 * args.import_timeout)


def grade_submission(
    path: Path, options: Sequence[str], limit: float, plot: Path | None = None
) -> tuple[int, dict[str, Any]]:
    """Check one submission with its own judge and executor; return ``(status, document)``.

    ``options`` come from :func:`check_options`. The executor does not see the submission's
    folder (``--hide``): no other submission's file. Never raises: any failure of the judge is
    the submission's error document ``{"target", "error", "results": []}``.
    """
    try:
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "report.json"
            command = [sys.executable, "-m", "refconv", "check", str(path), "--json", str(report)]
            command += [*options, "--hide", str(path.parent.resolve())]
            if plot is not None:
                command += ["--plot", str(plot)]
            try:
                done = subprocess.run(
                    command,
                    capture_output=True,
                    text=True,
                    timeout=limit,
                    check=False,
                    start_new_session=True,
                )
                code = done.returncode
                tail = (done.stderr.strip().splitlines() or [""])[-1]
            except subprocess.TimeoutExpired:
                code, tail = 1, f"the check did not finish within {limit:g} s"
            if report.exists():
                document = json.loads(report.read_text())
                if isinstance(document, dict):
                    return code, document
            reason = tail or f"the checker process died (exit status {code})"
            if code < 0:
                reason = f"the checker process was killed (signal {-code})"
            return (code or 1), {"target": str(path), "error": reason, "results": []}
    except Exception as exc:  # noqa: BLE001 - one submission must never end the batch
        return 1, {"target": str(path), "error": f"grading failed: {exc}", "results": []}


def summary_row(name: str, document: dict[str, Any]) -> str:
    """One line of the batch table: functions passed, and the first failure's diagnosis."""
    results = document.get("results", [])
    passed = sum(r["status"] == "pass" for r in results)
    present = sum(r["status"] != "missing" for r in results)
    first = next((r for r in results if r["status"] in ("fail", "error")), None)
    if document.get("error"):
        detail = f"load error: {document['error']}"
    elif not present:
        detail = "defines none of the checked functions"
    elif first:
        detail = f"{first['function']}: {first.get('diagnosis') or first['message']}"
    else:
        detail = ""
    return f"  {name:<32} {passed}/{present} passed  {detail}".rstrip()
