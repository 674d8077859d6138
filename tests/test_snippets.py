"""Reproduction snippets: run on their own, they show the failure and exit 1, for every kind.

Each test gets a real failure from the engine (``run_function`` on a buggy file), runs the
snippet a report would print, and checks that it exits non-zero and prints the specific
difference, computed here independently of the snippet. The same snippet with a correct
implementation patched into its loader must exit 0 silently: the snippet tests the bug, not
merely the inputs. ``array_source`` rebuilds every memory layout exactly.
"""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import strategies as st

import refconv
from refconv.conformance.apis.seed import _conv_expected_forward
from refconv.conformance.isolation import IsolatedTarget
from refconv.conformance.runner import run_function
from refconv.conformance.snippets import repro_snippet
from refconv.conformance.target import load_target
from refconv.conformance.tolerance import dot_bound
from refconv.problems import ConvProblem, PadProblem, PoolProblem, array_source

ZOO = Path(__file__).parent / "zoo"
CORRECT = "import refconv as impl"


def failure_of(path, function, **options):
    """(target, failure) of ``function`` in the file ``path``, found by the engine."""
    target = load_target(path)
    result = run_function(target.namespace, function, max_examples=20, **options)
    assert result.status == "fail", (function, result.status, result.message)
    return target, result.failure


def run_snippets(*snippets):
    """Run each snippet in its own interpreter, concurrently; their CompletedProcess-likes."""
    started = [
        subprocess.Popen(
            [sys.executable, "-c", snippet],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for snippet in snippets
    ]
    done = []
    for process in started:
        out, err = process.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return done


def reproduce(target, failure, correct=CORRECT):
    """Run the failure's snippet as is, and with ``correct`` as its loader, which must pass
    silently (a timeout's snippet says first that the call may hang); the buggy run."""
    snippet = repro_snippet(failure, target.repro_loader(), True)
    assert target.repro_loader() in snippet
    buggy, fixed = run_snippets(snippet, snippet.replace(target.repro_loader(), correct))
    assert buggy.returncode != 0, buggy.stdout + buggy.stderr
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    if failure.kind == "timeout":
        assert fixed.stdout.endswith("it may hang\n") and fixed.stdout.count("\n") == 1
    else:
        assert fixed.stdout == "", fixed.stdout
    return buggy


def buggy_file(tmp_path, override, base="correct_loops.py"):
    """A correct implementation with some definitions replaced (later ones win)."""
    path = tmp_path / "submission.py"
    path.write_text((ZOO / base).read_text() + "\n\n" + override)
    return path


def number_after(text, prefix):
    match = re.search(re.escape(prefix) + r"\s*(\S+)", text)
    assert match, (prefix, text)
    return float(match.group(1))


# --------------------------------------------------------------------------------------------
# value failures


def test_value_failure_with_tolerance_prints_the_largest_difference_where_and_the_bound():
    values = np.random.default_rng(1)
    problem = ConvProblem(
        values.normal(size=(1, 3, 5, 2)),
        values.normal(size=(2, 2, 2, 1)),
        values.normal(size=(1, 1, 1, 1)),
        2,
        1,
        np.zeros((1, 2, 3, 1)),
    )
    target, failure = failure_of(
        ZOO / "bug_stride_ignored_horizontal.py", "conv_forward", strategy=st.just(problem)
    )
    assert failure.kind == "value"
    p = failure.problem
    Z_bug = target.namespace.conv_forward(p.A_prev, p.W, p.b, p.hparameters)[0]
    Z_ref = refconv.conv_forward(p.A_prev, p.W, p.b, p.hparameters)[0]
    diff = np.abs(Z_bug - Z_ref)
    done = reproduce(target, failure)
    assert np.isclose(number_after(done.stdout, "max |Z - expected| ="), diff.max(), rtol=1e-9)
    where = re.search(r"largest difference at Z\[([\d, ]+)\]", done.stdout)
    assert where, done.stdout
    index = tuple(int(i) for i in where.group(1).split(","))
    assert np.isclose(diff[index], diff.max(), rtol=1e-9)
    assert f"{int((diff > 1e-12).sum())} of {diff.size} entries of Z differ" in done.stdout
    # the expected values are a plain literal (torch's result is a transposed view)
    snippet = repro_snippet(failure, target.repro_loader())
    literal = r"expected_Z = np\.array\(\[[^\n]*\], dtype=np\.float64\)\.reshape\(\([\d, ]+\)\)\n"
    assert re.search(literal, snippet), snippet
    # the snippet's tolerance is the checker's
    bound = _conv_expected_forward(p)[1]
    assert np.array_equal(bound, failure.bounds["Z"])
    assert bound[failure.mismatch.index] == failure.mismatch.bound
    assert f"allowed |error| there {bound[index]:.3g})" in done.stdout


def test_value_failure_compared_exactly():
    target, failure = failure_of(ZOO / "bug_last_max_mask.py", "create_mask_from_window")
    x = failure.problem.x
    first = np.zeros(x.size)
    first[np.argmax(x.reshape(-1))] = 1
    wrong = np.abs(target.namespace.create_mask_from_window(x).reshape(-1) - first)
    done = reproduce(target, failure)
    assert "compared exactly" in done.stdout
    assert f"{int(wrong.sum())} of {x.size} entries of mask differ" in done.stdout
    assert number_after(done.stdout, "max |mask - expected| =") == 1.0


def test_distribute_value_snippet_keeps_the_last_line_a_number():
    target, failure = failure_of(ZOO / "bug_distribute_n_plus.py", "distribute_value")
    p = failure.problem
    expected = p.dz / (p.shape[0] * p.shape[1])
    actual = target.namespace.distribute_value(p.dz, p.shape)
    done = reproduce(target, failure)
    assert np.isclose(float(done.stdout.split("=")[-1]), np.abs(actual - expected).max())
    bound = dot_bound(np.full(p.shape, abs(p.dz) / (p.shape[0] * p.shape[1])), 2, np.float64)
    assert np.array_equal(bound, failure.bounds["a"])
    assert bound[failure.mismatch.index] == failure.mismatch.bound


# --------------------------------------------------------------------------------------------
# shape, type and dtype failures


def test_shape_failure_prints_both_shapes():
    target, failure = failure_of(ZOO / "bug_zero_pad_one_side.py", "zero_pad")
    assert failure.kind == "shape"
    X, pad = failure.problem.X, failure.problem.pad
    m, h, w, c = X.shape
    actual = target.namespace.zero_pad(X, pad).shape
    done = reproduce(target, failure)
    assert f"X_pad has shape {actual}, expected {(m, h + 2 * pad, w + 2 * pad, c)}" in done.stdout


def test_shape_failure_of_a_backward_output():
    target, failure = failure_of(ZOO / "bug_db_flat.py", "conv_backward")
    assert failure.kind == "shape"
    p = failure.problem
    cache = target.namespace.conv_forward(p.A_prev, p.W, p.b, p.hparameters)[1]
    db = target.namespace.conv_backward(p.dZ, cache)[2]
    done = reproduce(target, failure)
    assert f"db has shape {db.shape}, expected {(1, 1, 1, p.W.shape[3])}" in done.stdout


@pytest.mark.parametrize(
    ("body", "described"),
    [
        ("return np.full(shape, dz / (shape[0] * shape[1])).tolist()", "a list of length {n}"),
        ("return np.full(shape, dz / (shape[0] * shape[1]), dtype=complex)", "complex128"),
    ],
)
def test_type_and_dtype_failures_print_what_came_back(tmp_path, body, described):
    path = buggy_file(tmp_path, f"def distribute_value(dz, shape):\n    {body}\n")
    target, failure = failure_of(path, "distribute_value")
    assert failure.kind == "type"
    shape = tuple(failure.problem.shape)
    done = reproduce(target, failure)
    assert f"a must be a real NumPy array of shape {shape}, got" in done.stdout
    assert described.format(n=shape[0]) in done.stdout


def test_a_forward_that_returns_no_pair(tmp_path):
    override = (
        "_conv_forward = conv_forward\n\n\n"
        "def conv_forward(A_prev, W, b, hparameters):\n"
        "    return _conv_forward(A_prev, W, b, hparameters)[0]  # Z alone, no cache\n"
    )
    target, failure = failure_of(buggy_file(tmp_path, override), "conv_forward")
    assert failure.kind == "type"
    p = failure.problem
    shape = refconv.conv_forward(p.A_prev, p.W, p.b, p.hparameters)[0].shape
    done = reproduce(target, failure)
    assert f"must return (Z, cache), got ndarray of dtype float64 and shape {shape}" in done.stdout


# --------------------------------------------------------------------------------------------
# exceptions, mutation, timeouts and crashes


def test_exception_is_printed_with_its_type_and_message():
    target, failure = failure_of(ZOO / "bug_seed_unpad_pad0.py", "conv_backward")
    assert failure.kind == "exception"
    p, impl = failure.problem, target.namespace
    with pytest.raises(Exception) as raised:  # noqa: PT011 - whatever the bug raises
        impl.conv_backward(p.dZ, impl.conv_forward(p.A_prev, p.W, p.b, p.hparameters)[1])
    done = reproduce(target, failure)
    expected = f"conv_backward() raised {type(raised.value).__name__}: {raised.value}"
    assert expected in done.stdout
    assert "Traceback" in done.stderr and "bug_seed_unpad_pad0.py" in done.stderr


def test_mutation_prints_the_changed_entries_before_and_after():
    problem = ConvProblem(  # rescaling A_prev by 1/1.3 and back changes 0.9 and 0.45 by 1 ulp
        np.array([0.03, 0.1, 0.7, -0.3, 0.2, 0.9, -0.6, 0.45, 1.3]).reshape(1, 3, 3, 1),
        np.array([0.5, -0.25, 1.0, 2.0]).reshape(2, 2, 1, 1),
        np.zeros((1, 1, 1, 1)),
        1,
        0,
        np.zeros((1, 2, 2, 1)),
    )
    target, failure = failure_of(
        ZOO / "bug_mutates_input.py", "conv_forward", strategy=st.just(problem)
    )
    assert failure.kind == "mutation"
    p = failure.problem
    A = p.A_prev.copy()
    target.namespace.conv_forward(A, p.W, p.b, p.hparameters)
    changed = np.argwhere(A != p.A_prev)
    assert len(changed)
    done = reproduce(target, failure)
    count = f"{len(changed)} {'entry' if len(changed) == 1 else 'entries'}"
    assert f"conv_forward() modified its input A_prev in place ({count})" in done.stdout
    cell = tuple(int(i) for i in changed[0])
    line = (
        f"A_prev[{', '.join(map(str, cell))}]: {float(p.A_prev[cell])!r} before the call, "
        f"{float(A[cell])!r} after"
    )
    assert line in done.stdout


def test_timeout_snippet_stops_the_hang_and_says_so(tmp_path):
    path = buggy_file(tmp_path, "def zero_pad(X, pad):\n    while True:\n        pass\n")
    target, failure = failure_of(path, "zero_pad", timeout=0.5)
    assert failure.kind == "timeout"
    done = reproduce(target, failure)
    assert "it may hang" in done.stdout
    assert "zero_pad() did not return within 0.5 s" in done.stdout


def test_crash_snippet_runs_the_call_that_ends_the_process(tmp_path):
    exits = "def distribute_value(dz, shape):\n    import os\n    os._exit(3)\n"
    path = buggy_file(tmp_path, exits)
    with IsolatedTarget(str(path)) as target:
        result = run_function(target, "distribute_value", max_examples=5)
        loader = target.repro_loader()
    failure = result.failure
    assert failure.kind == "crash" and "status 3" in failure.message
    snippet = repro_snippet(failure, loader, True)
    buggy, fixed = run_snippets(snippet, snippet.replace(loader, CORRECT))
    assert buggy.returncode == 3
    assert "status 3" in buggy.stdout and "calling distribute_value() again" in buggy.stdout
    assert "returned this time" not in buggy.stdout
    assert fixed.returncode == 0 and "distribute_value() returned this time" in fixed.stdout


def test_an_unknown_mode_that_returns_instead_of_raising():
    problem = PoolProblem(np.ones((1, 2, 2, 1)), 2, 1, "min", np.ones((1, 1, 1, 1)))
    target, failure = failure_of(
        ZOO / "bug_seed_unknown_mode_zeros.py",
        "pool_forward",
        strategy=st.just(problem),
        strict=True,  # outside the seed API's contract: a failure only when strict
    )
    result = target.namespace.pool_forward(problem.A_prev, problem.hparameters, "min")
    done = reproduce(target, failure)
    assert f"returned a {type(result).__name__} of length {len(result)} instead of raising" in (
        done.stdout
    )


# --------------------------------------------------------------------------------------------
# tie policies

DOUBLED_TIES = """
def create_mask_from_window(x):
    mask = x == np.max(x)
    return mask * 2.0 if mask.sum() > 1 else mask  # ties: each maximum gets twice the gradient
"""


def first_tied_window(p):
    """(position, number of maxima) of the first max-pooling window with a tie."""
    for i, h, w, c in np.ndindex(*p.dA.shape):
        top, left = h * p.stride, w * p.stride
        window = p.A_prev[i, top : top + p.f, left : left + p.f, c]
        ties = int((window == window.max()).sum())
        if ties > 1:
            return (i, h, w, c), ties
    raise AssertionError("no tie")


TIED = PoolProblem(
    np.array([0.5, -1.0, 2.0, 0.5, 0.5, 2.0, -3.0, 1.0, 1.5]).reshape(1, 3, 3, 1),
    2,
    1,
    "max",
    np.array([0.25, -0.5, 0.75, 1.25]).reshape(1, 2, 2, 1),
)


@pytest.mark.parametrize("policy", ["subgradient", "all"])
def test_tie_failure_rebuilds_the_one_hot_probe_and_prints_its_mass(tmp_path, policy):
    target, failure = failure_of(
        buggy_file(tmp_path, DOUBLED_TIES), "pool_backward", policy=policy, strategy=st.just(TIED)
    )
    assert "dA_prev (one-hot probe)" in failure.actual
    position, ties = first_tied_window(failure.problem)
    done = reproduce(target, failure)
    assert f"with dA one-hot at {position}, a window with {ties} tied maxima" in done.stdout
    assert f"gradient mass {float(2 * ties)!r}" in done.stdout
    rule = "not a subgradient" if policy == "subgradient" else "neither the notebook's convention"
    assert rule in done.stdout


def test_tie_all_accepts_the_notebook_convention_and_any_subgradient(tmp_path):
    _, failure = failure_of(
        buggy_file(tmp_path, DOUBLED_TIES), "pool_backward", policy="all", strategy=st.just(TIED)
    )
    snippet = repro_snippet(failure, load_target(ZOO / "bug_seed_all_ties_mask.py").repro_loader())
    notebook, last = run_snippets(
        snippet,
        snippet.replace("bug_seed_all_ties_mask.py", "bug_last_max_mask.py"),
    )
    assert notebook.returncode == 0 and notebook.stdout == "", notebook.stdout + notebook.stderr
    assert last.returncode == 0 and last.stdout == "", last.stdout + last.stderr


def test_mask_tie_under_subgradient_prints_the_maxima_and_the_marks():
    target, failure = failure_of(
        ZOO / "bug_seed_all_ties_mask.py", "create_mask_from_window", policy="subgradient"
    )
    x = failure.problem.x
    maxima = [tuple(int(i) for i in cell) for cell in np.argwhere(x == x.max())]
    assert len(maxima) > 1
    done = reproduce(target, failure)
    assert f"maxima of x: {maxima}" in done.stdout
    assert "exactly one True" in done.stdout


# --------------------------------------------------------------------------------------------
# memory layouts: the snippet rebuilds the inputs as the implementation saw them

FORTRAN_BUG = """
def zero_pad(X, pad):  # reads the buffer in memory order: wrong for a Fortran-ordered X
    X = np.frombuffer(X.tobytes(order="A"), dtype=X.dtype).reshape(X.shape)
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
"""
READ_ONLY_BUG = """
def zero_pad(X, pad):  # scales in place and back: raises on a read-only X
    X *= 1.0
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
"""


def test_a_bug_of_fortran_ordered_input_reproduces_from_the_snippet(tmp_path):
    X = np.asfortranarray(np.arange(12.0).reshape(1, 2, 3, 2))
    target, failure = failure_of(
        buggy_file(tmp_path, FORTRAN_BUG), "zero_pad", strategy=st.just(PadProblem(X, 1))
    )
    assert failure.kind == "value" and failure.problem.X.flags.f_contiguous
    snippet = repro_snippet(failure, target.repro_loader())
    assert "np.asfortranarray(" in snippet
    wrong = np.frombuffer(X.tobytes(order="F"), dtype=X.dtype).reshape(X.shape)
    done = reproduce(target, failure)
    assert number_after(done.stdout, "max |X_pad - expected| =") == np.abs(wrong - X).max()
    # the same values in C order do not show the bug: the layout is what reproduces it
    c_order = snippet.replace("\npad = 1\n", "\npad = 1\nX = np.ascontiguousarray(X)\n")
    assert run_snippets(c_order)[0].returncode == 0


def test_a_bug_of_read_only_input_reproduces_from_the_snippet(tmp_path):
    X = np.arange(4.0).reshape(1, 2, 2, 1)
    X.setflags(write=False)
    target, failure = failure_of(
        buggy_file(tmp_path, READ_ONLY_BUG), "zero_pad", strategy=st.just(PadProblem(X, 1))
    )
    assert failure.kind == "exception"
    assert "X.setflags(write=False)" in repro_snippet(failure, target.repro_loader())
    done = reproduce(target, failure)
    assert "zero_pad() raised ValueError: output array is read-only" in done.stdout


rng = np.random.default_rng(5)  # the layouts below only (built at import: same in every worker)
BASE = rng.normal(size=(2, 3, 4, 2))
READ_ONLY = BASE.copy()
READ_ONLY.setflags(write=False)
LAYOUTS = {
    "C": BASE,
    "Fortran": np.asfortranarray(BASE),
    "negative stride": BASE[:, ::-1],
    "all axes flipped": BASE[::-1, ::-1, ::-1, ::-1],
    "strided slice": rng.normal(size=(2, 6, 4, 3))[:, ::2, 1:, :2],
    "transposed": BASE.transpose(0, 2, 1, 3),
    "read-only": READ_ONLY,
    "read-only flipped view": READ_ONLY[:, :, ::-1],
    "Fortran slice": np.asfortranarray(rng.normal(size=(3, 5, 4, 2)))[1:, ::2],
    "Fortran length-1 axes": np.asfortranarray(rng.normal(size=(2, 1, 3, 1))),
    "length-1 slice": rng.normal(size=(2, 4, 3))[:, 1:2, :],
    "broadcast": np.broadcast_to(rng.normal(size=(1, 3, 1, 2)), (2, 3, 4, 2)),
    "float32 Fortran": np.asfortranarray(BASE.astype(np.float32)),
    "int flipped slice": np.arange(24).reshape(2, 3, 4)[:, :, ::-2],
    "bool slice": (BASE > 0)[:, :, ::2],
    "non-finite transposed": np.array([[np.nan, np.inf], [-np.inf, 1.0]]).T,
    "0-d": np.array(3.5),
    "1-d step": np.arange(6.0)[::2],
}


def assert_same_array(rebuilt, array):
    assert rebuilt.dtype == array.dtype and rebuilt.shape == array.shape
    assert rebuilt.strides == array.strides
    assert np.array_equal(rebuilt, array, equal_nan=array.dtype.kind == "f")
    for flag in ("C_CONTIGUOUS", "F_CONTIGUOUS", "WRITEABLE", "ALIGNED"):
        assert rebuilt.flags[flag] == array.flags[flag], flag


@pytest.mark.parametrize("layout", LAYOUTS)
def test_array_source_rebuilds_values_strides_and_flags(layout):
    array = LAYOUTS[layout]
    assert_same_array(eval(array_source(array), {"np": np}), array)  # one expression
    scope = {"np": np}
    exec(array_source(array, "A"), scope)  # an assignment (setflags for read-only)
    assert_same_array(scope["A"], array)


def test_array_source_of_fresh_c_arrays_is_unchanged():
    assert array_source(np.array([[1.0, 2.5]])) == "np.array([[1.0, 2.5]], dtype=np.float64)"
    four = np.arange(4, dtype=np.int64).reshape(1, 2, 2, 1)
    assert array_source(four) == "np.array([0, 1, 2, 3], dtype=np.int64).reshape((1, 2, 2, 1))"
    assert array_source(np.array([-0.5]), "x") == "x = np.array([-0.5], dtype=np.float64)"
    for empty in (np.zeros((2, 0, 3)), np.zeros((2, 0, 6))[:, :, ::2]):  # no memory: no layout
        assert array_source(empty) == "np.array([], dtype=np.float64).reshape((2, 0, 3))"


def test_problem_python_source_keeps_each_array_layout():
    values = np.random.default_rng(2)
    A = np.asfortranarray(values.normal(size=(1, 4, 4, 2)))[:, ::-1]
    dA = values.normal(size=(1, 3, 6, 2))[:, :, ::2]
    dA.setflags(write=False)
    problem = PoolProblem(A, 2, 1, "max", dA)
    scope = {"np": np}
    exec(problem.python_source(), scope)
    assert_same_array(scope["A_prev"], A)
    assert_same_array(scope["dA"], dA)
    assert (scope["f"], scope["stride"], scope["mode"]) == (2, 1, "max")
