"""The functional profile: torch-like NCHW functions, their backward, and error parity.

A target defines some of ``conv2d``, ``conv_transpose2d``, ``max_pool2d``, ``avg_pool2d`` with
``torch.nn.functional``'s names, argument names and defaults, and their backward through the
adapter ``<op>_backward(grad_output, *the forward's arguments)`` (keywords alike, no
``return_indices``): ``(grad_input, grad_weight, grad_bias)`` for the convolutions (``grad_bias``
None without a bias), ``grad_input`` for the pools (README "The functional profile";
:mod:`refconv.functional` is refconv's own implementation of exactly this API).

Every problem is one call (:class:`~refconv.problems.FunctionalProblem`), valid or not
(:func:`refconv.strategies.functional_configs`). Error parity: where the oracle rejects the call
the target must raise (any exception), and where the oracle accepts it the target must not.
Calls with a wrongly *typed* argument (a bool, float or string for an int, a non-bool flag) and
calls on an empty batch are outside the contract: a target that accepts or rejects them unlike
torch gets advice, a failure only with ``--strict``. Values are compared with the tolerance
model; max pooling's output and indices exactly. Ties in max pooling follow torch's rule (the
first maximum in the window's scan order): ``--ties`` applies to the seed and cs231n profiles.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np
from hypothesis import strategies as st

from refconv import API_FUNCTIONS, oracle
from refconv import functional as F
from refconv._windows import output_length
from refconv.conformance import diagnose
from refconv.conformance.apis import Api
from refconv.conformance.guard import (
    ConformanceFailure,
    Context,
    as_output,
    judge,
    kind_of,
    pair,
    start,
)
from refconv.conformance.snippets import Snippet
from refconv.conformance.tolerance import dot_bound, working_dtype
from refconv.problems import FUNCTIONAL_OPS, FunctionalProblem
from refconv.strategies import functional_configs, has_empty_max_window

FUNCTIONS = API_FUNCTIONS["functional"]

#: The integer parameters of each op (an int or a pair of ints; padding may be a string).
_INT_PARAMETERS = ("stride", "padding", "dilation", "groups", "output_padding", "kernel_size")
_FLAGS = ("ceil_mode", "count_include_pad", "return_indices")


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def wrongly_typed(problem: FunctionalProblem) -> bool:
    """Whether the call passes a value of the wrong *type*: a bool, float, string or array
    where torch wants an int or a pair of ints, a non-bool flag, a non-int divisor_override."""
    for name, value in problem.kwargs.items():
        if name in _INT_PARAMETERS:
            if name == "padding" and isinstance(value, str):
                continue  # a padding string is a value: "same" and "valid" are valid
            items = value if isinstance(value, (tuple, list)) else (value,)
            if not all(_is_int(v) for v in items):
                return True
        elif name in _FLAGS:
            if not isinstance(value, bool):
                return True
        elif name == "divisor_override" and value is not None and not _is_int(value):
            return True
    return False


def outside_contract(problem: FunctionalProblem) -> str | None:
    """Why a call lies outside the profile's contract (a wrongly typed argument, an empty
    batch), or None: there the target's behaviour is advice, a failure only with --strict."""
    if wrongly_typed(problem):
        return "typed arguments"
    if problem.input.ndim == 4 and problem.input.shape[0] == 0:
        return "empty batch"
    return None


def _array_args(problem: FunctionalProblem) -> list[tuple[str, Any]]:
    convolution = problem.op in ("conv2d", "conv_transpose2d")
    names = ("input", "weight", "bias") if convolution else ("input",)
    return list(zip(names, problem.arrays_in, strict=True))


def _forward_args(problem: FunctionalProblem) -> list[tuple[str, Any]]:
    keywords = [(f"{name}=", value) for name, value in problem.kwargs.items()]
    return _array_args(problem) + keywords


def _backward_args(problem: FunctionalProblem, grad_output: Any = None) -> list[tuple[str, Any]]:
    grad = problem.grad_output if grad_output is None else grad_output
    keywords = [(f"{k}=", v) for k, v in problem.kwargs.items() if k != "return_indices"]
    return [("grad_output", grad), *_array_args(problem), *keywords]


def batch_of_one(problem: FunctionalProblem) -> FunctionalProblem:
    """The oracle decides an empty-batch call on the same call with a batch of one: torch skips
    the checks that live in its kernels when N == 0, and a target need not."""
    x, grad = problem.input, problem.grad_output
    if x.ndim != 4 or x.shape[0] != 0:
        return problem
    grad = grad if grad is not None else np.zeros((0,), x.dtype)
    batch = 1 if grad.ndim == 4 and grad.shape[0] == 0 else grad.shape[0] + 1
    return dataclasses.replace(
        problem,
        input=np.zeros((1, *x.shape[1:]), x.dtype),
        grad_output=np.zeros((batch, *grad.shape[1:]), grad.dtype),
    )


def _oracle_says(run: Any) -> tuple[Any, Exception | None]:
    """What the oracle returns for a call and None, or None and the exception it raises."""
    try:
        return run(), None
    except Exception as exc:  # noqa: BLE001 - whatever the oracle raises is its verdict
        return None, exc


def _rejection(run: Any) -> Exception | None:
    """The exception the oracle raises for a call, or None when it accepts it."""
    return _oracle_says(run)[1]


def _parity(
    ctx: Context,
    function: str,
    problem: FunctionalProblem,
    finish: Any,
    rejected: Exception | None,
) -> Any:
    """The target's answer to a started call (``finish``); where the oracle rejects the call it
    must raise. Returns the result of an accepted call (None when the check ends here)."""
    outside = outside_contract(problem)
    try:
        result = finish()
    except ConformanceFailure as failure:
        if failure.kind != "exception":
            raise
        if rejected is not None:
            return None  # rejected, as torch does
        if outside and not ctx.strict:
            ctx.advice.append((outside, f"{failure.message}, where torch accepts the call"))
            return None
        failure.message += " (torch accepts this call)"
        raise
    if rejected is None:
        return result
    reason = f"{type(rejected).__name__}: {rejected}".splitlines()[0][:200]
    message = f"{function}() returned {kind_of(result)} for a call torch rejects ({reason})"
    if outside and not ctx.strict:
        ctx.advice.append((outside, message + ": raise an error for it, as torch does"))
        return None
    raise ConformanceFailure(function, "parity", message, problem, ctx.policy)


def _has_empty_max_window(problem: FunctionalProblem) -> bool:
    """:func:`has_empty_max_window` for any call, valid or not (an invalid one has none)."""
    try:
        return has_empty_max_window(problem)
    except (TypeError, ValueError):
        return False


def _kernel(problem: FunctionalProblem) -> tuple[int, int]:
    if problem.weight is not None:
        return problem.weight.shape[2], problem.weight.shape[3]
    size = problem.kwargs["kernel_size"]
    return (size, size) if _is_int(size) else (int(size[0]), int(size[-1]))


def _absolute(problem: FunctionalProblem) -> FunctionalProblem:
    """The same call on absolute values in float64: the magnitudes of the tolerance model."""

    def abs64(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else np.abs(a.astype(np.float64))

    return dataclasses.replace(
        problem,
        input=abs64(problem.input),
        weight=abs64(problem.weight),
        bias=abs64(problem.bias),
        grad_output=abs64(problem.grad_output),
    )


def _forward_bound(problem: FunctionalProblem) -> Any:
    op, kh_kw = problem.op, _kernel(problem)
    dtype = working_dtype(*(a for a in problem.arrays_in if a is not None))
    if op == "max_pool2d":
        return 0.0  # a selection: exact
    magnitude = np.abs(_absolute(problem).forward(F))
    groups = problem.kwargs.get("groups", 1)
    if op == "conv2d":
        n = problem.weight.shape[1] * kh_kw[0] * kh_kw[1] + 1
    elif op == "conv_transpose2d":
        n = problem.weight.shape[0] // groups * kh_kw[0] * kh_kw[1] + 1
    else:
        n = kh_kw[0] * kh_kw[1] + 1
    return dot_bound(magnitude, n, dtype)


def _backward_bounds(problem: FunctionalProblem) -> list[Any]:
    op, (kh, kw) = problem.op, _kernel(problem)
    arrays = [a for a in (*problem.arrays_in, problem.grad_output) if a is not None]
    dtype = working_dtype(*arrays)
    if op == "max_pool2d":
        # |grad_output| routed by the *same* argmax (|input| would move the maxima)
        magnitude = problem.backward(F, np.abs(problem.grad_output.astype(np.float64)))
        return [dot_bound(magnitude, kh * kw, dtype)]
    grads = _absolute(problem).backward(F)
    grads = grads if isinstance(grads, tuple) else (grads,)
    if op == "avg_pool2d":
        return [dot_bound(np.abs(grads[0]), kh * kw + 1, dtype)]
    groups = problem.kwargs.get("groups", 1)
    c_out_axis = 0 if problem.input.ndim == 3 else 1
    if op == "conv2d":
        c_out = problem.weight.shape[0]
        positions = int(np.prod(problem.grad_output.shape)) // c_out
        n_input = c_out // groups * kh * kw
    else:
        c_out = problem.weight.shape[1] * groups
        positions = int(np.prod(problem.input.shape)) // problem.input.shape[c_out_axis]
        n_input = problem.weight.shape[1] * kh * kw
    outputs = int(np.prod(problem.grad_output.shape)) // c_out
    return [
        dot_bound(grads[0], n_input, dtype),
        dot_bound(grads[1], positions, dtype),
        None
        if grads[2] is None
        else dot_bound(grads[2], positions if op == "conv2d" else outputs, dtype),
    ]


def check_forward(impl: Any, problem: FunctionalProblem, ctx: Context) -> None:
    op = problem.op
    finish = start(ctx, impl, op, _forward_args(problem), problem)
    reference = batch_of_one(problem)  # the oracle's verdict while the target runs
    output, rejected = _oracle_says(
        lambda: oracle.functional(op, reference.arrays_in, reference.kwargs)
    )
    result = _parity(ctx, op, problem, finish, rejected)
    if result is None or rejected is not None:
        return  # rejected as torch does, or advice recorded
    if reference is problem:
        expected = output
    else:
        expected = oracle.functional(op, problem.arrays_in, problem.kwargs)
    indices = None
    if isinstance(expected, tuple):  # return_indices
        expected, indices = expected
        result = pair(ctx, op, result, problem, "must return (output, indices) for return_indices")
        result, actual_indices = result
    actual = as_output(ctx, op, "output", result, expected.shape, problem)
    outputs = [("output", actual, expected, _forward_bound(problem))]
    if indices is not None:
        got = as_output(ctx, op, "indices", actual_indices, indices.shape, problem)
        outputs.append(("indices", got, indices, 0.0))
    judge(ctx, op, problem, outputs)


def check_backward(impl: Any, problem: FunctionalProblem, ctx: Context) -> None:
    op = problem.op
    function = f"{op}_backward"
    finish = start(ctx, impl, function, _backward_args(problem), problem)
    reference = batch_of_one(problem)  # the oracle's verdict while the target runs
    arrays = reference.arrays_in
    output = None
    empty_window = op == "max_pool2d" and _has_empty_max_window(problem)
    if reference.grad_output is None:
        rejected = _rejection(
            lambda: oracle.functional(op, arrays, reference.kwargs)
        ) or ValueError("the forward call itself is invalid")
    elif empty_window:
        # torch's max_pool2d backward writes outside the plane for a window with no input cell
        # (memory corruption, sometimes an abort): never run its kernel. It refuses a gradient
        # of another shape than the output before running anything, so only that is asked.
        forward, rejected = _oracle_says(lambda: oracle.functional(op, arrays, reference.kwargs))
        shape = np.shape(forward[0] if isinstance(forward, tuple) else forward)
        if rejected is None and shape != np.shape(reference.grad_output):
            rejected = _rejection(
                lambda: oracle.functional_backward(
                    op, reference.grad_output, arrays, reference.kwargs
                )
            )
    else:
        output, rejected = _oracle_says(
            lambda: oracle.functional_backward(op, reference.grad_output, arrays, reference.kwargs)
        )
    result = _parity(ctx, function, problem, finish, rejected)
    if result is None:
        return
    if empty_window:
        return  # torch's own backward writes outside the plane there: nothing to compare with
    if reference is problem:
        expected = output
    else:
        expected = oracle.functional_backward(
            op, problem.grad_output, problem.arrays_in, problem.kwargs
        )
    bounds = _backward_bounds(problem)
    if op in ("conv2d", "conv_transpose2d"):
        result = pair(
            ctx, function, result, problem, "must return (grad_input, grad_weight, grad_bias)", 3
        )
        names = ("grad_input", "grad_weight", "grad_bias")
    else:
        result, names = (result,), ("grad_input",)
    outputs = []
    for name, value, wanted, bound in zip(names, result, expected, bounds, strict=True):
        if wanted is None:  # no bias
            if value is not None:
                raise ConformanceFailure(
                    function,
                    "type",
                    f"{name} must be None without a bias, got {kind_of(value)}",
                    problem,
                    ctx.policy,
                )
            continue
        outputs.append(
            (name, as_output(ctx, function, name, value, wanted.shape, problem), wanted, bound)
        )
    judge(ctx, function, problem, outputs)


def problems(function: str) -> st.SearchStrategy[FunctionalProblem]:
    """Calls of the op of ``function``: valid ones, and invalid ones (one mutation of a valid
    call) for error parity; float64 mostly, float32 too."""
    op = function.removesuffix("_backward")

    def calls(dtype: Any) -> st.SearchStrategy[FunctionalProblem]:
        return st.one_of(
            functional_configs(valid=True, ops=(op,), dtype=dtype),
            functional_configs(valid=False, ops=(op,), dtype=dtype),
        )

    return st.sampled_from((np.float64, np.float32)).flatmap(calls)


@functools.cache
def corpus(function: str) -> tuple[FunctionalProblem, ...]:
    """Explicit calls replayed first: every parameter away from its default at once."""
    rng = np.random.default_rng(2)
    op = function.removesuffix("_backward")

    def normal(*shape: int) -> np.ndarray:
        return np.round(rng.standard_normal(shape), 2)

    if op == "conv2d":
        x, w, b = normal(2, 4, 7, 6), normal(6, 2, 3, 2), normal(6)
        kwargs = {"stride": (2, 1), "padding": (1, 2), "dilation": (1, 2), "groups": 2}
    elif op == "conv_transpose2d":
        x, w, b = normal(2, 4, 3, 4), normal(4, 3, 3, 2), normal(6)
        kwargs = {
            "stride": (2, 3),
            "padding": (1, 0),
            "output_padding": (1, 2),
            "groups": 2,
            "dilation": (1, 2),
        }
    elif op == "max_pool2d":
        x, w, b = normal(2, 3, 7, 8), None, None
        kwargs = {
            "kernel_size": (3, 2),
            "stride": (2, 3),
            "padding": (1, 1),
            "dilation": (2, 1),
            "ceil_mode": True,
            "return_indices": True,
        }
    else:
        x, w, b = normal(2, 3, 7, 8), None, None
        kwargs = {
            "kernel_size": (3, 2),
            "stride": (2, 3),
            "padding": (1, 1),
            "ceil_mode": True,
            "count_include_pad": False,
            "divisor_override": None,
        }
    plain = {  # the same op at its defaults (stride 1, no padding...), one group
        "conv2d": (normal(1, 2, 5, 4), normal(3, 2, 2, 3), normal(3), {}),
        "conv_transpose2d": (normal(1, 2, 3, 4), normal(2, 3, 2, 3), normal(3), {}),
        "max_pool2d": (normal(1, 2, 5, 4), None, None, {"kernel_size": 2}),
        "avg_pool2d": (normal(1, 2, 5, 4), None, None, {"kernel_size": 2}),
    }[op]
    edges = {  # where torch's rules are easy to get wrong
        # "same" with an even kernel: the odd padding row/column goes at the bottom/right
        "conv2d": [(normal(1, 2, 5, 6), normal(3, 2, 2, 4), normal(3), {"padding": "same"})],
        # ceil mode's last window overhangs the padded input: the divisor clips it first
        "avg_pool2d": [
            (
                normal(1, 2, 6, 7),
                None,
                None,
                {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
            )
        ],
    }.get(op, [])
    calls = (
        FunctionalProblem(op, x, w, b, kwargs, None),
        FunctionalProblem(op, *plain, None),
        *(FunctionalProblem(op, *edge, None) for edge in edges),
    )
    valid = tuple(_with_gradient(call, normal) for call in calls)
    return valid + _invalid_calls(valid[0], normal)


def _invalid_calls(valid: FunctionalProblem, normal: Any) -> tuple[FunctionalProblem, ...]:
    """Calls torch rejects that random mutation rarely draws: a grad_output that broadcasts to
    the output without having its shape, groups that do not divide the output channels, pooling
    padding above half the kernel, padding="same" with a stride."""
    grad = valid.grad_output
    invalid = [
        dataclasses.replace(valid, grad_output=grad[:1]),  # batch 1 broadcasts to 2
        dataclasses.replace(valid, grad_output=grad[..., :1]),  # width 1 broadcasts
    ]
    if valid.op == "conv2d":
        # 7 output channels, groups = 2; grad_output shaped as if the call were fine, so that
        # a backward without the check is not saved by a shape mismatch
        kwargs = {**valid.kwargs, "groups": 1}
        half = valid.input[:, : valid.input.shape[1] // 2]
        weight = normal(7, *valid.weight.shape[1:])
        shape = F.conv2d(half, weight, None, **kwargs).shape
        invalid.append(
            dataclasses.replace(valid, weight=weight, bias=normal(7), grad_output=normal(*shape))
        )
        same = {**valid.kwargs, "padding": "same", "stride": 2}
        invalid.append(dataclasses.replace(valid, kwargs=same, grad_output=None))
    elif valid.op in ("max_pool2d", "avg_pool2d"):
        kwargs = {**valid.kwargs, "padding": (2, 1)}  # kernel (3, 2): torch allows (1, 1)
        (kh, kw), (sh, sw) = valid.kwargs["kernel_size"], valid.kwargs["stride"]
        dh, dw = valid.kwargs.get("dilation", (1, 1))
        height, width = valid.input.shape[-2:]
        ceil = valid.kwargs.get("ceil_mode", False)
        shape = (
            *valid.input.shape[:2],
            output_length(height, kh, sh, 2, 2, dh, ceil),
            output_length(width, kw, sw, 1, 1, dw, ceil),
        )
        invalid.append(dataclasses.replace(valid, kwargs=kwargs, grad_output=normal(*shape)))
    return tuple(invalid)


def _with_gradient(problem: FunctionalProblem, normal: Any) -> FunctionalProblem:
    """The call with a random upstream gradient of its output's shape."""
    out = problem.forward(F)
    out = out[0] if isinstance(out, tuple) else out
    return dataclasses.replace(problem, grad_output=normal(*out.shape))


def _fresh(problem: Any, rng: np.random.Generator) -> Any:
    return diagnose.randomized(problem, rng)


def _candidates(failure: ConformanceFailure) -> list[str]:
    text = diagnose.facts_from_exception(failure)
    return [text] if text else []


class FunctionalSnippet(Snippet):
    """The calls of a functional check, in the snippet's words."""

    def problem_source(self) -> str:
        # the problem's own source ends with refconv's call: the snippet makes the target's
        return self.problem.inputs_source()

    def calls(self) -> list[str]:
        p, function = self.problem, self.failure.function
        backward = function.endswith("_backward")
        args = _backward_args(p) if backward else _forward_args(p)
        positional = [name for name, _ in args if not name.endswith("=")]
        expression = f"impl.{function}({', '.join([*positional, '**kwargs'])})"
        if backward:
            expression = expression.replace("kwargs)", "backward_kwargs)")
        lines = []
        if backward and "return_indices" in p.kwargs:
            lines.append(
                "backward_kwargs = {k: v for k, v in kwargs.items() if k != 'return_indices'}"
            )
        elif backward:
            lines.append("backward_kwargs = kwargs")
        lines += self.call(function, "result", expression, (*positional, "kwargs"))
        if self.failure.kind != "value" or self.failure.mismatch is None:
            return lines
        names = [n for n in self.failure.expected]
        self.use("unpack")
        if len(names) > 1 or (backward and p.op in ("conv2d", "conv_transpose2d")):
            every = (
                ("grad_input", "grad_weight", "grad_bias") if backward else ("output", "indices")
            )
            joined = ", ".join(every)
            lines.append(f"{joined} = unpack(result, {len(every)}, 'must return ({joined})')")
        else:
            lines.append(f"{names[0]} = result")
        for name in names:
            lines.append(self.output(name, self.failure.expected[name].shape))
        return lines

    def parameters(self) -> list[str]:
        return []


def repro(failure: ConformanceFailure, loader: str, has_forward: bool = True) -> str:
    """Standalone Python that re-runs the failing call on the counterexample."""
    return FunctionalSnippet(failure, has_forward).source(loader)


FUNCTIONAL = Api(
    name="functional",
    title="torch-like functional API (NCHW, torch.nn.functional's signatures)",
    functions=FUNCTIONS,
    checks={
        name: check_backward if name.endswith("_backward") else check_forward for name in FUNCTIONS
    },
    problems=problems,
    corpus=corpus,
    explain=functools.partial(diagnose.explain, candidates=_candidates, fresh=_fresh),
    repro=repro,
    cost={
        "conv2d_backward": 8,
        "conv_transpose2d_backward": 8,
        "max_pool2d_backward": 6,
        "avg_pool2d_backward": 6,
        "conv2d": 5,
        "conv_transpose2d": 5,
        "max_pool2d": 4,
        "avg_pool2d": 4,
    },
    layout="NCHW",
    unused_inputs={op: ("grad_output",) for op in FUNCTIONAL_OPS},
    contract="The functional profile",
)
