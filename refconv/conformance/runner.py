"""Drive the conformance checks with hypothesis: explore, shrink, report the minimal failure.

:func:`run_function` is the one engine behind ``refconv check``, the pytest plugin and refconv's
own property suite: it builds a hypothesis test around :func:`refconv.conformance.checks.check`
for one seed function, runs it, and returns a :class:`FunctionResult` holding the shrunk
counterexample (with diagnosis) when the implementation does not conform.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.internal.conjecture import engine as hypothesis_engine
from hypothesis.reporting import with_reporter

from refconv import SEED_FUNCTIONS, strategies
from refconv.conformance.checks import (
    DEFAULT_TIMEOUT,
    ConformanceFailure,
    check,
    get,
)
from refconv.conformance.corpus import corpus
from refconv.conformance.diagnose import explain
from refconv.problems import ConvProblem, PoolProblem

DEFAULT_MAX_EXAMPLES = 100
DEFAULT_SHRINK_SECONDS = 5.0


@contextlib.contextmanager
def _shrink_budget(seconds: float) -> Iterator[None]:
    """Cap hypothesis's shrinking time (its engine reads this module constant at shrink start)."""
    previous = getattr(hypothesis_engine, "MAX_SHRINKING_SECONDS", None)
    if previous is None:  # a hypothesis without the knob: keep its own budget
        yield
        return
    hypothesis_engine.MAX_SHRINKING_SECONDS = seconds
    try:
        yield
    finally:
        hypothesis_engine.MAX_SHRINKING_SECONDS = previous


DEFAULT_SEED = 0


def _integer_inputs(problem: Any) -> st.SearchStrategy[Any]:
    """Sometimes pass integer-valued input data as an integer array (the seed accepts ints).

    Only the layer input is converted, never the upstream gradient: an implementation that
    allocates its gradient with ``np.zeros_like(A_prev)`` then truncates it, a real bug.
    """
    if isinstance(problem, (ConvProblem, PoolProblem)):
        A = problem.A_prev
        if A.dtype.kind == "f" and np.all(np.isfinite(A)) and np.all(A == np.round(A)):
            convert = st.booleans()

            def build(as_int: bool) -> Any:
                if not as_int:
                    return problem
                fields = dict(problem.__dict__)
                fields["A_prev"] = A.astype(np.int64)
                return type(problem)(**fields)

            return convert.map(build)
    return st.just(problem)


def problem_strategy(function: str) -> st.SearchStrategy[Any]:
    """Problems that exercise ``function`` (float64 data, no NaN: the seed API's domain)."""
    # Shapes stay small: a plain-loop student implementation is checked in seconds, and
    # shrinking a failure is quick. refconv's own property suite explores larger ones.
    conv = {"max_batch": 2, "max_side": 6, "max_channels": 3, "max_f": 4, "max_pad": 2}
    pool = {"max_batch": 2, "max_side": 6, "max_channels": 3, "max_f": 4}
    base = {
        "zero_pad": lambda: strategies.pad_problems(max_batch=2, max_side=5),
        "conv_single_step": strategies.single_step_problems,
        "conv_forward": lambda: strategies.conv_problems(**conv),
        "conv_backward": lambda: strategies.conv_problems(**conv),
        "pool_forward": lambda: strategies.pool_problems(**pool),
        "pool_backward": lambda: strategies.pool_problems(**pool),
        "create_mask_from_window": strategies.window_problems,
        "distribute_value": strategies.distribute_problems,
    }[function]()
    return base.flatmap(_integer_inputs)


@dataclass
class FunctionResult:
    """Outcome of checking one function of one implementation."""

    function: str
    status: str  # "pass", "fail", "missing", "error"
    examples: int = 0
    seconds: float = 0.0
    failure: ConformanceFailure | None = None
    message: str = ""
    seed: int | None = None
    found_at: int = 0  # the call (1-based) on which the first failure showed; 0 if none
    statistics: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in ("pass", "missing")


def _find_failure(exc: BaseException) -> ConformanceFailure | None:
    """The ConformanceFailure inside whatever hypothesis raised (groups, flaky wrappers)."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConformanceFailure):
            return current
        stack.extend(getattr(current, "exceptions", ()))
        stack.extend([current.__cause__, current.__context__])
    return None


def run_function(
    impl: Any,
    function: str,
    *,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    seed: int | None = DEFAULT_SEED,
    policy: str = "torch",
    timeout: float | None = DEFAULT_TIMEOUT,
    database: Any = None,
    strategy: st.SearchStrategy[Any] | None = None,
    use_corpus: bool = True,
    shrink_seconds: float = DEFAULT_SHRINK_SECONDS,
    progress: Callable[[str, int], None] | None = None,
) -> FunctionResult:
    """Check ``impl.<function>`` on up to ``max_examples`` generated problems.

    Parameters
    ----------
    impl : object with the seed functions as attributes (module, namespace)
    function : one of the eight seed function names
    max_examples : hypothesis example budget (shrinking comes on top)
    seed : fixes the random exploration for reproducible runs; None draws a fresh seed
    policy : tie policy, "torch", "subgradient" or "all"
    timeout : per-call limit in seconds for the implementation's code
    database : a hypothesis example database (replays earlier failures first), or None
    strategy : override the problem strategy (used by tests); disables the corpus
    use_corpus : replay the seed corpus (:mod:`refconv.conformance.corpus`) before exploring
    shrink_seconds : time budget for shrinking a failure (the smallest case found by then is
        reported; hypothesis's own budget is 300 s, too long for a CI gate)
    progress : called as ``progress(function, calls_so_far)`` every 10 calls
    """
    if get(impl, function) is None:
        return FunctionResult(function, "missing", message=f"{function} is not defined")
    count = [0]
    first_failure = [0]
    problems = strategy if strategy is not None else problem_strategy(function)

    def conforms(problem: Any) -> None:
        count[0] += 1
        if progress is not None and count[0] % 10 == 0:
            progress(function, count[0])
        try:
            check(function, impl, problem, policy=policy, timeout=timeout)
        except ConformanceFailure:
            first_failure[0] = first_failure[0] or count[0]
            raise

    # One database key per function and tie policy: what failed once (for any implementation)
    # is replayed first next time; the dynamically built test would otherwise share one key.
    conforms._hypothesis_internal_add_digest = f"refconv:{function}:{policy}".encode()
    conforms = settings(
        max_examples=max_examples,
        deadline=None,
        database=database,
        derandomize=False,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
        print_blob=False,
    )(given(problem=problems)(conforms))
    if seed is not None:
        # hypothesis.seed() would also switch the example database off; set the seed alone.
        conforms._hypothesis_internal_use_seed = seed

    # The seed corpus runs first and finds most bugs in a few calls; exploration then looks for
    # a *minimal* failing input (hypothesis cannot shrink explicit examples), and the corpus
    # failure is reported only if exploration finds none.
    corpus_failure: ConformanceFailure | None = None
    started = time.perf_counter()
    if use_corpus and strategy is None:
        for problem in corpus(function):
            count[0] += 1
            try:
                check(function, impl, problem, policy=policy, timeout=timeout)
            except ConformanceFailure as failure:
                corpus_failure, first_failure[0] = failure, count[0]
                break
    failure = None
    try:
        with with_reporter(lambda message: None), _shrink_budget(shrink_seconds):
            conforms()
    except Exception as exc:  # noqa: BLE001 - anything from user code or hypothesis is reported
        failure = _find_failure(exc)
        if failure is None:
            elapsed = time.perf_counter() - started
            message = f"checker error: {type(exc).__name__}: {exc}"
            return FunctionResult(function, "error", count[0], elapsed, message=message, seed=seed)
    if failure is None and corpus_failure is not None:
        failure = corpus_failure
        failure.notes.append("found by the seed corpus; random exploration found no smaller case")
    elapsed = time.perf_counter() - started
    if failure is None:
        return FunctionResult(function, "pass", count[0], elapsed, seed=seed)
    explain(failure, impl)
    return FunctionResult(
        function,
        "fail",
        count[0],
        elapsed,
        failure,
        failure.message,
        seed,
        found_at=first_failure[0],
    )


def open_database(spec: str | None) -> Any:
    """A hypothesis example database from ``spec``.

    ``None`` or ``"none"``: no database. ``redis://HOST:PORT/DB``: hypothesis's Redis-backed
    database, shared by every runner that points at it (needs the ``redis`` package). Anything
    else: a local directory.
    """
    if spec is None or spec == "none":
        return None
    if spec.startswith("redis://"):
        try:
            import redis
            from hypothesis.extra.redis import RedisExampleDatabase
        except ImportError as exc:
            raise ValueError(f"--database {spec}: needs the redis package ({exc})") from None
        client = redis.Redis.from_url(spec, socket_connect_timeout=5)
        try:
            client.ping()
        except redis.RedisError as exc:
            raise ValueError(f"--database {spec}: cannot reach Redis ({exc})") from None
        return RedisExampleDatabase(client)
    from hypothesis.database import DirectoryBasedExampleDatabase

    return DirectoryBasedExampleDatabase(spec)


def run_all(
    impl: Any,
    functions: list[str] | None = None,
    **options: Any,
) -> list[FunctionResult]:
    """:func:`run_function` for each seed function (all eight by default), in the seed's order."""
    names = list(SEED_FUNCTIONS) if functions is None else functions
    results = [run_function(impl, name, **options) for name in names]
    failed = {r.function for r in results if r.status in ("fail", "error")}
    for r in results:
        if r.failure is None:
            continue
        for helper in HELPERS.get(r.function, ()):
            if helper in failed:
                r.failure.notes.append(
                    f"{helper} fails too: if {r.function} uses it, that may be the cause"
                )
    return results


#: Functions whose failure usually follows from a failing helper they call (notebook structure).
HELPERS = {
    "conv_forward": ("zero_pad", "conv_single_step"),
    "conv_backward": ("zero_pad",),
    "pool_backward": ("create_mask_from_window", "distribute_value"),
}
