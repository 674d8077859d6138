"""Command line: ``refconv check [TARGET] ...`` (also ``python -m refconv check``).

Exit status of ``check``: 0 when every present function conforms, 1 when any fails (or none of
the checked functions is defined), 2 for a usage or load error (README "Exit status"). Options
are validated before any work; the target itself only ever runs in the executor
(:mod:`refconv.conformance.isolation`).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import refconv
from refconv import oracle

API_FUNCTIONS = refconv.API_FUNCTIONS
DEFAULT_DATABASE = "none"
#: What ``refconv check`` judges without a TARGET: refconv's own face of the API.
DEFAULT_TARGETS: dict[str, str | None] = {
    "seed": None,
    "cs231n": "refconv.cs231n",
    "functional": "refconv.functional",
}


def _functions(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if _api_of(name) is None]
    if unknown or not names:
        choices = "; ".join(f"{api}: {', '.join(f)}" for api, f in API_FUNCTIONS.items())
        raise argparse.ArgumentTypeError(
            f"unknown function(s) {unknown or text!r}; choose from {choices}"
        )
    return names


def _api_of(function: str) -> str | None:
    return next((api for api, names in API_FUNCTIONS.items() if function in names), None)


def _chosen_api(args: argparse.Namespace, scheme: Any) -> str | None:
    """The API the options name: ``--api``, else that of ``--functions``, else the grading
    file's; None when they leave it to detection. ValueError when they disagree."""
    named = {}
    if args.api:
        named["--api"] = args.api
    if args.functions:
        owners = sorted({_api_of(name) for name in args.functions})
        if len(owners) > 1:
            raise ValueError(f"--functions: functions of several APIs ({', '.join(owners)})")
        named["--functions"] = owners[0]
    if scheme is not None and scheme.api is not None:
        named["--grading"] = scheme.api
    if len(set(named.values())) > 1:
        said = ", ".join(f"{option} {api}" for option, api in named.items())
        raise ValueError(f"the options name different APIs: {said}")
    return next(iter(named.values()), None)


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
        help="check an implementation of the seed, CS231n or functional API against torch",
        description=(
            "Check each function of the API that TARGET defines against torch, black-box, with "
            "hypothesis-generated inputs; report the minimal counterexample of every failure."
        ),
    )
    check.add_argument(
        "target",
        nargs="?",
        default=None,
        help="a .py file, a .ipynb notebook, an importable module, or a folder of submissions "
        "(default: refconv's own implementation of the API)",
    )
    check.add_argument(
        "--api",
        choices=tuple(API_FUNCTIONS),
        default=None,
        help="the API TARGET implements: seed (the notebook's NHWC functions), cs231n "
        "(conv_forward_naive...), functional (torch-like conv2d, max_pool2d...); default: "
        "detected from the names TARGET defines",
    )
    check.add_argument(
        "--functions",
        type=_functions,
        default=None,
        metavar="NAMES",
        help="comma-separated functions of one API to check (default: all present)",
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
        default=None,
        metavar="S",
        help="random seed of the exploration, for reproducible runs (default: the grading "
        "file's seed, else 0)",
    )
    check.add_argument(
        "--ties",
        choices=("torch", "subgradient", "all"),
        default="torch",
        help="tie policy for max pooling (default: torch)",
    )
    check.add_argument(
        "--oracle",
        choices=("torch", "numpy", "auto"),
        default=None,
        help="what computes the expected values: torch (the reference), numpy (refconv's own "
        "core, verified against torch by its property suite; needs no torch) or auto: torch "
        "if importable, else numpy (default: $REFCONV_ORACLE, else auto)",
    )
    check.add_argument(
        "--strict",
        action="store_true",
        help="fail behaviour outside the API's contract too (seed: unknown mode, integer "
        "input; functional: typed arguments, empty batches), instead of reporting it as advice",
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
        "same report as a sequential run; each process imports torch, so on two cores the "
        "default --pipeline is faster); for a folder, N submissions at a time, each on one core "
        "(default: one per core)",
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
    check.add_argument(
        "--pipeline",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="spread one check over helper processes on a second core: problems drawn ahead "
        "of the judge, torch imported and run in a process of its own (same report; default: on "
        "for one target with one worker, no database and two usable cores; a folder's "
        "submissions never do: they are the parallelism)",
    )
    check.add_argument("--hide", action="append", default=[], help=argparse.SUPPRESS)
    grading = check.add_argument_group(
        "grading", "points and result files of grading platforms (docs/grading.md)"
    )
    grading.add_argument(
        "--grading",
        metavar="FILE",
        default=None,
        help="grading file (TOML): points per function, partial credit, visibility of "
        "counterexamples, seed (default: one point per defined function)",
    )
    grading.add_argument(
        "--gradescope", metavar="FILE", default=None, help="write Gradescope's results.json"
    )
    grading.add_argument(
        "--prairielearn",
        metavar="FILE",
        default=None,
        help="write a PrairieLearn external grader's results.json",
    )
    grading.add_argument(
        "--coursera",
        metavar="DIR",
        default=None,
        help="write Coursera's feedback.json and htmlFeedback.html into DIR",
    )
    check.add_argument(
        "--dask",
        metavar="ADDRESS",
        default=None,
        help="grade a folder's submissions as tasks on a Dask cluster: tcp://HOST:PORT, or "
        "local:N for a local cluster of N workers (needs pip install 'refconv[dask]'; "
        "docs/dask.md)",
    )
    grading.add_argument(
        "--html",
        metavar="FILE",
        default=None,
        help="write a self-contained HTML class report (table, frequent diagnoses, failures)",
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


def _executor_config(args: argparse.Namespace) -> Any:
    from refconv.conformance.isolation import ExecutorConfig, Limits

    return ExecutorConfig(
        python=args.python or sys.executable,
        level=args.isolation,
        import_timeout=args.import_timeout,
        limits=Limits(memory=args.memory * 2**20),
        hide=tuple(args.hide),
    )


def _check_one(args: argparse.Namespace, scheme: Any, outcome: dict[str, Any]) -> int:
    """Check one target; fill ``outcome`` with its ``document`` and ``plots`` (for the platform
    files, which :func:`main` writes whatever happens here), or the ``reason`` it failed."""
    try:
        # The choice reaches worker processes and batch judges through REFCONV_ORACLE.
        oracle.select(args.oracle, export=True)
    except (ImportError, ValueError) as exc:
        return _cannot_run(outcome, exc)
    with contextlib.ExitStack() as stack:
        pipelined = _pipelined(args)
        if pipelined:
            from refconv.oracle_process import serve

            # Forked first, with little imported yet: torch imports there while the judge
            # imports the checker and loads the target.
            pipelined = _helper(stack, serve) is not None or oracle.name() != "torch"
        try:
            from refconv.conformance import apis, session  # noqa: F401 - before the fork below
            from refconv.conformance.runner import open_database

            apis.apis()
            database = open_database(args.database)
        except (ImportError, ValueError) as exc:
            return _cannot_run(outcome, exc)
        explorer = None
        if pipelined:
            from refconv.conformance.lookahead import Explorer

            # Forked before the judge starts threads of its own (the executor's output drain),
            # so that it holds none of their locks; it draws the problems ahead of the judge.
            explorer = _helper(stack, Explorer)
        settings = {
            "max_examples": args.max_examples,
            "seed": args.seed,
            "policy": args.ties,
            "timeout": args.timeout,
            "strict": args.strict,
            "database": database if (args.workers or 1) == 1 else args.database,
        }
        return _load_and_check(args, scheme, outcome, settings, explorer)


def _helper(stack: contextlib.ExitStack, start: Any) -> Any:
    """A helper process of the pipeline, entered on ``stack``; None if it cannot be started
    (a process limit, no fork): the judge then does that work itself, same report."""
    try:
        return stack.enter_context(start())
    except OSError as exc:
        print(f"refconv check: checking on one core ({exc})", file=sys.stderr)
        return None


def _cannot_run(outcome: dict[str, Any], exc: Exception) -> int:
    outcome["reason"] = f"the checker cannot run: {exc}"
    print(f"refconv check: {exc}", file=sys.stderr)
    return 2


def _pipelined(args: argparse.Namespace) -> bool:
    """Whether the check runs as a pipeline of processes (README "Where a check's time
    goes")."""
    if args.pipeline is not None:
        return args.pipeline
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return cores >= 2 and (args.workers or 1) == 1 and args.database in (None, "none")


def _load_and_check(
    args: argparse.Namespace,
    scheme: Any,
    outcome: dict[str, Any],
    settings: dict[str, Any],
    explorer: Any,
) -> int:
    """Load the target in its executor, detect its API, check it, report (the second half of
    :func:`_check_one`)."""
    from refconv.conformance.apis import detect
    from refconv.conformance.isolation import IsolatedTarget
    from refconv.conformance.session import CheckOptions, run_isolated_check
    from refconv.conformance.target import TargetLoadError

    chosen = _chosen_api(args, scheme)
    spec = args.target if args.target is not None else DEFAULT_TARGETS[chosen or "seed"]
    names = tuple(name for functions in API_FUNCTIONS.values() for name in functions)
    try:
        target = IsolatedTarget(spec, names=names, config=_executor_config(args))
    except TargetLoadError as exc:
        print(f"refconv check: cannot load {spec or 'refconv'}: {exc}", file=sys.stderr)
        options = CheckOptions(api=chosen or "seed", **settings)
        document = {"target": spec, "options": options.reported(), "error": str(exc)}
        outcome["document"] = {**document, "results": []}
        if args.json:
            _write_json(args.json, outcome["document"])
        if args.html:
            _write_html(args, [outcome["document"]], scheme)
        return 2
    api = chosen or detect(target.functions).name
    if chosen is None and args.target is not None:
        target.notes.append(f"checked as the {api} API (detected from the names it defines)")
    options = CheckOptions(
        api=api, functions=tuple(args.functions or API_FUNCTIONS[api]), **settings
    )
    workers = args.workers or 1
    progress = finished = None
    if sys.stderr.isatty():

        def progress(function: str, calls: int) -> None:
            print(f"\r  {function:<24} {calls} examples...", end="", file=sys.stderr, flush=True)

        def finished(done: int, total: int) -> None:
            print(f"\r  {done}/{total} functions done...", end="", file=sys.stderr, flush=True)

    with target:
        run = run_isolated_check(
            target,
            options,
            workers=workers,
            # Spawned worker processes (macOS) start their own executor from the same spec;
            # each opens the database itself (a Redis connection must not cross processes).
            worker_loader=functools.partial(
                IsolatedTarget, spec, names=names, config=_executor_config(args), cwd=target.cwd
            ),
            progress=progress,
            finished=finished if workers > 1 else None,
            explorer=explorer,
        )
    if progress is not None:
        print("\r" + " " * 60 + "\r", end="", file=sys.stderr, flush=True)
    print(run.text)
    outcome["document"] = run.document
    if args.json:
        _write_json(args.json, run.document)
    if args.plot:
        from refconv.conformance.plot import plot_results

        try:
            pictures = plot_results(run.results, args.plot)
        except OSError as exc:
            print(f"refconv check: cannot write plots to {args.plot}: {exc}", file=sys.stderr)
            return 2
        for picture in pictures:
            print(f"plot: {picture}")
        outcome["plots"] = {picture.stem: picture for picture in pictures}
    if args.html:
        _write_html(args, [run.document], scheme)
    if not any(r.status != "missing" for r in run.results):
        print(
            f"refconv check: {target.name} defines none of the checked functions", file=sys.stderr
        )
        return 1
    return 0 if run.ok else 1


def _plotting_available() -> bool:
    """Whether ``--plot`` can draw; if not, say which extra installs matplotlib."""
    try:
        from refconv.conformance.plot import require_matplotlib

        require_matplotlib()
    except ImportError as exc:
        print(f"refconv check: {exc}", file=sys.stderr)
        return False
    return True


def _write_html(args: argparse.Namespace, documents: list[dict[str, Any]], scheme: Any) -> None:
    from refconv.grading.html import write_class_report

    plots = Path(args.plot) if args.plot else None
    write_class_report(args.html, documents, scheme=scheme, plots=plots, source=str(args.target))


PLATFORMS = ("gradescope", "prairielearn", "coursera")


def _platform_outputs(args: argparse.Namespace) -> dict[str, str]:
    """The platform result files asked for: platform -> path."""
    return {p: getattr(args, p) for p in PLATFORMS if getattr(args, p, None)}


def _write_platforms(outputs: dict[str, str], outcome: dict[str, Any], scheme: Any) -> bool:
    """Write the platform files from a check's ``outcome`` (document, plots) or its failure
    ``reason``: fail closed, a file exists afterwards whatever happened (score 0 and the
    reason when there is no verdict). False if a file could not be written."""
    if not outputs:
        return True
    from refconv.grading.writers import write_results

    document = outcome.get("document")
    reason = outcome.get("reason")
    if document is None and reason is None:
        reason = "the check ended without a report"
    try:
        write_results(outputs, document, scheme, outcome.get("plots"), reason=reason)
    except (OSError, ValueError) as exc:
        print(f"refconv check: cannot write the grading results: {exc}", file=sys.stderr)
        return False
    return True


def _write_json(path: str, document: dict[str, Any]) -> None:
    import json

    Path(path).write_text(json.dumps(document, indent=2, allow_nan=False))


def _output_file_error(option: str, value: str) -> str | None:
    """What is wrong with an output file option (its folder must exist and be writable)."""
    folder = Path(value).expanduser().resolve().parent
    if not folder.is_dir():
        return f"{option} {value}: folder {folder} does not exist"
    if Path(value).is_dir():
        return f"{option} {value}: is a folder, expected a file name"
    if not os.access(folder, os.W_OK):
        return f"{option} {value}: folder {folder} is not writable"
    return None


def _usage_error(args: argparse.Namespace) -> str | None:
    """What is wrong with the options of ``check``, checked before any work (None if fine)."""
    for option in ("json", "html"):
        value = getattr(args, option)
        problem = value and _output_file_error(f"--{option}", value)
        if problem:
            return problem
    batch = args.target is not None and Path(args.target).is_dir()
    if args.dask:
        from refconv.grading.cluster import parse_address, require_distributed

        if not batch:
            return f"--dask {args.dask}: grades a folder of submissions"
        if args.workers is not None:
            return "--dask and --workers: the cluster's workers set the parallelism; give one"
        try:
            parse_address(args.dask)
            require_distributed()
        except (ValueError, ImportError) as exc:
            return str(exc)
    for platform in PLATFORMS:
        value = getattr(args, platform)
        if not value:
            continue
        if batch:
            return f"--{platform}: grades one submission; {args.target} is a folder"
        is_folder = platform == "coursera"
        if Path(value).exists() and Path(value).is_dir() != is_folder:
            expected = "a folder" if is_folder else "a file name"
            return f"--{platform} {value}: exists and is not {expected}"
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
    try:
        _chosen_api(args, None)
    except ValueError as exc:
        return str(exc)
    if args.target is not None and not args.target.strip():
        return "target: empty; expected a .py file, a .ipynb notebook, a module or a folder"
    return None


def _check_folder(args: argparse.Namespace, scheme: Any = None) -> int:
    """Batch grading: each submission its own judge and executor, ``--workers`` at a time; the
    rows and the JSON are in file-name order, whatever order the checks finish in."""
    from concurrent.futures import ThreadPoolExecutor

    from refconv.grading.batch import (
        check_options,
        grade_submission,
        submissions_in,
        summary_row,
        time_limit,
    )

    try:
        oracle.select(args.oracle, export=True)  # each submission's judge inherits it
    except (ImportError, ValueError) as exc:
        print(f"refconv check: {exc}", file=sys.stderr)
        return 2
    folder = Path(args.target)
    submissions = submissions_in(folder)
    if not submissions:
        print(f"refconv check: {folder} holds no .py or .ipynb files", file=sys.stderr)
        return 2
    options, limit = check_options(args), time_limit(args)

    def grade(path: Path) -> tuple[int, dict[str, Any]]:
        plot = Path(args.plot) / path.stem if args.plot else None
        return grade_submission(path, options, limit, plot)

    if args.dask:
        from refconv.grading.cluster import grade_on_dask

        try:
            graded = grade_on_dask(
                submissions,
                options,
                limit,
                args.dask,
                plot_root=Path(args.plot) if args.plot else None,
            )
        except (ImportError, ConnectionError) as exc:
            print(f"refconv check: {exc}", file=sys.stderr)
            return 2
        where = f"on Dask {args.dask}"
    else:
        workers = args.workers or min(len(submissions), os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            graded = list(pool.map(grade, submissions))
        where = f"{workers} at a time"
    codes = [code for code, _ in graded]
    documents = [document for _, document in graded]
    conforming = codes.count(0)
    print(f"refconv check {folder}  ({len(submissions)} submissions, {where})")
    for path, document in zip(submissions, documents, strict=True):
        print(summary_row(path.name, document))
    print(
        f"{len(submissions)} submissions: {conforming} conform, "
        f"{len(submissions) - conforming} do not"
    )
    if args.json:
        _write_json(args.json, {"target": str(folder), "submissions": documents})
    if args.html:
        _write_html(args, documents, scheme)
    return 0 if conforming == len(submissions) else 1


def _check(args: argparse.Namespace) -> int:
    """``refconv check``: validate, load the grading file, check; the platform files are
    written on every path out of here, a crash of the checker included (fail closed)."""
    outputs = _platform_outputs(args)
    outcome: dict[str, Any] = {}
    scheme = None
    problem = _usage_error(args)
    if problem is None and args.grading:
        from refconv.grading.scheme import load_scheme

        try:
            scheme = load_scheme(args.grading)
        except (OSError, TypeError, ValueError) as exc:
            problem = f"--grading: {exc}"
    if problem is None:
        try:
            _chosen_api(args, scheme)
        except ValueError as exc:
            problem = str(exc)
    if problem is None and args.plot and not _plotting_available():
        problem = "--plot needs matplotlib"  # before the checks: a run must not lose its pictures
    if problem is not None:
        print(f"refconv check: {problem}", file=sys.stderr)
        _write_platforms(outputs, {"reason": f"grading could not start: {problem}"}, scheme)
        return 2
    if args.seed is None:
        args.seed = scheme.seed if scheme is not None and scheme.seed is not None else 0
    if args.functions is None and scheme is not None:
        args.functions = scheme.functions
    try:
        if args.target is not None and Path(args.target).is_dir():
            return _check_folder(args, scheme)
        code = _check_one(args, scheme, outcome)
    except BaseException as exc:
        outcome = {"reason": f"the check crashed: {type(exc).__name__}: {exc}"}
        _write_platforms(outputs, outcome, scheme)
        raise
    if not _write_platforms(outputs, outcome, scheme):
        return 2
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if args.command == "check":
        return _check(args)
    if args.command == "bench":
        from refconv.bench import run_from_args

        try:
            return run_from_args(args)
        except ImportError as exc:
            print(f"refconv bench: {exc}", file=sys.stderr)
            return 2
    return 2  # pragma: no cover - argparse rejects unknown commands


def run() -> None:
    """The ``refconv`` console script and ``python -m refconv``: :func:`main`, then exit
    without tearing the interpreter down. A check imports torch, whose teardown takes about
    half a second on the benchmark machine and does nothing a finished command needs: output is
    flushed and the exit handlers (executors, helper processes, logging) run first."""
    import atexit

    try:
        code = main()
    except SystemExit as exc:  # argparse's usage errors and --help; as the interpreter would
        code = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
        if not isinstance(exc.code, int | None):
            print(exc.code, file=sys.stderr)
    except KeyboardInterrupt:
        code = 130
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream
            pass
    os._exit(code)
