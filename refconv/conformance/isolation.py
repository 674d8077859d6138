"""The judge's side of the executor: a user's target, loaded and called in another process.

:class:`IsolatedTarget` is the :class:`~refconv.conformance.calls.Implementation` behind
``refconv check``, batch grading, the pytest plugin and the CI gate. It starts the executor
(:mod:`refconv._executor.serve`) with the limits of :class:`ExecutorConfig`, asks it to load
the target, and turns every call into one request and one answer of plain data
(:mod:`refconv._executor.wire`). Limits are enforced from outside:

- a call that does not answer within its timeout, or a load within ``import_timeout``, gets the
  executor killed (its process group and, with namespaces, its whole PID namespace); the next
  call starts a fresh executor and loads the target again;
- an executor that dies (signal, ``os._exit``, out of memory, CPU limit) or sends anything
  malformed is killed too; that call's outcome is a *crash*, which the checks report as a
  failure of the function: never a pass, never an exception in the judge.

What the executor sends is only ever a value to compare: arrays are rebuilt by the judge with
validated dtypes and shapes, exceptions as builtin classes or :class:`RemoteError` stand-ins.
docs/security.md lists what is enforced on which platform and what is not promised.
"""

from __future__ import annotations

import atexit
import hashlib
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from refconv import API_FUNCTIONS
from refconv._executor import wire
from refconv._executor.loader import TargetLoadError
from refconv.conformance.calls import Implementation, Outcome, rebuild_exception

SERVE = str(Path(__file__).resolve().parent.parent / "_executor" / "serve.py")

#: Isolation levels: ``auto`` takes namespaces where the platform allows them.
LEVELS = ("auto", "namespaces", "process")

#: Executor uids (namespaces level) are drawn from this range, one per executor alive at once.
UID_BASE = 0x60000000

#: Environment variables the executor inherits (everything else is dropped). The OpenBLAS
#: variables keep old builds working on some processors; nothing else of the judge's leaks.
INHERITED = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "LANG", "LC_ALL", "TZ")

KEPT_OUTPUT = 64 * 1024


@dataclass(frozen=True)
class Limits:
    """Resource limits of one executor process (``setrlimit``, soft = hard)."""

    memory: int = 2 * 2**30  # bytes of address space
    cpu: int = 900  # CPU seconds over the executor's life (a fresh one restarts the count)
    file_size: int = 64 * 2**20  # bytes of any file it writes
    open_files: int = 256
    processes: int = 64  # tasks (threads included) of its uid; namespaces level only


@dataclass(frozen=True)
class ExecutorConfig:
    """How executors are started.

    python : interpreter of the executor (needs only the standard library and NumPy)
    level : "auto", "namespaces" (fail when unavailable) or "process"
    import_timeout : seconds allowed to start the executor and load the target
    limits : resource limits
    hide : folders the executor must not see (a batch's folder of submissions); the target's
        own file stays visible
    """

    python: str = sys.executable
    level: str = "auto"
    import_timeout: float = 60.0
    limits: Limits = field(default_factory=Limits)
    hide: tuple[str, ...] = ()


class ExecutorError(Exception):
    """The executor could not be started, died, or broke the protocol (message says how)."""


class ExecutorTimeout(Exception):
    """The executor did not answer in time (it has been killed)."""


_uids = itertools.count()
_live: weakref.WeakSet[_Process] = weakref.WeakSet()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _scrubbed_environment(home: str) -> dict[str, str]:
    env = {name: os.environ[name] for name in INHERITED if name in os.environ}
    env.update(
        PATH="/usr/local/bin:/usr/bin:/bin",
        HOME=home,
        TMPDIR=home,
        MPLBACKEND="Agg",
        PYTHONHASHSEED="0",  # the target's set and dict orders are the same on every run
        PYTHONDONTWRITEBYTECODE="1",
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
    )
    return env


class _Process:
    """One executor process and its pipes."""

    def __init__(self, config: ExecutorConfig, keep: list[str], target_file: str | None):
        self.owner = os.getpid()
        self.workdir = tempfile.mkdtemp(prefix="refconv-executor-")
        request_r, self.request_w = os.pipe()
        self.response_r, response_w = os.pipe()
        self.info_r, info_w = os.pipe()
        self.output_r, output_w = os.pipe()
        uid = UID_BASE + (((os.getpid() & 0xFFFFF) << 6) | (next(_uids) & 63))
        limits = config.limits
        settings = {
            "level": config.level,
            "uid": uid,
            "workdir": self.workdir,
            "memory": limits.memory,
            "cpu": limits.cpu,
            "file_size": limits.file_size,
            "open_files": limits.open_files,
            "processes": limits.processes,
            "hide": list(config.hide),
            "target_file": target_file,
            "siblings": not config.hide,  # a batch's neighbours are other submissions
            "keep": keep,
        }
        command = [config.python, "-B", SERVE, json.dumps(settings)]
        command += [str(request_r), str(response_w), str(info_w)]
        self.output = bytearray()
        try:
            self.popen = subprocess.Popen(
                command,
                pass_fds=(request_r, response_w, info_w),
                stdin=subprocess.DEVNULL,
                stdout=output_w,
                stderr=output_w,
                env=_scrubbed_environment(self.workdir),
                cwd=self.workdir,
                start_new_session=True,
            )
        except OSError as exc:
            for fd in (request_r, response_w, info_w, output_w):
                os.close(fd)
            self._close_own()
            os.close(self.output_r)
            _remove(self.workdir)
            raise ExecutorError(f"cannot start the executor with {config.python}: {exc}") from None
        for fd in (request_r, response_w, info_w, output_w):
            os.close(fd)
        self.namespace_pid: int | None = None
        self.reader = wire.Reader(self.response_r)
        self.drain = threading.Thread(target=self._drain, daemon=True)
        self.drain.start()
        _live.add(self)

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.output_r, 1 << 16)
            except OSError:
                return
            if not chunk:
                return
            if len(self.output) < KEPT_OUTPUT:
                self.output.extend(chunk[: KEPT_OUTPUT - len(self.output)])

    def output_tail(self, size: int = 600) -> str:
        return bytes(self.output[-size:]).decode("utf-8", "replace").strip()

    def hello(self, timeout: float) -> dict[str, Any]:
        """The executor's first frame (versions, isolation); learns its namespace's pid."""
        header, _ = self.receive(time.monotonic() + timeout)
        isolation = header.get("isolation")
        if header.get("op") != "hello" or not isinstance(isolation, dict):
            raise ExecutorError("the executor did not introduce itself")
        if isolation.get("level") == "namespaces":
            _remove(self.workdir)  # the executor works in its own private /tmp
            try:
                line = wire.Reader(self.info_r).read_line(time.monotonic() + timeout)
                self.namespace_pid = int(line)
            except (wire.ProtocolError, wire.Deadline, ValueError) as exc:
                message = f"the executor did not say its namespace's pid ({exc})"
                raise ExecutorError(message) from None
        return header

    def send(self, header: dict[str, Any], buffers: list[bytes], deadline: float | None) -> None:
        try:
            wire.write_frame(self.request_w, header, buffers, deadline)
        except wire.Deadline:
            raise ExecutorTimeout() from None
        except (wire.Closed, OSError):
            raise ExecutorError(self.death()) from None

    def receive(self, deadline: float | None) -> tuple[dict[str, Any], list[bytes]]:
        try:
            return self.reader.read(deadline)
        except wire.Deadline:
            raise ExecutorTimeout() from None
        except wire.Closed:
            raise ExecutorError(self.death()) from None
        except Exception as exc:  # noqa: BLE001 - anything malformed from the untrusted side
            self.kill()
            raise ExecutorError(f"the executor broke the protocol ({exc})"[:500]) from None

    def death(self) -> str:
        """Why the executor stopped answering (waits briefly for its exit status)."""
        try:
            code = self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        self.kill()
        if code is None:
            reason = "the executor closed its answer channel"
        elif code < 0 or code > 128:
            number = -code if code < 0 else code - 128
            reason = f"the process running the target was killed by {_signal_name(number)}"
            hints = {
                signal.SIGSEGV: " (a crash in C code, or a stack overflow)",
                signal.SIGKILL: " (out of memory, or killed from outside)",
                signal.SIGXCPU: " (CPU time limit)",
                signal.SIGXFSZ: " (file size limit)",
            }
            reason += hints.get(number, "")
        else:
            reason = f"the process running the target exited with status {code}"
            reason += " (os._exit() or sys.exit() outside a function call?)"
        tail = self.output_tail()
        return reason + (f"; its last output: {tail[-300:]}" if tail else "")

    def kill(self) -> None:
        """Kill the executor, everything in its namespace or process group, and close up."""
        if self.owner != os.getpid():  # inherited through fork: the parent's to kill
            self._close_own()
            return
        for kill in (
            lambda: os.kill(self.namespace_pid, signal.SIGKILL) if self.namespace_pid else None,
            lambda: os.killpg(self.popen.pid, signal.SIGKILL),
        ):
            try:
                kill()
            except (ProcessLookupError, PermissionError, OSError):
                pass
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - an unkillable process
            pass
        self._close_own()
        self.drain.join(timeout=2)
        try:
            os.close(self.output_r)
        except OSError:
            pass
        _remove(self.workdir)

    def _close_own(self) -> None:
        for name in ("request_w", "response_r", "info_r"):
            fd = getattr(self, name, None)
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
                setattr(self, name, None)


def _remove(folder: str) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def forget_executors() -> None:
    """In a process forked from the judge: close the inherited ends of its executors' pipes
    (they stay the judge's; this process must not hold them open, nor kill them)."""
    for process in list(_live):
        process._close_own()
        try:
            os.close(process.output_r)
        except OSError:
            pass
    _live.clear()


@atexit.register
def kill_all_executors() -> None:
    """Kill every executor this process started (at exit; worker processes call it too)."""
    for process in list(_live):
        process.kill()


class IsolatedTarget(Implementation):
    """A user's target in the executor (see the module docstring).

    Parameters
    ----------
    spec : a ``.py`` file, a ``.ipynb`` notebook, or a module name; None for refconv itself
    names : the functions looked for (default: those of every API)
    config : how executors are started
    cwd : where module names and relative paths are resolved (default: the working directory)

    Raises :class:`TargetLoadError` from :meth:`load` (and the constructor) when the target
    cannot be loaded, does not load in time, or kills its executor while loading.
    """

    def __init__(
        self,
        spec: str | os.PathLike[str] | None,
        names: tuple[str, ...] = tuple(n for group in API_FUNCTIONS.values() for n in group),
        config: ExecutorConfig | None = None,
        cwd: str | None = None,
    ) -> None:
        self.spec = None if spec is None else os.fspath(spec)
        self.names = tuple(names)
        self.config = config or ExecutorConfig()
        self.cwd = cwd or os.getcwd()
        self.file = self._file()
        self.name = "refconv" if self.spec is None else self.spec
        self.kind = "default"
        self.path: str | None = None
        self.notes: list[str] = []
        self.functions: list[str] = []
        self.executor: dict[str, Any] = {}
        self._process: _Process | None = None
        self._pending: Callable[[], Outcome] | None = None
        self.load()

    def _file(self) -> str | None:
        if self.spec is None:
            return None
        path = Path(self.cwd, self.spec).expanduser()
        return str(path.resolve()) if path.is_file() else None

    @property
    def digest(self) -> str:
        """A key of the target's content (its file's SHA-256, or its module name): failing
        examples saved in a database are only replayed for the same content."""
        if self.file is None:
            return f"module:{self.name}"
        try:
            return hashlib.sha256(Path(self.file).read_bytes()).hexdigest()
        except OSError:
            return f"unreadable:{self.file}"

    def _keep(self) -> list[str]:
        """Paths the executor must be able to read besides Python's own and the target's
        file: refconv's folder (the default target, module names like refconv.stepwise) and,
        for a module name, the working directory (where it is looked up first)."""
        import refconv

        keep = [str(Path(refconv.__file__).resolve().parent.parent)]
        if self.file is None and self.spec is not None:
            keep.append(self.cwd)
        return keep

    def _spec_for_executor(self) -> str | None:
        if self.file is not None:
            return self.file
        return self.spec

    def _start(self) -> _Process:
        try:
            process = _Process(self.config, self._keep(), self.file)
        except ExecutorError as exc:
            raise TargetLoadError(str(exc)) from None
        try:
            hello = process.hello(self.config.import_timeout)
            header, _ = self._ask(
                process,
                {
                    "op": "load",
                    "spec": self._spec_for_executor(),
                    "names": list(self.names),
                    "cwd": self.cwd,
                },
                self.config.import_timeout,
            )
        except ExecutorTimeout:
            process.kill()
            raise TargetLoadError(
                f"loading did not finish within {self.config.import_timeout:g} s "
                "(an infinite loop, or a blocking call, at import?)"
            ) from None
        except ExecutorError as exc:
            process.kill()
            raise TargetLoadError(f"the process loading the target failed: {exc}") from None
        if "error" in header:
            process.kill()
            raise TargetLoadError(str(header["error"])[:20000])
        self.executor = {
            "python": str(hello.get("python", "?"))[:40],
            "numpy": str(hello.get("numpy", "?"))[:40],
            "isolation": _plain(hello.get("isolation")),
        }
        functions = header.get("functions")
        notes = header.get("notes")
        if not isinstance(functions, list) or not isinstance(notes, list):
            process.kill()
            raise TargetLoadError("the executor's answer to loading is malformed")
        self.functions = [name for name in self.names if name in functions]
        self.notes = [str(note)[:2000] for note in notes][:50]
        kind = header.get("kind")
        self.kind = kind if kind in ("default", "py", "ipynb", "module") else "module"
        self.path = self.file
        return process

    def _ask(
        self,
        process: _Process,
        header: dict[str, Any],
        timeout: float | None,
        buffers: list[bytes] | None = None,
    ) -> tuple[dict[str, Any], list[bytes]]:
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            process.send(header, buffers or [], deadline)
            return process.receive(deadline)
        except ExecutorTimeout:
            process.kill()
            raise

    def load(self) -> None:
        """(Re)start the executor and load the target."""
        self.close()
        self._process = self._start()

    def close(self) -> None:
        """Kill the executor (a later call starts a new one)."""
        self._pending = None
        if self._process is not None:
            self._process.kill()
            self._process = None

    def __enter__(self) -> IsolatedTarget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:  # spawned worker processes start their own
        state = dict(self.__dict__)
        state["_process"] = None
        state["_pending"] = None
        return state

    # --- Implementation

    def present(self, function: str) -> bool:
        return function in self.functions

    def kept(self, function: str, result: Any, index: int) -> Any:
        return wire.Ref(function, index)

    def invoke(self, function: str, args: list[tuple[str, Any]], timeout: float | None) -> Outcome:
        return self.start(function, args, timeout)()

    def start(
        self, function: str, args: list[tuple[str, Any]], timeout: float | None
    ) -> Callable[[], Outcome]:
        self._wait_pending()
        process = self._process
        if process is None or process.owner != os.getpid():
            try:
                self.load()
            except TargetLoadError as exc:
                crashed = Outcome(crash=f"the target could not be loaded again: {exc}")
                return lambda: crashed
            process = self._process
        buffers: list[bytes] = []
        encoded = [
            [
                name,
                wire.encode_ref(value)
                if isinstance(value, wire.Ref)
                else wire.encode(value, buffers, layouts=True),
            ]
            for name, value in args
        ]
        request = {"op": "call", "function": function, "args": encoded}
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            process.send(request, buffers, deadline)
        except (ExecutorTimeout, ExecutorError) as exc:
            outcome = self._failed(process, exc)
            return lambda: outcome
        answer: list[Outcome] = []

        def finish() -> Outcome:
            if not answer:
                if self._pending is finish:
                    self._pending = None
                answer.append(self._answer(process, deadline, timeout))
            return answer[0]

        self._pending = finish
        return finish

    def _wait_pending(self) -> None:
        """Collect the answer of a started call nobody waited for (its frame must not be read
        as the next call's answer)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending()

    def _answer(self, process: _Process, deadline: float | None, timeout: float | None) -> Outcome:
        try:
            header, data = process.receive(deadline)
        except (ExecutorTimeout, ExecutorError) as exc:
            return self._failed(process, exc)
        try:
            outcome = _outcome(header, data)
        except Exception as exc:  # noqa: BLE001 - anything malformed from the untrusted side
            self.close()
            return Outcome(crash=f"the executor broke the protocol ({exc})"[:500])
        if timeout is not None and outcome.seconds > timeout:
            # An answer read after its deadline (the judge was busy meanwhile) from a call that
            # itself ran too long: what waiting would have found, a timeout, and a fresh
            # executor for the next call.
            return self._failed(process, ExecutorTimeout())
        return outcome

    def _failed(self, process: _Process, exc: Exception) -> Outcome:
        """The outcome of a call whose executor timed out or failed (it is killed)."""
        if self._process is process:
            self._process = None
        if isinstance(exc, ExecutorTimeout):
            process.kill()
            return Outcome(timed_out=True, printed=process.output_tail(2000))
        return Outcome(crash=str(exc))

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


def _plain(value: Any) -> Any:
    """A JSON-safe copy of a small structure the executor reported (strings, lists, dicts)."""
    if isinstance(value, dict):
        return {str(k)[:80]: _plain(v) for k, v in list(value.items())[:20]}
    if isinstance(value, list):
        return [_plain(v) for v in value[:40]]
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    return str(value)[:400]


def _outcome(header: dict[str, Any], buffers: list[bytes]) -> Outcome:
    status = header.get("status")
    seconds = header.get("seconds", 0.0)
    outcome = Outcome(
        printed=str(header.get("printed", ""))[:4000],
        seconds=float(seconds) if type(seconds) is float and 0 <= seconds < 1e9 else 0.0,
    )
    if status == "returned":
        outcome.value = wire.decode(header.get("value"), buffers)
    elif status == "raised":
        outcome.exception = rebuild_exception(
            str(header.get("type", "Exception"))[:100],
            str(header.get("module", ""))[:100],
            str(header.get("message", ""))[:2000],
        )
        outcome.traceback = str(header.get("traceback", ""))[:8000]
    elif status == "protocol":
        raise wire.ProtocolError(str(header.get("message", ""))[:500])
    else:
        raise wire.ProtocolError(f"unknown answer status {status!r}")
    mutated = header.get("mutated", [])
    if not isinstance(mutated, list):
        raise wire.ProtocolError("bad mutation list")
    for item in mutated[:16]:
        if not isinstance(item, list) or len(item) != 2:
            raise wire.ProtocolError("bad mutation entry")
        outcome.mutated.append((str(item[0])[:100], wire.decode(item[1], buffers)))
    return outcome
