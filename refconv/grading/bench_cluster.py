"""Submissions per hour: local batch (``--workers N``) vs Dask (``--dask local:N``), side by side.

The same folder of submissions is graded both ways in one run, round by round, the order
alternating (local first, then Dask; Dask first the next round), so that a machine whose load
changes affects both alike:

- *local*: :func:`~refconv.grading.batch.grade_submission` over the folder, ``N`` at a time in
  a thread pool: what ``refconv check FOLDER --workers N`` does;
- *dask*: :func:`~refconv.grading.cluster.grade_on_dask` with ``local:N``, LocalCluster start
  and close included: what ``refconv check FOLDER --dask local:N`` does.

Each round also times starting and closing an empty LocalCluster (the fixed cost of
``local:N``), records the CPU seconds of the processes each way started (``RUSAGE_CHILDREN``:
the judges and executors, and for Dask its worker processes, once reaped) and the load average,
and compares the documents without their timings: the two ways must agree but for those.

Run it as ``python -m refconv.grading.bench_cluster [FOLDER]`` (default: eight files of the
repository's tests/zoo); :func:`add_arguments` and :func:`run_from_args` are for a ``refconv
bench`` subcommand. It is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from refconv.grading.batch import grade_submission, submissions_in

#: The default batch: correct and buggy files of the repository's zoo (a checkout only).
ZOO_FILES = (
    "correct_loops",
    "correct_vectorised",
    "bug_ceil_pool",
    "bug_db_flat",
    "bug_last_max_mask",
    "bug_mutates_input",
    "bug_flipped_kernel",
    "bug_avg_uses_max",
)
ZOO = Path(__file__).resolve().parents[2] / "tests" / "zoo"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def without_timings(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` without what depends on the machine's speed (``seconds`` fields)."""
    document = json.loads(json.dumps(document))
    for result in document.get("results", []):
        result.pop("seconds", None)
        if isinstance(result.get("statistics"), dict):
            result["statistics"].pop("seconds", None)
    return document


def _timed(grade: Any) -> tuple[float, float, list[tuple[int, dict[str, Any]]]]:
    cpu, start = _children_cpu(), time.perf_counter()
    graded = grade()
    return time.perf_counter() - start, _children_cpu() - cpu, graded


def compare(
    submissions: Sequence[Path],
    options: Sequence[str],
    limit: float,
    workers: int = 2,
    rounds: int = 1,
) -> dict[str, Any]:
    """Grade ``submissions`` locally (``workers`` at a time) and on ``local:<workers>``.

    Parameters
    ----------
    submissions : sequence of Path
        The batch (one folder's files, as :func:`~refconv.grading.batch.submissions_in`).
    options, limit
        As for :func:`~refconv.grading.batch.grade_submission`.
    workers : int
        Threads of the local pool, and worker processes of the LocalCluster.
    rounds : int
        Rounds, the order alternating.

    Returns
    -------
    dict
        ``rounds`` (per round: seconds, CPU seconds and load of each way, the LocalCluster's
        start and close seconds, whether the documents agree) and the medians.
    """
    from refconv.grading.cluster import grade_on_dask

    def local() -> list[tuple[int, dict[str, Any]]]:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda p: grade_submission(p, options, limit), submissions))

    def dask() -> list[tuple[int, dict[str, Any]]]:
        return grade_on_dask(list(submissions), options, limit, f"local:{workers}")

    n = len(submissions)
    measured = []
    for index in range(rounds):
        order = ("local", "dask") if index % 2 == 0 else ("dask", "local")
        row: dict[str, Any] = {"first": order[0]}
        graded = {}
        for way in order:
            row[f"{way}_load"] = os.getloadavg()[0]
            seconds, cpu, graded[way] = _timed(local if way == "local" else dask)
            row[f"{way}_seconds"], row[f"{way}_cpu"] = seconds, cpu
            row[f"{way}_per_hour"] = 3600 * n / seconds
        start = time.perf_counter()
        grade_on_dask([], options, limit, f"local:{workers}")
        row["cluster_seconds"] = time.perf_counter() - start
        row["identical"] = [(c, without_timings(d)) for c, d in graded["local"]] == [
            (c, without_timings(d)) for c, d in graded["dask"]
        ]
        row["codes"] = [c for c, _ in graded["local"]]
        measured.append(row)
    local_rate = statistics.median(r["local_per_hour"] for r in measured)
    dask_rate = statistics.median(r["dask_per_hour"] for r in measured)
    return {
        "submissions": [str(p) for p in submissions],
        "options": list(options),
        "workers": workers,
        "rounds": measured,
        "local_per_hour": local_rate,
        "dask_per_hour": dask_rate,
        "ratio": statistics.median(r["dask_per_hour"] / r["local_per_hour"] for r in measured),
    }


def format_report(result: dict[str, Any]) -> str:
    """The printed report of :func:`compare`."""
    import platform

    import refconv

    n, workers = len(result["submissions"]), result["workers"]
    names = ", ".join(Path(p).name for p in result["submissions"])
    lines = [
        f"refconv {refconv.__version__} batch grading: --workers {workers} vs --dask "
        f"local:{workers}; Python {platform.python_version()}, {os.cpu_count()} cores",
        f"{n} submissions: {names}",
        f"options: {' '.join(result['options'])}",
        "",
        "per round: wall s (submissions/hour), CPU s of child processes, load average at start",
    ]
    for index, r in enumerate(result["rounds"], 1):
        lines.append(
            f"  round {index} ({r['first']} first): "
            f"local {r['local_seconds']:6.1f} s ({r['local_per_hour']:5.0f}/h) "
            f"cpu {r['local_cpu']:6.1f} load {r['local_load']:.1f} | "
            f"dask {r['dask_seconds']:6.1f} s ({r['dask_per_hour']:5.0f}/h) "
            f"cpu {r['dask_cpu']:6.1f} load {r['dask_load']:.1f} | "
            f"LocalCluster start+close {r['cluster_seconds']:.1f} s | "
            f"reports {'identical' if r['identical'] else 'DIFFER'} but for timings"
        )
    lines += [
        "",
        f"submissions per hour (median of rounds): local --workers {workers} "
        f"{result['local_per_hour']:.0f}, --dask local:{workers} {result['dask_per_hour']:.0f}; "
        f"ratio dask/local {result['ratio']:.2f}",
    ]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the benchmark (for ``python -m`` or a ``refconv bench`` subcommand)."""
    parser.add_argument(
        "folder",
        nargs="?",
        default=None,
        help="a folder of submissions (default: eight files of the checkout's tests/zoo)",
    )
    parser.add_argument("--workers", type=int, default=2, help="N of both ways (default: 2)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, order alternating")
    parser.add_argument("--max-examples", type=int, default=10, help="per function (default: 10)")
    parser.add_argument(
        "--functions", default=None, help="comma-separated seed functions (default: all)"
    )
    parser.add_argument("--json", metavar="FILE", help="also write the measurements as JSON")


def run_from_args(args: argparse.Namespace) -> int:
    """Run :func:`compare` as ``args`` ask, print the report; 0, or 1 if the reports differ."""
    options = ["--max-examples", str(args.max_examples), "--seed", "0", "--database", "none"]
    if args.functions:
        options += ["--functions", args.functions]
    with tempfile.TemporaryDirectory(prefix="refconv-bench-") as tmp:
        if args.folder is None:
            if not ZOO.is_dir():
                print("bench: no tests/zoo here (not a checkout): give a FOLDER", file=sys.stderr)
                return 2
            folder = Path(tmp) / "batch"
            folder.mkdir()
            for stem in ZOO_FILES:
                shutil.copy(ZOO / f"{stem}.py", folder / f"{stem}.py")
        else:
            folder = Path(args.folder)
        submissions = submissions_in(folder)
        if not submissions:
            print(f"bench: {folder} holds no .py or .ipynb files", file=sys.stderr)
            return 2
        result = compare(submissions, options, 300.0, args.workers, args.rounds)
    print(format_report(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0 if all(r["identical"] for r in result["rounds"]) else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m refconv.grading.bench_cluster", description=__doc__.splitlines()[0]
    )
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
