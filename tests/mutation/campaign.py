"""Mutation campaign: how many mutants of a correct plain-loop reference does `refconv check` kill?

One command (from the repository root)::

    python tests/mutation/campaign.py [--limit N] [--only FUNCTION] [--every K] [--jobs 2]
                                      [--json FILE] [--mutants I,J,...]

Each mutant of ``tests/mutation/reference.py`` (made by ``tests/mutation/mutate.py``) is written
to a temporary file and graded by the real command line, at default options but for a shorter
per-call limit::

    python -m refconv check MUTANT --functions F --timeout 5 --json REPORT

first for the mutated function F alone, then (only if F passes) for the functions whose check
runs F's code: its callers (``zero_pad`` is called by both convolutions, the mask and
distribute helpers by ``pool_backward``...) and the backward whose check builds its cache with
the mutated forward. A mutant is *killed* when any of these is not ``pass``. Survivors are
listed with the classification recorded in ``tests/mutation/survivors.py`` (equivalent, advice
or outside the domain, each with the argument, or a blind spot of the search, with a killing
input); an unclassified survivor is flagged ``NEW``.

The checker is pinned for the whole campaign: ``refconv/`` is copied at the start (``--checker
worktree``, the default) or taken from a git revision (``--checker HEAD``), and every check
runs that copy, so edits to the repository during a long run cannot mix two checkers' verdicts.
The JSON records the commit, whether the copy had uncommitted changes, and its digest.

The reference is checked first (all eight functions must pass, or the campaign stops). Each
check runs with ``OMP_NUM_THREADS=1`` (verdicts do not depend on thread counts) so that
``--jobs 2`` keeps two cores busy, not four.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
import mutate  # noqa: E402
from survivors import SURVIVORS  # noqa: E402

sys.path.remove(str(HERE))

SEED_FUNCTIONS = (
    "zero_pad",
    "conv_single_step",
    "conv_forward",
    "conv_backward",
    "pool_forward",
    "create_mask_from_window",
    "distribute_value",
    "pool_backward",
)
#: The checks of these backwards call the target's own forward for the cache
#: (refconv.conformance.checks.own_cache), so they run the forward's code too.
CACHE_FROM = {"conv_backward": "conv_forward", "pool_backward": "pool_forward"}
TIMEOUT = "5"
#: Safety net for one `refconv check` process (it has its own per-call and import limits).
PROCESS_LIMIT = 900.0


def call_graph(source: str) -> dict[str, set[str]]:
    """Which seed functions each function of ``source`` calls directly (by name)."""
    graph: dict[str, set[str]] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            graph[node.name] = {
                n.func.id
                for n in ast.walk(node)
                if isinstance(n, ast.Call)
                and isinstance(n.func, ast.Name)
                and n.func.id in SEED_FUNCTIONS
            }
    return graph


def executed_by_check(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """For each seed function, the functions whose code its conformance check runs."""

    def closure(name: str, seen: set[str]) -> set[str]:
        if name in seen:
            return seen
        seen.add(name)
        for callee in graph.get(name, ()):
            closure(callee, seen)
        if name in CACHE_FROM:
            closure(CACHE_FROM[name], seen)
        return seen

    return {name: closure(name, set()) for name in SEED_FUNCTIONS}


def dependents(function: str, executed: dict[str, set[str]]) -> list[str]:
    """The other functions whose check runs ``function``, in the seed's order."""
    return [f for f in SEED_FUNCTIONS if f != function and function in executed[f]]


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=True)
    return done.stdout.decode()


def snapshot_checker(spec: str, into: Path) -> dict[str, Any]:
    """Copy refconv (the working tree's, or a git revision's) to ``into/refconv``."""
    if spec == "worktree":
        shutil.copytree(
            ROOT / "refconv", into / "refconv", ignore=shutil.ignore_patterns("__pycache__")
        )
        commit = _git("rev-parse", "HEAD").strip()
        dirty = bool(_git("status", "--porcelain", "--", "refconv").strip())
    else:
        commit = _git("rev-parse", "--verify", f"{spec}^{{commit}}").strip()
        archive = subprocess.run(
            ["git", "archive", commit, "refconv"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(into, filter="data")
        dirty = False
    digest = hashlib.sha256()
    for path in sorted((into / "refconv").rglob("*.py")):
        digest.update(str(path.relative_to(into)).encode() + b"\0" + path.read_bytes())
    return {
        "spec": spec,
        "commit": commit,
        "uncommitted_changes": dirty,
        "digest": digest.hexdigest()[:16],
    }


#: Where the pinned copy of refconv lives (set by main, read by refconv_check).
CHECKER: dict[str, Path] = {}


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[name] = "1"
    if "path" in CHECKER:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(CHECKER["path"]), *filter(None, [env.get("PYTHONPATH")])]
        )
    return env


def refconv_check(target: Path, functions: list[str], report: Path) -> dict[str, Any]:
    """Run ``refconv check`` on ``target`` for ``functions``; the statuses and messages."""
    command = [sys.executable, "-m", "refconv", "check", str(target)]
    command += ["--functions", ",".join(functions), "--timeout", TIMEOUT, "--json", str(report)]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            # Not the repository: `python -m` puts the working directory first on sys.path,
            # ahead of the pinned copy of refconv.
            cwd=CHECKER["path"].parent if "path" in CHECKER else ROOT,
            env=_environment(),
            capture_output=True,
            text=True,
            timeout=PROCESS_LIMIT,
        )
    except subprocess.TimeoutExpired:
        return {
            "exit": None,
            "seconds": round(time.perf_counter() - started, 2),
            "verdicts": {},
            "messages": {},
            "error": f"refconv check did not finish within {PROCESS_LIMIT:g} s",
        }
    seconds = round(time.perf_counter() - started, 2)
    verdicts: dict[str, str] = {}
    messages: dict[str, str] = {}
    error = None
    try:
        data = json.loads(report.read_text())
        for result in data["results"]:
            verdicts[result["function"]] = result["status"]
            if result["status"] != "pass":
                messages[result["function"]] = result.get("message", "")
            elif result.get("advice"):
                messages[result["function"]] = "advice: " + "; ".join(result["advice"])
        if data.get("error"):
            error = f"load error: {data['error']}"
    except (OSError, ValueError, KeyError) as exc:
        # No JSON (e.g. refconv's report writer refusing a NaN in a counterexample): take the
        # verdicts from the text report, which is printed first, and say so.
        words = {"pass": "pass", "FAIL": "fail", "ERROR": "error", "missing": "missing"}
        for line in done.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] in functions and parts[1] in words:
                verdicts[parts[0]] = words[parts[1]]
        last = (done.stderr.strip().splitlines() or [""])[-1]
        error = (
            f"no JSON report ({type(exc).__name__}), exit {done.returncode}, stderr: {last[:200]}"
        )
        if verdicts:
            error += f"; verdicts from the text report: {verdicts}"
    return {
        "exit": done.returncode,
        "seconds": seconds,
        "verdicts": verdicts,
        "messages": messages,
        "error": error,
    }


def run_mutant(
    mutant: mutate.Mutant, executed: dict[str, set[str]], workdir: Path
) -> dict[str, Any]:
    """Grade one mutant: its function first, then (if that passes) the functions running it."""
    target = workdir / f"mutant_{mutant.index:04d}.py"
    target.write_text(mutant.source)
    stages = [[mutant.function]]
    others = dependents(mutant.function, executed)
    if others:
        stages.append(others)
    record: dict[str, Any] = {
        "index": mutant.index,
        "key": mutant.key,
        "function": mutant.function,
        "line": mutant.line,
        "col": mutant.col,
        "operator": mutant.operator,
        "description": mutant.description,
        "checked": [f for stage in stages for f in stage],
        "verdicts": {},
        "messages": {},
        "seconds": 0.0,
        "errors": [],
    }
    for k, functions in enumerate(stages):
        outcome = refconv_check(target, functions, workdir / f"report_{mutant.index:04d}_{k}.json")
        record["verdicts"].update(outcome["verdicts"])
        record["messages"].update(outcome["messages"])
        record["seconds"] = round(record["seconds"] + outcome["seconds"], 2)
        if outcome["error"]:
            record["errors"].append(outcome["error"])
        # Killed: a checked function is not "pass" (a verdict read from JSON or text report).
        failing = [f for f in functions if outcome["verdicts"].get(f, "pass") != "pass"]
        if failing or (outcome["error"] and not outcome["verdicts"]):
            record["killed_by"] = failing[0] if failing else None
            break
    else:
        record["killed_by"] = None
    # A load error or a checker that did not report is not a kill by the search: say so.
    record["killed"] = record["killed_by"] is not None
    record["status"] = (
        "killed" if record["killed"] else ("error" if record["errors"] else "survived")
    )
    target.unlink()
    return record


def _select(args: argparse.Namespace, found: list[mutate.Mutant]) -> list[mutate.Mutant]:
    if args.only:
        found = [m for m in found if m.function == args.only]
    if args.mutants:
        wanted = {int(x) for x in args.mutants.split(",") if x.strip()}
        found = [m for m in found if m.index in wanted]
    if args.every > 1:
        found = [m for m in found if m.index % args.every == args.offset % args.every]
    if args.limit is not None:
        found = found[: args.limit]
    return found


def _classification(key: str) -> dict[str, str] | None:
    """The recorded verdict of a survivor (its text fields), or None if unclassified."""
    entry = SURVIVORS.get(key)
    if entry is None:
        return None
    return {k: v for k, v in entry.items() if isinstance(v, str)}


VERDICTS = ("equivalent", "advice", "outside the domain", "blind spot")


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    total = len(records)
    killed = sum(r["killed"] for r in records)
    verdicts = dict.fromkeys((*VERDICTS, "unclassified"), 0)
    for r in records:
        if not r["killed"]:
            verdicts[(_classification(r["key"]) or {}).get("verdict", "unclassified")] += 1
    by: dict[str, dict[str, dict[str, int]]] = {"operator": {}, "function": {}}
    for r in records:
        for axis in by:
            row = by[axis].setdefault(r[axis], {"mutants": 0, "killed": 0})
            row["mutants"] += 1
            row["killed"] += int(r["killed"])
    # Mutants that break the contract on some input it defines: all but the equivalent, advice
    # and outside-the-domain ones (they differ only where the contract asks nothing).
    breaking = total - verdicts["equivalent"] - verdicts["advice"] - verdicts["outside the domain"]
    return {
        "mutants": total,
        "killed": killed,
        "survived": total - killed,
        "survivors_by_verdict": verdicts,
        "kill_rate": round(killed / total, 4) if total else None,
        "kill_rate_contract_breaking": round(killed / breaking, 4) if breaking else None,
        "by_operator": by["operator"],
        "by_function": by["function"],
    }


def print_report(records: list[dict[str, Any]], summary: dict[str, Any], wall: float) -> None:
    print()
    print(f"{'function':<24} {'mutants':>7} {'killed':>7} {'survived':>8}")
    for name, row in summary["by_function"].items():
        survived = row["mutants"] - row["killed"]
        print(f"{name:<24} {row['mutants']:>7} {row['killed']:>7} {survived:>8}")
    print(f"{'total':<24} {summary['mutants']:>7} {summary['killed']:>7} {summary['survived']:>8}")
    print()
    print(f"{'operator':<24} {'mutants':>7} {'killed':>7}")
    for name, row in summary["by_operator"].items():
        print(f"{name:<24} {row['mutants']:>7} {row['killed']:>7}")
    survivors = [r for r in records if not r["killed"]]
    if survivors:
        print()
        print("survivors:")
    for r in survivors:
        known = _classification(r["key"])
        tag = known["verdict"] if known else "NEW (unclassified)"
        extra = f"  [{'; '.join(r['errors'])}]" if r["errors"] else ""
        print(
            f"  #{r['index']:<4} {r['function']:<24} {r['line']}:{r['col']:<4} "
            f"{r['operator']:<12} {r['description']}  -> {tag}{extra}"
        )
    if summary["kill_rate"] is None:
        print("no mutants selected")
        return
    verdicts = summary["survivors_by_verdict"]
    print()
    print(
        f"{summary['mutants']} mutants, {summary['killed']} killed, {summary['survived']} "
        f"survived ({', '.join(f'{n} {v}' for v, n in verdicts.items())}); "
        f"kill rate {100 * summary['kill_rate']:.1f}%"
    )
    if summary["kill_rate_contract_breaking"] is not None:
        print(
            "kill rate of the mutants that break the contract (all but equivalent and advice): "
            f"{100 * summary['kill_rate_contract_breaking']:.1f}%"
        )
    print(f"wall time: {wall:.0f} s ({wall / 60:.1f} min)")


def _result(records: list[dict[str, Any]], meta: dict[str, Any], wall: float) -> dict[str, Any]:
    """The JSON document of a campaign: ``meta`` plus summary, survivors and records."""
    return {
        **meta,
        "wall_seconds": round(wall, 1),
        "summary": summarise(records),
        "survivors": [
            {
                **{
                    k: r[k]
                    for k in ("index", "key", "function", "line", "col", "operator", "description")
                },
                "classification": _classification(r["key"]),
            }
            for r in records
            if not r["killed"]
        ],
        "records": records,
    }


README = HERE / "README.md"
BEGIN, END = "<!-- campaign result: begin -->", "<!-- campaign result: end -->"


def markdown(document: dict[str, Any]) -> str:
    """The README block of a result: totals, per function, every survivor with its verdict."""
    summary, records = document["summary"], document["records"]
    verdicts = summary["survivors_by_verdict"]
    checker = document.get("checker") or {}
    lines = [
        f"{summary['mutants']} mutants, **{summary['killed']} killed**, {summary['survived']} "
        f"survived: {verdicts['equivalent']} equivalent, {verdicts['advice']} advice (outside "
        f"the contract, killed by `--strict`), {verdicts['outside the domain']} outside the "
        f"domain (differ only on NaN input, which the contract excludes), "
        f"{verdicts['blind spot']} blind spots"
        + (f", {verdicts['unclassified']} unclassified" if verdicts["unclassified"] else "")
        + f". Kill rate {100 * summary['kill_rate']:.1f}%; of the mutants that break the "
        f"contract, {100 * summary['kill_rate_contract_breaking']:.1f}%. Checker: commit "
        f"`{str(checker.get('commit', '?'))[:7]}` (digest `{checker.get('digest', '?')}`), "
        f"wall time {document['wall_seconds'] / 60:.1f} min.",
        "",
        "| function | mutants | killed | survived |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, row in summary["by_function"].items():
        survived = row["mutants"] - row["killed"]
        lines.append(f"| `{name}` | {row['mutants']} | {row['killed']} | {survived} |")
    lines.append(f"| total | {summary['mutants']} | {summary['killed']} | {summary['survived']} |")
    lines += [
        "",
        "| # | function | line | operator | mutation | verdict |",
        "| ---: | --- | ---: | --- | --- | --- |",
    ]
    for r in records:
        if r["killed"]:
            continue
        verdict = (_classification(r["key"]) or {}).get("verdict", "**unclassified**")
        mutation = r["description"].replace("|", "\\|")
        lines.append(
            f"| {r['index']} | `{r['function']}` | {r['line']} | {r['operator']} | {mutation} "
            f"| {verdict} |"
        )
    lines += [
        "",
        "The argument for each verdict, and the killing input of each advice, outside-the-domain "
        "and blind-spot survivor, are in `survivors.py` (`python tests/mutation/survivors.py` "
        "checks them).",
    ]
    return "\n".join(lines)


def update_readme(document: dict[str, Any]) -> None:
    text = README.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{README} has no {BEGIN} ... {END} block")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{BEGIN}\n{markdown(document)}\n{END}{tail}")
    print(f"README: {README.relative_to(ROOT)}")


def report(files: list[str], out: str | None, readme: bool = False) -> int:
    """Re-print saved results (several: merged, e.g. the halves of an --every 2 pair) with the
    current classifications of tests/mutation/survivors.py; write the merged JSON to ``out``."""
    documents = [json.loads(Path(f).read_text()) for f in files]
    records = {r["index"]: r for d in documents for r in d["records"]}
    merged = [records[i] for i in sorted(records)]
    checkers = {json.dumps(d.get("checker"), sort_keys=True) for d in documents}
    if len(checkers) > 1:
        print(f"warning: the results come from different checkers: {sorted(checkers)}")
    wall = sum(d.get("wall_seconds", 0.0) for d in documents)
    print_report(merged, summarise(merged), wall)
    meta = {k: v for k, v in documents[0].items() if k not in ("summary", "survivors")}
    meta.pop("records", None)
    meta.pop("wall_seconds", None)
    if len(documents) > 1:
        meta["command"] = [d.get("command") for d in documents]
        meta["selection"] = [d.get("selection") for d in documents]
    document = _result(merged, meta, wall)
    if out:
        Path(out).write_text(json.dumps(document, indent=1) + "\n")
        print(f"JSON: {out}")
    if readme:
        update_readme(document)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="first N selected")
    parser.add_argument("--only", default=None, metavar="FUNCTION", help="one function's mutants")
    parser.add_argument("--every", type=int, default=1, metavar="K", help="every K-th mutant")
    parser.add_argument(
        "--offset", type=int, default=0, metavar="R", help="with --every: index % K == R"
    )
    parser.add_argument("--mutants", default=None, metavar="I,J", help="these mutant indices")
    parser.add_argument("--jobs", type=int, default=2, metavar="N", help="mutants graded at once")
    parser.add_argument(
        "--json",
        default=None,
        metavar="FILE",
        help="JSON result file (default when grading: tests/mutation/results.json)",
    )
    parser.add_argument(
        "--checker",
        default="worktree",
        metavar="REV",
        help="the refconv that grades: 'worktree' (a copy taken at the start, default) or a git "
        "revision such as HEAD",
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip checking the reference")
    parser.add_argument(
        "--report",
        nargs="+",
        default=None,
        metavar="FILE",
        help="grade nothing: re-print saved results (merged if several) with the current "
        "classifications, and write them to --json",
    )
    parser.add_argument(
        "--readme",
        action="store_true",
        help="also write the result into tests/mutation/README.md (its 'Last result' block)",
    )
    args = parser.parse_args(argv)
    if args.report:
        return report(args.report, args.json, args.readme)
    args.json = args.json or str(HERE / "results.json")
    if args.only and args.only not in SEED_FUNCTIONS:
        parser.error(f"--only must be one of {', '.join(SEED_FUNCTIONS)}")

    started = time.perf_counter()
    source = mutate.REFERENCE.read_text()
    executed = executed_by_check(call_graph(source))
    found = mutate.mutants()
    selected = _select(args, found)
    workdir = Path(tempfile.mkdtemp(prefix="refconv-mutants-"))
    try:
        checker = snapshot_checker(args.checker, workdir / "checker")
        CHECKER["path"] = workdir / "checker"
        print(
            f"checker: refconv from {args.checker} (commit {checker['commit'][:10]}"
            + (", with uncommitted changes" if checker["uncommitted_changes"] else "")
            + f", digest {checker['digest']})",
            flush=True,
        )
        if not args.no_baseline:
            baseline = refconv_check(mutate.REFERENCE, list(SEED_FUNCTIONS), workdir / "base.json")
            bad = {f: s for f, s in baseline["verdicts"].items() if s != "pass"}
            if bad or baseline["error"] or len(baseline["verdicts"]) != len(SEED_FUNCTIONS):
                print(f"the reference does not pass refconv check: {bad} {baseline['error']}")
                return 2
            print(f"reference: 8 functions pass ({baseline['seconds']:.1f} s)", flush=True)
        print(
            f"{len(selected)} of {len(found)} mutants selected, {args.jobs} at a time",
            flush=True,
        )
        records: list[dict[str, Any]] = []
        lock = threading.Lock()

        def grade(mutant: mutate.Mutant) -> dict[str, Any]:
            record = run_mutant(mutant, executed, workdir)
            with lock:
                records.append(record)
                done = len(records)
                killed = sum(r["killed"] for r in records)
                print(
                    f"[{done}/{len(selected)}] #{record['index']} {record['function']} "
                    f"{record['operator']}: {record['status']}"
                    + (f" by {record['killed_by']}" if record["killed_by"] else "")
                    + f" ({record['seconds']:.1f} s; {killed} killed so far)",
                    file=sys.stderr,
                    flush=True,
                )
            return record

        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            list(pool.map(grade, selected))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    records.sort(key=lambda r: r["index"])
    wall = time.perf_counter() - started
    summary = summarise(records)
    print_report(records, summary, wall)
    if args.json:
        command = "python tests/mutation/campaign.py " + " ".join(argv or sys.argv[1:])
        meta = {
            "command": command.strip(),
            "reference": str(mutate.REFERENCE.relative_to(ROOT)),
            "mutants_total": len(found),
            "selection": {
                "only": args.only,
                "every": args.every,
                "offset": args.offset,
                "limit": args.limit,
                "mutants": args.mutants,
            },
            "options": f"--functions F --timeout {TIMEOUT}, defaults otherwise",
            "checker": checker,
            "jobs": args.jobs,
        }
        document = _result(records, meta, wall)
        Path(args.json).write_text(json.dumps(document, indent=1) + "\n")
        print(f"JSON: {args.json}")
        if args.readme:
            update_readme(document)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
