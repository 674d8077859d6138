"""Regenerate ``docs/html_report.png`` and the test fixture ``tests/data/class_report.json``.

``python docs/make_html_report_screenshot.py`` grades a small class for real (ten files of
``tests/zoo`` plus two student files written here: one that raises at import, printing markup,
and one with a syntax error) with ``refconv check FOLDER --json --plot`` (a few minutes on two
cores), writes its class report (``--html FILE`` keeps it), screenshots the report's top (the
summary, the table and the chart) in headless Chromium at 1240 px wide, and writes the fixture
of ``tests/test_html_report.py``: the documents of :data:`FIXTURE`, without the parts the report
does not read (statistics, isolation). ``--from BATCH.json --plots DIR`` reuses a batch already
graded instead (the fixture then keeps whichever documents of :data:`FIXTURE` it holds).

Needs chromium (``apt-get install chromium``) and matplotlib (``pip install 'refconv[plot]'``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from refconv.grading.html import write_class_report

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCREENSHOT = HERE / "html_report.png"
FIXTURE_PATH = ROOT / "tests" / "data" / "class_report.json"

#: The class: zoo files (two that conform, eight with a bug) ...
ZOO = (
    "correct_loops",
    "correct_vectorised",
    "bug_avg_uses_max",
    "bug_ceil_pool",
    "bug_db_flat",
    "bug_flipped_kernel",
    "bug_mutates_input",
    "bug_seed_all_ties_mask",
    "bug_zero_pad_channels",
    "seed_notebook",
)
#: ... and two students whose files go wrong before any function is checked.
STUDENTS = {
    "student_raises.py": (
        "import numpy as np\n"
        'print("<script>alert(1)</script>")\n'
        'raise RuntimeError("<script>alert(2)</script> while importing")\n'
    ),
    "student_syntax.py": "def zero_pad(X, pad)\n    return X\n",
}
#: The submissions kept in the test fixture (small, but every kind of row and failure).
FIXTURE = (
    "correct_loops.py",
    "bug_avg_uses_max.py",
    "bug_db_flat.py",
    "bug_mutates_input.py",
    "bug_seed_all_ties_mask.py",
    "seed_notebook.py",
    "student_raises.py",
    "student_syntax.py",
)
WIDTH, HEIGHT = 1240, 1490


def chromium() -> str:
    for name in (os.environ.get("REFCONV_CHROMIUM"), "chromium", "chromium-browser"):
        found = shutil.which(name) if name else None
        if found:
            return found
    raise SystemExit("no chromium binary: apt-get install chromium (or set REFCONV_CHROMIUM)")


def grade(folder: Path, plots: Path, batch: Path, max_examples: int) -> None:
    folder.mkdir()
    for stem in ZOO:
        shutil.copy(ROOT / "tests" / "zoo" / f"{stem}.py", folder / f"{stem}.py")
    for name, text in STUDENTS.items():
        (folder / name).write_text(text)
    command = [sys.executable, "-m", "refconv", "check", str(folder), "--json", str(batch)]
    command += ["--plot", str(plots), "--max-examples", str(max_examples)]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=False)  # exit status 1: some submissions do not conform


def screenshot(page: Path, out: Path) -> None:
    with tempfile.TemporaryDirectory() as profile:
        command = [chromium(), "--headless=new", "--no-sandbox", "--disable-gpu"]
        command += [
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--user-data-dir={profile}",
        ]
        command += [f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={out}", page.as_uri()]
        subprocess.run(command, check=True, capture_output=True, timeout=120)
    try:  # fewer colours, a third of the size, no visible loss: the page is flat colours and text
        from PIL import Image

        with Image.open(out) as image:
            small = image.convert("RGB").quantize(colors=128, dither=Image.Dither.NONE)
        small.save(out, optimize=True)
    except ImportError:
        pass
    print(f"wrote {out} ({out.stat().st_size // 1024} KB)")


def fixture(documents: list[dict], out: Path) -> None:
    kept = []
    for document in documents:
        if Path(document["target"]).name in FIXTURE:
            document = {k: v for k, v in document.items() if k != "isolation"}
            for result in document.get("results", []):
                result.pop("statistics", None)
            kept.append(document)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"target": "class", "submissions": kept}, separators=(",", ":")))
    print(f"wrote {out} ({len(kept)} documents, {out.stat().st_size // 1024} KB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="batch", type=Path, help="a batch JSON already graded")
    parser.add_argument("--plots", type=Path, help="its --plot folder")
    parser.add_argument("--html", type=Path, help="also keep the report here")
    parser.add_argument("--max-examples", type=int, default=20)
    parser.add_argument("--no-fixture", action="store_true", help="leave the test fixture alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        batch, plots = args.batch, args.plots
        if batch is None:
            batch, plots = work / "batch.json", work / "plots"
            grade(work / "class", plots, batch, args.max_examples)
        documents = json.loads(batch.read_text())["submissions"]
        page = args.html or work / "report.html"
        write_class_report(page, documents, plots=plots, source="class/")
        print(f"wrote {page}")
        screenshot(page.resolve(), SCREENSHOT)
        if not args.no_fixture:
            fixture(documents, FIXTURE_PATH)


if __name__ == "__main__":
    main()
