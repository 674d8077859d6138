"""Every mutant that survived the campaign, classified; ``python tests/mutation/survivors.py``
verifies each killing input (blind spot, outside the domain, advice) and ``--probe N`` searches
each mutant with N examples per function, as supporting evidence.

Keys are the mutants' source digests (:attr:`mutate.Mutant.key`), so a classification stays
attached to its mutant whatever the list's order. Four verdicts:

- ``equivalent``: no input the seed API defines tells the mutant from the reference (the
  argument says why);
- ``advice``: the mutant differs only in behaviour the checker's contract (README, "The
  contract: what fails, what is advice") declares advice, e.g. an unknown mode or integer-only
  input: it passes at default settings by design and fails with ``--strict``. ``problem``
  shows it: ``check`` passes with advice for the mutant, raises with ``strict=True``, and
  passes strictly for reference.py;
- ``outside the domain``: the mutant differs only on inputs the contract excludes: NaN, which
  no seed function is asked to handle (README, "The contract"; the notebook's own
  ``x == np.max(x)`` marks nothing in a NaN window). The reference follows torch's NaN rule
  there, and the mutants change that rule. ``problem`` holds such an input and kills the
  mutant like a blind spot's (and ``strategy`` is a search that finds it), which shows the
  difference is real but lies outside what a target is judged on;
- ``blind spot``: a real difference the default search does not reach. ``problem`` builds a
  minimal input that kills it: ``refconv.conformance.checks.check(function, mutant, problem)``
  must raise ConformanceFailure, and pass for reference.py (checked by :func:`verify`).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from refconv.problems import PoolProblem, WindowProblem

nan = np.nan


def _window(rows: list[list[float]]) -> Callable[[], Any]:
    return lambda: WindowProblem(np.array(rows, dtype=np.float64))


def _strategies() -> Any:
    from refconv import strategies

    return strategies


def _pool(A_prev: np.ndarray, f: int, stride: int, mode: str, dA: list[float]) -> Any:
    shape = PoolProblem(A_prev, f, stride, mode, np.zeros(0)).out_shape
    return lambda: PoolProblem(A_prev, f, stride, mode, np.array(dA).reshape(shape))


SURVIVORS: dict[str, dict[str, Any]] = {
    # --- equivalent -------------------------------------------------------------------------
    "908e93c2a5e6": {
        "mutant": "conv_forward 40: `np.zeros((m, n_H, n_W, n_C))` -> `np.ones(...)`",
        "verdict": "equivalent",
        "argument": "the four loops visit every (i, h, w, c) of Z and assign (=) each entry, so "
        "Z's initial values are never read or returned",
    },
    "aecf00219101": {
        "mutant": "pool_forward 72: `np.zeros((m, n_H, n_W, n_C))` -> `np.ones(...)`",
        "verdict": "equivalent",
        "argument": "every entry of A is assigned in the loops for mode 'max' or 'average' (the "
        "only modes that get past the raise), so A's initial values are never read",
    },
    "7a827b8af50b": {
        "mutant": "pool_forward 65: `mode not in ('max', 'average')` -> `('average', 'max')`",
        "verdict": "equivalent",
        "argument": "membership in a tuple does not depend on the order of its elements",
    },
    "276a066fd6a5": {
        "mutant": "pool_forward 72: `np.zeros((m, n_H, n_W, n_C))` -> `n_C_prev`",
        "verdict": "equivalent",
        "argument": "pool_forward sets n_C = n_C_prev two lines above: the names hold the same "
        "value",
    },
    "50799afe159f": {
        "mutant": "pool_forward 77: `range(n_C)` -> `range(n_C_prev)`",
        "verdict": "equivalent",
        "argument": "n_C = n_C_prev in pool_forward (pooling keeps the channels)",
    },
    "b025085bc118": {
        "mutant": "pool_backward 170: `range(n_C)` -> `range(n_C_prev)`",
        "verdict": "equivalent",
        "argument": "n_C is dA.shape[3] and n_C_prev is A_prev.shape[3]; dA is the gradient of "
        "pool_forward's output, which has A_prev's channels, so they are equal on every input "
        "the API defines (the check builds dA with out_shape, channels = A_prev's)",
    },
    "fc5eaea8185a": {
        "mutant": "conv_backward 106: `dA_prev_pad = zero_pad(dA_prev, pad)` -> `pad + 1`",
        "verdict": "equivalent",
        "argument": "dA_prev is still all zeros there, so zero_pad(dA_prev, p) is only a zero "
        "buffer, (H + 2p) x (W + 2p); with p = pad + 1 it is one row and column larger on each "
        "side. The scatter writes rows vert_start:vert_end <= H + 2 pad and the unpad reads "
        "rows pad:pad + H, both counted from the buffer's row 0, so they touch the same cells "
        "with the same values; the extra cells stay zero and are never read. (pad - 1 is "
        "killed: a buffer too small, or a negative pad.)",
    },
    "67195bc60b14": {
        "mutant": "create_mask_from_window 138: `nan_positions.size > 0` -> `> 1`",
        "verdict": "equivalent",
        "argument": "it differs only with exactly one NaN, where it takes np.argmax(flat) "
        "instead of nan_positions[-1]; np.argmax returns the first NaN, which with one NaN is "
        "that same NaN. (No NaN: both take argmax; >= 2 NaNs: both take the last NaN.)",
    },
    "7e9dc015c183": {
        "mutant": "create_mask_from_window 141: `np.argmax(flat)` -> `np.argmax(flat, axis=0)`",
        "verdict": "equivalent",
        "argument": "flat is np.asarray(x).ravel(), 1-D: axis=0 is its only axis, and argmax "
        "over it is the flat argmax",
    },
    "c9d7c0a347e6": {
        "mutant": "create_mask_from_window 141: `np.argmax(flat)` -> `np.argmax(flat, axis=-1)`",
        "verdict": "equivalent",
        "argument": "flat is 1-D: axis=-1 is axis 0, the whole array",
    },
    "7ff480ceb078": {
        "mutant": "create_mask_from_window 142: `np.zeros(np.shape(x), dtype=bool)` -> no dtype",
        "verdict": "equivalent",
        "argument": "the mask becomes 0./1. floats instead of False/True. The contract judges "
        "values, not dtypes (check_create_mask_from_window accepts any real dtype and compares "
        "as float64; the seed's own mask is a comparison result), and mask * dA in "
        "pool_backward gives the same numbers. Killing it would need a dtype requirement in the "
        "contract, not a new input",
    },
    "f117504ac197": {
        "mutant": "create_mask_from_window 142: `dtype=bool` -> `dtype=int`",
        "verdict": "equivalent",
        "argument": "0/1 integers instead of False/True: same values, same mask * dA (see the "
        "dtype-dropped mutant)",
    },
    # --- advice: outside the contract, killed by --strict --------------------------------------
    "c61a43090403": {
        "mutant": "pool_forward 66: `raise ValueError(...)` for an unknown mode -> `pass`",
        "verdict": "advice",
        "argument": "with the raise gone an unknown mode returns zeros (the notebook's "
        "behaviour). Since e0ed05d the contract makes 'an unknown mode should raise' advice, "
        "not a failure: the corpus's mode='avg' problem still runs and records the advice; "
        "`refconv check --strict` fails it",
        "function": "pool_forward",
        "problem": _pool(np.zeros((1, 2, 2, 1)), 2, 1, "avg", [0.0]),
    },
    "5756f923384b": {
        "mutant": "pool_backward 164: `np.zeros(A_prev.shape)` -> `np.zeros_like(A_prev)`",
        "verdict": "advice",
        "argument": "differs only for an integer A_prev (the gradient array becomes int and "
        "truncates); on float input zeros_like(A_prev) is zeros(A_prev.shape). Integer-only "
        "failures are advice by the contract (the same values as float64 pass): killed with "
        "--strict by the corpus's integer pooling problems",
        "function": "pool_backward",
        "problem": _pool(np.array([1, 2, 3, 4]).reshape(1, 2, 2, 1), 2, 2, "average", [0.5]),
    },
    # --- outside the domain: NaN, which the contract excludes ----------------------------------
    "e70b5883ecb1": {
        "mutant": "create_mask_from_window 139: `nan_positions[-1]` -> `nan_positions[0]`",
        "verdict": "outside the domain",
        "function": "create_mask_from_window",
        "argument": "it differs only in a window with >= 2 NaNs: torch's rule (which the "
        "reference follows) marks the last NaN, the mutant the first. NaN input is outside the "
        "contract, so neither the default search (window_problems(allow_nan=False)) nor the "
        "corpus draws it; with NaN allowed the check kills it",
        "problem": _window([[nan, 1.0], [nan, 0.0]]),
        "strategy": lambda: _strategies().window_problems(allow_nan=True),
    },
    "5003d6f16f1a": {
        "mutant": "create_mask_from_window 139: `nan_positions[-1]` -> `nan_positions[-2]`",
        "verdict": "outside the domain",
        "function": "create_mask_from_window",
        "argument": "it differs only in a window holding NaN: with one NaN the mutant raises "
        "IndexError, with two or more it marks the second-to-last NaN. Outside the contract's "
        "domain like the mutant above; killed once NaN windows are drawn",
        "problem": _window([[1.0, nan]]),
        "strategy": lambda: _strategies().window_problems(allow_nan=True),
    },
}


def verify() -> int:
    """Each blind spot's and outside-the-domain problem kills its mutant (each advice case's,
    with strict=True) and passes reference.py; print what happened."""
    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    import mutate

    from refconv.conformance.checks import ConformanceFailure, check
    from refconv.conformance.target import load_target

    by_key = {m.key: m for m in mutate.mutants()}
    reference = load_target(mutate.REFERENCE).namespace
    bad = 0
    with tempfile.TemporaryDirectory() as folder:
        for key, entry in SURVIVORS.items():
            mutant = by_key.get(key)
            if mutant is None:
                print(f"{key}: no such mutant (the reference or the mutator changed)")
                bad += 1
                continue
            if entry["verdict"] == "equivalent":
                continue
            path = Path(folder, f"mutant_{mutant.index:04d}.py")
            path.write_text(mutant.source)
            impl = load_target(path).namespace
            problem = entry["problem"]()
            strict = entry["verdict"] == "advice"
            if strict:  # at default settings: a pass, with advice
                advice = check(entry["function"], impl, problem)
                if not advice:
                    print(f"#{mutant.index}: passes without advice at default settings")
                    bad += 1
            try:
                check(entry["function"], impl, problem, strict=strict)
            except ConformanceFailure as failure:
                killed = f"killed{' with strict=True' if strict else ''}: {failure.kind}: "
                killed += failure.message
            else:
                killed = "NOT KILLED"
                bad += 1
            try:
                check(entry["function"], reference, problem, strict=strict)
                kept = "reference passes" + (" (strict)" if strict else "")
            except ConformanceFailure as failure:
                kept = f"REFERENCE FAILS: {failure.message}"
                bad += 1
            print(f"#{mutant.index} [{entry['verdict']}] {entry['mutant']}")
            print(f"  {problem!r}\n  {killed}; {kept}")
    print("all killing inputs and advice cases verified" if not bad else f"{bad} problem(s)")
    return 1 if bad else 0


def probe(examples: int) -> int:
    """Supporting evidence for the verdicts: search each equivalent or advice mutant in-process
    with ``examples`` hypothesis examples per function it could affect (the default strategies;
    for create_mask_from_window also NaN-holding windows): all must pass. Each blind spot with
    a proposed ``strategy`` (and each outside-the-domain mutant) must fail under it."""
    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    import campaign
    import mutate

    from refconv import strategies
    from refconv.conformance.runner import run_function
    from refconv.conformance.target import load_target

    executed = campaign.executed_by_check(campaign.call_graph(mutate.REFERENCE.read_text()))
    by_key = {m.key: m for m in mutate.mutants()}
    bad = 0
    with tempfile.TemporaryDirectory() as folder:
        for key, entry in SURVIVORS.items():
            if key not in by_key:
                continue
            mutant = by_key[key]
            path = Path(folder, f"mutant_{mutant.index:04d}.py")
            path.write_text(mutant.source)
            impl = load_target(path).namespace
            if entry["verdict"] in ("blind spot", "outside the domain"):
                # The proposed search (entry["strategy"]) must find it.
                if "strategy" not in entry:
                    continue
                result = run_function(
                    impl,
                    entry["function"],
                    max_examples=examples,
                    strategy=entry["strategy"](),
                    timeout=None,
                )
                bad += result.status != "fail"
                print(
                    f"#{mutant.index} [{entry['verdict']}] {entry['function']} with the proposed "
                    f"strategy: {result.status} after {result.found_at} examples"
                )
                continue
            functions = [mutant.function, *campaign.dependents(mutant.function, executed)]
            runs = [(f, None) for f in functions]
            if mutant.function == "create_mask_from_window":
                runs.append((mutant.function, strategies.window_problems(allow_nan=True)))
            verdicts = []
            for function, strategy in runs:
                result = run_function(
                    impl, function, max_examples=examples, strategy=strategy, timeout=None
                )
                label = function + (" (NaN allowed)" if strategy is not None else "")
                verdicts.append(f"{label}: {result.status}")
                bad += result.status != "pass"
            print(f"#{mutant.index} [{entry['verdict']}] " + "; ".join(verdicts))
    print(f"{bad} failure(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--probe"]:
        raise SystemExit(probe(int(sys.argv[2]) if len(sys.argv) > 2 else 1000))
    raise SystemExit(verify())
