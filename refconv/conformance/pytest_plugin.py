"""pytest plugin: ``pytest --refconv-target=PATH`` checks an implementation inside any test suite.

Registered through the ``pytest11`` entry point, so it is active wherever refconv is installed.
It adds one test item per seed function (``refconv-check::<function>``), run by the same engine
as ``refconv check``; a failure shows the same report (counterexample, diagnosis, reproduction
snippet), and ``--junitxml`` records each function as its own test case. Absent functions are
skipped ("missing").
"""

from __future__ import annotations

from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("refconv", "refconv conformance check of a seed-API implementation")
    group.addoption(
        "--refconv-target",
        default=None,
        metavar="PATH",
        help="a .py/.ipynb file or module name to check against torch",
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
            target.namespace,
            self.function,
            max_examples=config.getoption("refconv_max_examples"),
            seed=config.getoption("refconv_seed"),
            policy=config.getoption("refconv_ties"),
            timeout=config.getoption("refconv_timeout"),
        )
        self.user_properties.append(("examples", result.examples))
        if result.status == "missing":
            pytest.skip(f"{self.function} is not defined by {target.name}")
        if result.status == "error":
            raise RefconvCheckFailed(result.message)
        if result.status == "fail":
            has_forward = self.function.replace("backward", "forward") in target.functions
            raise RefconvCheckFailed(failure_text(result, target.repro_loader(), has_forward))

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, RefconvCheckFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[str, int, str]:
        return self.config._refconv_target.name, 0, f"refconv check: {self.function}"  # type: ignore[attr-defined]


class RefconvCollector(pytest.Collector):
    def collect(self) -> list[pytest.Item]:
        from refconv import SEED_FUNCTIONS

        return [RefconvItem.from_parent(self, name=name, function=name) for name in SEED_FUNCTIONS]


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    spec = config.getoption("refconv_target")
    if not spec:
        return
    from refconv.conformance.target import TargetLoadError, load_target

    try:
        config._refconv_target = load_target(spec)  # type: ignore[attr-defined]
    except TargetLoadError as exc:
        raise pytest.UsageError(f"--refconv-target: cannot load {spec}: {exc}") from None
    collector = RefconvCollector.from_parent(session, name="refconv-check")
    items.extend(collector.collect())
