"""The two oracles of :mod:`refconv.oracle`: torch (the reference) and refconv's NumPy core.

- they agree within the tolerance model, as the checker applies it: each oracle, wrapped as a
  seed-API implementation, passes the checks judged by the other one;
- selection: :func:`~refconv.oracle.select`, ``REFCONV_ORACLE`` at the first use, export to
  child processes, inheritance by forked workers, errors naming the bad value;
- with the numpy oracle a check imports no torch (a subprocess where torch is unimportable);
- both oracles give the same verdicts on the whole bug zoo (tests/zoo/manifest.py, which
  tests/test_zoo.py asserts with torch).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import refconv
from refconv import oracle, strategies
from refconv.conformance import diagnose as texts
from refconv.conformance.checks import check
from refconv.conformance.runner import problem_strategy, run_all
from refconv.conformance.target import load_target
from tests.test_zoo import ADVICE

ROOT = Path(__file__).resolve().parent.parent
ZOO_DIR = ROOT / "tests" / "zoo"
sys.path.insert(0, str(ZOO_DIR))
from manifest import ZOO  # noqa: E402

sys.path.remove(str(ZOO_DIR))

ORACLE_FUNCTIONS = ("conv_forward", "conv_backward", "pool_forward", "pool_backward")

#: Settings of the zoo runs: the verdicts match the manifest at 30 examples already; shrinking
#: (cut at once) and the diagnosis do not change a verdict, only how a failure is reported.
ZOO_SETTINGS = {"max_examples": 30, "seed": 0, "timeout": 2.0, "shrink_seconds": 0.0}

#: Makes torch unimportable in a child interpreter (any ``torch`` or ``torch.*`` import raises).
BLOCK_TORCH = textwrap.dedent(
    """
    import importlib.abc, sys

    class NoTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "torch":
                raise ImportError("torch is blocked in this test")
            return None

    sys.meta_path.insert(0, NoTorch())

    def torch_modules():
        return sorted(m for m in sys.modules if m.split(".")[0] == "torch")
    """
)


@pytest.fixture(autouse=True)
def _restore_selection(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Each test starts with nothing selected and ``REFCONV_ORACLE`` unset; both are restored."""
    previous = oracle._selected
    monkeypatch.delenv(oracle.ENVIRONMENT_VARIABLE, raising=False)
    monkeypatch.setattr(oracle, "_selected", None)
    yield
    oracle._selected = previous


def _python(code: str, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    """Run ``code`` in a fresh interpreter (repository root as cwd); its stdout."""
    environment = {**os.environ, **(env or {})}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def expected_verdicts(stem: str, present: list[str]) -> dict[str, str]:
    """The manifest's verdict per function at the default (lenient) settings."""
    wrong = set(ZOO[stem]["functions"])
    return {f: "fail" if f in wrong and (stem, f) not in ADVICE else "pass" for f in present}


# --- the two backends agree within the tolerance model ----------------------------------------


def seed_api(backend: oracle.Oracle) -> SimpleNamespace:
    """An oracle backend as an implementation of the four seed functions it computes."""

    def floats(*arrays: Any) -> list[np.ndarray]:
        return [np.asarray(a, dtype=np.float64) for a in arrays]

    def conv_forward(A_prev: Any, W: Any, b: Any, hparameters: dict) -> tuple:
        Z = backend.conv_forward(*floats(A_prev, W, b), hparameters["stride"], hparameters["pad"])
        return Z, (A_prev, W, b, hparameters)

    def conv_backward(dZ: Any, cache: tuple) -> tuple:
        A_prev, W, b, hparameters = cache
        return backend.conv_backward(
            *floats(dZ, A_prev, W, b), hparameters["stride"], hparameters["pad"]
        )

    def pool_forward(A_prev: Any, hparameters: dict, mode: str) -> tuple:
        A = backend.pool_forward(*floats(A_prev), hparameters["f"], hparameters["stride"], mode)
        return A, (A_prev, hparameters)

    def pool_backward(dA: Any, cache: tuple, mode: str) -> np.ndarray:
        A_prev, hparameters = cache
        return backend.pool_backward(
            *floats(dA, A_prev), hparameters["f"], hparameters["stride"], mode
        )

    return SimpleNamespace(
        conv_forward=conv_forward,
        conv_backward=conv_backward,
        pool_forward=pool_forward,
        pool_backward=pool_backward,
    )


def _problems(function: str) -> st.SearchStrategy[Any]:
    """The checker's own problems, and refconv.strategies' larger ones (NaN included)."""
    if function.startswith("conv"):
        wide = strategies.conv_problems(allow_nan=True)
    else:
        wide = strategies.pool_problems(allow_nan=True)
    return st.one_of(problem_strategy(function), wide)


@pytest.mark.parametrize("function", ORACLE_FUNCTIONS)
@pytest.mark.parametrize(("judge", "judged"), [("numpy", "torch"), ("torch", "numpy")])
def test_each_oracle_passes_the_checks_judged_by_the_other(function, judge, judged):
    impl = seed_api(oracle.backend(judged))

    @settings(
        max_examples=60,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(problem=_problems(function))
    def agree(problem: Any) -> None:
        with oracle.using(judge):
            assert check(function, impl, problem) == []

    agree()


@pytest.mark.parametrize("stride", [1, 2, (2, 1), (1, 3)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_backends_return_the_same_shapes_and_dtypes(stride, dtype):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(2, 7, 6, 3)).astype(dtype)
    W = rng.normal(size=(3, 3, 3, 2)).astype(dtype)
    b = rng.normal(size=(1, 1, 1, 2)).astype(dtype)
    torch_oracle, numpy_oracle = oracle.backend("torch"), oracle.backend("numpy")
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for pad in (0, 2):
        Z = torch_oracle.conv_forward(A, W, b, stride, pad)
        dZ = rng.normal(size=Z.shape).astype(dtype)
        outs = [
            (Z, numpy_oracle.conv_forward(A, W, b, stride, pad)),
            *zip(
                torch_oracle.conv_backward(dZ, A, W, b, stride, pad),
                numpy_oracle.conv_backward(dZ, A, W, b, stride, pad),
                strict=True,
            ),
        ]
        for mode in ("max", "average"):
            P = torch_oracle.pool_forward(A, 3, stride, mode)
            dA = rng.normal(size=P.shape).astype(dtype)
            outs.append((P, numpy_oracle.pool_forward(A, 3, stride, mode)))
            outs.append(
                (
                    torch_oracle.pool_backward(dA, A, 3, stride, mode),
                    numpy_oracle.pool_backward(dA, A, 3, stride, mode),
                )
            )
        for expected, actual in outs:
            assert actual.shape == expected.shape
            assert actual.dtype == expected.dtype == dtype
            np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)


def test_unknown_pool_mode_is_a_value_error_in_both():
    A = np.zeros((1, 2, 2, 1))
    for which in oracle.ORACLES:
        with pytest.raises(ValueError, match="'median'"):
            oracle.backend(which).pool_forward(A, 2, 2, "median")
        with pytest.raises(ValueError, match="'median'"):
            oracle.backend(which).pool_backward(np.zeros((1, 1, 1, 1)), A, 2, 2, "median")


# --- selection -------------------------------------------------------------------------------


def test_select_and_describe():
    import torch

    assert oracle.select("numpy") == "numpy"
    assert oracle.name() == "numpy"
    assert oracle.describe() == (
        f"numpy (refconv {refconv.__version__} core, NumPy {np.__version__})"
    )
    assert oracle.select("torch") == "torch"
    assert oracle.name() == "torch"
    assert oracle.describe() == f"torch {torch.__version__}"
    assert oracle.select("auto") == "torch"  # torch is importable here


def test_module_functions_follow_the_selection(monkeypatch):
    calls = []
    numpy_oracle = oracle.backend("numpy")
    monkeypatch.setattr(
        numpy_oracle, "pool_forward", lambda *args: calls.append(args) or np.zeros(1)
    )
    oracle.select("torch")
    A = np.arange(4.0).reshape(1, 2, 2, 1)
    assert oracle.pool_forward(A, 2, 2, "max").reshape(-1).tolist() == [3.0]
    assert calls == []
    oracle.select("numpy")
    oracle.pool_forward(A, 2, 2, "max")
    assert len(calls) == 1


@pytest.mark.parametrize("bad", ["Torch", "jax", "", " numpy", 3])
def test_a_bad_name_is_a_value_error_naming_it(bad):
    with pytest.raises(ValueError, match="'torch', 'numpy', 'auto'") as info:
        oracle.select(bad)
    assert repr(bad) in str(info.value)
    assert oracle._selected is None  # nothing was selected


def test_backend_names_are_checked():
    with pytest.raises(ValueError, match="'auto'"):
        oracle.backend("auto")
    assert oracle.backend("numpy").name == "numpy"


def test_the_environment_decides_at_the_first_use(monkeypatch):
    monkeypatch.setenv(oracle.ENVIRONMENT_VARIABLE, "numpy")
    assert oracle.name() == "numpy"  # first use: reads REFCONV_ORACLE
    monkeypatch.setenv(oracle.ENVIRONMENT_VARIABLE, "torch")
    assert oracle.name() == "numpy"  # read once: a later change is not seen...
    assert oracle.select(None) == "torch"  # ...unless asked again


def test_an_empty_environment_variable_means_auto(monkeypatch):
    monkeypatch.setenv(oracle.ENVIRONMENT_VARIABLE, "")
    assert oracle.name() == "torch"


def test_a_bad_environment_variable_is_a_value_error_naming_it(monkeypatch):
    monkeypatch.setenv(oracle.ENVIRONMENT_VARIABLE, "pytorch")
    with pytest.raises(ValueError, match="REFCONV_ORACLE='pytorch'"):
        oracle.name()
    with pytest.raises(ValueError, match="'pytorch'"):
        oracle.conv_forward(np.zeros((1, 1, 1, 1)), np.zeros((1, 1, 1, 1)), np.zeros(1), 1, 0)


def test_export_reaches_child_processes():
    assert oracle.select("numpy", export=True) == "numpy"
    assert os.environ[oracle.ENVIRONMENT_VARIABLE] == "numpy"
    code = "from refconv import oracle; print(oracle.name(), '|', oracle.describe())"
    assert _python(code).split(" | ")[0] == "numpy"


def test_auto_is_exported_as_the_backend_it_chose():
    assert oracle.select("auto", export=True) == "torch"
    assert os.environ[oracle.ENVIRONMENT_VARIABLE] == "torch"


def test_using_restores_the_previous_selection():
    oracle.select("torch")
    with oracle.using("numpy") as chosen:
        assert chosen is oracle.backend("numpy")
        assert oracle.name() == "numpy"
    assert oracle.name() == "torch"
    with pytest.raises(ValueError), oracle.using("tensorflow"):
        pass  # pragma: no cover
    assert oracle.name() == "torch"


def test_forked_workers_inherit_the_selection():
    # the implementation answers correctly only when the worker judges with numpy
    def zero_pad(X, pad):
        assert oracle.name() == "numpy", "worker judges with torch"
        return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))

    def distribute_value(dz, shape):
        assert oracle.name() == "numpy", "worker judges with torch"
        return np.full(shape, dz / (shape[0] * shape[1]))

    impl = SimpleNamespace(zero_pad=zero_pad, distribute_value=distribute_value)
    oracle.select("numpy")  # not exported: forked workers inherit the module state
    results = run_all(impl, ["zero_pad", "distribute_value"], workers=2, max_examples=5)
    assert [(r.function, r.status) for r in results] == [
        ("zero_pad", "pass"),
        ("distribute_value", "pass"),
    ], [r.failure for r in results]


# --- no torch on the numpy path --------------------------------------------------------------


def test_a_check_with_the_numpy_oracle_imports_no_torch():
    stems = ["bug_flipped_kernel", "bug_avg_uses_max", "correct_vectorised"]
    code = BLOCK_TORCH + textwrap.dedent(
        f"""
        import json
        from refconv import oracle
        assert oracle.select("auto") == "numpy"  # torch is not importable
        try:
            oracle.select("torch")
        except ImportError as exc:
            assert "numpy oracle" in str(exc), exc
        else:
            raise AssertionError("select('torch') without torch")
        oracle.select("numpy")
        from refconv.conformance.isolation import IsolatedTarget
        from refconv.conformance.runner import run_all
        out = {{}}
        for stem in {stems!r}:
            with IsolatedTarget(f"tests/zoo/{{stem}}.py") as target:
                results = run_all(
                    target, max_examples=20, seed=0, timeout=5.0, shrink_seconds=0.0
                )
            out[stem] = {{
                r.function: [r.status, r.failure.diagnosis if r.failure else None]
                for r in results
            }}
        print(json.dumps({{"results": out, "torch": torch_modules(),
                           "oracle": oracle.describe()}}))
        """
    )
    facts = json.loads(_python(code).splitlines()[-1])
    assert facts["torch"] == []
    assert facts["oracle"].startswith("numpy (refconv")
    for stem, results in facts["results"].items():
        statuses = {f: status for f, (status, _) in results.items()}
        assert statuses == expected_verdicts(stem, list(results)), stem
    diagnoses = facts["results"]
    assert diagnoses["bug_flipped_kernel"]["conv_forward"][1] == texts.FLIPPED_KERNEL
    assert diagnoses["bug_flipped_kernel"]["conv_backward"][1] == texts.FLIPPED_KERNEL
    assert diagnoses["bug_avg_uses_max"]["pool_forward"][1] == texts.MODE_COMPUTES_OTHER.format(
        mode="average", other="max"
    )


def _cli_has_oracle_option() -> bool:
    from refconv import cli

    commands = next(
        a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    )
    return any("--oracle" in a.option_strings for a in commands.choices["check"]._actions)


@pytest.mark.skipif(not _cli_has_oracle_option(), reason="refconv check has no --oracle yet")
def test_refconv_check_with_the_numpy_oracle_imports_no_torch(tmp_path):
    report = tmp_path / "report.json"
    argv = [
        "check",
        "--oracle",
        "numpy",
        "tests/zoo/bug_flipped_kernel.py",
        "--max-examples",
        "20",
        "--json",
        str(report),
    ]
    code = BLOCK_TORCH + textwrap.dedent(
        f"""
        from refconv.cli import main
        code = main({argv!r})
        assert torch_modules() == [], torch_modules()
        print("exit", code)
        """
    )
    assert _python(code).splitlines()[-1] == "exit 1"
    document = json.loads(report.read_text())
    assert document["versions"]["oracle"].startswith("numpy (refconv")
    verdicts = {r["function"]: r["status"] for r in document["results"]}
    assert verdicts == expected_verdicts("bug_flipped_kernel", list(verdicts))


# --- the whole zoo: the same verdicts as torch's (the manifest) ------------------------------


@pytest.mark.parametrize("stem", sorted(ZOO))
def test_the_numpy_oracle_gives_the_manifests_verdicts(stem):
    impl = load_target(ZOO_DIR / f"{stem}.py").namespace
    with oracle.using("numpy"):
        results = run_all(impl, **ZOO_SETTINGS)
    verdicts = {r.function: r.status for r in results if r.status != "missing"}
    assert verdicts == expected_verdicts(stem, list(verdicts))


@pytest.mark.parametrize("stem", ["seed_notebook", "bug_last_max_mask"])
def test_both_oracles_report_the_same_run(stem):
    """Same seed and settings: every example gets the same verdict from both oracles, so the
    whole run (examples, counterexamples, diagnoses) is the same."""
    impl = load_target(ZOO_DIR / f"{stem}.py").namespace

    def run(which: str) -> list[tuple]:
        with oracle.using(which):
            results = run_all(impl, **ZOO_SETTINGS)
        return [
            (
                r.function,
                r.status,
                r.examples,
                r.failure.message if r.failure else None,
                r.failure.diagnosis if r.failure else None,
            )
            for r in results
        ]

    assert run("numpy") == run("torch")
