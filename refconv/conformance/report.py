"""Reports of a conformance run: the terminal text and the JSON document.

Written once for every API profile (:mod:`refconv.conformance.apis`): a failure's reproduction
snippet comes from its profile's ``repro``, its arrays are shown in the profile's layout.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from refconv.conformance.apis import api_of
from refconv.conformance.runner import FunctionResult, statistics_line

STATUS_WORD = {"pass": "pass", "fail": "FAIL", "missing": "missing", "error": "ERROR"}


def _array_text(array: Any, layout: str = "NHWC") -> str:
    array = np.asarray(array)
    if array.ndim == 4 and layout == "NCHW":
        array = np.moveaxis(array, 1, 3)  # shown the same way; labelled in NCHW below
    if array.ndim == 4:  # show each example and channel as an (H, W) matrix
        blocks = []
        for i in range(array.shape[0]):
            for c in range(array.shape[3]):
                text = np.array2string(
                    array[i, :, :, c], precision=8, suppress_small=False, max_line_width=100
                )
                label = f"[{i}, {c}, :, :]" if layout == "NCHW" else f"[{i}, :, :, {c}]"
                blocks.append(f"{label} = {text}".replace("\n", "\n" + " " * 16))
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
    api = api_of(result.function)
    unused = api.unused_inputs.get(result.function, ())
    for name, value in failure.problem.arrays().items():
        if name in unused:
            continue
        out.append(f"    {name} {value.shape} {value.dtype}:")
        out.append(_indent(_array_text(value, api.layout), 6))
    scalars = {k: v for k, v in failure.problem.__dict__.items() if not isinstance(v, np.ndarray)}
    if scalars:
        out.append("    " + ", ".join(f"{k} = {v!r}" for k, v in scalars.items()))
    if failure.mismatch is not None:
        out.append(f"  {failure.mismatch.describe()}")
        name = failure.mismatch.name
        for label, source in (("expected", failure.expected), ("actual", failure.actual)):
            if name in source:
                out.append(f"  {label} {name}:")
                out.append(_indent(_array_text(source[name], api.layout), 6))
    if failure.details:
        out.append("  traceback (your code):")
        out.append(_indent(failure.details.rstrip(), 6))
    out.append("  reproduce:")
    out.append(_indent(api.repro(failure, loader, has_forward), 6))
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
        f"refconv check {target}  ("
        + (f"api: {options['api']}, " if options.get("api") else "")
        + (f"oracle: {options['oracle']}, " if options.get("oracle") else "")
        + f"ties: {options['policy']}, seed: {options['seed']}, "
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
    advice = [(r.function, text) for r in results for text in r.advice]
    if advice:
        lines.append("advice (outside the API's contract, not failures; --strict fails them):")
        lines += [f"  {function}: {text}" for function, text in advice]
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
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN or infinity: null, like non-finite array entries
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
        "advice": list(r.advice),
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
            "repro": api_of(r.function).repro(f, loader, has_forward),
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
