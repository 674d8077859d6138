"""Loading the implementation that ``refconv check`` examines: a file, a notebook or a module.

This module runs on the *executor* side (:mod:`refconv._executor.serve`), under any interpreter
with Python >= 3.8 and NumPy >= 1.23: it imports only the standard library and NumPy, never
refconv. The judge loads targets through the executor; in-process loading
(:func:`refconv.conformance.target.load_target`) is for trusted code and reproduction snippets.

A *target* is whatever defines (some of) the functions the judge asks for (``names``):

- nothing (``None``): refconv itself, the embedded default;
- a ``.py`` file, imported as a fresh module under a unique name. Demo code at the bottom of the
  file runs, with its output swallowed and matplotlib forced to the non-interactive ``Agg``
  backend. If the import raises, only the file's imports and definitions are run (as for a
  notebook) and a note says what the import raised;
- a ``.ipynb`` notebook: only the imports and definitions of its code cells run (plus assignments
  of constants); demo code, prints, plots, IPython magics and shell lines never run;
- an importable module name such as ``refconv.stepwise``.

User code never crashes the loader: everything it raises (``Exception`` and ``SystemExit``, but
not ``KeyboardInterrupt``) becomes a note or a :class:`TargetLoadError` whose message shows the
user's traceback trimmed to their own frames.
"""

from __future__ import annotations

import ast
import contextlib
import dis
import importlib
import importlib.util
import io
import itertools
import json
import linecache
import os
import re
import sys
import traceback
import types
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Target", "TargetLoadError", "load_target"]

SUPPORTED_KINDS = "a .py file, a .ipynb notebook, or an importable module name"

_counter = itertools.count(1)


class TargetLoadError(Exception):
    """A target that cannot be loaded at all (message says why, with the user's traceback
    trimmed to their own frames)."""


@dataclass
class Target:
    """An implementation under test: ``namespace`` holds the user's functions as attributes."""

    name: str
    kind: str  # "default", "py", "ipynb", "module"
    namespace: Any
    path: str | None = None
    notes: list[str] = field(default_factory=list)
    names: tuple = ()  # the function names asked for

    @property
    def functions(self) -> list[str]:
        """The asked-for functions the target defines (callables), in ``names`` order."""
        present = []
        for name in self.names:
            try:
                value = getattr(self.namespace, name, None)
            except Exception:  # a hostile __getattr__ counts as "not defined"
                continue
            if callable(value):
                present.append(name)
        return present

    def repro_loader(self) -> str:
        """Python source that binds ``impl`` to this target, for reproduction snippets."""
        if self.kind == "default":
            return "import refconv as impl"
        if self.kind == "module":
            return f"import {self.name} as impl"
        return (
            "from refconv.conformance.target import load_target\n"
            f"impl = load_target({self.path!r}).namespace"
        )


def load_target(
    spec: str | os.PathLike[str] | None, names: tuple = (), cwd: str | None = None
) -> Target:
    """Load the implementation named by ``spec`` (see the module docstring for the kinds).

    ``names`` are the functions looked for (notes about missing or broken definitions name
    them); ``cwd`` is where module names are looked up first (default: the working directory).
    """
    target = _load(spec, tuple(names), cwd or os.getcwd())
    target.names = tuple(names)
    if target.kind in ("py", "ipynb"):  # a module's functions may live in other modules
        target.notes.extend(_undefined_globals(target.namespace, target.names))
    return target


def _load(spec: str | os.PathLike[str] | None, names: tuple, cwd: str) -> Target:
    if spec is None:
        import refconv

        return Target(name="refconv", kind="default", namespace=refconv, path=None, notes=[])
    name = os.fspath(spec)
    if not isinstance(name, str):
        raise TargetLoadError(f"{name!r}: expected a path or a module name")
    if not name.strip():
        raise TargetLoadError(f"empty target: expected {SUPPORTED_KINDS}")
    path = Path(name).expanduser()
    if path.is_dir():
        raise TargetLoadError(f"{name} is a folder: batch grading is handled by the CLI")
    suffix = path.suffix.lower()
    if path.exists():
        if suffix == ".py":
            return _load_py(name, path.resolve())
        if suffix == ".ipynb":
            return _load_ipynb(name, path.resolve(), names)
        raise TargetLoadError(
            f"{name}: unsupported kind of file {suffix or '(no suffix)'!r}; "
            f"a target is {SUPPORTED_KINDS}"
        )
    if suffix in (".py", ".ipynb") or os.sep in name or (os.altsep and os.altsep in name):
        raise TargetLoadError(f"{name}: no such file")
    return _load_module(name, cwd)


# --------------------------------------------------------------------------------------------
# running user code in a quiet, restorable environment


@contextlib.contextmanager
def _sandbox(directory: str | None, argv0: str) -> Iterator[io.StringIO]:
    """Run user code with ``directory`` first on ``sys.path``, its output captured, ``Agg`` as
    matplotlib's backend, no stdin and a neutral ``sys.argv``; restore all of it afterwards.

    Modules imported from ``directory`` (a submission's helpers) are dropped from
    ``sys.modules`` afterwards: the target keeps its references, and the next submission in a
    batch gets its own ``helpers.py`` rather than the previous one's.
    """
    saved_path = list(sys.path)
    saved_argv = sys.argv
    saved_stdin = sys.stdin
    saved_backend = os.environ.get("MPLBACKEND")
    saved_err = np.geterr()
    saved_print = np.get_printoptions()
    saved_rng = np.random.get_state()  # noqa: NPY002 - demo code reseeds the legacy global RNG
    before = set(sys.modules)
    buffer = io.StringIO()
    if directory is not None:
        sys.path.insert(0, directory)
    sys.argv = [argv0]
    sys.stdin = io.StringIO()  # input() raises EOFError instead of blocking
    os.environ["MPLBACKEND"] = "Agg"
    try:
        # one `with` per manager: the executor side still parses on Python 3.8
        with warnings.catch_warnings():
            with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
                yield buffer
    finally:
        sys.path[:] = saved_path
        sys.argv = saved_argv
        sys.stdin = saved_stdin
        if saved_backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = saved_backend
        np.seterr(**saved_err)
        np.set_printoptions(**saved_print)
        np.random.set_state(saved_rng)  # noqa: NPY002
        if directory is not None:
            _forget_modules_from(directory, set(sys.modules) - before)


def _forget_modules_from(directory: str, names: set[str]) -> None:
    root = os.path.realpath(directory)
    for name in names:
        if name.startswith("_refconv_target_"):
            continue
        module = sys.modules.get(name)
        file = getattr(module, "__file__", None)
        if not isinstance(file, str):
            continue
        try:
            inside = os.path.commonpath([root, os.path.realpath(file)]) == root
        except ValueError:  # different drives
            inside = False
        if inside:
            sys.modules.pop(name, None)


def _unique_module_name(path: Path) -> str:
    stem = re.sub(r"\W", "_", path.stem) or "target"
    return f"_refconv_target_{stem}_{next(_counter)}"


def _own_frames(exc: BaseException) -> list[traceback.FrameSummary]:
    """The traceback of ``exc`` without the loader's and importlib's frames."""
    frames = traceback.extract_tb(exc.__traceback__)
    here = os.path.realpath(__file__)
    kept = []
    for frame in frames:
        filename = frame.filename
        if filename.startswith("<frozen ") or filename.startswith("<frozen_"):
            continue
        if os.path.realpath(filename) == here:
            continue
        if "importlib" in filename.replace("\\", "/").split("/")[-2:-1]:
            continue
        kept.append(frame)
    return kept


def _describe(exc: BaseException) -> str:
    """The user's traceback (their frames only) followed by the exception line."""
    lines = []
    frames = _own_frames(exc)
    if frames:
        lines.append("Traceback (most recent call last):\n")
        lines.extend(traceback.format_list(frames))
    lines.extend(traceback.format_exception_only(type(exc), exc))
    return "".join(lines).rstrip()


def _short(exc: BaseException) -> str:
    """``Type: message`` on one line, with the user's line number when there is one."""
    if isinstance(exc, SyntaxError):
        where = f" (line {exc.lineno})" if exc.lineno else ""
        return f"{type(exc).__name__}: {exc.msg}{where}"
    if isinstance(exc, SystemExit):
        return f"SystemExit({exc.code!r})"
    message = str(exc).strip().splitlines()
    text = type(exc).__name__ + (f": {message[0]}" if message else "")
    frames = _own_frames(exc)
    if frames and frames[-1].lineno:
        text += f" (line {frames[-1].lineno})"
    return text


# --------------------------------------------------------------------------------------------
# module names


def _load_module(name: str, cwd: str) -> Target:
    if not all(part.isidentifier() for part in name.split(".")):
        raise TargetLoadError(f"{name}: no such file, and not a module name ({SUPPORTED_KINDS})")
    # `refconv check mymodule` should find mymodule.py in the working directory, as `python -m`
    # would; the console script alone only puts its own folder on sys.path.
    try:
        with _sandbox(None, name):
            sys.path.insert(0, cwd)
            module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            raise TargetLoadError(
                f"{name}: no such file, and no importable module of that name"
            ) from None
        raise TargetLoadError(f"importing {name} failed:\n{_describe(exc)}") from None
    except (Exception, SystemExit) as exc:
        raise TargetLoadError(f"importing {name} failed:\n{_describe(exc)}") from None
    return Target(name=name, kind="module", namespace=module, path=None, notes=[])


# --------------------------------------------------------------------------------------------
# .py files


def _load_py(name: str, path: Path) -> Target:
    module_name = _unique_module_name(path)
    notes: list[str] = []
    try:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise TargetLoadError(f"{name}: cannot be imported as a Python file")
        module = importlib.util.module_from_spec(spec)
    except (Exception, SystemExit) as exc:
        raise TargetLoadError(f"{name}: cannot be imported:\n{_describe(exc)}") from None
    sys.modules[module_name] = module
    try:
        with _sandbox(str(path.parent), str(path)):
            spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        first = exc
    else:
        return Target(name=name, kind="py", namespace=module, path=str(path), notes=notes)

    # The import raised: run only the imports and definitions, like a notebook.
    try:
        raw = path.read_bytes()
        source = importlib.util.decode_source(raw)
    except (OSError, UnicodeDecodeError, SyntaxError) as exc:
        sys.modules.pop(module_name, None)
        raise TargetLoadError(f"{name}: cannot be read: {exc}") from None
    module = _fresh_module(module_name, path)
    if isinstance(first, SyntaxError):
        cleaned = _strip_ipython(source)
        try:
            tree = ast.parse(cleaned, filename=str(path))
        except SyntaxError:
            sys.modules.pop(module_name, None)
            raise TargetLoadError(f"{name} is not valid Python:\n{_describe(first)}") from None
        notes.append(
            f"the file is not valid Python ({_short(first)}); it was read as notebook code "
            "without its IPython magics and shell lines: only its imports and definitions were run"
        )
    else:
        try:
            tree = ast.parse(source, filename=str(path))
        except SyntaxError as exc:  # pragma: no cover - the import would have raised it
            sys.modules.pop(module_name, None)
            raise TargetLoadError(f"{name} is not valid Python:\n{_describe(exc)}") from None
        notes.append(
            f"the file raised {_short(first)} at import; only its imports and definitions were run"
        )
    fallback_notes: list[str] = []
    with _sandbox(str(path.parent), str(path)):
        _run_definitions(tree, module, str(path), fallback_notes, "")
    # A failing import that caused the fallback is reported once, not twice.
    notes.extend(n for n in fallback_notes if _short(first) not in n)
    return Target(name=name, kind="py", namespace=module, path=str(path), notes=notes)


def _fresh_module(module_name: str, path: Path) -> types.ModuleType:
    module = types.ModuleType(module_name)
    module.__file__ = str(path)
    sys.modules[module_name] = module  # dataclasses, pickling and typing look modules up here
    return module


# --------------------------------------------------------------------------------------------
# notebooks

_HELP = re.compile(r"^(\?{1,2}[\w.]+|[\w.]+\?{1,2})$")  # `np.pad?`, `??zero_pad`
_CAPTURE = re.compile(r"^[\w.,\s()\[\]]+=\s*[!%]")  # `files = !ls`, `t = %timeit -o f()`


def _strip_ipython(source: str) -> str:
    """Replace IPython-only lines (magics, shell lines, help requests) by ``pass``.

    ``pass`` at the line's own indentation keeps line numbers and leaves no block empty.
    """
    out = []
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith(("%", "!")) or _HELP.match(stripped) or _CAPTURE.match(stripped):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(indent + "pass")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def _notebook_cells(path: Path, name: str) -> list[str]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise TargetLoadError(f"{name} is not a readable notebook (JSON): {exc}") from None
    if not isinstance(document, dict):
        raise TargetLoadError(f"{name} is not a notebook: its JSON is not an object")
    cells = document.get("cells")
    if cells is None and isinstance(document.get("worksheets"), list):  # nbformat 3
        cells = [
            c for ws in document["worksheets"] if isinstance(ws, dict) for c in ws.get("cells", [])
        ]
    if not isinstance(cells, list):
        raise TargetLoadError(f"{name} is not a notebook: it has no list of cells")
    sources = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", cell.get("input", ""))
        if isinstance(source, list):
            source = "".join(str(part) for part in source)
        sources.append(str(source))
    return sources


def _load_ipynb(name: str, path: Path, names: tuple) -> Target:
    cells = _notebook_cells(path, name)
    module_name = _unique_module_name(path)
    module = _fresh_module(module_name, path)
    notes: list[str] = []
    flags = 0
    with _sandbox(str(path.parent), str(path)):
        for number, source in enumerate(cells, start=1):
            where = f"code cell {number}"
            first = next((ln.strip() for ln in source.splitlines() if ln.strip()), "")
            if first.startswith("%%"):
                defined = _defs_in(source, names)
                if defined:
                    notes.append(
                        f"{where} starts with the cell magic {first.split()[0]} and was not run, "
                        f"so it does not define {', '.join(defined)}"
                    )
                continue
            filename = f"{path}, {where}"
            cleaned = _strip_ipython(source)
            try:
                tree = ast.parse(cleaned, filename=filename)
            except SyntaxError as exc:
                defined = _defs_in(source, names)
                lost = f"; it defines {', '.join(defined)}, now missing" if defined else ""
                notes.append(f"{where} skipped: {_short(exc)}{lost}")
                continue
            # Register the cell's text so that tracebacks and inspect.getsource show it.
            lines = cleaned.splitlines(keepends=True)
            linecache.cache[filename] = (len(cleaned), None, lines, filename)
            flags = _run_definitions(tree, module, filename, notes, f"{where}: ", flags)
    return Target(name=name, kind="ipynb", namespace=module, path=str(path), notes=notes)


def _defs_in(source: str, names: tuple) -> list[str]:
    return [n for n in names if re.search(rf"^\s*def\s+{n}\s*\(", source, re.MULTILINE)]


# --------------------------------------------------------------------------------------------
# running only imports and definitions


def _is_definition(node: ast.stmt) -> bool:
    return isinstance(
        node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    )


def _names_only(target: ast.expr) -> bool:
    if isinstance(target, ast.Name):
        return True
    if isinstance(target, (ast.Tuple, ast.List)):
        return all(_names_only(t) for t in target.elts)
    return False


def _root_name(value: ast.expr) -> str | None:
    while isinstance(value, ast.Attribute):
        value = value.value
    return value.id if isinstance(value, ast.Name) else None


def _kept_assignment(node: ast.stmt, namespace: dict[str, Any]) -> bool:
    """``EPS = 1e-8``, ``pi = np.pi``, ``conv = conv_forward``, ``relu = lambda x: ...``."""
    if isinstance(node, ast.Assign):
        targets, value = node.targets, node.value
    elif isinstance(node, ast.AnnAssign) and node.value is not None and node.simple:
        targets, value = [node.target], node.value
    else:
        return False
    if not all(_names_only(t) for t in targets):
        return False
    if isinstance(value, ast.Lambda):
        return True
    if isinstance(value, (ast.Name, ast.Attribute)):
        root = _root_name(value)
        return root is not None and root in namespace
    try:
        ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _kept_try(node: ast.stmt) -> bool:
    """``try: import torch`` / ``except ImportError: torch = None`` and the like."""
    if not isinstance(node, ast.Try):
        return False
    body = list(node.body) + list(node.orelse) + list(node.finalbody)
    body += [stmt for handler in node.handlers for stmt in handler.body]
    return all(
        _is_definition(stmt) or isinstance(stmt, ast.Pass) or _literal_assignment(stmt)
        for stmt in body
    )


def _literal_assignment(node: ast.stmt) -> bool:
    if not isinstance(node, ast.Assign) or not all(_names_only(t) for t in node.targets):
        return False
    try:
        ast.literal_eval(node.value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _run_definitions(
    tree: ast.Module,
    module: types.ModuleType,
    filename: str,
    notes: list[str],
    where: str,
    flags: int = 0,
) -> int:
    """Run the top-level imports, definitions and constant assignments of ``tree``, one at a
    time, in ``module``; a statement that raises becomes a note and the rest still runs.

    ``flags`` are the ``__future__`` compiler flags of earlier cells; the updated flags are
    returned (a ``from __future__ import annotations`` cell applies to the cells after it).
    """
    namespace = module.__dict__
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            for alias in node.names:
                feature = getattr(__import__("__future__"), alias.name, None)
                flags |= getattr(feature, "compiler_flag", 0)
            continue
        if not (_is_definition(node) or _kept_try(node) or _kept_assignment(node, namespace)):
            continue
        try:
            code = compile(
                ast.Module(body=[node], type_ignores=[]),
                filename,
                "exec",
                flags=flags,
                dont_inherit=True,
            )
            exec(code, namespace)
        except (Exception, SystemExit) as exc:
            notes.append(where + _failure_note(node, exc))
    return flags


def _failure_note(node: ast.stmt, exc: BaseException) -> str:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        text = ast.unparse(node)
        return f"{text} failed: {_short(exc)}; continuing without it"
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        kind = "class" if isinstance(node, ast.ClassDef) else "def"
        return f"{kind} {node.name} (line {node.lineno}) failed: {_short(exc)}; skipped"
    return f"line {node.lineno} ({ast.unparse(node)[:60]}) failed: {_short(exc)}; skipped"


# --------------------------------------------------------------------------------------------
# diagnostics


def _global_loads(code: types.CodeType) -> set[str]:
    names = set()
    for instruction in dis.get_instructions(code):
        if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME") and isinstance(
            instruction.argval, str
        ):
            names.add(instruction.argval)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_loads(const)
    return names


def _undefined_globals(module: Any, names: tuple) -> list[str]:
    """Notes for seed functions that read globals nobody defined (typically set by demo code
    that was not run, e.g. ``EPS = np.finfo(float).eps`` in a cell full of prints)."""
    import builtins

    notes = []
    namespace = module.__dict__
    for name in names:
        function = namespace.get(name)
        code = getattr(function, "__code__", None)
        if not isinstance(code, types.CodeType):
            continue
        try:
            missing = sorted(
                n for n in _global_loads(code) if n not in namespace and not hasattr(builtins, n)
            )
        except Exception:  # pragma: no cover - exotic code objects
            continue
        if missing:
            notes.append(
                f"{name} uses undefined global name(s) {', '.join(missing)}: calling it may "
                "raise NameError (were they set by code that was not run?)"
            )
    return notes
