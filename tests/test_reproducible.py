"""A verdict is a function of the target's code, refconv's version, the seed and the options.

Not of the working directory, the number of workers, the grading order, nor of what other
targets failed on before: the same inputs give the same JSON report, timings aside.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ZOO = Path(__file__).parent / "zoo"
OPTIONS = ["--functions", "zero_pad,conv_forward,conv_backward", "--max-examples", "20"]
#: Three submissions with different verdicts (conv_forward and conv_backward fail in two ways).
CLASS = ("correct_vectorised", "bug_flipped_kernel", "bug_conv_forward_no_padding")


def refconv(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "refconv", "check", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=900,
    )


def without_timings(value: Any) -> Any:
    """The document with every "seconds" entry removed (the only thing allowed to differ)."""
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def report(cwd: Path, target: Path, *options: str) -> dict[str, Any]:
    path = cwd / "report.json"
    refconv(cwd, str(target), "--json", str(path), *OPTIONS, *options)
    return without_timings(json.loads(path.read_text()))


def test_the_same_check_in_two_folders_gives_the_same_report(tmp_path):
    target = ZOO / "bug_flipped_kernel.py"
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    a, b = report(first, target), report(second, target)
    assert a == b
    assert [r["status"] for r in a["results"]] == ["pass", "fail", "fail"]
    assert set(a["versions"]) >= {"refconv", "numpy", "hypothesis", "oracle", "executor"}


def test_workers_do_not_change_the_report(tmp_path):
    target = ZOO / "bug_flipped_kernel.py"
    assert report(tmp_path, target) == report(tmp_path, target, "--workers", "2")


def test_batch_reports_do_not_depend_on_workers_or_grading_order(tmp_path):
    forward, backward = tmp_path / "forward", tmp_path / "backward"
    for folder, names in ((forward, CLASS), (backward, CLASS[::-1])):
        folder.mkdir()
        # numbered names: the second folder is graded in the reverse order
        for number, stem in enumerate(names):
            shutil.copy(ZOO / f"{stem}.py", folder / f"{number}_{stem}.py")

    def by_submission(folder: Path, workers: str) -> dict[str, Any]:
        path = tmp_path / f"{folder.name}-{workers}.json"
        done = refconv(tmp_path, str(folder), "--json", str(path), "--workers", workers, *OPTIONS)
        assert done.returncode == 1, done.stdout + done.stderr
        documents = json.loads(path.read_text())["submissions"]
        result = {}
        for document in documents:
            name = Path(document["target"]).name
            stem = name.split("_", 1)[1]
            # the file's path and folder are all that differ between the two folders
            text = json.dumps(without_timings(document))
            text = text.replace(str(folder / name), "<target>").replace(str(folder), "<folder>")
            result[stem] = json.loads(text)
        return result

    one = by_submission(forward, "1")
    two = by_submission(backward, "2")
    assert one == two
    assert one["correct_vectorised.py"]["results"][0]["status"] == "pass"


def test_a_shared_database_never_changes_another_targets_report(tmp_path):
    database = tmp_path / "examples"
    target = ZOO / "bug_conv_forward_no_padding.py"
    alone = report(tmp_path, target, "--database", "none")
    # another target fails on conv_forward first and saves its examples
    report(tmp_path, ZOO / "bug_flipped_kernel.py", "--database", str(database))
    assert any(database.rglob("*"))
    after = report(tmp_path, target, "--database", str(database))
    after["options"] = alone["options"]  # the --database option itself is not in "options"
    assert after == alone
