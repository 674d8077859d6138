"""refconv works outside its checkout: a built wheel, installed into a fresh venv, checks the seed
notebook's code; the CI gate installs refconv from a spec the user gives, and exits 2 with a
clear message without one.

The venv sees the test environment's site-packages (``--system-site-packages``) for NumPy,
hypothesis and torch, so nothing is downloaded; refconv itself comes from the wheel (asserted:
the editable checkout must not be what runs). The venvs live in pytest's 0700 temporary
folders, nested: the namespaces level must bind the executor's interpreter and refconv back
through every folder its uid may not enter (this test found that it did not).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GATE = ROOT / "ci" / "refconv-gate.sh"
SEED_NOTEBOOK = ROOT / "tests" / "zoo" / "seed_notebook.py"


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """A wheel and an sdist built from this checkout with ``python -m build``."""
    pytest.importorskip("build", reason="the `build` package (test extra) builds the wheel")
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: the build backend installed with the test extra, no download.
    done = run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A fresh venv without refconv, seeing NumPy, hypothesis and torch from this environment."""
    folder = tmp_path_factory.mktemp("venv")
    done = run([sys.executable, "-m", "venv", "--system-site-packages", str(folder)])
    assert done.returncode == 0, done.stderr
    return folder


def wheel_of(dist: Path) -> Path:
    (wheel,) = dist.glob("refconv-*.whl")
    return wheel


def test_the_wheel_and_sdist_hold_the_whole_package(dist):
    names = set(zipfile.ZipFile(wheel_of(dist)).namelist())
    for module in (
        "refconv/py.typed",
        "refconv/_executor/serve.py",
        "refconv/conformance/session.py",
        "refconv/grading/scheme.py",
    ):
        assert module in names
    (sdist,) = dist.glob("refconv-*.tar.gz")
    assert sdist.stat().st_size > 0


def test_the_installed_wheel_checks_the_seed_notebook_outside_the_checkout(dist, venv, tmp_path):
    python = venv / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--ignore-installed"]
    # --ignore-installed: the test environment's editable refconv must not count as installed.
    done = run([*install, str(wheel_of(dist))], env={**os.environ, "PYTHONPATH": ""})
    assert done.returncode == 0, done.stderr
    # Run from a folder outside the checkout, with a PATH that does not hold the editable refconv.
    env = {**os.environ, "PATH": f"{venv / 'bin'}:/usr/bin:/bin", "PYTHONPATH": ""}
    where = run(
        [str(python), "-c", "import refconv; print(refconv.__file__)"], cwd=tmp_path, env=env
    )
    assert where.stdout.strip().startswith(str(venv)), where.stdout + where.stderr
    report = tmp_path / "report.json"
    functions = "zero_pad,pool_backward"
    done = run(
        [str(venv / "bin" / "refconv"), "check", str(SEED_NOTEBOOK), "--functions", functions]
        + ["--max-examples", "10", "--json", str(report)],
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    statuses = {r["function"]: r["status"] for r in json.loads(report.read_text())["results"]}
    # The notebook's zero_pad is right; its pool_backward is the notebook's buggy one.
    assert statuses == {"zero_pad": "pass", "pool_backward": "fail"}


def gate(args: list[str], venv: Path, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    # PATH: the fresh venv (python, pip; no refconv until the gate installs it) and the system.
    path = f"{venv / 'bin'}:/usr/bin:/bin"
    return run(
        ["bash", str(GATE), *args],
        cwd=cwd,
        env={**os.environ, "PATH": path, "PYTHONPATH": "", **env},
        timeout=900,
    )


def test_the_gate_without_a_target_exits_2_and_says_why(venv, tmp_path):
    done = gate([], venv, tmp_path)
    assert done.returncode == 2
    assert "no TARGET given" in done.stderr and "usage:" in done.stderr


def test_the_gate_without_refconv_or_a_spec_exits_2_and_says_what_to_set(tmp_path):
    bare = tmp_path / "bare"
    run([sys.executable, "-m", "venv", "--system-site-packages", str(bare)])
    done = gate([str(SEED_NOTEBOOK)], bare, tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "REFCONV_SPEC is not set" in done.stderr
    assert not (tmp_path / "refconv-report.json").exists()


def test_the_gate_installs_refconv_from_a_wheel_spec_and_gates(dist, tmp_path):
    fresh = tmp_path / "fresh"
    run([sys.executable, "-m", "venv", "--system-site-packages", str(fresh)])
    done = gate(
        [str(SEED_NOTEBOOK), "--functions", "zero_pad,pool_backward"],
        fresh,
        tmp_path,
        REFCONV_SPEC=str(wheel_of(dist)),
        REFCONV_EXAMPLES="10",
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert (fresh / "bin" / "refconv").exists()
    report = json.loads((tmp_path / "refconv-report.json").read_text())
    assert [r["status"] for r in report["results"]] == ["pass", "fail"]


def test_the_gate_reports_a_spec_that_does_not_install(tmp_path):
    bare = tmp_path / "bare"
    run([sys.executable, "-m", "venv", "--system-site-packages", str(bare)])
    done = gate([str(SEED_NOTEBOOK)], bare, tmp_path, REFCONV_SPEC=str(tmp_path / "nothing-here"))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "installing refconv from REFCONV_SPEC" in done.stderr
