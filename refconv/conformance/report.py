"""Reports of a conformance run: the terminal text, the JSON document and reproduction snippets."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from refconv.conformance.checks import ConformanceFailure
from refconv.conformance.runner import FunctionResult, statistics_line
from refconv.problems import (
    ConvProblem,
    DistributeProblem,
    PadProblem,
    PoolProblem,
    SingleStepProblem,
    WindowProblem,
    array_source,
)

STATUS_WORD = {"pass": "pass", "fail": "FAIL", "missing": "missing", "error": "ERROR"}


def _call_source(function: str, problem: Any, has_forward: bool) -> tuple[str, str]:
    """(lines that call the implementation, name of the output compared)."""
    if isinstance(problem, PadProblem):
        return "X_pad = impl.zero_pad(X, pad)", "X_pad"
    if isinstance(problem, SingleStepProblem):
        return "Z = impl.conv_single_step(a_slice_prev, W, b)", "Z"
    if isinstance(problem, WindowProblem):
        return "mask = impl.create_mask_from_window(x)", "mask"
    if isinstance(problem, DistributeProblem):
        return "a = impl.distribute_value(dz, shape)", "a"
    if isinstance(problem, ConvProblem):
        forward = 'Z, cache = impl.conv_forward(A_prev, W, b, {"stride": stride, "pad": pad})'
        if function == "conv_forward":
            return forward, "Z"
        if not has_forward:
            forward = 'cache = (A_prev, W, b, {"stride": stride, "pad": pad})'
        return forward + "\ndA_prev, dW, db = impl.conv_backward(dZ, cache)", "dA_prev"
    if isinstance(problem, PoolProblem):
        forward = 'A, cache = impl.pool_forward(A_prev, {"f": f, "stride": stride}, mode=mode)'
        if function == "pool_forward":
            return forward, "A"
        if not has_forward:
            forward = 'cache = (A_prev, {"f": f, "stride": stride})'
        return forward + "\ndA_prev = impl.pool_backward(dA, cache, mode=mode)", "dA_prev"
    return f"impl.{function}(...)", ""


def repro_snippet(failure: ConformanceFailure, loader: str, has_forward: bool = True) -> str:
    """Standalone Python that re-runs the failing call and prints the worst mismatch."""
    call, output = _call_source(failure.function, failure.problem, has_forward)
    lines = ["import numpy as np", loader, "", failure.problem.python_source(), call]
    name = failure.mismatch.name if failure.mismatch is not None else output
    expected = failure.expected.get(name)
    if (
        failure.kind == "value"
        and expected is not None
        and name in ("X_pad", "Z", "A", "mask", "a", "dA_prev", "dW", "db")
    ):
        lines += [
            f"expected_{name} = {array_source(np.asarray(expected, dtype=np.float64))}",
            f"print('max |{name} - expected| =', np.max(np.abs({name} - expected_{name})))",
        ]
    elif failure.kind == "mutation":
        lines.append("# compare the inputs above with their values after the call")
    return "\n".join(lines)


def _array_text(array: Any) -> str:
    array = np.asarray(array)
    if array.ndim == 4:  # NHWC: show each example and channel as an (H, W) matrix
        blocks = []
        for i in range(array.shape[0]):
            for c in range(array.shape[3]):
                text = np.array2string(
                    array[i, :, :, c], precision=8, suppress_small=False, max_line_width=100
                )
                blocks.append(f"[{i}, :, :, {c}] = {text}".replace("\n", "\n" + " " * 16))
        return "\n".join(blocks)
    return np.array2string(array, precision=8, max_line_width=100)


def _indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "\n".join(pad + line if line else line for line in text.splitlines())


def failure_text(result: FunctionResult, loader: str, has_forward: bool) -> str:
    failure = result.failure
    assert failure is not None
    out = [f"FAIL {result.function}: {failure.message}"]
    if failure.diagnosis:
        out.append(f"  diagnosis: {failure.diagnosis}")
    out += [f"  note: {note}" for note in failure.notes]
    if result.statistics:
        out.append(f"  search: {statistics_line(result.statistics)}")
    out.append(
        f"  counterexample (seed {result.seed}; first failure at call {result.found_at}, "
        f"shrunk within {result.examples} calls): {failure.problem!r}"
    )
    unused = {"conv_forward": ("dZ",), "pool_forward": ("dA",)}.get(result.function, ())
    for name, value in failure.problem.arrays().items():
        if name in unused:
            continue
        out.append(f"    {name} {value.shape} {value.dtype}:")
        out.append(_indent(_array_text(value), 6))
    scalars = {k: v for k, v in failure.problem.__dict__.items() if not isinstance(v, np.ndarray)}
    if scalars:
        out.append("    " + ", ".join(f"{k} = {v!r}" for k, v in scalars.items()))
    if failure.mismatch is not None:
        out.append(f"  {failure.mismatch.describe()}")
        name = failure.mismatch.name
        for label, source in (("expected", failure.expected), ("actual", failure.actual)):
            if name in source:
                out.append(f"  {label} {name}:")
                out.append(_indent(_array_text(source[name]), 6))
    if failure.details:
        out.append("  traceback (your code):")
        out.append(_indent(failure.details.rstrip(), 6))
    out.append("  reproduce:")
    out.append(_indent(repro_snippet(failure, loader, has_forward), 6))
    return "\n".join(out)


def text_report(
    target: str,
    results: list[FunctionResult],
    options: dict[str, Any],
    loader: str,
    has_forward: dict[str, bool],
    notes: list[str] = (),
    isolation: str = "",
) -> str:
    lines = [
        f"refconv check {target}  (ties: {options['policy']}, seed: {options['seed']}, "
        f"up to {options['max_examples']} examples per function)"
    ]
    if isolation:
        lines.append(f"  isolation: {isolation}")
    lines += [f"  note: {note}" for note in notes]
    for r in results:
        detail = ""
        if r.status == "fail" and r.failure is not None:
            detail = r.failure.diagnosis or r.failure.message
        elif r.status == "error":
            detail = r.message
        examples = f"{r.examples} examples" if r.status != "missing" else ""
        lines.append(
            f"  {r.function:<24} {STATUS_WORD[r.status]:<8} {examples:>13} "
            f"{r.seconds:6.2f} s  {detail}".rstrip()
        )
    counts = {s: sum(r.status == s for r in results) for s in STATUS_WORD}
    lines.append(
        f"{len(results)} functions: {counts['pass']} passed, {counts['fail']} failed, "
        f"{counts['error']} errors, {counts['missing']} missing"
    )
    for r in results:
        if r.status == "fail" and r.failure is not None:
            lines += ["", failure_text(r, loader, has_forward.get(r.function, True))]
    return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return (
            np.where(np.isfinite(value), value, None).tolist()
            if value.dtype.kind == "f"
            else value.tolist()
        )
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return value


def result_json(r: FunctionResult, loader: str, has_forward: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "function": r.function,
        "status": r.status,
        "examples": r.examples,
        "seconds": round(r.seconds, 4),
        "message": r.message,
        "statistics": r.statistics,
        "counterexample": None,
    }
    if r.failure is not None:
        f = r.failure
        entry["diagnosis"] = f.diagnosis
        entry["notes"] = list(f.notes)
        entry["counterexample"] = {
            "problem": repr(f.problem),
            "kind": f.kind,
            "inputs": _jsonable(f.problem.__dict__),
            "expected": _jsonable(f.expected),
            "actual": _jsonable(f.actual),
            "worst": None if f.mismatch is None else _jsonable(f.mismatch.__dict__),
            "seed": r.seed,
            "repro": repro_snippet(f, loader, has_forward),
        }
    return entry


def json_report(
    target: str,
    results: list[FunctionResult],
    options: dict[str, Any],
    loader: str,
    has_forward: dict[str, bool],
    notes: list[str] = (),
    context: dict[str, Any] | None = None,
) -> str:
    """The JSON report; ``context`` adds top-level entries (versions, isolation)."""
    document = {
        "target": target,
        "options": options,
        **(context or {}),
        "notes": list(notes),
        "results": [result_json(r, loader, has_forward.get(r.function, True)) for r in results],
    }
    return json.dumps(document, indent=2, allow_nan=False)
