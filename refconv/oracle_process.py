"""The torch oracle in a process of its own, so that torch never loads into the judge.

Importing torch takes about 1.4 s of one core on the benchmark machine, all of it holding the
importing process's interpreter lock: in the judge it would stall everything else the judge
does (loading the target, judging what needs no oracle). :func:`serve` starts a helper process
that imports torch on the other core while the judge gets on with its work, and answers the
oracle's calls (:mod:`refconv.oracle`'s four seed functions, ``functional``,
``functional_backward``, ``describe``) over a pipe: the same :class:`~refconv.oracle.TorchOracle`
computes them, on the same arrays, in the same dtype and on one thread, so the verdicts are the
same as with torch in the judge (``tests/test_oracle_process.py``).

Trust: the helper runs refconv's own code and torch, nothing of the target's; both ends are
the judge, so arrays and results travel pickled. Exceptions (torch rejecting a call is a
verdict of the functional profile) travel as their class name, module and message and are
rebuilt like the executor's (builtin classes as themselves). If the helper dies, the judge
imports torch and carries on in its own process: the verdicts are still torch's.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from typing import Any

from refconv import oracle
from refconv._processes import process_context

#: Seconds the judge waits for one answer before taking over in its own process (the import
#: included; a tiny call takes a millisecond).
ANSWER_TIMEOUT = 300.0


def _serve(connection: Any) -> None:
    """The helper: import torch, warm it up, answer calls until the judge closes the pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the judge ends this process
    backend = oracle.TorchOracle()
    with oracle.single_threaded():
        try:
            oracle.require_torch()
            oracle.warm_up(backend)
        except Exception:  # noqa: BLE001 - each call reports it again, in context
            pass
        while True:
            try:
                method, args = connection.recv()
            except (EOFError, OSError):
                return
            try:
                answer: tuple[str, Any] = ("ok", getattr(backend, method)(*args))
            except Exception as exc:  # noqa: BLE001 - the oracle's verdict, or its failure
                answer = ("raised", (type(exc).__name__, type(exc).__module__, str(exc)))
            try:
                connection.send(answer)
            except (BrokenPipeError, OSError):
                return


class OracleProcess(oracle.Oracle):
    """The torch backend, answered by the helper of :func:`serve` (same results)."""

    name = "torch"

    def __init__(self) -> None:
        context = process_context()
        self._connection, theirs = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(theirs,), name="refconv-oracle", daemon=True
        )
        self._process.start()
        theirs.close()
        self._fallback: oracle.Oracle | None = None

    def _ask(self, method: str, *args: Any) -> Any:
        if self._fallback is None:
            try:
                self._connection.send((method, args))
                if not self._connection.poll(ANSWER_TIMEOUT):
                    raise TimeoutError(f"the oracle process did not answer in {ANSWER_TIMEOUT} s")
                status, value = self._connection.recv()
            except (EOFError, OSError, TimeoutError):
                # The helper is gone (or stuck): torch judges in this process from now on.
                self.close()
                self._fallback = oracle.TorchOracle()
            else:
                if status == "raised":
                    from refconv.conformance.calls import rebuild_exception

                    raise rebuild_exception(*value)
                return value
        return getattr(self._fallback, method)(*args)

    def close(self) -> None:
        """Stop the helper."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(timeout=5)
        self._connection.close()

    def describe(self) -> str:
        return self._ask("describe")

    def conv_forward(self, *args: Any) -> Any:
        return self._ask("conv_forward", *args)

    def conv_backward(self, *args: Any) -> Any:
        return self._ask("conv_backward", *args)

    def pool_forward(self, *args: Any) -> Any:
        return self._ask("pool_forward", *args)

    def pool_backward(self, *args: Any) -> Any:
        return self._ask("pool_backward", *args)

    def functional(self, *args: Any) -> Any:
        return self._ask("functional", *args)

    def functional_backward(self, *args: Any) -> Any:
        return self._ask("functional_backward", *args)


@contextlib.contextmanager
def serve() -> Iterator[OracleProcess | None]:
    """Inside the block, the torch oracle answers from a helper process started now (None
    when numpy judges or torch is already imported here: nothing to gain). Start it before
    the judge starts threads of its own: it is forked from the judge."""
    if oracle.name() != "torch" or "torch" in sys.modules:
        yield None
        return
    process = OracleProcess()
    previous, oracle._remote = oracle._remote, process
    try:
        yield process
    finally:
        oracle._remote = previous
        process.close()
