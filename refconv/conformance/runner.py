"""Drive the conformance checks with hypothesis: explore, shrink, report the minimal failure.

:func:`run_function` is the one engine behind ``refconv check``, the pytest plugin and refconv's
own property suite: it builds a hypothesis test around :func:`refconv.conformance.checks.check`
for one seed function, runs it, and returns a :class:`FunctionResult` holding the shrunk
counterexample (with diagnosis) when the implementation does not conform.
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import multiprocessing.util
import pickle
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.reporting import with_reporter
from hypothesis.statistics import collector

from refconv import oracle
from refconv._processes import process_context
from refconv.conformance import apis
from refconv.conformance.calls import RemoteError
from refconv.conformance.checks import check
from refconv.conformance.guard import DEFAULT_TIMEOUT, ConformanceFailure, defines
from refconv.conformance.search import search

DEFAULT_MAX_EXAMPLES = 100
#: Shrinking is budgeted in calls of the implementation, so that the minimal counterexample is
#: the same on a loaded machine and an idle one; the wall-clock limit is only a safety net
#: (reported when it triggers).
DEFAULT_SHRINK_CALLS = 1000
SHRINK_SAFETY_SECONDS = 300.0


DEFAULT_SEED = 0

#: Failures that stop the search at once, unshrunk: each further call could cost a whole
#: timeout, or a fresh executor, and shrinking them tells nothing a grader needs.
TERMINAL_KINDS = ("timeout", "crash")


class _StopSearch(BaseException):
    """Raised through hypothesis (which lets BaseException subclasses pass) to end a search
    at a terminal failure."""

    def __init__(self, failure: ConformanceFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def _problem_key(problem: Any) -> bytes:
    """A digest of a problem's content: what the target is handed. Arrays count by dtype,
    shape, strides, writeability and values (two arrays with the same values in another memory
    layout are another problem); anything else by type and ``repr``. Problems are refconv's
    own dataclasses, built the same way each time."""
    digest = hashlib.blake2b(digest_size=20)

    def add(value: Any) -> None:
        if isinstance(value, np.ndarray):
            layout = (value.dtype.str, value.shape, value.strides, value.flags.writeable)
            digest.update(repr(layout).encode())
            digest.update(np.ascontiguousarray(value).tobytes())
        elif isinstance(value, (tuple, list)):
            digest.update(f"{type(value).__name__}({len(value)})".encode())
            for item in value:
                add(item)
        elif isinstance(value, dict):
            digest.update(f"dict({len(value)})".encode())
            for key, item in value.items():
                add(key)
                add(item)
        else:
            digest.update(f"{type(value).__qualname__}:{value!r};".encode())

    add(type(problem).__qualname__)
    add(dict(problem.__dict__))
    return digest.digest()


def problem_strategy(function: str) -> st.SearchStrategy[Any]:
    """The problems a check of ``function`` draws (its API profile's)."""
    return apis.api_of(function).problems(function)


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
    statistics: dict[str, Any] = field(default_factory=dict)  # see _statistics; {} if missing
    advice: list[str] = field(default_factory=list)  # behaviour outside the contract, one a topic

    @property
    def ok(self) -> bool:
        return self.status in ("pass", "missing")


#: Phases of hypothesis's engine reported in a result's statistics (the target phase is part
#: of "generate"; the explicit phase is empty: refconv's explicit examples are its corpus).
HYPOTHESIS_PHASES = ("reuse", "generate", "shrink")


@contextlib.contextmanager
def collect_statistics() -> Iterator[dict[str, Any]]:
    """The statistics dictionary of hypothesis's engine for the tests run inside the block.

    Any collector already active (hypothesis's pytest plugin, ``--refconv-speed``, an outer
    run) still receives them.
    """
    engine: dict[str, Any] = {}
    outer = collector.value

    def note(statistics: dict[str, Any]) -> None:
        engine.update(statistics)
        if outer is not None:
            outer(statistics)

    with collector.with_value(note):
        yield engine


def phase_counts(engine: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per phase that ran: test cases, valid and invalid ones (overruns included), seconds."""
    counts = {}
    for phase in ("explicit", "reuse", "generate", "target", "shrink"):
        data = engine.get(f"{phase}-phase") or {}
        cases = data.get("test-cases") or []
        if not cases:
            continue
        counts[phase] = {
            "test_cases": len(cases),
            "valid": sum(case["status"] == "valid" for case in cases),
            "invalid": sum(case["status"] in ("invalid", "overrun") for case in cases),
            "seconds": round(float(data.get("duration-seconds", 0.0)), 4),
        }
    return counts


def _statistics(
    engine: dict[str, Any], corpus_replayed: int, corpus_seconds: float, total: float
) -> dict[str, Any]:
    """A compact, JSON-ready summary of one function's run (:attr:`FunctionResult.statistics`).

    ``examples``: corpus problems replayed, then the test cases hypothesis ran in each phase
    (shrink candidates rejected while drawing included); ``invalid``: test cases of the reuse
    and generate phases that the strategy rejected; ``shrinks``: successful shrink steps;
    ``seconds``: total and per phase; ``stopped_because``: hypothesis's reason for stopping.
    ``engine`` is the statistics dictionary of hypothesis's engine (``ConjectureRunner
    .statistics``, handed over through :data:`hypothesis.statistics.collector`); it is empty
    when hypothesis never ran the test (an error before exploration).
    """
    examples: dict[str, int] = {"corpus": corpus_replayed}
    seconds: dict[str, float] = {"total": round(total, 4), "corpus": round(corpus_seconds, 4)}
    counts = phase_counts(engine)
    none = {"test_cases": 0, "invalid": 0, "seconds": 0.0}
    for phase in HYPOTHESIS_PHASES:
        examples[phase] = counts.get(phase, none)["test_cases"]
        seconds[phase] = counts.get(phase, none)["seconds"]
    # Shrinking tries invalid candidates by design; exploration does not.
    invalid = sum(counts.get(phase, none)["invalid"] for phase in ("reuse", "generate"))
    return {
        "examples": examples,
        "invalid": invalid,
        "shrinks": int(engine.get("shrink-phase", {}).get("shrinks-successful", 0)),
        "seconds": seconds,
        "stopped_because": engine.get("stopped-because"),
    }


def statistics_line(statistics: dict[str, Any]) -> str:
    """One line summing up :attr:`FunctionResult.statistics` (empty when there are none)."""
    if not statistics:
        return ""
    examples = statistics["examples"]
    names = ("corpus", *HYPOTHESIS_PHASES)
    phases = " + ".join(f"{examples.get(name, 0)} {name}" for name in names)
    line = f"{phases} test cases, {statistics['shrinks']} successful shrinks"
    if statistics.get("stopped_because"):
        line += f", stopped: {statistics['stopped_because']}"
    return line


class _Verdicts:
    """The verdict of every problem judged so far in one function's check, by content.

    A problem is judged once: the same problem drawn again (hypothesis replaying a search's
    first examples, a shrink candidate equal to an earlier one) gets its first verdict back
    without calling the implementation again. With look-ahead exploration
    (:mod:`refconv.conformance.lookahead`) the judge fills it from problems drawn in another
    process; the search that follows a failure finds them here, so the implementation sees
    the same calls in the same order either way.
    """

    def __init__(self, judge: Callable[[Any], list[tuple[str, str]]]) -> None:
        self._judge = judge
        self._seen: dict[bytes, ConformanceFailure | list[tuple[str, str]]] = {}

    def verdict(self, problem: Any, key: bytes | None = None) -> list[tuple[str, str]]:
        """The advice of ``problem`` (judged now, or before); raise its failure."""
        key = key if key is not None else _problem_key(problem)
        seen = self._seen.get(key)
        if seen is None:
            try:
                seen = self._judge(problem)
            except ConformanceFailure as failure:
                seen = failure
            self._seen[key] = seen
        if isinstance(seen, ConformanceFailure):
            raise seen
        return seen


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
    shrink_calls: int = DEFAULT_SHRINK_CALLS,
    shrink_seconds: float = SHRINK_SAFETY_SECONDS,
    progress: Callable[[str, int], None] | None = None,
    target_key: str = "",
    strict: bool = False,
    ahead: Any = None,
) -> FunctionResult:
    """Check ``impl.<function>`` on up to ``max_examples`` generated problems.

    Parameters
    ----------
    impl : object with the API's functions as attributes (module, namespace, isolated target)
    function : a function of one of the API profiles (:mod:`refconv.conformance.apis`)
    max_examples : hypothesis example budget (shrinking comes on top)
    seed : fixes the random exploration for reproducible runs; None draws a fresh seed
    policy : tie policy, "torch", "subgradient" or "all"
    timeout : per-call limit in seconds for the implementation's code
    database : a hypothesis example database (replays earlier failures first), a spec for
        :func:`open_database`, or None
    strategy : override the problem strategy (used by tests); disables the corpus
    use_corpus : replay the seed corpus (:mod:`refconv.conformance.corpus`) before exploring
    shrink_calls : how many calls of the implementation shrinking may make after the first
        failure (the smallest case found by then is reported, the same on any machine)
    shrink_seconds : wall-clock safety net for shrinking; a note says when it cut it short
    progress : called as ``progress(function, calls_so_far)`` every 10 calls
    target_key : what identifies the implementation's content (e.g.
        :attr:`~refconv.conformance.isolation.IsolatedTarget.digest`): failures saved in the
        database are replayed only for the same key, so one target's failures never steer
        another's search
    strict : behaviour outside the seed API's contract (unknown mode, integer input) fails
        instead of being reported as :attr:`FunctionResult.advice`
    ahead : the problems of this very search drawn ahead by a look-ahead explorer
        (:class:`refconv.conformance.lookahead.Stream`), or None to search inline. The result
        is the same either way.
    """
    if not defines(impl, function):
        return FunctionResult(function, "missing", message=f"{function} is not defined")
    if isinstance(database, str):
        database = open_database(database)
    count = [0]
    first_failure = [0]
    api = apis.api_of(function)
    problems = strategy if strategy is not None else api.problems(function)
    advice: dict[str, str] = {}

    def judged(problem: Any) -> list[tuple[str, str]]:
        return check(function, impl, problem, policy=policy, timeout=timeout, strict=strict)

    verdicts = _Verdicts(judged)

    def counted(problem: Any, key: bytes | None = None) -> None:
        """One call of the search's test: its verdict, counted (a cached verdict counts too:
        what a search did does not depend on what was judged ahead)."""
        count[0] += 1
        if progress is not None and count[0] % 10 == 0:
            progress(function, count[0])
        try:
            for topic, text in verdicts.verdict(problem, key):
                advice.setdefault(topic, text)
        except ConformanceFailure:
            first_failure[0] = first_failure[0] or count[0]
            raise

    # After the first failure every call is a shrink step. Past the budget only the problems
    # already seen failing run again; the others count as passing, so the shrinker stops
    # where the budget ends.
    failing: set[bytes] = set()
    shrinking = {"calls": 0, "cut": False}

    def conforms(problem: Any) -> None:
        key = _problem_key(problem)
        if failing:
            if shrinking["calls"] >= shrink_calls and key not in failing:
                shrinking["cut"] = True
                return
            shrinking["calls"] += 1
        try:
            counted(problem, key)
        except ConformanceFailure as failure:
            failing.add(key)
            if failure.kind in TERMINAL_KINDS:
                raise _StopSearch(failure) from None
            raise

    # The seed corpus runs first and finds most bugs in a few calls; exploration then looks for
    # a *minimal* failing input (hypothesis cannot shrink explicit examples), and the corpus
    # failure is reported only if exploration finds none.
    corpus_failure: ConformanceFailure | None = None
    started = time.perf_counter()
    if use_corpus and strategy is None:
        for problem in api.corpus(function):
            try:
                counted(problem)
            except ConformanceFailure as failure:
                corpus_failure = failure
                break
    replayed, corpus_seconds = count[0], time.perf_counter() - started
    engine: dict[str, Any] = {}
    failure = None
    stopped = corpus_failure is not None and corpus_failure.kind in TERMINAL_KINDS
    if stopped:
        failure, corpus_failure = corpus_failure, None
    try:
        if stopped:
            raise _StopSearch(failure)
        found = None
        if ahead is not None:
            # Judge the problems drawn ahead, in their order, up to the first failure. All
            # passing: the search would have drawn exactly these (README "Where a check's
            # time goes"), and its result is theirs. Otherwise the search replays them from
            # the verdicts and shrinks the failure as usual.
            judged_ahead: list[list[tuple[str, str]]] = []

            def judge_ahead(problem: Any) -> None:
                # (two draws can be the same problem: judged once, as the search would)
                judged_ahead.append(verdicts.verdict(problem))
                if progress is not None and len(judged_ahead) % 10 == 0:
                    progress(function, replayed + len(judged_ahead))

            ahead_started = time.perf_counter()
            found = ahead.judge(judge_ahead)
            ahead_seconds = time.perf_counter() - ahead_started
        if found is not None and found.complete and not found.failed:
            count[0] += len(judged_ahead)
            for topic, text in (item for judged in judged_ahead for item in judged):
                advice.setdefault(topic, text)
            # The explorer's statistics, with the generate phase's seconds as this check spent
            # them (judging; the drawing ran alongside, in the explorer).
            engine = dict(found.statistics)
            if "generate-phase" in engine:
                engine["generate-phase"] = {
                    **engine["generate-phase"],
                    "duration-seconds": ahead_seconds,
                }
        else:
            with with_reporter(lambda message: None):
                result = search(
                    problems,
                    conforms,
                    max_examples=max_examples,
                    seed=seed,
                    database=database,
                    database_key=_database_key(function, policy, target_key),
                    shrink_seconds=shrink_seconds,
                )
            engine, failure = result.statistics, result.failure
    except _StopSearch as stop:
        failure = stop.failure
        failure.notes.append(
            f"the search stopped at this first {failure.kind}: not shrunk (each further call "
            "could cost as much)"
        )
    except Exception as exc:  # noqa: BLE001 - anything from user code or hypothesis is reported
        elapsed = time.perf_counter() - started
        message = f"checker error: {type(exc).__name__}: {exc}"
        return FunctionResult(
            function,
            "error",
            count[0],
            elapsed,
            message=message,
            seed=seed,
            statistics=_statistics(engine, replayed, corpus_seconds, elapsed),
        )
    if failure is None and corpus_failure is not None:
        failure = corpus_failure
        failure.notes.append("found by the seed corpus; random exploration found no smaller case")
    if failure is not None and shrinking["cut"]:
        failure.notes.append(
            f"shrinking stopped at its budget of {shrink_calls} calls: a smaller case may exist"
        )
    shrink_time = float((engine.get("shrink-phase") or {}).get("duration-seconds", 0.0))
    if failure is not None and shrink_time >= shrink_seconds:
        failure.notes.append(
            f"shrinking was cut by the {shrink_seconds:g} s safety net: on another run the "
            "counterexample may differ"
        )
    elapsed = time.perf_counter() - started
    statistics = _statistics(engine, replayed, corpus_seconds, elapsed)
    if failure is None:
        return FunctionResult(
            function,
            "pass",
            count[0],
            elapsed,
            seed=seed,
            statistics=statistics,
            advice=list(advice.values()),
        )
    explain(
        failure,
        lambda problem, policy: check(
            function, impl, problem, policy=policy, timeout=timeout, strict=strict
        ),
    )
    return FunctionResult(
        function,
        "fail",
        count[0],
        elapsed,
        failure,
        failure.message,
        seed,
        found_at=first_failure[0],
        statistics=statistics,
        advice=list(advice.values()),
    )


def _database_key(function: str, policy: str, target_key: str) -> bytes:
    """One database key per function, tie policy and target content: what failed once for this
    code is replayed first next time; nothing leaks between different targets."""
    return hashlib.sha256(f"refconv:{function}:{policy}:{target_key}".encode()).digest()


def explain(failure: ConformanceFailure, recheck: Callable[[Any, str], None]) -> None:
    """Diagnose ``failure`` with its API profile's rules (``recheck`` confirms on fresh values)."""
    apis.api_of(failure.function).explain(failure, recheck)


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
    *,
    api: str = "seed",
    workers: int = 1,
    loader: Callable[[], Any] | None = None,
    finished: Callable[[int, int], None] | None = None,
    explorer: Any = None,
    **options: Any,
) -> list[FunctionResult]:
    """:func:`run_function` for each function of an API, in the API's order.

    Parameters
    ----------
    impl : object with the API's functions as attributes
    functions : the functions to check (default: all of ``api``'s)
    api : the API profile (:mod:`refconv.conformance.apis`) whose functions are the default
    workers : with N > 1, check the functions in up to N processes. The results are the same as
        a sequential run's (same verdicts and, for a given seed, counterexamples), in the same
        order; ``progress`` is not called (``finished`` is).
    loader : zero-argument picklable callable that returns the implementation, for worker
        processes that cannot inherit ``impl`` (spawn start method, e.g. macOS and Windows),
        e.g. ``functools.partial(IsolatedTarget, spec)``. Forked workers inherit ``impl``; an
        :class:`~refconv.conformance.isolation.IsolatedTarget` then starts its own executor
    finished : called as ``finished(done, total)`` each time a function's check completes
    explorer : an idle :class:`~refconv.conformance.lookahead.Explorer` to draw the problems
        ahead of the judge (same results; used with one worker, a seed and no database only,
        else ignored)
    options : passed to :func:`run_function`. ``database`` may be a spec for
        :func:`open_database`, opened once per process (what workers need: a Redis connection
        must not be shared across processes); with spawned workers the options must pickle.
    """
    names = list(apis.get(api).functions) if functions is None else list(functions)
    workers = min(workers, len(names))
    if workers > 1:
        results = _run_in_processes(impl, names, workers, loader, finished, options)
    else:
        if isinstance(options.get("database"), str):
            options["database"] = open_database(options["database"])
        checked: dict[str, FunctionResult] = {}
        order = apis.get(api).check_order(names)
        streams = _look_ahead(explorer, impl, order, options)
        with oracle.single_threaded():
            for name in order:
                checked[name] = run_function(impl, name, ahead=streams.get(name), **options)
                if finished is not None:
                    finished(len(checked), len(names))
        results = [checked[name] for name in names]
    failed = {r.function for r in results if r.status in ("fail", "error")}
    for r in results:
        if r.failure is None:
            continue
        for helper in apis.api_of(r.function).helpers.get(r.function, ()):
            if helper in failed:
                r.failure.notes.append(
                    f"{helper} fails too: if {r.function} uses it, that may be the cause"
                )
    return results


def _look_ahead(
    explorer: Any, impl: Any, names: list[str], options: dict[str, Any]
) -> dict[str, Any]:
    """The explorer's stream of each function's problems (none when it cannot look ahead:
    a database's replay is edited by the search itself, a fresh seed or an overridden strategy
    cannot be shared)."""
    if (
        explorer is None
        or options.get("database") is not None
        or options.get("seed", DEFAULT_SEED) is None
        or options.get("strategy") is not None
    ):
        return {}
    from refconv.conformance.lookahead import Job

    max_examples = options.get("max_examples", DEFAULT_MAX_EXAMPLES)
    seed = options.get("seed", DEFAULT_SEED)
    jobs = [Job(name, max_examples, seed) for name in names if defines(impl, name)]
    explorer.assign(jobs)
    return {job.function: explorer.stream(job.function) for job in jobs}


# --------------------------------------------------------------------------------------------
# one target's functions in several processes


#: State of a worker process of :func:`_run_in_processes`, set once by :func:`_init_worker`.
_WORKER: dict[str, Any] = {}

#: Modules whose exception classes a parent process can always unpickle.
_PORTABLE_MODULES = ("builtins", "refconv", "numpy")


def _init_worker(impl: Any, loader: Callable[[], Any] | None, options: dict[str, Any]) -> None:
    """Prepare a worker: its implementation (inherited, or loaded), database and torch."""
    try:
        if impl is None:
            if loader is None:
                raise ValueError("run_all(workers > 1) needs a loader to spawn worker processes")
            impl = loader()
        options = dict(options)
        if isinstance(options.get("database"), str):
            options["database"] = open_database(options["database"])
    except Exception as exc:  # noqa: BLE001 - reported as each function's error
        _WORKER["error"] = f"{type(exc).__name__}: {exc}"
        return
    # Pool workers leave through os._exit, skipping atexit: kill this worker's executors then.
    from refconv.conformance.isolation import kill_all_executors

    multiprocessing.util.Finalize(None, kill_all_executors, exitpriority=10)
    _WORKER.update(impl=impl, options=options)


def _portable_exception(exc: BaseException | None) -> BaseException | None:
    """``exc`` if the parent process can unpickle it, else a :class:`RemoteError` copy."""
    if exc is None:
        return None
    if type(exc).__module__.split(".")[0] in _PORTABLE_MODULES:
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:  # noqa: BLE001 - its arguments do not pickle: replace it below
            pass
        else:
            return exc
    return RemoteError(f"{type(exc).__name__}: {exc}")


def _check_in_worker(function: str) -> FunctionResult:
    """:func:`run_function` in a worker process; the result is made picklable."""
    if "error" in _WORKER:
        message = f"checker error: the worker process could not load the target: {_WORKER['error']}"
        return FunctionResult(function, "error", message=message)
    # The processes are the parallelism: torch on one thread (as in run_all), whenever it loads.
    with oracle.single_threaded():
        result = run_function(_WORKER["impl"], function, **_WORKER["options"])
    failure = result.failure
    if failure is not None:
        # The user's traceback is already text in failure.details; the diagnosis is done.
        failure.exception = _portable_exception(failure.exception)
        for name in ("expected", "actual"):
            arrays = getattr(failure, name)
            for key, value in arrays.items():
                try:
                    pickle.dumps(value)
                except Exception:  # noqa: BLE001 - a user object: its text is what reports show
                    arrays[key] = repr(value)
    return result


def _run_in_processes(
    impl: Any,
    names: list[str],
    workers: int,
    loader: Callable[[], Any] | None,
    finished: Callable[[int, int], None] | None,
    options: dict[str, Any],
) -> list[FunctionResult]:
    context = process_context()
    options = {key: value for key, value in options.items() if key != "progress"}
    # With fork the initializer's arguments are inherited, never pickled: impl may be anything.
    initargs = (impl if context.get_start_method() == "fork" else None, loader, options)
    results: dict[str, FunctionResult] = {}
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=initargs,
    ) as pool:
        # The costliest first, so that N workers finish together (longest processing time
        # first scheduling).
        ordered = sorted(names, key=lambda name: -apis.api_of(name).cost.get(name, 0))
        futures = {pool.submit(_check_in_worker, name): name for name in ordered}
        try:
            for future in as_completed(futures):
                name = futures[future]
                try:
                    results[name] = future.result()
                except Exception as exc:  # noqa: BLE001 - a worker died (killed, out of memory)
                    message = f"checker error: worker process failed: {type(exc).__name__}: {exc}"
                    results[name] = FunctionResult(name, "error", message=message)
                if finished is not None:
                    finished(len(results), len(names))
        except BaseException:  # Ctrl-C: do not start the functions still queued
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return [results[name] for name in names]
