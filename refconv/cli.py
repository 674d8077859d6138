"""Command line: ``refconv check [TARGET] ...`` (also ``python -m refconv check``).

Exit status of ``check``: 0 when every present function conforms, 1 when any fails, 2 for a usage
or load error (GUIDE.md section 2).
"""

from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import refconv

SEED_FUNCTIONS = refconv.SEED_FUNCTIONS
DEFAULT_DATABASE = ".hypothesis/refconv-check"


def _functions(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in SEED_FUNCTIONS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown function(s) {unknown or text!r}; choose from {', '.join(SEED_FUNCTIONS)}"
        )
    return names


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="refconv",
        description="Machine-checked reference implementations of 2-D convolution and pooling.",
    )
    parser.add_argument("--version", action="version", version=f"refconv {refconv.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = commands.add_parser(
        "check",
        help="check an implementation of the seed API against torch",
        description=(
            "Check each seed function that TARGET defines against torch, black-box, with "
            "hypothesis-generated inputs; report the minimal counterexample of every failure."
        ),
    )
    check.add_argument(
        "target",
        nargs="?",
        default=None,
        help="a .py file, a .ipynb notebook, an importable module, or a folder of submissions "
        "(default: refconv's own seed API)",
    )
    check.add_argument(
        "--functions",
        type=_functions,
        default=None,
        metavar="NAMES",
        help="comma-separated seed functions to check (default: all present)",
    )
    check.add_argument(
        "--max-examples",
        type=_positive_int,
        default=100,
        metavar="N",
        help="generated examples per function (default: 100)",
    )
    check.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="S",
        help="random seed of the exploration, for reproducible runs (default: 0)",
    )
    check.add_argument(
        "--ties",
        choices=("torch", "subgradient", "all"),
        default="torch",
        help="tie policy for max pooling (default: torch)",
    )
    check.add_argument("--json", metavar="FILE", default=None, help="also write a JSON report")
    check.add_argument(
        "--database",
        default=DEFAULT_DATABASE,
        metavar="SPEC",
        help="where failing examples are saved and replayed first: a directory, "
        "redis://HOST:PORT/DB (shared by a fleet of runners), or none "
        f"(default: {DEFAULT_DATABASE})",
    )
    check.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        metavar="N",
        help="processes: for one target, its functions are checked N at a time (default: 1; "
        "same report as a sequential run); for a folder, N submissions at a time, each "
        "single-process (default: one per core)",
    )
    check.add_argument(
        "--timeout",
        type=_seconds,
        default=10.0,
        metavar="SECONDS",
        help="per-call time limit for the checked code (default: 10)",
    )
    check.add_argument(
        "--plot",
        default=None,
        metavar="DIR",
        help="write DIR/<function>.png per failing function: expected, actual and their "
        "difference as heatmaps for the minimal counterexample (needs matplotlib: "
        "pip install 'refconv[plot]'; for a folder, one subfolder per submission)",
    )
    bench = commands.add_parser(
        "bench",
        help="time refconv against torch on the CPU, side by side",
        description=(
            "Time refconv's conv and pooling (forward and backward, float64 and float32) "
            "against torch in the same process, interleaved; print the median ratio per "
            "operation, conv GFLOP/s next to NumPy's GEMM rate, and peak memory."
        ),
    )
    from refconv.bench import add_arguments

    add_arguments(bench)
    return parser


def _check_one(args: argparse.Namespace) -> int:
    try:
        from refconv.conformance.report import json_report, text_report
        from refconv.conformance.runner import load_implementation, open_database, run_all
        from refconv.conformance.target import TargetLoadError, load_target
        from refconv.oracle import require_torch

        require_torch()
    except ImportError as exc:
        print(f"refconv check: {exc}", file=sys.stderr)
        return 2
    options = {
        "policy": args.ties,
        "seed": args.seed,
        "max_examples": args.max_examples,
        "timeout": args.timeout,
    }
    try:
        target = load_target(args.target)
    except TargetLoadError as exc:
        print(f"refconv check: cannot load {args.target}: {exc}", file=sys.stderr)
        if args.json:
            _write_json(
                args.json,
                {"target": args.target, "options": options, "error": str(exc), "results": []},
            )
        return 2
    present = target.functions
    names = args.functions if args.functions is not None else list(SEED_FUNCTIONS)
    workers = args.workers or 1
    progress = finished = None
    if sys.stderr.isatty():

        def progress(function: str, calls: int) -> None:
            print(f"\r  {function:<24} {calls} examples...", end="", file=sys.stderr, flush=True)

        def finished(done: int, total: int) -> None:
            print(f"\r  {done}/{total} functions done...", end="", file=sys.stderr, flush=True)

    try:
        database = open_database(args.database)
    except ValueError as exc:
        print(f"refconv check: {exc}", file=sys.stderr)
        return 2
    results = run_all(
        target.namespace,
        names,
        workers=workers,
        # Worker processes that cannot inherit the target (spawn) load it again from its spec,
        # and each opens the database itself (a Redis connection must not cross processes).
        loader=functools.partial(load_implementation, args.target),
        finished=finished if workers > 1 else None,
        database=database if workers == 1 else args.database,
        max_examples=args.max_examples,
        seed=args.seed,
        policy=args.ties,
        timeout=args.timeout,
        progress=progress,
    )
    if progress is not None:
        print("\r" + " " * 60 + "\r", end="", file=sys.stderr, flush=True)
    has_forward = {
        "conv_backward": "conv_forward" in present,
        "pool_backward": "pool_forward" in present,
    }
    loader = target.repro_loader()
    print(text_report(target.name, results, options, loader, has_forward, target.notes))
    if args.json:
        Path(args.json).write_text(
            json_report(target.name, results, options, loader, has_forward, target.notes)
        )
    if args.plot:
        from refconv.conformance.plot import plot_results

        try:
            for picture in plot_results(results, args.plot):
                print(f"plot: {picture}")
        except OSError as exc:
            print(f"refconv check: cannot write plots to {args.plot}: {exc}", file=sys.stderr)
            return 2
    if not any(r.status != "missing" for r in results):
        print(
            f"refconv check: {target.name} defines none of the checked functions", file=sys.stderr
        )
        return 1
    return 0 if all(r.ok for r in results) else 1


def _plotting_available() -> bool:
    """Whether ``--plot`` can draw; if not, say which extra installs matplotlib."""
    try:
        from refconv.conformance.plot import require_matplotlib

        require_matplotlib()
    except ImportError as exc:
        print(f"refconv check: {exc}", file=sys.stderr)
        return False
    return True


def _write_json(path: str, document: dict[str, Any]) -> None:
    import json

    Path(path).write_text(json.dumps(document, indent=2))


#: Memory cap (bytes of address space) of one submission's process in batch grading.
SUBMISSION_MEMORY = 4 * 2**30


def _limit_memory() -> None:  # pragma: no cover - runs in the child process
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (SUBMISSION_MEMORY, SUBMISSION_MEMORY))
    except (ImportError, ValueError, OSError):
        pass


def _grade_one(path: Path, args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    """Check one submission in its own process; a crash, hang or memory hog fails it alone."""
    import json

    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        command = [
            sys.executable,
            "-m",
            "refconv",
            "check",
            str(path),
            "--json",
            str(report),
            "--max-examples",
            str(args.max_examples),
            "--seed",
            str(args.seed),
            "--ties",
            args.ties,
            "--timeout",
            str(args.timeout),
            "--database",
            args.database,
        ]
        if args.functions:
            command += ["--functions", ",".join(args.functions)]
        if args.plot:
            command += ["--plot", str(Path(args.plot) / path.stem)]
        limit = max(120.0, 40 * args.timeout)
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=limit,
                check=False,
                preexec_fn=_limit_memory if os.name == "posix" else None,
            )
            code = done.returncode
            tail = (done.stderr.strip().splitlines() or [""])[-1]
        except subprocess.TimeoutExpired:
            code, tail = 1, f"did not finish within {limit:g} s"
        if report.exists():
            return code, json.loads(report.read_text())
        reason = tail or f"the checker process died (exit status {code})"
        if code < 0:
            reason = f"the checker process was killed (signal {-code}): out of memory?"
        return code, {"target": str(path), "error": reason, "results": []}


def _check_folder(args: argparse.Namespace) -> int:
    """Batch grading: each submission in its own process, ``--workers`` at a time."""
    from concurrent.futures import ThreadPoolExecutor

    folder = Path(args.target)
    submissions = sorted(p for p in folder.iterdir() if p.suffix in (".py", ".ipynb"))
    if not submissions:
        print(f"refconv check: {folder} holds no .py or .ipynb files", file=sys.stderr)
        return 2
    workers = args.workers or min(len(submissions), os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        graded = list(pool.map(lambda path: _grade_one(path, args), submissions))
    rows, documents, codes = [], [], []
    for path, (code, document) in zip(submissions, graded, strict=True):
        documents.append(document)
        codes.append(code)
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
        rows.append(f"  {path.name:<32} {passed}/{present} passed  {detail}".rstrip())
    conforming = codes.count(0)
    print(f"refconv check {folder}  ({len(submissions)} submissions, {workers} at a time)")
    print("\n".join(rows))
    print(
        f"{len(submissions)} submissions: {conforming} conform, "
        f"{len(submissions) - conforming} do not"
    )
    if args.json:
        _write_json(args.json, {"target": str(folder), "submissions": documents})
    return 0 if conforming == len(submissions) else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if args.command == "check":
        os.environ.setdefault("MPLBACKEND", "Agg")  # a submission's plt.show() must not block
        if args.plot and not _plotting_available():
            return 2  # before the checks: a long run must not end without its pictures
        if args.target is not None and Path(args.target).is_dir():
            return _check_folder(args)
        return _check_one(args)
    if args.command == "bench":
        from refconv.bench import run_from_args

        try:
            return run_from_args(args)
        except ImportError as exc:
            print(f"refconv bench: {exc}", file=sys.stderr)
            return 2
    return 2  # pragma: no cover - argparse rejects unknown commands
