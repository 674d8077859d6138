"""Measure the two oracles: peak memory of a whole check, and the tolerance margin.

``python tests/measure_oracle_memory.py memory`` runs ``refconv check TARGET`` in a fresh process
once per oracle (``REFCONV_ORACLE=torch`` / ``numpy``) and target
(``tests/zoo/correct_vectorised.py`` and refconv's own seed API), and reports

- the judge's peak RSS (``getrusage(RUSAGE_SELF).ru_maxrss`` at its end),
- from ``/proc`` sampled every 20 ms: each process of the tree's own peak (``VmHWM``: the judge,
  the executor and the executor's child in its pid namespace, which runs the target; no worker
  processes at the default ``--workers 1``), the sum of those peaks, and the largest *sum* of the
  tree's RSS at one instant (shared library pages count once per process: both sums are upper
  bounds of the check's footprint),
- ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` for comparison only: Linux charges a child with the
  memory it had before ``exec``, i.e. the judge's image at fork time, so it overstates the
  executor.

With the numpy oracle the judge blocks every import of torch (a ``sys.meta_path`` finder that
raises ImportError) and asserts at the end that no torch module was loaded. Until ``refconv check``
has its ``--oracle`` option the judge runs the CLI with its two torch-only spots bypassed
(``require_torch()`` in ``_check_one`` and ``import torch`` in ``session.versions``), which is what
the wiring of ``--oracle numpy`` will do; the output says which way it ran.

``python tests/measure_oracle_memory.py margin [N]`` draws N problems per function (half from the
checker's own strategies, :func:`refconv.conformance.runner.problem_strategy`, half from
:mod:`refconv.strategies` at its default, larger bounds) and reports, as a fraction of the
checker's allowed error (:mod:`refconv.conformance.tolerance`, bounds as in
:mod:`refconv.conformance.checks`), the largest error of numpy vs torch, and of each oracle vs an
80-bit (``np.longdouble``) evaluation of the same core.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("tests/zoo/correct_vectorised.py", None)

#: The judge: runs ``refconv check`` in this process, then writes its facts to argv[1].
JUDGE = textwrap.dedent(
    """
    import importlib.abc, json, os, resource, sys

    class NoTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ImportError("torch is blocked for this measurement")
            return None

    choice = os.environ["REFCONV_ORACLE"]
    if choice == "numpy":
        sys.meta_path.insert(0, NoTorch())
    import argparse
    from refconv import cli, oracle
    commands = next(
        a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    )
    wired = any("--oracle" in a.option_strings for a in commands.choices["check"]._actions)
    argv = ["check", *sys.argv[2:]]
    if wired:
        argv[1:1] = ["--oracle", choice]
    else:
        oracle.select(choice, export=True)
        if choice == "numpy":
            import refconv.oracle
            from refconv.conformance import session
            refconv.oracle.require_torch = lambda: None
            original = session.versions
            def versions(executor=None):
                sys.modules["torch"] = type(sys)("torch")
                sys.modules["torch"].__version__ = "(not imported)"
                try:
                    document = original(executor)
                finally:
                    del sys.modules["torch"]
                document["oracle"] = oracle.describe()
                return document
            session.versions = versions
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code
    report = json.load(open(argv[argv.index("--json") + 1]))
    facts = {
        "exit": code,
        "wired": wired,
        "oracle": report["versions"]["oracle"],  # (oracle.describe() here would import torch)
        "judge_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "children_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        "torch_modules": sorted(m for m in sys.modules if m.split(".")[0] == "torch"),
        "hypothesis": "hypothesis" in sys.modules,
        "matplotlib": "matplotlib" in sys.modules,
    }
    with open(sys.argv[1], "w") as handle:
        json.dump(facts, handle)
    """
)


def _status(pid: int) -> dict[str, int]:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM", "PPid"):
                    out[key] = int(value.split()[0])
    except (OSError, ValueError):
        return {}
    return out


def _descendants(root: int) -> dict[int, int]:
    """``{pid: depth}`` of ``root`` and every process below it."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            status = _status(int(entry))
            if "PPid" in status:
                parents[int(entry)] = status["PPid"]
    tree, frontier, depth = {root: 0}, [root], 0
    while frontier:
        depth += 1
        frontier = [pid for pid, ppid in parents.items() if ppid in frontier]
        tree.update(dict.fromkeys(frontier, depth))
    return tree


ROLES = {
    0: "judge (refconv check: tolerance, reports, talks to the others)",
    1: "executor (serve.py, started by the judge)",
    2: "executor's child in its pid namespace (imports and runs the target)",
}
#: A process forked by the judge (same command line): with --pipeline, the explorer
#: (hypothesis drawing problems) and, with the torch oracle, the oracle process (torch).
HELPER = "judge's helper, forked (explorer: hypothesis; oracle process: torch)"


def _command(pid: int, depth: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [Path(w.decode(errors="replace")).name for w in raw[:3] if w]
    if depth == 1 and "serve.py" not in words:
        return HELPER
    return ROLES.get(depth, " ".join(words))


def measure_check(choice: str, target: str | None) -> dict[str, Any]:
    """One ``refconv check`` in a fresh judge process; its memory facts."""
    with tempfile.TemporaryDirectory() as folder:
        facts_file = Path(folder) / "facts.json"
        report = Path(folder) / "report.json"
        argv = [sys.executable, "-c", JUDGE, str(facts_file)]
        argv += [*([target] if target else []), "--json", str(report)]
        env = {**os.environ, "REFCONV_ORACLE": choice}
        started = time.perf_counter()
        process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        peaks: dict[int, tuple[int, str]] = {}
        total = [0]

        def sample() -> None:
            while process.poll() is None:
                rss = 0
                for pid, depth in _descendants(process.pid).items():
                    status = _status(pid)
                    if not status:
                        continue
                    rss += status.get("VmRSS", 0)
                    previous = peaks.get(pid, (0, ""))
                    name = previous[1] or _command(pid, depth)
                    peaks[pid] = (max(previous[0], status.get("VmHWM", 0)), name)
                total[0] = max(total[0], rss)
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        output = process.communicate()[0].decode(errors="replace")
        sampler.join()
        seconds = time.perf_counter() - started
        facts = json.loads(facts_file.read_text()) if facts_file.exists() else {}
        document = json.loads(report.read_text()) if report.exists() else {}
    verdicts = {r["function"]: r["status"] for r in document.get("results", [])}
    return {
        "oracle": choice,
        "target": target or "(refconv's seed API)",
        "seconds": seconds,
        "facts": facts,
        "json_oracle": document.get("versions", {}).get("oracle"),
        "verdicts": verdicts,
        "processes": sorted(peaks.values(), reverse=True),
        "tree_peak_kb": total[0],
        "output_tail": output.strip().splitlines()[-2:],
    }


def _imports_rss() -> list[tuple[str, int]]:
    """RSS (kB) of a fresh interpreter after each import stage of the judge."""
    stages = [
        ("python", "pass"),
        ("numpy", "import numpy"),
        ("hypothesis", "import hypothesis"),
        ("refconv.conformance.session", "import refconv.conformance.session"),
        ("refconv.cli", "import refconv.cli"),
        ("torch", "import torch"),
    ]
    out = []
    code = "\n".join(
        f"{statement}\nprint({label!r}, open('/proc/self/status').read().split('VmRSS:')[1]"
        ".split()[0], flush=True)"
        for label, statement in stages
    )
    lines = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    for line in lines.splitlines():
        label, kb = line.rsplit(" ", 1)
        out.append((label.strip("'"), int(kb)))
    return out


def _mb(kb: int) -> str:
    return f"{kb / 1024:7.1f} MB"


def run_memory() -> str:
    import numpy

    lines = [
        f"# peak memory of `refconv check` per oracle ({time.strftime('%Y-%m-%d')})",
        f"machine: {platform.machine()}, {os.cpu_count()} cores (shared), {platform.platform()}",
        f"python {platform.python_version()}, numpy {numpy.__version__}, "
        f"torch {_torch_version()}, hypothesis {_hypothesis_version()}",
        "command: python tests/measure_oracle_memory.py memory",
        "",
    ]
    for target in TARGETS:
        for choice in ("torch", "numpy"):
            row = measure_check(choice, target)
            facts = row["facts"]
            lines.append(f"## REFCONV_ORACLE={choice}  refconv check {row['target']}")
            lines.append(
                f"  exit {facts.get('exit')}, {row['seconds']:.1f} s, oracle (JSON): "
                f"{row['json_oracle']!r}, cli --oracle wired: {facts.get('wired')}"
            )
            lines.append(f"  verdicts: {row['verdicts']}")
            lines.append(
                f"  judge peak RSS (ru_maxrss self):         {_mb(facts.get('judge_kb', 0))}"
            )
            for kb, name in row["processes"]:
                lines.append(f"    VmHWM {_mb(kb)}  {name}")
            peaks = _mb(sum(kb for kb, _ in row["processes"]))
            lines.append(f"  sum of the processes' peaks:             {peaks}")
            tree = _mb(row["tree_peak_kb"])
            lines.append(f"  largest sum of RSS at one instant:       {tree}")
            lines.append(
                f"  (ru_maxrss of the children: {_mb(facts.get('children_kb', 0)).strip()}, "
                "the judge's image at fork time)"
            )
            lines.append(
                f"  torch modules loaded in the judge: {len(facts.get('torch_modules', []))}; "
                f"hypothesis loaded: {facts.get('hypothesis')}, matplotlib loaded: "
                f"{facts.get('matplotlib')}"
            )
            lines.append("")
    lines.append("## RSS of a fresh interpreter after each import (cumulative)")
    for label, kb in _imports_rss():
        lines.append(f"  {label:<30} {_mb(kb)}")
    return "\n".join(lines)


def _torch_version() -> str:
    try:
        from importlib.metadata import version

        return version("torch")
    except Exception:  # noqa: BLE001 - not installed
        return "(not installed)"


def _hypothesis_version() -> str:
    from importlib.metadata import version

    return version("hypothesis")


# --- tolerance margin ------------------------------------------------------------------------


def run_margin(n: int) -> str:
    import numpy as np

    from refconv import oracle, strategies
    from refconv.conformance import ties
    from refconv.conformance.apis import seed as checks
    from refconv.conformance.runner import problem_strategy
    from refconv.conformance.tolerance import dot_bound, working_dtype
    from refconv.conv import conv2d_backward

    def as64(*arrays: Any) -> list[Any]:
        return [np.asarray(a, dtype=np.float64) for a in arrays]

    def outputs(problem: Any, function: str, backend: Any, cast: Any) -> list[Any]:
        if function.startswith("conv"):
            A, W, b, dZ = cast(problem.A_prev, problem.W, problem.b, problem.dZ)
            if function == "conv_forward":
                return [backend.conv_forward(A, W, b, problem.stride, problem.pad)]
            return list(backend.conv_backward(dZ, A, W, b, problem.stride, problem.pad))
        A, dA = cast(problem.A_prev, problem.dA)
        if function == "pool_forward":
            return [backend.pool_forward(A, problem.f, problem.stride, problem.mode)]
        if problem.mode == "max" and A.dtype == np.longdouble:
            # the core's max-pool backward sums in float64 (bincount): route dA to each window's
            # first maximum (torch's rule) and add in extended precision instead
            max_sets = ties.window_max_sets(problem.A_prev, problem.geometry)
            weights = ties.first_maximum(max_sets).astype(A.dtype)
            weights *= dA[:, :, :, None, None, :]
            out = np.zeros(A.shape, dtype=A.dtype)
            for k, index in problem.geometry.offsets():
                out[index] += weights[:, :, :, k // problem.f, k % problem.f, :]
            return [out]
        return [backend.pool_backward(dA, A, problem.f, problem.stride, problem.mode)]

    def bounds(problem: Any, function: str) -> list[Any]:
        """The checker's allowed error per output (as in refconv.conformance.apis.seed)."""
        if function == "conv_forward":
            with oracle.using("numpy"):
                return [checks._conv_expected_forward(problem)[1]]
        if function == "pool_forward":
            with oracle.using("numpy"):
                return [checks._pool_expected_forward(problem)[1]]
        if function == "pool_backward":
            return [checks._pool_backward_bound(problem)]
        A, W, dZ = as64(problem.A_prev, problem.W, problem.dZ)
        geometry = problem.geometry
        dx_mag, dw_mag, db_mag = conv2d_backward(np.abs(dZ), np.abs(A), np.abs(W), geometry)
        dtype = working_dtype(problem.A_prev, problem.W, problem.b, problem.dZ)
        f, c_out = W.shape[0], W.shape[3]
        positions = int(np.prod(problem.out_shape[:3]))
        return [
            dot_bound(dx_mag, f * f * c_out, dtype),
            dot_bound(dw_mag, positions, dtype),
            dot_bound(db_mag.reshape(1, 1, 1, -1), positions, dtype),
        ]

    def ratio(a: Any, b: Any, bound: Any) -> float:
        diff = np.abs(np.asarray(a, dtype=np.longdouble) - np.asarray(b, dtype=np.longdouble))
        bound = np.broadcast_to(np.asarray(bound, dtype=np.longdouble), diff.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(diff == 0, 0.0, diff / bound)
        return float(r.max()) if r.size else 0.0

    lines = [
        f"# tolerance margin of the oracles ({n} problems per function; "
        "python tests/measure_oracle_memory.py margin)",
        "largest |error| / allowed error (the checker's bound; 1.0 = a false failure). "
        "exact = refconv's core in np.longdouble (80-bit on x86-64)",
        "",
    ]
    half = n // 2
    wide = {
        "conv_forward": strategies.conv_problems(),
        "conv_backward": strategies.conv_problems(),
        "pool_forward": strategies.pool_problems(),
        "pool_backward": strategies.pool_problems(),
    }
    for function in ("conv_forward", "conv_backward", "pool_forward", "pool_backward"):
        worst, count, exact_selection = _margin_of(
            function, [problem_strategy(function), wide[function]], half, outputs, bounds, ratio
        )
        text = ", ".join(f"{key} {value:.4f}" for key, value in worst.items())
        lines.append(f"  {function:<14} {count:5d} problems: {text}")
        if exact_selection[1]:
            lines.append(
                f"  {'':<14} max pooling (bound 0, exact): {exact_selection[0]} of "
                f"{exact_selection[1]} identical"
            )
    return "\n".join(lines)


def _margin_of(
    function: str, strategies: list[Any], half: int, outputs: Any, bounds: Any, ratio: Any
) -> tuple[dict[str, float], int, list[int]]:
    """Worst ratios of ``function`` over ``half`` problems of each strategy."""
    import numpy as np
    from hypothesis import HealthCheck, Phase, given, seed, settings

    from refconv import oracle

    torch_oracle, numpy_oracle = oracle.backend("torch"), oracle.backend("numpy")
    worst = {"numpy vs torch": 0.0, "numpy vs exact": 0.0, "torch vs exact": 0.0}
    count = [0]
    exact_selection = [0, 0]  # max-pool forward: (identical, total)

    def as64(*arrays: Any) -> list[Any]:
        return [np.asarray(a, dtype=np.float64) for a in arrays]

    def as80(*arrays: Any) -> list[Any]:
        return [np.asarray(a, dtype=np.longdouble) for a in arrays]

    def measure(problem: Any) -> None:
        if getattr(problem, "mode", "max") not in ("max", "average"):
            return
        count[0] += 1
        t = outputs(problem, function, torch_oracle, as64)
        m = outputs(problem, function, numpy_oracle, as64)
        x = outputs(problem, function, numpy_oracle, as80)
        for t_out, m_out, x_out, bound in zip(t, m, x, bounds(problem, function), strict=True):
            worst["numpy vs torch"] = max(worst["numpy vs torch"], ratio(m_out, t_out, bound))
            worst["numpy vs exact"] = max(worst["numpy vs exact"], ratio(m_out, x_out, bound))
            worst["torch vs exact"] = max(worst["torch vs exact"], ratio(t_out, x_out, bound))
        if function == "pool_forward" and problem.mode == "max":
            exact_selection[0] += bool(np.array_equal(t[0], m[0]))
            exact_selection[1] += 1

    for strategy in strategies:
        seed(0)(
            settings(
                max_examples=half,
                database=None,
                deadline=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )(given(problem=strategy)(measure))
        )()
    return worst, count[0], exact_selection


def main(argv: list[str]) -> int:
    what = argv[0] if argv else "memory"
    if what == "memory":
        print(run_memory())
    elif what == "margin":
        print(run_margin(int(argv[1]) if len(argv) > 1 else 2000))
    else:
        print("usage: measure_oracle_memory.py memory | margin [N]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
