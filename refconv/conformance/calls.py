"""How a check calls one function of an implementation, and what comes back (:class:`Outcome`).

Two kinds of implementation answer the same three questions (is ``function`` defined? call
it on these arguments; hand an element of its last result to a later call):

- :class:`InProcess`: trusted code in this process (refconv itself, ``refconv.stepwise``, the
  objects refconv's own property suite checks). Guarded only against mistakes: exceptions,
  prints, mutated inputs, and a SIGALRM time limit;
- :class:`refconv.conformance.isolation.IsolatedTarget`: a user's target, running in the
  executor process, where it cannot touch the judge.

:func:`implementation` wraps a plain object as :class:`InProcess`; the checks
(:mod:`refconv.conformance.checks`) turn an :class:`Outcome` into a verdict.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import re
import signal
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from refconv._executor.snapshots import snapshot, unchanged
from refconv._executor.wire import clone_layout, keywords, positional


@dataclass
class Outcome:
    """What one call of the implementation did.

    Exactly one of ``value`` (it returned), ``exception`` (it raised), ``timed_out`` or
    ``crash`` (the process running it died, or broke the protocol: the reason) describes it.
    ``mutated`` lists ``(argument name, value after the call)`` for every argument it changed.
    """

    value: Any = None
    exception: BaseException | None = None
    traceback: str = ""
    timed_out: bool = False
    crash: str = ""
    mutated: list[tuple[str, Any]] = field(default_factory=list)
    printed: str = ""
    seconds: float = 0.0


class Implementation:
    """What the checks need of an implementation under test (base of the two kinds)."""

    def present(self, function: str) -> bool:
        """Whether the implementation defines ``function`` (a callable)."""
        raise NotImplementedError

    def invoke(self, function: str, args: list[tuple[str, Any]], timeout: float | None) -> Outcome:
        """Call ``function`` on copies of the ``(name, value)`` arguments: positionally, except
        those whose name ends with ``=`` (``("stride=", 2)``), passed by keyword."""
        raise NotImplementedError

    def start(
        self, function: str, args: list[tuple[str, Any]], timeout: float | None
    ) -> Callable[[], Outcome]:
        """:meth:`invoke`, started: returns a function that waits for its :class:`Outcome`.

        The judge works on something else (the expected values) while the call runs. Calls
        still run one at a time, in the order they were started: starting another call, or
        invoking one, first waits for this one. Here the call runs at once; an implementation
        in another process overrides it.
        """
        outcome = self.invoke(function, args, timeout)
        return lambda: outcome

    def kept(self, function: str, result: Any, index: int) -> Any:
        """What to pass a later call for element ``index`` of ``result``, the last result of
        ``function`` (a forward's cache for the backward)."""
        raise NotImplementedError


class RemoteError(Exception):
    """An exception of the checked code whose class is not a builtin one: same type name and
    message (the class itself stays with the target)."""


_REMOTE_CLASSES: dict[str, type[RemoteError]] = {}


def rebuild_exception(type_name: str, module: str, message: str) -> BaseException:
    """A judge-side stand-in for an exception raised in the executor (plain data only)."""
    cls = getattr(builtins, type_name, None) if module == "builtins" else None
    if isinstance(cls, type) and issubclass(cls, BaseException):
        try:
            return cls(message)
        except Exception:  # noqa: BLE001 - builtins whose constructor wants other arguments
            pass
    name = type_name if re.fullmatch(r"[A-Za-z_]\w{0,80}", type_name) else "RemoteError"
    if name not in _REMOTE_CLASSES:
        _REMOTE_CLASSES[name] = type(name, (RemoteError,), {"__module__": __name__})
    return _REMOTE_CLASSES[name](message)


class CallTimeout(Exception):
    """User code ran longer than the per-call timeout."""


@contextlib.contextmanager
def _time_limit(seconds: float | None):
    """Interrupt the main thread after ``seconds`` (SIGALRM); elsewhere no limit can be set."""
    usable = (
        seconds
        and seconds > 0
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise CallTimeout(f"did not return within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def user_traceback(exc: BaseException) -> str:
    """The traceback without the checker's own frames nor library internals: the user's."""
    frames = traceback.extract_tb(exc.__traceback__)
    foreign = ("refconv/conformance/", "site-packages/", "/lib/python")
    user = [f for f in frames if not any(p in f.filename.replace("\\", "/") for p in foreign)]
    lines = traceback.format_list(user[-6:]) if user else []
    return "".join(lines) + "".join(traceback.format_exception_only(type(exc), exc))


class InProcess(Implementation):
    """Trusted code, called in this process (see the module docstring)."""

    def __init__(self, namespace: Any) -> None:
        self.namespace = namespace

    def present(self, function: str) -> bool:
        try:
            return callable(getattr(self.namespace, function, None))
        except Exception:  # noqa: BLE001 - a raising __getattr__ counts as "not defined"
            return False

    def invoke(self, function: str, args: list[tuple[str, Any]], timeout: float | None) -> Outcome:
        fn = getattr(self.namespace, function)
        # The implementation gets copies: a mutating one must not corrupt the problem (which
        # hypothesis shrinks and the report prints); the copies are compared afterwards.
        passed = [(name, snapshot(value, clone_layout)) for name, value in args]
        printed = io.StringIO()
        outcome = Outcome()
        started = time.perf_counter()
        try:
            with (
                contextlib.redirect_stdout(printed),
                contextlib.redirect_stderr(printed),
                warnings.catch_warnings(),
            ):
                warnings.simplefilter("ignore")  # the user's RuntimeWarnings are not our report
                with _time_limit(timeout):
                    outcome.value = fn(*positional(passed), **keywords(passed))
        except CallTimeout:
            outcome.timed_out = True
        except (Exception, SystemExit) as exc:  # noqa: B902 - user code may raise anything
            outcome.exception, outcome.traceback = exc, user_traceback(exc)
        outcome.seconds = time.perf_counter() - started
        outcome.printed = printed.getvalue()
        outcome.mutated = [
            (name, value)
            for (name, original), (_, value) in zip(args, passed, strict=True)
            if not unchanged(original, value)
        ]
        return outcome

    def kept(self, function: str, result: Any, index: int) -> Any:
        return result[index]


def implementation(impl: Any) -> Implementation:
    """``impl`` itself if it is an :class:`Implementation`, else ``InProcess(impl)``."""
    if isinstance(impl, Implementation):
        return impl
    return InProcess(impl)
