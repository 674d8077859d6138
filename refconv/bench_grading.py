"""Where a check's time goes (``refconv bench --grading``).

Four targets: refconv's own seed API and a vectorised student file (the check a grader wants
fast), a plain-loop correct student file (whose own code should be most of the time), and a
failing file that gets shrunk. For each:

- **the command's wall time**: ``refconv check TARGET`` run as a user runs it, a fresh process
  each time, the median of ``--runs`` runs; once as it runs by default (a pipeline of processes
  on two cores: problems drawn ahead, torch in a process of its own, README "Where a check's
  time goes") and once with ``--no-pipeline`` (one core, as each submission of a batch runs).
  Both must give the same verdicts and example counts, and the report says whether they did;
- **where the work goes**: one check in one process (no pipeline, so that every second
  belongs to one activity) with the checker's entry points wrapped for the duration of the run
  (restored afterwards; no other module is edited), its wall time split two ways, each adding
  up to the whole. By *stage*: start-up (a fresh interpreter importing the checker and torch,
  timed in a subprocess), executor start and target load, seed corpus replay, hypothesis's
  reuse, generate and shrink phases, diagnosis of a failure, the reports, and the engine's
  remaining work. By *activity*: the torch oracle (the functions of :mod:`refconv.oracle`),
  tolerance (``compare``/``dot_bound``), the target's own calls (the seconds the executor
  measures around each call, :attr:`Outcome.seconds`), executor round trips (the judge's time
  in :meth:`IsolatedTarget.start` and in waiting for the answer, minus the target's own
  seconds: encoding, pipes, decoding, the executor's copies and mutation checks), diagnosis
  and *other*: hypothesis drawing problems, the checks' own bookkeeping and the reports.
  Time is attributed exclusively: an oracle call made by the diagnosis counts as oracle;
- **the share of the command's wall time inside the target's own code**: the target's own
  seconds over the default command's wall time.

Then the batch throughput: a folder of zoo submissions graded the way ``refconv check FOLDER``
does (:func:`~refconv.grading.batch.grade_submission`, one single-core judge subprocess each, a
thread pool of ``--workers``), with 1 and with 2 workers, one after the other in the same run;
submissions per hour of each and their ratio (issue target: 2 workers at least
:data:`TARGET_SPEEDUP` times one worker). The batch uses no example database, so the second run
replays nothing the first one found.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

#: Issue target: batch throughput with 2 workers over that with 1.
TARGET_SPEEDUP = 1.7

_ZOO = Path(__file__).resolve().parent.parent / "tests" / "zoo"

#: The profiled targets: (label, spec); spec None is refconv's own seed API.
TARGETS: tuple[tuple[str, str | None], ...] = (
    ("refconv", None),
    ("correct_vectorised", str(_ZOO / "correct_vectorised.py")),
    ("correct_loops", str(_ZOO / "correct_loops.py")),
    ("bug_db_flat", str(_ZOO / "bug_db_flat.py")),
)
#: Issue target: the default command on a vectorised correct target, all eight functions at
#: default settings, at most this many seconds of wall time.
TARGET_WALL = 3.0
#: Issue target: the share of the wall time inside a plain-loop target's own code.
TARGET_SHARE = 0.5

#: Submissions of the batch-throughput folder (zoo files).
BATCH_FILES = (
    "correct_loops.py",
    "correct_vectorised.py",
    "bug_db_flat.py",
    "bug_ceil_pool.py",
    "bug_mutates_input.py",
    "bug_last_max_mask.py",
)

STAGES = (
    "start-up (imports)",
    "executor start + load",
    "corpus",
    "reuse",
    "generate",
    "shrink",
    "hypothesis other",
    "diagnosis",
    "reports",
)
ACTIVITIES = (
    "start-up (imports)",
    "executor start + load",
    "oracle",
    "tolerance",
    "target's own calls",
    "executor round trips",
    "diagnosis",
    "other",
)

#: What the start-up subprocess imports: what ``refconv check`` needs before it can work (it
#: leaves as ``refconv check`` does, without tearing torch down).
STARTUP_CODE = "import os, refconv.conformance.session, refconv.oracle, torch; os._exit(0)"


class Ledger:
    """Exclusive time per activity and per stage (nested spans: the innermost one counts)."""

    def __init__(self) -> None:
        self.activity: dict[str, float] = {}
        self.stage: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._activities: list[list[Any]] = []  # [name, started, nested seconds]
        self._stages: list[list[Any]] = []

    @staticmethod
    @contextlib.contextmanager
    def _span(stack: list[list[Any]], totals: dict[str, float], name: str) -> Iterator[list[Any]]:
        frame = [name, time.perf_counter(), 0.0]
        stack.append(frame)
        try:
            yield frame
        finally:
            stack.pop()
            elapsed = time.perf_counter() - frame[1]
            totals[name] = totals.get(name, 0.0) + elapsed - frame[2]
            if stack:
                stack[-1][2] += elapsed

    def doing(self, name: str, count: bool = True) -> contextlib.AbstractContextManager[list[Any]]:
        """A span of activity ``name`` (``count``: one more call of it)."""
        if count:
            self.calls[name] = self.calls.get(name, 0) + 1
        return self._span(self._activities, self.activity, name)

    def during(self, name: str) -> contextlib.AbstractContextManager[list[Any]]:
        """A span of stage ``name``."""
        return self._span(self._stages, self.stage, name)

    def move(self, source: str, destination: str, seconds: float) -> None:
        """Reattribute ``seconds`` of activity ``source`` to ``destination``."""
        self.activity[source] = self.activity.get(source, 0.0) - seconds
        self.activity[destination] = self.activity.get(destination, 0.0) + seconds


@contextlib.contextmanager
def _patched(patches: list[tuple[Any, str, Callable[[Callable[..., Any]], Any]]]) -> Iterator[None]:
    """Replace each ``owner.name`` by ``wrap(original)``; restore all of them afterwards."""
    originals = []
    try:
        for owner, name, wrap in patches:
            original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
            originals.append((owner, name, original))
            setattr(owner, name, wrap(getattr(owner, name)))
        yield
    finally:
        for owner, name, original in reversed(originals):
            setattr(owner, name, original)


def _timed(ledger: Ledger, activity: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            with ledger.doing(activity):
                return function(*args, **kwargs)

        return timed

    return wrap


def _staged(ledger: Ledger, stage: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(function: Callable[..., Any]) -> Callable[..., Any]:
        def staged(*args: Any, **kwargs: Any) -> Any:
            with ledger.during(stage):
                return function(*args, **kwargs)

        return staged

    return wrap


def _instrumented(ledger: Ledger) -> contextlib.AbstractContextManager[None]:
    """The wrappers of one profiled check (see the module docstring)."""
    from hypothesis.internal.conjecture.engine import ConjectureRunner

    from refconv import oracle
    from refconv.conformance import calls, guard, isolation, runner, session
    from refconv.conformance.apis import cs231n, functional, seed

    def start(function: Callable[..., Any]) -> Callable[..., Any]:
        # The judge's time sending a call, and waiting for its answer (the expected values it
        # computes in between are not executor time).
        def timed(*args: Any, **kwargs: Any) -> Any:
            with ledger.doing("executor round trips") as frame:
                finish = function(*args, **kwargs)
                sent = time.perf_counter() - frame[1] - frame[2]

            def finished() -> Any:
                with ledger.doing("executor round trips", count=False) as frame:
                    outcome = finish()
                    inside = sent + time.perf_counter() - frame[1] - frame[2]
                own = min(outcome.seconds, inside)
                ledger.move("executor round trips", "target's own calls", own)
                return outcome

            return finished

        return timed

    oracle_functions = (
        "conv_forward",
        "conv_backward",
        "pool_forward",
        "pool_backward",
        "functional",
        "functional_backward",
    )
    patches: list[tuple[Any, str, Callable[[Callable[..., Any]], Any]]] = [
        (oracle, name, _timed(ledger, "oracle")) for name in oracle_functions
    ]
    # the tolerance model, as each module that judges imported it
    patches += [
        (module, name, _timed(ledger, "tolerance"))
        for module in (guard, seed, cs231n, functional)
        for name in ("compare", "dot_bound")
        if hasattr(module, name)
    ]
    patches += [
        (isolation.IsolatedTarget, "start", start),
        (calls.Implementation, "start", start),
        (runner, "explain", lambda f: _staged(ledger, "diagnosis")(_timed(ledger, "diagnosis")(f))),
        (runner, "run_function", _staged(ledger, "corpus")),
        # the search's own work outside hypothesis's phases (the engine's set-up, statistics)
        (runner, "search", _staged(ledger, "hypothesis other")),
        (session, "run_all", _staged(ledger, "run_all")),
        (ConjectureRunner, "reuse_existing_examples", _staged(ledger, "reuse")),
        (ConjectureRunner, "generate_new_examples", _staged(ledger, "generate")),
        (ConjectureRunner, "shrink_interesting_examples", _staged(ledger, "shrink")),
    ]
    return _patched(patches)


def startup_seconds(python: str = sys.executable) -> float:
    """Wall seconds of a fresh interpreter importing the checker and torch."""
    started = time.perf_counter()
    subprocess.run([python, "-c", STARTUP_CODE], check=True, capture_output=True)
    return time.perf_counter() - started


def profile_target(
    spec: str | None, *, max_examples: int = 100, seed: int = 0, startup: float | None = None
) -> dict[str, Any]:
    """Profile one ``refconv check`` of ``spec`` (None: refconv itself) in this process.

    Parameters
    ----------
    spec : the target, as ``refconv check`` takes it
    max_examples, seed : the check's options (the rest are ``refconv check``'s defaults, with
        no example database)
    startup : the start-up seconds to count (default: measured now, see
        :func:`startup_seconds`)

    Returns
    -------
    dict
        ``wall`` (seconds, start-up included), ``stages`` and ``activities`` (seconds each,
        each summing to ``wall``), ``target_share`` (the target's own calls over ``wall``),
        ``calls`` (wrapped calls per activity), ``verdicts`` and per-function ``statistics``.
    """
    from refconv import SEED_FUNCTIONS, oracle
    from refconv.conformance.isolation import ExecutorConfig, IsolatedTarget, Limits
    from refconv.conformance.session import CheckOptions, run_check

    startup = startup_seconds() if startup is None else startup
    if oracle.name() == "torch":
        oracle.require_torch()  # its import is start-up, counted above
    ledger = Ledger()
    options = CheckOptions(functions=tuple(SEED_FUNCTIONS), max_examples=max_examples, seed=seed)
    config = ExecutorConfig(limits=Limits(memory=2048 * 2**20))
    with _instrumented(ledger):  # (its imports are the profiler's, not the check's)
        started = time.perf_counter()
        with ledger.doing("executor start + load"), ledger.during("executor start + load"):
            target = IsolatedTarget(spec, config=config)
        with ledger.doing("other"), ledger.during("reports"), target:
            run = run_check(
                target,
                target.name,
                options,
                loader=target.repro_loader(),
                present=target.functions,
                notes=target.notes,
                target_key=target.digest,
            )
        checked = time.perf_counter() - started
    stages = dict.fromkeys(STAGES, 0.0)
    for name, seconds in ledger.stage.items():
        # run_function's own span is the corpus replay; run_all's own span is its loop.
        key = {"run_all": "reports"}.get(name, name)
        stages[key] += seconds
    stages["start-up (imports)"] = startup
    activities = dict.fromkeys(ACTIVITIES, 0.0)
    for name, seconds in ledger.activity.items():
        activities[name] += seconds
    activities["start-up (imports)"] = startup
    wall = startup + checked
    hypothesis = {
        phase: sum(r.statistics.get("seconds", {}).get(phase, 0.0) for r in run.results)
        for phase in ("corpus", "reuse", "generate", "shrink")
    }
    return {
        "spec": spec,
        "wall": wall,
        "check_seconds": checked,
        "stages": stages,
        "activities": activities,
        "target_share": activities["target's own calls"] / wall if wall > 0 else 0.0,
        "calls": dict(ledger.calls),
        "statistics_seconds": hypothesis,
        "verdicts": {r.function: r.status for r in run.results},
        "examples": {r.function: r.examples for r in run.results},
    }


def profile_in_fresh_process(
    spec: str | None, *, max_examples: int = 100, seed: int = 0, startup: float | None = None
) -> dict[str, Any]:
    """:func:`profile_target` in a new interpreter: the check pays its one-time costs (torch's
    first kernels, hypothesis's strategy caches) as a ``refconv check`` process does."""
    code = (
        "import json, sys; from refconv.bench_grading import profile_target; "
        "print(json.dumps(profile_target(*json.loads(sys.argv[1]), "
        "**json.loads(sys.argv[2]))))"
    )
    keywords = {"max_examples": max_examples, "seed": seed, "startup": startup}
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps([spec]), json.dumps(keywords)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


#: How each timed command runs ``refconv check``: its extra option.
MODES = {"pipeline": ["--pipeline"], "one core": ["--no-pipeline"], "baseline": []}


def command_walls(
    spec: str | None,
    *,
    modes: Sequence[str] = ("pipeline", "one core"),
    max_examples: int = 100,
    seed: int = 0,
    runs: int = 3,
    baseline: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Wall seconds of ``refconv check SPEC`` as a user runs it, a fresh process per run, in
    each of ``modes`` (:data:`MODES`), one run of each mode per round so that the machine's
    drift touches them alike.

    ``baseline``: a folder holding another refconv (e.g. ``git worktree add /tmp/old <commit>``)
    that mode ``"baseline"`` runs instead, with its own default options.

    Returns, per mode: ``seconds`` (the median of ``runs``), ``runs`` (each run's seconds), and
    the last run's ``verdicts`` and ``examples`` per function (from its ``--json`` report).
    """
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    found: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            for mode in modes:
                report = Path(tmp) / f"{mode}.json"
                command = [sys.executable, "-m", "refconv", "check", *([spec] if spec else [])]
                command += ["--max-examples", str(max_examples), "--seed", str(seed)]
                command += ["--json", str(report), *MODES[mode]]
                cwd = baseline if mode == "baseline" else None
                started = time.perf_counter()
                subprocess.run(command, capture_output=True, check=False, cwd=cwd)
                times[mode].append(time.perf_counter() - started)
                found[mode] = json.loads(report.read_text()) if report.exists() else {}
    walls = {}
    for mode in modes:
        results = found[mode].get("results", [])
        walls[mode] = {
            "seconds": statistics.median(times[mode]),
            "runs": times[mode],
            "verdicts": {r["function"]: r["status"] for r in results},
            "examples": {r["function"]: r["examples"] for r in results},
        }
    return walls


def _batch_options(max_examples: int, seed: int) -> list[str]:
    from refconv.grading.batch import check_options

    args = argparse.Namespace(
        max_examples=max_examples,
        seed=seed,
        ties="torch",
        timeout=10.0,
        import_timeout=60.0,
        isolation="auto",
        memory=2048,
        database="none",
        python=None,
        strict=False,
        functions=None,
        api=None,
    )
    return check_options(args)


def batch_throughput(
    files: Sequence[str] = BATCH_FILES,
    *,
    workers: Sequence[int] = (1, 2),
    max_examples: int = 100,
    seed: int = 0,
) -> dict[str, Any]:
    """Grade a folder of ``files`` (zoo names) once per entry of ``workers``, in turn.

    Returns ``runs`` (per run: workers, seconds, submissions per hour, exit statuses) and
    ``speedup``: the throughput of the last run over the first's.
    """
    from refconv.grading.batch import grade_submission, submissions_in, time_limit

    options = _batch_options(max_examples, seed)
    limit = time_limit(argparse.Namespace(timeout=10.0, import_timeout=60.0))
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in files:
            shutil.copy(_ZOO / name, folder / name)
        submissions = submissions_in(folder)
        for count in workers:
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=count) as pool:
                graded = list(pool.map(lambda p: grade_submission(p, options, limit), submissions))
            seconds = time.perf_counter() - started
            runs.append(
                {
                    "workers": count,
                    "submissions": len(submissions),
                    "seconds": seconds,
                    "per_hour": 3600 * len(submissions) / seconds,
                    "codes": [code for code, _ in graded],
                    "errors": [d.get("error") for _, d in graded if d.get("error")],
                }
            )
    speedup = runs[-1]["per_hour"] / runs[0]["per_hour"] if len(runs) > 1 else 1.0
    return {"runs": runs, "speedup": speedup, "target_speedup": TARGET_SPEEDUP}


def run(
    *,
    max_examples: int = 100,
    seed: int = 0,
    quick: bool = False,
    batch: bool = True,
    fresh: bool = True,
    runs: int = 3,
    baseline: str | None = None,
) -> dict[str, Any]:
    """Time and profile :data:`TARGETS`, then (``batch``) measure the batch throughput.

    ``quick``: 10 examples, the correct_loops target only, one run of each command, a batch of
    two submissions. ``fresh``: profile each target in a new interpreter
    (:func:`profile_in_fresh_process`), else in this one (later targets then find torch and
    hypothesis warm). ``runs``: runs of each command (the median counts). ``baseline``: a folder
    with another refconv whose ``refconv check`` is timed in the same rounds (see
    :func:`command_walls`).
    """
    import hypothesis
    import numpy
    import torch

    import refconv

    if quick:
        max_examples, runs = min(max_examples, 10), 1
    targets = [t for t in TARGETS if t[0] == "correct_loops"] if quick else TARGETS
    document: dict[str, Any] = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "loadavg": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        },
        "versions": {
            "refconv": refconv.__version__,
            "python": platform.python_version(),
            "numpy": numpy.__version__,
            "torch": torch.__version__,
            "hypothesis": hypothesis.__version__,
        },
        "max_examples": max_examples,
        "seed": seed,
        "runs": runs,
        "fresh_process_per_target": fresh,
        "targets": [],
        "target_wall": TARGET_WALL,
        "target_share": TARGET_SHARE,
        "baseline": baseline,
    }
    startup = startup_seconds()
    for label, spec in targets:
        modes = ("pipeline", "one core", *(("baseline",) if baseline else ()))
        walls = command_walls(
            spec, modes=modes, max_examples=max_examples, seed=seed, runs=runs, baseline=baseline
        )
        profiler = profile_in_fresh_process if fresh else profile_target
        profile = profiler(spec, max_examples=max_examples, seed=seed, startup=startup)
        wall = walls["pipeline"]["seconds"]
        own = profile["activities"]["target's own calls"]
        document["targets"].append(
            {
                "label": label,
                **profile,
                "commands": walls,
                "same_results": walls["pipeline"]["verdicts"] == walls["one core"]["verdicts"]
                and walls["pipeline"]["examples"] == walls["one core"]["examples"],
                "command_share": own / wall if wall > 0 else 0.0,
            }
        )
    if batch:
        files = BATCH_FILES[:2] if quick else BATCH_FILES
        document["batch"] = batch_throughput(files, max_examples=max_examples, seed=seed)
    document["machine"]["loadavg_end"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return document


def _table(title: str, rows: dict[str, float], wall: float) -> list[str]:
    lines = [f"  {title:<24} {'seconds':>9} {'share':>7}"]
    for name, seconds in rows.items():
        lines.append(f"  {name:<24} {seconds:9.2f} {seconds / wall:7.1%}")
    lines.append(f"  {'total':<24} {sum(rows.values()):9.2f} {sum(rows.values()) / wall:7.1%}")
    return lines


def format_report(document: dict[str, Any]) -> str:
    """The tables of :func:`run`'s document, as ``refconv bench --grading`` prints them."""
    machine, versions = document["machine"], document["versions"]
    lines = [
        f"refconv bench --grading: max_examples {document['max_examples']}, "
        f"seed {document['seed']}",
        f"machine: {machine['platform']}, {machine['cpus']} CPUs, load average "
        f"{machine['loadavg']} at start, {machine.get('loadavg_end')} at end",
        "versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
    ]
    baseline = document.get("baseline")
    lines += [
        "",
        f"refconv check TARGET, a fresh process per run, median of {document['runs']} run(s) "
        "of each, the modes alternating:",
    ]
    if baseline:
        lines.append(f"  (baseline: the refconv in {baseline}, its default options)")
    lines.append(
        f"  {'target':<20} {'pipeline':>9} {'one core':>9}"
        + (f" {'baseline':>9}" if baseline else "")
        + "  same results  share inside the target's own code"
    )
    for t in document["targets"]:
        commands = t["commands"]
        lines.append(
            f"  {t['label']:<20} {commands['pipeline']['seconds']:8.2f}s "
            f"{commands['one core']['seconds']:8.2f}s"
            + (f" {commands['baseline']['seconds']:8.2f}s" if baseline else "")
            + f"  {'yes' if t['same_results'] else 'NO':<12}  {t['command_share']:.1%}"
        )
    vectorised = [t for t in document["targets"] if t["label"] in ("refconv", "correct_vectorised")]
    for t in vectorised:
        seconds = t["commands"]["pipeline"]["seconds"]
        verdict = "meets" if seconds <= document["target_wall"] else "misses"
        lines.append(
            f"  {t['label']}: {seconds:.2f} s ({verdict} the {document['target_wall']:g} s target)"
        )
    for t in document["targets"]:
        if t["label"] == "correct_loops":
            verdict = "meets" if t["command_share"] >= document["target_share"] else "misses"
            lines.append(
                f"  correct_loops: {t['command_share']:.1%} inside its own code ({verdict} the "
                f"{document['target_share']:.0%} target)"
            )
    for t in document["targets"]:
        wall = t["wall"]
        failing = [f for f, v in t["verdicts"].items() if v != "pass"]
        lines += [
            "",
            f"{t['label']} ({t['spec'] or 'refconv seed API'}), one process: wall {wall:.2f} s "
            f"({t['check_seconds']:.2f} s after start-up), "
            + (f"failing: {', '.join(failing)}" if failing else "all pass"),
        ]
        lines += _table("stage", t["stages"], wall)
        lines.append("")
        lines += _table("activity", t["activities"], wall)
        calls = t["calls"]
        lines.append(
            f"  calls: {calls.get('executor round trips', 0)} target, "
            f"{calls.get('oracle', 0)} oracle, {calls.get('tolerance', 0)} tolerance"
        )
        lines.append(f"  share of this wall inside the target's own code: {t['target_share']:.1%}")
    if "batch" in document:
        batch = document["batch"]
        lines += ["", "batch throughput (grade_submission per file, thread pool, no database):"]
        for r in batch["runs"]:
            lines.append(
                f"  --workers {r['workers']}: {r['submissions']} submissions in "
                f"{r['seconds']:.1f} s = {r['per_hour']:.0f} per hour"
                + (f" ({len(r['errors'])} errors)" if r["errors"] else "")
            )
        verdict = "meets" if batch["speedup"] >= batch["target_speedup"] else "misses"
        lines.append(
            f"  speed-up: {batch['speedup']:.2f}x ({verdict} the {batch['target_speedup']}x target)"
        )
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--max-examples``, ``--seed``, ``--quick``, ``--no-batch`` and ``--json``."""
    from refconv.cli import _positive_int

    parser.add_argument(
        "--max-examples", type=_positive_int, default=100, help="per function (default 100)"
    )
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed (default 0)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="10 examples, one target (correct_loops), a batch of two submissions",
    )
    parser.add_argument("--no-batch", action="store_true", help="skip the batch throughput")
    parser.add_argument(
        "--runs", type=_positive_int, default=3, help="runs of each command (the median counts)"
    )
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        help="also time the refconv in DIR (e.g. a git worktree of an earlier commit)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the measurements as JSON")


def run_from_args(args: argparse.Namespace) -> int:
    """Run, print the report, write ``--json``; always 0 (a measurement, not a test)."""
    document = run(
        max_examples=getattr(args, "max_examples", None) or 100,
        seed=getattr(args, "seed", None) or 0,
        quick=getattr(args, "quick", False),
        batch=not getattr(args, "no_batch", False),
        runs=getattr(args, "runs", None) or 3,
        baseline=getattr(args, "baseline", None),
    )
    print(format_report(document))
    if getattr(args, "json", None):
        with open(args.json, "w") as out:
            json.dump(document, out, indent=2)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m refconv.bench_grading [--max-examples N] [--quick] [--json FILE]``."""
    parser = argparse.ArgumentParser(
        prog="python -m refconv.bench_grading", description=__doc__.splitlines()[0]
    )
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
