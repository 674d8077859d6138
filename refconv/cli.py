"""Command line: ``refconv check [TARGET] ...`` (also ``python -m refconv check``).

Exit status of ``check``: 0 when every present function conforms, 1 when any fails (or none of
the checked functions is defined), 2 for a usage or load error (README "Exit status"). Options
are validated before any work; the target itself only ever runs in the executor
(:mod:`refconv.conformance.isolation`).
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
DEFAULT_DATABASE = "none"


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
    check.add_argument(
        "--strict",
        action="store_true",
        help="fail behaviour outside the seed API's contract too (unknown mode, integer "
        "input), instead of reporting it as advice",
    )
    check.add_argument("--json", metavar="FILE", default=None, help="also write a JSON report")
    check.add_argument(
        "--database",
        default=DEFAULT_DATABASE,
        metavar="SPEC",
        help="where failing examples are saved and replayed first, keyed by the target's "
        "content: a directory, redis://HOST:PORT/DB (shared by a fleet of runners), or none "
        f"(default: {DEFAULT_DATABASE}: every run is a function of code, seed and options)",
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
        "--import-timeout",
        type=_seconds,
        default=60.0,
        metavar="SECONDS",
        help="time limit for starting the executor and loading the target (default: 60)",
    )
    check.add_argument(
        "--python",
        default=None,
        metavar="PATH",
        help="interpreter that runs the target (needs only NumPy), e.g. a course's "
        "environment with NumPy 1.23; the judge stays in this one (default: this interpreter)",
    )
    check.add_argument(
        "--isolation",
        choices=("auto", "namespaces", "process"),
        default="auto",
        help="how the target's process is confined: namespaces (Linux, as root), process, or "
        "auto, the strongest available (default); see docs/security.md",
    )
    check.add_argument(
        "--memory",
        type=_positive_int,
        default=2048,
        metavar="MIB",
        help="address-space limit of the target's process in MiB (default: 2048)",
    )
    check.add_argument("--hide", action="append", default=[], help=argparse.SUPPRESS)
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


def _executor_config(args: argparse.Namespace) -> Any:
    from refconv.conformance.isolation import ExecutorConfig, Limits

    return ExecutorConfig(
        python=args.python or sys.executable,
        level=args.isolation,
        import_timeout=args.import_timeout,
        limits=Limits(memory=args.memory * 2**20),
        hide=tuple(args.hide),
    )


def versions(executor: dict[str, Any]) -> dict[str, Any]:
    """Versions that a verdict depends on: the judge's, and the executor's as it reported them."""
    import platform

    import hypothesis
    import numpy
    import torch

    return {
        "refconv": refconv.__version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "hypothesis": hypothesis.__version__,
        "oracle": f"torch {torch.__version__}",
        "executor": {k: executor.get(k) for k in ("python", "numpy")},
    }


def _check_one(args: argparse.Namespace) -> int:
    try:
        from refconv.conformance.isolation import IsolatedTarget
        from refconv.conformance.report import json_report, text_report
        from refconv.conformance.runner import open_database, run_all
        from refconv.conformance.target import TargetLoadError
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
        "strict": args.strict,
    }
    try:
        database = open_database(args.database)
    except ValueError as exc:
        print(f"refconv check: {exc}", file=sys.stderr)
        return 2
    names = args.functions if args.functions is not None else list(SEED_FUNCTIONS)
    try:
        target = IsolatedTarget(args.target, config=_executor_config(args))
    except TargetLoadError as exc:
        print(f"refconv check: cannot load {args.target}: {exc}", file=sys.stderr)
        if args.json:
            _write_json(
                args.json,
                {"target": args.target, "options": options, "error": str(exc), "results": []},
            )
        return 2
    present = target.functions
    workers = args.workers or 1
    progress = finished = None
    if sys.stderr.isatty():

        def progress(function: str, calls: int) -> None:
            print(f"\r  {function:<24} {calls} examples...", end="", file=sys.stderr, flush=True)

        def finished(done: int, total: int) -> None:
            print(f"\r  {done}/{total} functions done...", end="", file=sys.stderr, flush=True)

    with target:
        results = run_all(
            target,
            names,
            workers=workers,
            # Spawned worker processes (macOS) start their own executor from the same spec;
            # each opens the database itself (a Redis connection must not cross processes).
            loader=functools.partial(
                IsolatedTarget, args.target, config=_executor_config(args), cwd=target.cwd
            ),
            finished=finished if workers > 1 else None,
            database=database if workers == 1 else args.database,
            max_examples=args.max_examples,
            seed=args.seed,
            policy=args.ties,
            timeout=args.timeout,
            progress=progress,
            target_key=target.digest,
            strict=args.strict,
        )
    if progress is not None:
        print("\r" + " " * 60 + "\r", end="", file=sys.stderr, flush=True)
    has_forward = {
        "conv_backward": "conv_forward" in present,
        "pool_backward": "pool_forward" in present,
    }
    loader = target.repro_loader()
    isolation = target.executor.get("isolation") or {}
    summary = (
        f"{isolation.get('level', '?')} (target run by Python {target.executor.get('python')}, "
        f"NumPy {target.executor.get('numpy')})"
    )
    print(text_report(target.name, results, options, loader, has_forward, target.notes, summary))
    if args.json:
        context = {"versions": versions(target.executor), "isolation": isolation}
        Path(args.json).write_text(
            json_report(target.name, results, options, loader, has_forward, target.notes, context)
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


def _usage_error(args: argparse.Namespace) -> str | None:
    """What is wrong with the options of ``check``, checked before any work (None if fine)."""
    if args.json:
        folder = Path(args.json).expanduser().resolve().parent
        if not folder.is_dir():
            return f"--json {args.json}: folder {folder} does not exist"
        if Path(args.json).is_dir():
            return f"--json {args.json}: is a folder, expected a file name"
        if not os.access(folder, os.W_OK):
            return f"--json {args.json}: folder {folder} is not writable"
    if args.plot:
        plot = Path(args.plot).expanduser()
        if plot.exists() and not plot.is_dir():
            return f"--plot {args.plot}: exists and is not a folder"
        existing = next((p for p in (plot, *plot.resolve().parents) if p.exists()), None)
        if existing is not None and not os.access(existing, os.W_OK):
            return f"--plot {args.plot}: {existing} is not writable"
    if args.python:
        python = Path(args.python).expanduser()
        if not python.is_file() or not os.access(python, os.X_OK):
            return f"--python {args.python}: not an executable file"
    if args.target is not None and not args.target.strip():
        return "target: empty; expected a .py file, a .ipynb notebook, a module or a folder"
    return None


def _batch_command(path: Path, args: argparse.Namespace, report: Path) -> list[str]:
    """The ``refconv check`` command line that grades one submission of a batch."""
    command = [sys.executable, "-m", "refconv", "check", str(path), "--json", str(report)]
    command += ["--max-examples", str(args.max_examples), "--seed", str(args.seed)]
    command += ["--ties", args.ties, "--timeout", str(args.timeout)]
    command += ["--import-timeout", str(args.import_timeout), "--isolation", args.isolation]
    command += ["--memory", str(args.memory), "--database", args.database]
    # The executor of a submission does not see the batch folder: no other submission's file.
    command += ["--hide", str(path.parent.resolve())]
    if args.python:
        command += ["--python", args.python]
    if args.strict:
        command.append("--strict")
    if args.functions:
        command += ["--functions", ",".join(args.functions)]
    if args.plot:
        command += ["--plot", str(Path(args.plot) / path.stem)]
    return command


def _grade_one(path: Path, args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    """Check one submission with its own judge and executor; whatever happens to them (crash,
    hang, memory hog, a report that cannot be read) is that submission's error row alone."""
    import json

    try:
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "report.json"
            # Each functions' search stops at its first hang, so a check lasts at most about
            # one timeout per function plus the import, on top of normal work.
            limit = max(300.0, 20 * args.timeout + 2 * args.import_timeout)
            try:
                done = subprocess.run(
                    _batch_command(path, args, report),
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


def _check_folder(args: argparse.Namespace) -> int:
    """Batch grading: each submission its own judge and executor, ``--workers`` at a time; the
    rows and the JSON are in file-name order, whatever order the checks finish in."""
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
        problem = _usage_error(args)
        if problem:
            print(f"refconv check: {problem}", file=sys.stderr)
            return 2
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
