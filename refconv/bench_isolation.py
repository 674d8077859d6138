"""What running the target in the executor costs ``refconv check`` (``refconv bench --isolation``).

The whole of ``refconv check``'s work on one target (all eight seed functions, its default
options: seed 0, 100 examples per function) is timed two ways in the same process, interleaved
round by round (isolated, in-process, then in-process, isolated the next round: the order
alternates), so that a machine that slows down or speeds up affects both alike:

- *isolated*: :class:`~refconv.conformance.isolation.IsolatedTarget` built inside the timed
  region (starting the executor and loading the target in it), :func:`run_all` through it, then
  ``close()`` (the executor killed): what ``refconv check`` does;
- *in-process*: :func:`~refconv.conformance.target.load_target` inside the timed region, then
  :func:`run_all` on its namespace, called in the judge's own process.

The figure reported per target is the median over rounds of the ratio *isolated time /
in-process time* of one round (issue target: at most :data:`TARGET_RATIO`), next to the total
wall seconds of each path. Every round also compares the verdicts (status per function) of the
two paths: isolation must change the cost, never the outcome.

Wall time is what a user waits for, but on a shared machine it also measures everyone else's
load: a busy neighbour stretches whichever run it overlaps. So each run also records its CPU
seconds (the judge process, threads included, plus, when isolated, every executor process it
started: read from ``/proc`` before the executor is killed, Linux only) and the load average
when it started. On a busy shared machine the wall ratio of one round swings widely (0.8 to 2.3
seen on 2 cores whose load changed between the two halves of a pair) while the CPU ratio stays
within a few percent: run it on a quiet machine, and read the CPU ratio when it is not.

Before the first round each path checks each target once, untimed, with a small example budget:
that absorbs the one-time costs (imports, torch's first kernels, hypothesis's strategy caches)
that would otherwise all land on whichever path happens to run first.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from refconv import SEED_FUNCTIONS

#: Issue target: the largest acceptable median ratio isolated / in-process wall time per target.
TARGET_RATIO = 1.25

#: The targets measured: a plain-loop student implementation of the zoo, and refconv's own seed
#: API (spec None). Paths are relative to the repository root.
ZOO_LOOPS = str(Path(__file__).resolve().parent.parent / "tests" / "zoo" / "correct_loops.py")
TARGETS: tuple[str | None, ...] = (ZOO_LOOPS, None)

#: Examples per function of the untimed warm-up run of each path.
WARMUP_EXAMPLES = 10

PATHS = ("isolated", "in-process")

#: Rounds when none are asked for (one round of both targets takes about a minute on 2 cores).
DEFAULT_ROUNDS = 3


@dataclass
class Measurement:
    """One timed ``refconv check`` run of one target along one path.

    Attributes
    ----------
    seconds : wall time of the whole run (load included)
    load_seconds : part of it spent loading (starting the executor too, when isolated)
    verdicts : status per function, in the order checked
    examples : examples run per function
    function_seconds : ``FunctionResult.seconds`` per function
    cpu_seconds : CPU time of the judge (all its threads) plus ``executor_cpu_seconds``
    executor_cpu_seconds : CPU time of the executor's processes (0 in-process; None where
        ``/proc`` cannot tell)
    loadavg : the machine's 1-minute load average when the run started (None if unknown)
    """

    seconds: float
    load_seconds: float
    verdicts: dict[str, str]
    examples: dict[str, int]
    function_seconds: dict[str, float]
    cpu_seconds: float = 0.0
    executor_cpu_seconds: float | None = 0.0
    loadavg: float | None = None


@dataclass
class TargetReport:
    """Every round of one target, both paths, and their summary."""

    target: str
    spec: str | None
    isolated: list[Measurement] = field(default_factory=list)
    in_process: list[Measurement] = field(default_factory=list)
    first: list[str] = field(default_factory=list)  # the path timed first, per round
    isolation: dict[str, Any] = field(default_factory=dict)  # what the executor reported

    @property
    def ratios(self) -> list[float]:
        return [i.seconds / p.seconds for i, p in zip(self.isolated, self.in_process, strict=True)]

    @property
    def cpu_ratios(self) -> list[float]:
        pairs = zip(self.isolated, self.in_process, strict=True)
        return [i.cpu_seconds / p.cpu_seconds if p.cpu_seconds > 0 else 0.0 for i, p in pairs]

    @property
    def agree(self) -> list[bool]:
        """Per round: the two paths gave the same status to every function."""
        pairs = zip(self.isolated, self.in_process, strict=True)
        return [i.verdicts == p.verdicts for i, p in pairs]

    def summary(self) -> dict[str, Any]:
        ratio = statistics.median(self.ratios)
        return {
            "median_ratio": ratio,
            "min_ratio": min(self.ratios),
            "max_ratio": max(self.ratios),
            "isolated_total_seconds": sum(m.seconds for m in self.isolated),
            "in_process_total_seconds": sum(m.seconds for m in self.in_process),
            "isolated_median_seconds": statistics.median(m.seconds for m in self.isolated),
            "in_process_median_seconds": statistics.median(m.seconds for m in self.in_process),
            "isolated_median_load_seconds": statistics.median(
                m.load_seconds for m in self.isolated
            ),
            "in_process_median_load_seconds": statistics.median(
                m.load_seconds for m in self.in_process
            ),
            "median_cpu_ratio": statistics.median(self.cpu_ratios),
            "isolated_total_cpu_seconds": sum(m.cpu_seconds for m in self.isolated),
            "in_process_total_cpu_seconds": sum(m.cpu_seconds for m in self.in_process),
            "verdicts_agree": all(self.agree),
            "target_ratio": TARGET_RATIO,
            "met": ratio <= TARGET_RATIO,
        }


def content_key(spec: str | None) -> str:
    """The key :attr:`IsolatedTarget.digest` gives ``spec`` (file SHA-256, or module name),
    so that both paths pass ``run_all`` the same ``target_key``."""
    if spec is None:
        return "module:refconv"
    return hashlib.sha256(Path(spec).read_bytes()).hexdigest()


def _own_cpu() -> float:
    """CPU seconds of this process so far (every thread: torch's pool included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _loadavg() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover - platforms without a load average
        return None


def descendants_cpu() -> float | None:
    """CPU seconds of every live descendant process of this one (the executor and the process
    it forked into its PID namespace), with their waited-for children; None without ``/proc``.

    The executor is killed by ``close()`` and its namespace child is never waited for by the
    judge, so ``RUSAGE_CHILDREN`` misses it: this must be read before ``close()``.
    """
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        # after the command: state, ppid, ..., utime (14th field), stime, cutime, cstime
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = sum(int(value) for value in fields[11:15]) / tick
    mine, frontier = set(), [os.getpid()]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in mine]
        mine.update(children)
        frontier.extend(children)
    return sum(cpu[pid] for pid in mine)


def _measurement(
    results: list[Any],
    seconds: float,
    load_seconds: float,
    cpu_seconds: float,
    executor_cpu: float | None,
    loadavg: float | None,
) -> Measurement:
    return Measurement(
        seconds=seconds,
        load_seconds=load_seconds,
        verdicts={r.function: r.status for r in results},
        examples={r.function: r.examples for r in results},
        function_seconds={r.function: r.seconds for r in results},
        cpu_seconds=cpu_seconds + (executor_cpu or 0.0),
        executor_cpu_seconds=executor_cpu,
        loadavg=loadavg,
    )


def run_isolated(
    spec: str | None, functions: list[str], options: dict[str, Any]
) -> tuple[Measurement, dict[str, Any]]:
    """Time one isolated check of ``spec``: executor start, load, ``run_all``, close.

    Returns the measurement and what the executor reported about its isolation.
    """
    from refconv.conformance.isolation import IsolatedTarget
    from refconv.conformance.runner import run_all

    loadavg = _loadavg()
    before = descendants_cpu()  # normally 0: no executor alive yet
    cpu = _own_cpu()
    start = time.perf_counter()
    target = IsolatedTarget(spec)
    loaded = time.perf_counter()
    try:
        results = run_all(target, functions, target_key=target.digest, **options)
        after = descendants_cpu()  # before close(): the executor's CPU dies with it
    finally:
        target.close()
    seconds = time.perf_counter() - start
    cpu = _own_cpu() - cpu
    executor_cpu = None if before is None or after is None else max(after - before, 0.0)
    isolation = dict(target.executor.get("isolation") or {})
    measured = _measurement(results, seconds, loaded - start, cpu, executor_cpu, loadavg)
    return measured, isolation


def run_in_process(
    spec: str | None, functions: list[str], options: dict[str, Any], key: str
) -> Measurement:
    """Time one in-process check of ``spec``: ``load_target``, then ``run_all`` on its
    namespace (``key``: the same ``target_key`` as the isolated run's)."""
    from refconv.conformance.runner import run_all
    from refconv.conformance.target import load_target

    loadavg = _loadavg()
    cpu = _own_cpu()
    start = time.perf_counter()
    namespace = load_target(spec).namespace
    loaded = time.perf_counter()
    results = run_all(namespace, functions, target_key=key, **options)
    seconds = time.perf_counter() - start
    return _measurement(results, seconds, loaded - start, _own_cpu() - cpu, 0.0, loadavg)


def run(
    rounds: int = DEFAULT_ROUNDS,
    targets: Sequence[str | None] = TARGETS,
    functions: Sequence[str] | None = None,
    max_examples: int | None = None,
    warmup: bool = True,
) -> dict[str, Any]:
    """Run every round; returns a JSON-able document (also printed by :func:`main`).

    Parameters
    ----------
    rounds : interleaved rounds per target (each times both paths once)
    targets : specs of the targets (a ``.py`` path, or None for refconv's seed API)
    functions : the seed functions checked (default: all eight, like ``refconv check``)
    max_examples : examples per function (default: ``refconv check``'s, 100)
    warmup : check each target once per path, untimed, with :data:`WARMUP_EXAMPLES` first
    """
    from refconv.bench import machine
    from refconv.oracle import require_torch

    require_torch()
    for spec in targets:
        if spec is not None and not Path(spec).is_file():
            raise FileNotFoundError(f"{spec}: no such target (the zoo is in a source checkout)")
    names = list(SEED_FUNCTIONS) if functions is None else list(functions)
    options: dict[str, Any] = {}
    if max_examples is not None:
        options["max_examples"] = max_examples
    reports = [TargetReport(_label(spec), spec) for spec in targets]
    keys = [content_key(spec) for spec in targets]
    if warmup:
        small = dict(options, max_examples=min(WARMUP_EXAMPLES, max_examples or WARMUP_EXAMPLES))
        for spec, key in zip(targets, keys, strict=True):
            run_isolated(spec, names, small)
            run_in_process(spec, names, small, key)
    for round_ in range(rounds):
        for index, (report, key) in enumerate(zip(reports, keys, strict=True)):
            # alternate the order each round, and between the targets of one round
            isolated_first = (round_ + index) % 2 == 0
            if isolated_first:
                isolated, report.isolation = run_isolated(report.spec, names, options)
                in_process = run_in_process(report.spec, names, options, key)
            else:
                in_process = run_in_process(report.spec, names, options, key)
                isolated, report.isolation = run_isolated(report.spec, names, options)
            report.isolated.append(isolated)
            report.in_process.append(in_process)
            report.first.append(PATHS[0] if isolated_first else PATHS[1])
            _progress(report, round_, rounds)
    from refconv.conformance.runner import DEFAULT_MAX_EXAMPLES, DEFAULT_SEED

    return {
        "machine": machine(),
        "rounds": rounds,
        "functions": names,
        "options": {
            "seed": DEFAULT_SEED,
            "max_examples": max_examples or DEFAULT_MAX_EXAMPLES,
            "warmup_examples": WARMUP_EXAMPLES if warmup else 0,
        },
        "targets": [
            {
                "target": r.target,
                "spec": r.spec,
                "isolation": r.isolation,
                "first": r.first,
                "ratios": r.ratios,
                "cpu_ratios": r.cpu_ratios,
                "verdicts_agree_per_round": r.agree,
                "isolated": [asdict(m) for m in r.isolated],
                "in_process": [asdict(m) for m in r.in_process],
                **r.summary(),
            }
            for r in reports
        ],
    }


def _label(spec: str | None) -> str:
    if spec is None:
        return "refconv (seed API)"
    path = Path(spec).resolve()
    try:
        return str(path.relative_to(Path(__file__).resolve().parent.parent))
    except ValueError:
        return str(path)


def _progress(report: TargetReport, round_: int, rounds: int) -> None:
    if sys.stderr.isatty():
        print(
            f"  round {round_ + 1}/{rounds} {report.target}: isolated "
            f"{report.isolated[-1].seconds:.1f} s, "
            f"in-process {report.in_process[-1].seconds:.1f} s",
            file=sys.stderr,
        )


def format_report(document: dict[str, Any]) -> str:
    """The printed table of a :func:`run` document."""
    m = document["machine"]
    o = document["options"]
    lines = [
        f"refconv {m['refconv']} check, isolated (executor) vs in-process; torch {m['torch']} "
        f"({m['torch_threads']} threads), numpy {m['numpy']}, Python {m['python']}",
        f"{m['cpu']}, {m['cores']} cores; {document['rounds']} interleaved rounds (order "
        f"alternating), seed {o['seed']}, {o['max_examples']} examples x "
        f"{len(document['functions'])} functions, warm-up {o['warmup_examples']} examples",
        "",
        "wall seconds: median per run and total over the rounds; ratio = median of the "
        "rounds' isolated / in-process",
        f"{'target':<28} {'isolated':>9} {'in-proc':>9} {'ratio':>6} {'range':>11} "
        f"{'target':>7}  {'total iso':>9} {'total in':>9} {'cpu ratio':>9}  verdicts",
    ]
    misses = disagreements = 0
    for t in document["targets"]:
        ok = "ok" if t["met"] else "MISSED"
        misses += not t["met"]
        disagreements += not t["verdicts_agree"]
        lines.append(
            f"{t['target']:<28} {t['isolated_median_seconds']:>8.2f}s "
            f"{t['in_process_median_seconds']:>8.2f}s {t['median_ratio']:>6.2f} "
            f"{t['min_ratio']:>5.2f}-{t['max_ratio']:<5.2f} <= {t['target_ratio']:.2f} {ok:<6} "
            f"{t['isolated_total_seconds']:>8.1f}s {t['in_process_total_seconds']:>8.1f}s "
            f"{t['median_cpu_ratio']:>9.2f}  {'same' if t['verdicts_agree'] else 'DIFFER'}"
        )
    lines += [
        "",
        "per round, isolated / in-process: wall s (ratio), CPU s judge+executor (ratio; executor "
        "share), load average at the start, path timed first, verdicts",
    ]
    for t in document["targets"]:
        for n, (i, p) in enumerate(zip(t["isolated"], t["in_process"], strict=True)):
            statuses = sorted(set(i["verdicts"].values()) | set(p["verdicts"].values()))
            executor = i.get("executor_cpu_seconds")
            share = "?" if executor is None else f"{executor:.1f}"
            lines.append(
                f"  {t['target']:<28} round {n + 1}: {i['seconds']:6.2f} / {p['seconds']:6.2f} "
                f"({t['ratios'][n]:.2f})  cpu {i['cpu_seconds']:6.2f} / {p['cpu_seconds']:6.2f} "
                f"({t['cpu_ratios'][n]:.2f}; {share})  load {_load(i)} / {_load(p)}  "
                f"{t['first'][n]} first  "
                f"{'same' if t['verdicts_agree_per_round'][n] else 'DIFFER'}: "
                f"{', '.join(statuses)}"
            )
    lines += [
        "",
        "median seconds per function, isolated / in-process (load: executor start "
        "+ load / load_target)",
    ]
    for t in document["targets"]:
        iso = t["isolated"]
        inp = t["in_process"]
        lines.append(
            f"  {t['target']}  [isolation: {t['isolation'].get('level', '?')}]  load "
            f"{t['isolated_median_load_seconds']:.3f} / {t['in_process_median_load_seconds']:.3f}"
        )
        for name in document["functions"]:
            a = statistics.median(m["function_seconds"].get(name, 0.0) for m in iso)
            b = statistics.median(m["function_seconds"].get(name, 0.0) for m in inp)
            examples = iso[0]["examples"].get(name, 0) if iso else 0
            ratio = f"{a / b:5.2f}" if b > 0 else "    -"
            lines.append(f"    {name:<24} {a:6.2f} / {b:6.2f} s  {ratio}  ({examples} examples)")
    verdicts = (
        "verdicts: the same on both paths in every round"
        if not disagreements
        else f"verdicts: DIFFER for {disagreements} target(s)"
    )
    lines += ["", verdicts, "every target met" if not misses else f"{misses} target(s) missed"]
    return "\n".join(lines)


def _load(measurement: dict[str, Any]) -> str:
    value = measurement.get("loadavg")
    return "?" if value is None else f"{value:.1f}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--rounds`` and ``--json`` (``refconv bench`` defines its own, with the same checks)."""
    from refconv.cli import _positive_int

    parser.add_argument(
        "--rounds",
        type=_positive_int,
        default=DEFAULT_ROUNDS,
        help=f"interleaved rounds (default {DEFAULT_ROUNDS})",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the measurements as JSON")


def run_from_args(args: argparse.Namespace) -> int:
    """Run, print the report, write ``--json``; 0 unless the paths' verdicts differ.

    ``args.rounds`` None means :data:`DEFAULT_ROUNDS` (``refconv bench --isolation``).
    """
    document = run(rounds=DEFAULT_ROUNDS if args.rounds is None else args.rounds)
    print(format_report(document))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(document, out, indent=2)
    return 0 if all(t["verdicts_agree"] for t in document["targets"]) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m refconv.bench_isolation [--rounds N] [--json FILE]``."""
    parser = argparse.ArgumentParser(
        prog="python -m refconv.bench_isolation", description=__doc__.splitlines()[0]
    )
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
