"""Look-ahead exploration: hypothesis draws a check's problems in a helper process while the
judge judges them.

Drawing problems (hypothesis's engine and refconv's strategies) is most of a check's work in
the judge; calling the target, the oracle and the comparison are the rest. They need not wait
for each other: a search draws the same problems in the same order whatever its test answers
until its first failure (:mod:`refconv.conformance.search`). So an :class:`Explorer` process
runs each function's search with a test that only records, and streams the problems to the
judge, which judges them in order as they arrive, on the other core, with the target in the
executor. When every problem passes, the search's result is known without running it in the
judge. When one fails, the judge runs the search itself: its verdicts are cached by problem
content (``runner._Verdicts``), so the target is called for the shrinking steps only, and sees
exactly the calls, in the order, of a check without look-ahead. The report is the same either
way (``tests/test_pipeline.py``).

Look-ahead pays when the judge has a second core to itself: ``refconv check`` on one target
uses it; a batch does not (its submissions are the parallelism), nor do checks with an example
database (whose replay a search also edits).
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from refconv._processes import process_context
from refconv.conformance.guard import ConformanceFailure


@dataclass(frozen=True)
class Job:
    """One function's search, as the judge will run it: same strategy, budget and seed."""

    function: str
    max_examples: int
    seed: int


@dataclass
class Ahead:
    """What judging one function's problems drawn ahead found.

    ``complete``: the explorer finished the search (``statistics`` are its engine's);
    ``failed``: a problem failed, and judging stopped there.
    """

    complete: bool = False
    failed: bool = False
    statistics: dict[str, Any] = field(default_factory=dict)


def _explore(connection: Any, jobs: Sequence[Job]) -> None:
    """The explorer process: each job's search with a recording test, problems streamed."""
    from refconv.conformance import apis
    from refconv.conformance.search import search

    for job in jobs:
        try:
            result = search(
                apis.api_of(job.function).problems(job.function),
                lambda problem, job=job: connection.send(("problem", job.function, problem)),
                max_examples=job.max_examples,
                seed=job.seed,
            )
            connection.send(("done", job.function, result.statistics))
        except (BrokenPipeError, EOFError, OSError):
            return  # the judge is gone
        except Exception as exc:  # noqa: BLE001 - the judge then searches itself
            try:
                connection.send(("error", job.function, f"{type(exc).__name__}: {exc}"))
            except (BrokenPipeError, EOFError, OSError):
                pass
            return


def _forget_executors() -> None:
    """In a forked explorer: close the judge's executor pipes it inherited (never used here)."""
    isolation = sys.modules.get("refconv.conformance.isolation")
    if isolation is not None:
        isolation.forget_executors()


def _run_explorer(sending: Any, receiving: Any) -> None:
    """The explorer process: wait for the jobs, then explore them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the judge ends this process
    os.nice(10)  # drawing ahead is never what the others wait for first
    _forget_executors()
    try:
        jobs = receiving.recv()
        _explore(sending, jobs)
    except (EOFError, OSError):
        pass  # the judge closed: nothing to do
    finally:
        sending.close()


class Stream:
    """The problems of one function's search as the explorer draws them."""

    def __init__(self, function: str, messages: queue.Queue[tuple[Any, ...]]) -> None:
        self.function = function
        self._messages = messages

    def judge(self, verdict: Callable[[Any], Any]) -> Ahead:
        """Call ``verdict(problem)`` on each problem in order, up to the first that raises
        :class:`ConformanceFailure`; wait for problems not drawn yet."""
        while True:
            message = self._messages.get()
            kind = message[0]
            if kind == "problem":
                try:
                    verdict(message[2])
                except ConformanceFailure:
                    return Ahead(failed=True)
            elif kind == "done":
                return Ahead(complete=True, statistics=message[2])
            else:  # "error": the explorer failed or died; the judge searches itself
                return Ahead()


class Explorer:
    """A helper process drawing problems ahead of the judge (see the module docstring).

    It starts idle, as early as possible: forked before the judge starts threads of its own
    (the executor's output drain, torch's thread pool), so that it holds none of their locks;
    :meth:`assign` then gives it the searches to run, and :meth:`stream` each function's
    problems. Started as :func:`refconv._processes.process_context` says (forked, it starts in
    milliseconds with everything imported). Use as a context manager, or :meth:`close` it.
    """

    def __init__(self) -> None:
        context = process_context()
        receiving, sending = context.Pipe(duplex=False)
        jobs_in, self._jobs_out = context.Pipe(duplex=False)
        self._queues: dict[str, queue.Queue[tuple[Any, ...]]] = {}
        self._process = context.Process(
            target=_run_explorer, args=(sending, jobs_in), name="refconv-explorer", daemon=True
        )
        self._process.start()
        sending.close()
        jobs_in.close()
        self._connection = receiving
        self._reader: threading.Thread | None = None

    def assign(self, jobs: Sequence[Job]) -> None:
        """Start the searches of ``jobs``, in this order (the order the judge checks them)."""
        if self._reader is not None:
            raise RuntimeError("an explorer runs one list of jobs")
        self._queues = {job.function: queue.Queue() for job in jobs}
        self._reader = threading.Thread(target=self._read, name="refconv-explorer-reader")
        self._reader.daemon = True
        self._reader.start()
        try:
            self._jobs_out.send(list(jobs))
        except OSError:  # the explorer died: every stream reports it, the judge searches itself
            pass

    def _read(self) -> None:
        """Move the explorer's messages into each function's queue as they arrive (the
        explorer never waits for the judge)."""
        try:
            while True:
                message = self._connection.recv()
                if message[1] in self._queues:
                    self._queues[message[1]].put(message)
        except (EOFError, OSError):
            pass
        finally:
            for messages in self._queues.values():
                messages.put(("error", "", "the explorer ended"))

    def stream(self, function: str) -> Stream | None:
        """The problems of ``function``'s search (None if it is not one of the jobs)."""
        messages = self._queues.get(function)
        return None if messages is None else Stream(function, messages)

    def close(self) -> None:
        """Stop the explorer (whatever it has not drawn yet is not needed)."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(timeout=5)
        if self._reader is not None:
            self._reader.join(timeout=5)  # the pipe's other end is closed: the reader ends
        self._connection.close()
        self._jobs_out.close()

    def __enter__(self) -> Explorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
