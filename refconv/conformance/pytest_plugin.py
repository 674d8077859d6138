"""pytest plugin: ``pytest --refconv-target=PATH`` checks an implementation inside any test suite.

Registered through the ``pytest11`` entry point, so it is active wherever refconv is installed.
It adds one test item per seed function (``refconv-check::<function>``), run by the same engine
as ``refconv check``; a failure shows the same report (counterexample, diagnosis, reproduction
snippet), and ``--junitxml`` records each function as its own test case. Absent functions are
skipped ("missing").

It also measures any hypothesis test suite: ``pytest --refconv-speed=FILE`` records, for every
hypothesis test, its examples per phase and their time (JSON lines in FILE, one per test, also
from pytest-xdist workers) and prints a table of examples per second at the end of the run.
"""

from __future__ import annotations

from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("refconv", "refconv conformance check of an implementation")
    group.addoption(
        "--refconv-target",
        default=None,
        metavar="PATH",
        help="a .py/.ipynb file or module name to check against the oracle",
    )
    group.addoption(
        "--refconv-api",
        default=None,
        choices=("seed", "cs231n", "functional"),
        help="the API the target implements (default: detected from the names it defines)",
    )
    group.addoption(
        "--refconv-ties",
        default="torch",
        choices=("torch", "subgradient", "all"),
        help="tie policy for max pooling (default: torch)",
    )
    group.addoption(
        "--refconv-max-examples",
        type=int,
        default=100,
        metavar="N",
        help="generated examples per function (default: 100)",
    )
    group.addoption(
        "--refconv-seed",
        type=int,
        default=0,
        metavar="S",
        help="random seed of the exploration (default: 0)",
    )
    group.addoption(
        "--refconv-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="per-call time limit for the checked code (default: 10)",
    )
    group.addoption(
        "--refconv-oracle",
        default=None,
        choices=("torch", "numpy", "auto"),
        help="what computes the expected values (default: $REFCONV_ORACLE, else auto: torch "
        "if importable, else refconv's own core)",
    )
    group.addoption(
        "--refconv-strict",
        action="store_true",
        help="fail behaviour outside the API's contract instead of reporting advice",
    )
    group.addoption(
        "--refconv-speed",
        default=None,
        metavar="FILE",
        help="record examples and time of every hypothesis test (JSON lines) and print a table "
        "of examples per second",
    )


# --- speed of hypothesis tests ------------------------------------------------------------------


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    path = item.config.getoption("refconv_speed", default=None)
    if not path:
        yield
        return
    import json
    import time

    from refconv.conformance.runner import collect_statistics, phase_counts

    started = time.perf_counter()
    with collect_statistics() as engine:
        yield
    if not engine:
        return  # not a hypothesis test
    phases = phase_counts(engine)
    line = {
        "test": item.nodeid,
        "examples": sum(p["valid"] for p in phases.values()),
        "seconds": round(time.perf_counter() - started, 4),
        "phases": phases,
    }
    with open(path, "a", encoding="utf-8") as out:  # one short append per test: xdist-safe
        out.write(json.dumps(line) + "\n")


def speed_table(path: str) -> str:
    """Examples per second of every recorded test, slowest first, and the totals."""
    import json

    with open(path, encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    if not rows:
        return "refconv speed: no hypothesis test ran"
    rows.sort(key=lambda r: r["examples"] / max(r["seconds"], 1e-9))
    width = min(90, max(len(r["test"]) for r in rows))
    lines = [f"{'hypothesis test':<{width}} {'examples':>8} {'seconds':>8} {'ex/s':>8}"]
    for r in rows:
        rate = r["examples"] / max(r["seconds"], 1e-9)
        name = r["test"] if len(r["test"]) <= width else "..." + r["test"][-(width - 3) :]
        lines.append(f"{name:<{width}} {r['examples']:>8} {r['seconds']:>8.2f} {rate:>8.1f}")
    examples = sum(r["examples"] for r in rows)
    seconds = sum(r["seconds"] for r in rows)
    lines.append(
        f"{len(rows)} hypothesis tests: {examples} examples in {seconds:.1f} s of test time "
        f"({examples / max(seconds, 1e-9):.1f} examples/s)"
    )
    return "\n".join(lines)


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("refconv_speed", default=None)
    # Start a fresh file once per run (the controller, not each xdist worker).
    if path and not hasattr(config, "workerinput"):
        open(path, "w", encoding="utf-8").close()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    path = config.getoption("refconv_speed", default=None)
    if path and not hasattr(config, "workerinput"):
        terminalreporter.write_sep("-", "refconv speed: examples per second per hypothesis test")
        terminalreporter.write_line(speed_table(path))


class RefconvCheckFailed(Exception):
    """Raised by a check item; its text is the refconv report of the failure."""


class RefconvItem(pytest.Item):
    def __init__(self, *, function: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.function = function

    def runtest(self) -> None:
        from refconv.conformance.report import failure_text
        from refconv.conformance.runner import run_function

        config = self.config
        target = config._refconv_target  # type: ignore[attr-defined]
        result = run_function(
            target,
            self.function,
            max_examples=config.getoption("refconv_max_examples"),
            seed=config.getoption("refconv_seed"),
            policy=config.getoption("refconv_ties"),
            timeout=config.getoption("refconv_timeout"),
            target_key=target.digest,
            strict=config.getoption("refconv_strict"),
        )
        for advice in result.advice:
            self.user_properties.append(("advice", advice))
        self.user_properties.append(("examples", result.examples))
        if result.status == "missing":
            pytest.skip(f"{self.function} is not defined by {target.name}")
        if result.status == "error":
            raise RefconvCheckFailed(result.message)
        if result.status == "fail":
            from refconv.conformance.apis import api_of

            has_forward = api_of(self.function).has_forward(target.functions)
            loader = target.repro_loader()
            text = failure_text(result, loader, has_forward.get(self.function, True))
            raise RefconvCheckFailed(text)

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, RefconvCheckFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[str, int, str]:
        return self.config._refconv_target.name, 0, f"refconv check: {self.function}"  # type: ignore[attr-defined]


class RefconvCollector(pytest.Collector):
    def collect(self) -> list[pytest.Item]:
        from refconv.conformance import apis

        chosen = self.config.getoption("refconv_api")
        target = self.config._refconv_target  # type: ignore[attr-defined]
        api = apis.get(chosen) if chosen else apis.detect(target.functions)
        return [RefconvItem.from_parent(self, name=n, function=n) for n in api.functions]


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    spec = config.getoption("refconv_target")
    if not spec:
        return
    from refconv import oracle
    from refconv.conformance.isolation import IsolatedTarget
    from refconv.conformance.target import TargetLoadError

    try:
        oracle.select(config.getoption("refconv_oracle"), export=True)
    except (ImportError, ValueError) as exc:
        raise pytest.UsageError(f"--refconv-oracle: {exc}") from None
    try:
        # The target runs in the executor, never in pytest's process.
        config._refconv_target = IsolatedTarget(spec)  # type: ignore[attr-defined]
    except TargetLoadError as exc:
        raise pytest.UsageError(f"--refconv-target: cannot load {spec}: {exc}") from None
    collector = RefconvCollector.from_parent(session, name="refconv-check")
    items.extend(collector.collect())
