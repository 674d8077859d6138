"""The guarded call: how a check calls user code and turns whatever happens into a verdict.

User code is called through an :class:`~refconv.conformance.calls.Implementation` (in this
process for trusted code, through the executor for a user's target): its exceptions, hangs
(per-call timeout), crashes, wrong return types, shapes and mutated inputs become a
:class:`ConformanceFailure` of the function being checked, never a crash of the checker. Every
API profile's checks (:mod:`refconv.conformance.apis`) are written against these helpers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from refconv._executor.wire import Foreign
from refconv.conformance.calls import Implementation, implementation
from refconv.conformance.tolerance import Mismatch, compare

#: ``check(impl, problem, ctx)``: raises ConformanceFailure when the implementation is wrong.
Check = Callable[[Any, Any, "Context"], None]
#: ``recheck(problem, policy)``: the same check of the same implementation on another problem.
Recheck = Callable[[Any, str], None]

#: Default per-call timeout in seconds for user code.
DEFAULT_TIMEOUT = 10.0


@dataclass
class ConformanceFailure(AssertionError):
    """An implementation did not conform on one problem.

    Attributes
    ----------
    function : the function that failed
    kind : "exception", "timeout", "crash", "mutation", "type", "shape" or "value"
    message : one-line statement of what is wrong
    problem : the problem (inputs) it failed on
    mismatch : the worst entry, for "value" failures
    expected, actual : the compared arrays by output name (for reports and diagnosis)
    bounds : the allowed error of each compared output (absent: compared exactly)
    variant : which variant of the check failed, when it has several (e.g. which cache a
        backward was fed); "" otherwise
    details : user traceback or printed output, when any
    notes : extra lines (diagnosis, tie analysis) filled in after shrinking
    """

    function: str
    kind: str
    message: str
    problem: Any = None
    policy: str = "torch"
    mismatch: Mismatch | None = None
    expected: dict[str, Any] = field(default_factory=dict)
    actual: dict[str, Any] = field(default_factory=dict)
    bounds: dict[str, Any] = field(default_factory=dict)
    variant: str = ""
    details: str = ""
    exception: BaseException | None = None
    diagnosis: str | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        head = f"{self.function}: {self.message}"
        if self.mismatch is not None:
            head += f"\n  {self.mismatch.describe()}"
        if self.diagnosis:
            head += f"\n  diagnosis: {self.diagnosis}"
        return head

    __hash__ = object.__hash__

    def __reduce__(self) -> tuple[Any, ...]:
        # An exception pickles as ``cls(*self.args)``, which lacks this dataclass's required
        # fields: rebuild it from all of them (worker processes of ``run_all`` send failures back).
        return (type(self), tuple(getattr(self, f.name) for f in fields(self)))


@dataclass
class Context:
    """How a check calls user code, and the advice it collects.

    ``strict``: behaviour outside the API's contract (README "The contract") fails instead
    of being recorded in ``advice`` as ``(topic, text)``.
    """

    policy: str = "torch"
    timeout: float | None = DEFAULT_TIMEOUT
    strict: bool = False
    advice: list[tuple[str, str]] = field(default_factory=list)


def call(
    ctx: Context,
    impl: Implementation,
    function: str,
    args: list[tuple[str, Any]],
    problem: Any,
    *,
    checked: str | None = None,
) -> Any:
    """Call ``impl.<function>(*values)`` guarded; raise a failure of ``checked`` (default
    ``function``) for a timeout, a crash, an exception or a mutated input."""
    return start(ctx, impl, function, args, problem, checked=checked)()


def start(
    ctx: Context,
    impl: Implementation,
    function: str,
    args: list[tuple[str, Any]],
    problem: Any,
    *,
    checked: str | None = None,
) -> Callable[[], Any]:
    """:func:`call`, started: returns a function that waits for the call and returns its value
    (or raises its failure). A check computes its expected values meanwhile, while the target
    runs in the executor (:meth:`Implementation.start`)."""
    finish = impl.start(function, args, ctx.timeout)
    return lambda: _value(ctx, function, args, problem, checked or function, finish())


def _value(
    ctx: Context,
    function: str,
    args: list[tuple[str, Any]],
    problem: Any,
    checked: str,
    outcome: Any,
) -> Any:
    """What a call returned, or the failure of ``checked`` its outcome is."""
    if outcome.timed_out:
        raise ConformanceFailure(
            checked,
            "timeout",
            f"{function}() did not return within {ctx.timeout:g} s (infinite loop?)",
            problem,
            ctx.policy,
            details=outcome.printed[-2000:],
        )
    if outcome.crash:
        raise ConformanceFailure(
            checked,
            "crash",
            f"{function}(): {outcome.crash}",
            problem,
            ctx.policy,
            details=outcome.printed[-2000:],
        )
    if outcome.exception is not None:
        exc = outcome.exception
        message = f"{function}() raised {type(exc).__name__}: {exc}".splitlines()[0]
        raise ConformanceFailure(
            checked,
            "exception",
            message,
            problem,
            ctx.policy,
            details=outcome.traceback,
            exception=exc,
        )
    originals = dict(args)
    for name, value in outcome.mutated:
        original = originals.get(name)
        name = name.removesuffix("=")  # a keyword argument (refconv._executor.wire.KEYWORD)
        raise ConformanceFailure(
            checked,
            "mutation",
            f"{function}() modified its input {name} in place",
            problem,
            ctx.policy,
            expected={name: original} if isinstance(original, np.ndarray) else {},
            actual={name: value} if isinstance(value, np.ndarray) else {},
        )
    return outcome.value


def as_output(
    ctx: Context, function: str, name: str, value: Any, shape: tuple[int, ...], problem: Any
) -> np.ndarray:
    """The output ``name`` as a float64 array, after checking its type and shape."""
    if not isinstance(value, (np.ndarray, np.generic)) or value.dtype.kind not in "biuf":
        raise ConformanceFailure(
            function,
            "type",
            f"{name} must be a real NumPy array of shape {shape}, got {kind_of(value)}",
            problem,
            ctx.policy,
        )
    if value.shape != tuple(shape):
        raise ConformanceFailure(
            function,
            "shape",
            f"{name} has shape {value.shape}, expected {tuple(shape)}",
            problem,
            ctx.policy,
            actual={name: np.asarray(value)},
        )
    return np.asarray(value)


def kind_of(value: Any) -> str:
    """A short description of a returned value that is not what was asked for."""
    if isinstance(value, Foreign):
        return f"an object of type {value.type_name}: {value.text}"[:160]
    if isinstance(value, (np.ndarray, np.generic)):
        return f"{type(value).__name__} of dtype {value.dtype} and shape {np.shape(value)}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of length {len(value)}"
    return f"{type(value).__name__} {value!r}"[:120]


def judge(
    ctx: Context,
    function: str,
    problem: Any,
    outputs: list[tuple[str, np.ndarray, np.ndarray, np.ndarray | float]],
) -> None:
    """Compare each ``(name, actual, expected, bound)``; raise on the first violation."""
    for name, actual, expected, bound in outputs:
        mismatch = compare(name, actual, expected, bound)
        if mismatch is not None:
            raise ConformanceFailure(
                function,
                "value",
                f"wrong values in {name}",
                problem,
                ctx.policy,
                mismatch=mismatch,
                expected={n: e for n, _, e, _ in outputs},
                actual={n: a for n, a, _, _ in outputs},
                bounds={n: b for n, _, _, b in outputs},
            )


def defines(impl: Any, function: str) -> bool:
    """Whether ``impl`` (any object, or an :class:`Implementation`) defines ``function``."""
    return implementation(impl).present(function)


def pair(
    ctx: Context, checked: str, result: Any, problem: Any, expected: str, length: int = 2
) -> tuple:
    """A ``length``-tuple result (a forward's ``(output, cache)``), or a "type" failure."""
    if not isinstance(result, tuple) or len(result) != length:
        raise ConformanceFailure(
            checked, "type", f"{expected}, got {kind_of(result)}", problem, ctx.policy
        )
    return result


def own_cache(
    ctx: Context,
    impl: Any,
    forward: str,
    args: list[tuple[str, Any]],
    documented: tuple,
    problem: Any,
    checked: str,
) -> Any:
    """The implementation's own forward cache; the ``documented`` one without a usable forward.

    A forward that raises, hangs or mutates its inputs is judged by its own check; the backward
    then gets the cache in the API's documented layout so that it is judged on its own. A
    forward that returns something other than an ``(output, cache)`` pair fails the backward
    check too.
    """
    if not impl.present(forward):
        return documented
    try:
        result = call(ctx, impl, forward, args, problem, checked=checked)
    except ConformanceFailure as failure:
        if failure.kind not in ("exception", "timeout", "crash", "mutation"):
            raise
        # The forward is broken (and fails its own check); judge the backward on its own, fed
        # the cache in the API's documented layout.
        return documented
    expected = f"{forward}() must return (output, cache) for the backward pass"
    # The cache goes back to the backward as the implementation's own object (through the
    # executor it never leaves the target's process).
    return impl.kept(forward, pair(ctx, checked, result, problem, expected), 1)
