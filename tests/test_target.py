"""Loading targets for `refconv check`: files, notebooks, module names and the default."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import refconv
from refconv.conformance.target import SEED_FUNCTIONS, Target, TargetLoadError, load_target

ALL = list(SEED_FUNCTIONS)

# Minimal implementations that delegate to refconv: what matters here is what gets defined.
DELEGATES = {
    "zero_pad": "def zero_pad(X, pad):\n    return refconv.zero_pad(X, pad)\n",
    "conv_single_step": (
        "def conv_single_step(a_slice_prev, W, b):\n"
        "    return refconv.conv_single_step(a_slice_prev, W, b)\n"
    ),
    "conv_forward": (
        "def conv_forward(A_prev, W, b, hparameters):\n"
        "    return refconv.conv_forward(A_prev, W, b, hparameters)\n"
    ),
    "conv_backward": (
        "def conv_backward(dZ, cache):\n    return refconv.conv_backward(dZ, cache)\n"
    ),
    "pool_forward": (
        "def pool_forward(A_prev, hparameters, mode='max'):\n"
        "    return refconv.pool_forward(A_prev, hparameters, mode)\n"
    ),
    "create_mask_from_window": (
        "def create_mask_from_window(x):\n    return refconv.create_mask_from_window(x)\n"
    ),
    "distribute_value": (
        "def distribute_value(dz, shape):\n    return refconv.distribute_value(dz, shape)\n"
    ),
    "pool_backward": (
        "def pool_backward(dA, cache, mode='max'):\n"
        "    return refconv.pool_backward(dA, cache, mode)\n"
    ),
}


def solution_source(names=ALL) -> str:
    return "import numpy as np\nimport refconv\n\n\n" + "\n\n".join(DELEGATES[n] for n in names)


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def reproduce(target: Target) -> object:
    """Run the target's repro loader as a reproduction snippet would, and return ``impl``."""
    scope: dict[str, object] = {}
    exec(target.repro_loader(), scope)
    return scope["impl"]


def assert_repro_matches(target: Target) -> None:
    impl = reproduce(target)
    assert [n for n in SEED_FUNCTIONS if callable(getattr(impl, n, None))] == target.functions


@pytest.fixture(autouse=True)
def _global_state_is_restored():
    """Loading user code leaves sys.path, argv, MPLBACKEND and numpy's state as they were."""
    path, argv = list(sys.path), list(sys.argv)
    backend = os.environ.get("MPLBACKEND")
    err = np.geterr()
    rng = np.random.get_state()[1].copy()
    yield
    assert sys.path == path
    assert sys.argv == argv
    assert os.environ.get("MPLBACKEND") == backend
    assert np.geterr() == err
    assert np.array_equal(np.random.get_state()[1], rng)


# --------------------------------------------------------------------------------------------
# the default and module names


def test_default_is_refconv_itself():
    target = load_target(None)
    assert target.kind == "default"
    assert target.name == "refconv"
    assert target.namespace is refconv
    assert target.path is None
    assert target.notes == []
    assert target.functions == ALL
    assert target.repro_loader() == "import refconv as impl"
    assert reproduce(target) is refconv


def test_module_name():
    target = load_target("refconv.stepwise")
    assert target.kind == "module"
    assert target.name == "refconv.stepwise"
    assert target.functions == ALL
    assert target.notes == []
    import refconv.stepwise

    assert target.namespace is refconv.stepwise
    assert reproduce(target) is refconv.stepwise


def test_module_in_working_directory(tmp_path, monkeypatch):
    write(tmp_path / "my_conv_solution_xyz.py", solution_source(["zero_pad", "conv_forward"]))
    monkeypatch.chdir(tmp_path)
    try:
        target = load_target("my_conv_solution_xyz")
        assert target.kind == "module"
        assert target.functions == ["zero_pad", "conv_forward"]
    finally:
        sys.modules.pop("my_conv_solution_xyz", None)


def test_missing_module_name():
    with pytest.raises(TargetLoadError, match="no such file, and no importable module"):
        load_target("no_such_module_refconv_xyz")
    with pytest.raises(TargetLoadError, match="no importable module"):
        load_target("refconv.no_such_submodule")


def test_module_whose_import_fails_shows_the_users_traceback(tmp_path, monkeypatch):
    write(
        tmp_path / "broken_mod_refconv_xyz.py",
        """\
        import numpy as np

        def helper():
            raise ValueError("bad configuration")

        helper()
    """,
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TargetLoadError) as info:
        load_target("broken_mod_refconv_xyz")
    message = str(info.value)
    assert "ValueError: bad configuration" in message
    assert "broken_mod_refconv_xyz.py" in message
    assert "importlib" not in message and "target.py" not in message
    sys.modules.pop("broken_mod_refconv_xyz", None)


# --------------------------------------------------------------------------------------------
# paths that cannot be loaded


def test_missing_file(tmp_path):
    with pytest.raises(TargetLoadError, match="no such file"):
        load_target(tmp_path / "nope.py")
    with pytest.raises(TargetLoadError, match="no such file"):
        load_target(str(tmp_path / "nope.ipynb"))
    with pytest.raises(TargetLoadError, match="no such file"):
        load_target(str(tmp_path / "sub" / "solution"))


def test_folder_is_left_to_the_cli(tmp_path):
    with pytest.raises(TargetLoadError, match="is a folder: batch grading is handled by the CLI"):
        load_target(tmp_path)


def test_unknown_suffix_names_the_supported_kinds(tmp_path):
    path = write(tmp_path / "solution.txt", "def zero_pad(X, pad): pass\n")
    with pytest.raises(TargetLoadError, match=r"\.py file, a \.ipynb notebook"):
        load_target(path)


def test_py_with_syntax_error(tmp_path):
    path = write(
        tmp_path / "broken.py",
        """\
        import numpy as np

        def zero_pad(X, pad)
            return np.pad(X, pad)
    """,
    )
    with pytest.raises(TargetLoadError) as info:
        load_target(path)
    message = str(info.value)
    assert "not valid Python" in message
    assert "SyntaxError" in message and "line 3" in message
    assert "broken.py" in message


def test_invalid_notebook_json(tmp_path):
    path = write(tmp_path / "nb.ipynb", "{ not json")
    with pytest.raises(TargetLoadError, match="not a readable notebook"):
        load_target(path)


# --------------------------------------------------------------------------------------------
# .py files


def test_py_with_demo_code_runs_quietly(tmp_path, capsys):
    marker = tmp_path / "demo_ran.txt"
    # A stand-in for matplotlib (not installed here): show() would block without MPLBACKEND=Agg.
    write(
        tmp_path / "fakeplot.py",
        """\
        import os

        def show():
            if os.environ.get("MPLBACKEND") != "Agg":
                raise RuntimeError("an interactive window would block here")
    """,
    )
    path = tmp_path / "solution.py"
    path.write_text(
        solution_source()
        + "\n\nimport fakeplot\n"
        + "np.random.seed(1)\n"
        + "A = np.random.randn(2, 3, 3, 1)\n"
        + "print('A_pad =', zero_pad(A, 1))\n"
        + "import sys\nprint('to stderr', file=sys.stderr)\n"
        + "fakeplot.show()\n"
        + f"open({str(marker)!r}, 'w').write('ran')\n"
    )
    target = load_target(path)
    assert target.kind == "py"
    assert target.name == str(path)
    assert target.path == str(path.resolve())
    assert target.notes == []
    assert target.functions == ALL
    assert marker.exists()  # a .py that imports cleanly is imported: its demo code ran
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert "fakeplot" not in sys.modules  # sibling modules are not left behind
    assert target.namespace.__name__ not in ("solution", "__main__")
    assert "solution" not in sys.modules
    assert_repro_matches(target)


def test_py_with_failing_import_falls_back_to_definitions(tmp_path, capsys):
    marker = tmp_path / "demo_ran.txt"
    path = tmp_path / "solution.py"
    path.write_text(
        "import numpy as np\nimport h5py_not_installed_xyz\nimport refconv\n"
        "print('hello')\n\n"
        + "\n\n".join(DELEGATES[n] for n in ALL)
        + f"\nopen({str(marker)!r}, 'w').write('ran')\n"
    )
    target = load_target(path)
    assert target.kind == "py"
    assert target.functions == ALL
    assert not marker.exists()
    (note,) = target.notes  # the failing import is reported once, as the cause of the fallback
    assert "raised ModuleNotFoundError" in note and "h5py_not_installed_xyz" in note
    assert "(line 2)" in note and "only its imports and definitions were run" in note
    assert capsys.readouterr().out == ""
    assert_repro_matches(target)


def test_py_raising_after_its_definitions(tmp_path):
    path = tmp_path / "solution.py"
    path.write_text(
        solution_source(["zero_pad", "pool_forward"])
        + "\nEPS = 1e-8\n"
        + "\nraise RuntimeError('demo data not found')\n"
    )
    target = load_target(path)
    assert target.functions == ["zero_pad", "pool_forward"]
    assert target.namespace.EPS == 1e-8
    (note,) = target.notes
    assert "raised RuntimeError: demo data not found" in note
    assert "line" in note
    assert "only its imports and definitions were run" in note
    X = np.ones((1, 2, 2, 1))
    assert target.namespace.zero_pad(X, 1).shape == (1, 4, 4, 1)
    assert_repro_matches(target)


def test_py_calling_sys_exit_and_input(tmp_path):
    path = tmp_path / "solution.py"
    path.write_text(solution_source(["zero_pad"]) + "\nimport sys\nsys.exit(3)\n")
    target = load_target(path)
    assert target.functions == ["zero_pad"]
    assert any("SystemExit(3)" in n for n in target.notes)

    path2 = tmp_path / "interactive.py"
    path2.write_text(solution_source(["zero_pad"]) + "\nanswer = input('pad? ')\n")
    target2 = load_target(path2)
    assert target2.functions == ["zero_pad"]
    assert any("EOFError" in n for n in target2.notes)


def test_py_with_notebook_magics_is_read_as_notebook_code(tmp_path):
    path = tmp_path / "exported.py"
    path.write_text(
        "import numpy as np\n%matplotlib inline\n!pip install h5py\nimport refconv\n\n"
        + DELEGATES["zero_pad"]
    )
    target = load_target(path)
    assert target.functions == ["zero_pad"]
    assert any("not valid Python" in n and "IPython magics" in n for n in target.notes)


def test_sibling_imports_and_same_named_helpers(tmp_path):
    """Two submissions with their own helpers.py each get their own (batch grading)."""
    targets = []
    for who, pad_value in (("alice", 1.0), ("bob", 2.0)):
        folder = tmp_path / who
        folder.mkdir()
        write(folder / "helpers.py", f"PAD_VALUE = {pad_value}\n")
        write(
            folder / "solution.py",
            """\
            import numpy as np
            from helpers import PAD_VALUE

            def zero_pad(X, pad):
                return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)),
                              constant_values=PAD_VALUE)
        """,
        )
        targets.append(load_target(folder / "solution.py"))
    X = np.zeros((1, 1, 1, 1))
    assert targets[0].namespace.zero_pad(X, 1)[0, 0, 0, 0] == 1.0
    assert targets[1].namespace.zero_pad(X, 1)[0, 0, 0, 0] == 2.0
    assert "helpers" not in sys.modules
    assert targets[0].namespace.__name__ != targets[1].namespace.__name__


def test_undefined_global_is_noted(tmp_path):
    path = tmp_path / "solution.py"
    path.write_text(
        "import numpy as np\n"
        "EPS = np.finfo(float).eps * 10\n"  # a call: not run in the fallback
        "def distribute_value(dz, shape):\n"
        "    return np.full(shape, dz / (shape[0] * shape[1]) + EPS * 0)\n"
        "raise SystemExit\n"
    )
    target = load_target(path)
    assert target.functions == ["distribute_value"]
    assert any("distribute_value uses undefined global name(s) EPS" in n for n in target.notes)


# --------------------------------------------------------------------------------------------
# notebooks


def code_cell(source, as_list=True):
    text = textwrap.dedent(source)
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {},
        "outputs": [],
        "source": text.splitlines(keepends=True) if as_list else text,
    }


def markdown_cell(text):
    return {"cell_type": "markdown", "metadata": {}, "source": [text]}


def notebook(cells):
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def seed_notebook(tmp_path: Path) -> Path:
    """The shape of the Coursera notebook: magics, demo cells, tests and the eight functions."""
    marker = tmp_path / "demo_ran.txt"
    cells = [
        markdown_cell("# Convolutional Neural Networks: Step by Step"),
        code_cell("""\
            import numpy as np
            import h5py_not_installed_xyz
            import refconv
            from public_tests_not_here import *

            %matplotlib inline
            %load_ext autoreload
            %autoreload 2
            !pip install nothing

            np.random.seed(1)
            EPS = 1e-8
            pi = np.pi
            hparameters = {"pad": 2, "stride": 1}
        """),
        code_cell(DELEGATES["zero_pad"]),
        code_cell(f"""\
            np.random.seed(1)
            x = np.random.randn(4, 3, 3, 2)
            x_pad = zero_pad(x, 3)
            print("x.shape =", x.shape)
            open({str(marker)!r}, "w").write("ran")
            zero_pad_test(zero_pad)
        """),
        code_cell("np.pad?\n"),
        code_cell(DELEGATES["conv_single_step"] + "\n" + DELEGATES["conv_forward"], as_list=False),
        code_cell("%%time\nZ, cache = conv_forward(A_prev, W, b, hparameters)\n"),
        code_cell(DELEGATES["pool_forward"]),
        code_cell("""\
            def conv_backward(dZ, cache):
                %debug
                return refconv.conv_backward(dZ, cache)
        """),
        code_cell(DELEGATES["create_mask_from_window"] + DELEGATES["distribute_value"]),
        code_cell(DELEGATES["pool_backward"]),
        code_cell("raise AssertionError('a test at top level')\n"),
        code_cell("for i in range(3):\n    print(i\n"),  # a syntax error: skipped, noted
    ]
    path = tmp_path / "Convolution_model_Step_by_Step_v1.ipynb"
    path.write_text(json.dumps(notebook(cells)))
    return path


def test_notebook_runs_only_imports_and_definitions(tmp_path, capsys):
    path = seed_notebook(tmp_path)
    before = np.random.get_state()[1].copy()
    target = load_target(path)
    assert target.kind == "ipynb"
    assert target.path == str(path.resolve())
    assert target.functions == ALL
    ns = target.namespace
    assert ns.__file__ == str(path.resolve())
    assert ns.EPS == 1e-8 and ns.pi == np.pi and ns.hparameters == {"pad": 2, "stride": 1}
    for demo_name in ("x", "x_pad", "Z", "cache"):
        assert not hasattr(ns, demo_name)
    assert not (tmp_path / "demo_ran.txt").exists()
    assert np.array_equal(np.random.get_state()[1], before)
    assert capsys.readouterr().out == ""
    notes = "\n".join(target.notes)
    assert "import h5py_not_installed_xyz failed" in notes
    assert "from public_tests_not_here import * failed" in notes
    assert "continuing without it" in notes
    assert "code cell 12 skipped: SyntaxError" in notes
    assert "a test at top level" not in notes  # that cell never ran
    X = np.arange(4.0).reshape(1, 2, 2, 1)
    np.testing.assert_array_equal(ns.zero_pad(X, 1), refconv.zero_pad(X, 1))
    assert_repro_matches(target)


def test_notebook_cell_magic_defining_a_seed_function_is_noted(tmp_path):
    cells = [
        code_cell("import refconv\n"),
        code_cell("%%time\n" + DELEGATES["zero_pad"]),
        code_cell("%%writefile helper.py\nprint('hi')\n"),
        code_cell(DELEGATES["conv_forward"]),
    ]
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(notebook(cells)))
    target = load_target(path)
    assert target.functions == ["conv_forward"]
    assert any("%%time" in n and "zero_pad" in n for n in target.notes)
    assert not (tmp_path / "helper.py").exists()
    assert len(target.notes) == 1


def test_notebook_failing_decorator_and_later_redefinition(tmp_path):
    cells = [
        code_cell("import refconv\nimport numpy as np\n"),
        code_cell("""\
            @no_such_decorator
            def zero_pad(X, pad):
                return X
        """),
        code_cell(DELEGATES["conv_forward"]),
        code_cell("def conv_forward(A_prev, W, b, hparameters):\n    return 'second'\n"),
    ]
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(notebook(cells)))
    target = load_target(path)
    assert target.functions == ["conv_forward"]
    assert target.namespace.conv_forward(None, None, None, None) == "second"  # last one wins
    (note,) = target.notes
    assert "code cell 2" in note and "def zero_pad" in note and "NameError" in note


def test_notebook_tracebacks_show_the_cell_source(tmp_path):
    import inspect
    import traceback

    cells = [code_cell("def zero_pad(X, pad):\n    return X[99]\n")]
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(notebook(cells)))
    target = load_target(path)
    assert "return X[99]" in inspect.getsource(target.namespace.zero_pad)
    try:
        target.namespace.zero_pad([], 1)
    except IndexError:
        text = traceback.format_exc()
    assert "code cell 1" in text and "return X[99]" in text


def test_notebook_keeps_only_safe_assignments(tmp_path):
    marker = tmp_path / "demo_ran.txt"
    cells = [
        code_cell(f"""\
            import numpy as np
            from __future__ import annotations
            try:
                import torch_not_installed_xyz as accel
            except ImportError:
                accel = None
            SHAPE = (2, 3)
            neg: float = -1.5
            pad_fn = lambda X, pad: X
            ones = np.ones
            zeros = np.zeros_like(np.ones(3))
            cfg = dict(a=1)
            items = [0]
            items[0] = open({str(marker)!r}, "w")
            np.seterr(all="raise")
        """),
    ]
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(notebook(cells)))
    target = load_target(path)
    ns = target.namespace
    assert ns.accel is None
    assert ns.SHAPE == (2, 3) and ns.neg == -1.5
    assert callable(ns.pad_fn) and ns.ones is np.ones
    assert not hasattr(ns, "zeros") and not hasattr(ns, "cfg")
    assert ns.items == [0]
    assert not marker.exists()
    assert target.notes == []
    assert target.functions == []


def test_notebook_nbformat3(tmp_path):
    document = {
        "nbformat": 3,
        "worksheets": [
            {
                "cells": [
                    {"cell_type": "code", "input": ["import refconv\n", DELEGATES["zero_pad"]]},
                ]
            }
        ],
    }
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(document))
    assert load_target(path).functions == ["zero_pad"]


def test_notebook_sibling_import(tmp_path):
    write(
        tmp_path / "public_tests.py",
        """\
        print("loading tests")
        def zero_pad_test(f):
            raise AssertionError("would fail")
    """,
    )
    cells = [
        code_cell("import refconv\nfrom public_tests import *\n"),
        code_cell(DELEGATES["zero_pad"]),
        code_cell("zero_pad_test(zero_pad)\n"),
    ]
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(notebook(cells)))
    target = load_target(path)
    assert target.notes == []
    assert callable(target.namespace.zero_pad_test)
    assert target.functions == ["zero_pad"]
    assert "public_tests" not in sys.modules
