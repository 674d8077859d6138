"""`refconv check --plot DIR`: one valid PNG per function with a value failure, none otherwise."""

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from refconv import cli
from refconv.conformance.checks import ConformanceFailure
from refconv.conformance.plot import MISSING_MATPLOTLIB, plot_failure, plot_results
from refconv.conformance.runner import FunctionResult
from refconv.conformance.tolerance import compare
from refconv.problems import ConvProblem

ZOO = Path(__file__).parent / "zoo"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG, after checking its signature and size on disk."""
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    assert 5_000 < len(data) < 1_000_000, f"{path}: {len(data)} bytes"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def refconv(*args):
    return subprocess.run(
        [sys.executable, "-m", "refconv", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_writes_one_png_per_value_failure(tmp_path):
    plots = tmp_path / "plots"
    done = refconv(
        "check",
        str(ZOO / "seed_notebook.py"),
        "--functions",
        "zero_pad,conv_single_step,pool_backward",
        "--max-examples",
        "10",
        "--database",
        "none",
        "--plot",
        str(plots),
    )
    assert done.returncode == 1, done.stdout + done.stderr
    # zero_pad passes, conv_single_step raises (np.float): only pool_backward has values to draw
    assert sorted(p.name for p in plots.iterdir()) == ["pool_backward.png"]
    assert f"plot: {plots / 'pool_backward.png'}" in done.stdout.splitlines()
    width, height = png_size(plots / "pool_backward.png")
    assert width >= 600 and height >= 200


def test_folder_passes_plot_per_submission(tmp_path):
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    # one submission is enough (each runs in its own process); passing ones are tested above
    source = (ZOO / "bug_distribute_n_plus.py").read_text()
    (submissions / "bug_distribute_n_plus.py").write_text(source)
    plots = tmp_path / "plots"
    done = refconv(
        "check",
        str(submissions),
        "--functions",
        "distribute_value",
        "--max-examples",
        "10",
        "--database",
        "none",
        "--plot",
        str(plots),
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert [p.name for p in plots.iterdir()] == ["bug_distribute_n_plus"]
    png_size(plots / "bug_distribute_n_plus" / "distribute_value.png")


def test_missing_matplotlib_exits_2_before_checking(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    plots = tmp_path / "plots"
    code = cli.main(
        ["check", str(ZOO / "seed_notebook.py"), "--database", "none", "--plot", str(plots)]
    )
    out, err = capsys.readouterr()
    assert code == 2
    assert MISSING_MATPLOTLIB in err
    assert out == "" and not plots.exists()  # no check ran, nothing written


def _conv_backward_failure() -> ConformanceFailure:
    """A multi-output failure: NHWC dA_prev with NaN, kernel dW beyond the channel cap, db."""
    rng = np.random.default_rng(0)
    A, W = rng.normal(size=(2, 3, 3, 1)), rng.normal(size=(2, 2, 1, 6))
    b, dZ = rng.normal(size=(1, 1, 1, 6)), rng.normal(size=(2, 2, 2, 6))
    expected = {"dA_prev": rng.normal(size=A.shape), "dW": rng.normal(size=W.shape)}
    expected["db"] = rng.normal(size=b.shape)
    actual = {name: value.copy() for name, value in expected.items()}
    actual["dA_prev"][1, 2, 0, 0] = np.nan
    actual["dW"][1, 0, 0, 5] += 3.0
    actual["db"][0, 0, 0, 4] += 1.0
    return ConformanceFailure(
        "conv_backward",
        "value",
        "wrong values in dW",
        ConvProblem(A, W, b, 1, 0, dZ),
        mismatch=compare("dW", actual["dW"], expected["dW"]),
        expected=expected,
        actual=actual,
        diagnosis="synthetic",
    )


def test_plot_failure_handles_every_output_layout(tmp_path):
    mask = np.array([[1.0, 0.0], [0.0, 0.0]])
    scalar_e, scalar_a = np.float64(1e-4), np.float64(6.25e-6)
    failures = {
        "conv_backward": _conv_backward_failure(),
        "mask": ConformanceFailure(
            "create_mask_from_window",
            "value",
            "wrong values in mask",
            mismatch=compare("mask", mask.T[::-1], mask),
            expected={"mask": mask.astype(bool)},
            actual={"mask": mask[::-1]},
        ),
        "scalar": ConformanceFailure(
            "conv_single_step",
            "value",
            "wrong values in Z",
            mismatch=compare("Z", scalar_a, scalar_e),
            expected={"Z": scalar_e},
            actual={"Z": scalar_a},
        ),
        # the subgradient probe compares arrays of different names
        "probe": ConformanceFailure(
            "pool_backward",
            "value",
            "not a subgradient",
            expected={"allowed_cells": np.ones((1, 2, 2, 1))},
            actual={"dA_prev (one-hot probe)": np.full((1, 2, 2, 1), np.nan)},
        ),
    }
    for name, failure in failures.items():
        assert plot_failure(failure, tmp_path / f"{name}.png"), name
        png_size(tmp_path / f"{name}.png")
    # dA_prev's channel + dW capped at 4 channel pairs + the db strip: 6 rows, the scalar's 1
    _, tall = png_size(tmp_path / "conv_backward.png")
    _, short = png_size(tmp_path / "scalar.png")
    assert tall > 4 * short


def test_plot_results_skips_passing_and_non_value_failures(tmp_path):
    raised = ConformanceFailure("conv_forward", "exception", "conv_forward() raised ValueError")
    no_arrays = ConformanceFailure("pool_forward", "value", "returned zeros for mode='bogus'")
    results = [
        FunctionResult("zero_pad", "pass"),
        FunctionResult("conv_forward", "fail", failure=raised),
        FunctionResult("pool_forward", "fail", failure=no_arrays),
        FunctionResult("distribute_value", "missing"),
    ]
    assert plot_results(results, tmp_path / "plots") == []
    assert not (tmp_path / "plots").exists()


@pytest.mark.parametrize("kind", ["shape", "type", "timeout", "mutation"])
def test_plot_failure_draws_value_failures_only(tmp_path, kind):
    failure = ConformanceFailure(
        "zero_pad", kind, "x", expected={"X": np.zeros((1, 2, 2, 1))}, actual={"X": np.ones(4)}
    )
    assert not plot_failure(failure, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
