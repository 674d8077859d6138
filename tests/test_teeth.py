"""The property suite has teeth: on every bug of the zoo, some law of properties/laws.py fails.

For each faulty implementation of tests/zoo (manifest kind "bug") and each seed function the
manifest says is wrong, the laws that judge that function are tried in a fixed order (the
conformance law first, then the torch-free laws, cheapest first), each on up to ``BUDGET``
generated problems (derandomized, no shrinking). The first law that fails, and the number of
examples it needed, go into a table: printed with ``pytest -s``, and written to
tests/teeth_report.md when ``REFCONV_WRITE_TEETH=1``.

The hanging implementation (bug_while_no_advance) is caught by the conformance engine's per-call
timeout, lowered here to ``CALL_TIMEOUT`` seconds.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from refconv import oracle, strategies
from refconv.conformance.target import load_target

ROOT = Path(__file__).resolve().parents[1]
ZOO_DIR = ROOT / "tests" / "zoo"
sys.path.insert(0, str(ZOO_DIR))
from manifest import ZOO  # noqa: E402

sys.path.remove(str(ZOO_DIR))
sys.path.insert(0, str(ROOT / "properties"))
import laws  # noqa: E402

sys.path.remove(str(ROOT / "properties"))

BUDGET = 200
CALL_TIMEOUT = 1.0
SEARCH = settings(
    max_examples=BUDGET,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
REPORT = ROOT / "tests" / "teeth_report.md"

Law = Callable[[Any, Any], None]

# Problem sizes: the default strategies' features, a little smaller (the zoo's loops are slow).
CONV = strategies.conv_problems(max_batch=2, max_side=5, max_channels=3, max_f=4, max_pad=2)
POOL = {"max_batch": 2, "max_side": 5, "max_channels": 3, "max_f": 4}
GRADCHECK_CONV = strategies.conv_problems(
    kinds=("normal", "small_int", "relu"), max_batch=2, max_side=4, max_channels=2, max_f=3
)


def hygiene(function: str) -> list[tuple[str, Law, st.SearchStrategy[Any]]]:
    """The four hygiene laws, bound to ``function``."""
    both = laws.small_problems_both_dtypes(function)
    integer = laws.small_problems(function, kinds=laws.INTEGER_KINDS)

    def bind(law: Callable[[Any, str, Any], None]) -> Law:
        return lambda impl, problem: law(impl, function, problem)

    return [
        ("law_inputs_not_mutated", bind(laws.law_inputs_not_mutated), both),
        ("law_dtype_preserved", bind(laws.law_dtype_preserved), both),
        ("law_integer_inputs_promoted", bind(laws.law_integer_inputs_promoted), integer),
        ("law_deterministic", bind(laws.law_deterministic), both),
    ]


def named(law: Law, strategy: st.SearchStrategy[Any]) -> tuple[str, Law, st.SearchStrategy[Any]]:
    return law.__name__, law, strategy


# The laws that judge each function, in the order they are tried.
CANDIDATES: dict[str, list[tuple[str, Law, st.SearchStrategy[Any]]]] = {
    "zero_pad": [
        named(laws.law_zero_pad_agrees, strategies.pad_problems()),
        named(laws.law_zero_pad_equals_np_pad, strategies.pad_problems()),
        *hygiene("zero_pad"),
    ],
    "conv_single_step": [
        named(laws.law_conv_single_step_agrees, strategies.single_step_problems()),
        named(laws.law_conv_single_step_is_exact_sum, strategies.single_step_problems()),
        *hygiene("conv_single_step"),
    ],
    "conv_forward": [
        named(laws.law_conv_forward_agrees_with_torch, CONV),
        named(laws.law_conv_backward_input_is_adjoint, CONV),
        *hygiene("conv_forward"),
    ],
    "conv_backward": [
        named(laws.law_conv_backward_agrees_with_torch, CONV),
        named(laws.law_conv_uncovered_cells_get_zero_gradient, CONV),
        named(laws.law_conv_backward_input_is_adjoint, CONV),
        named(laws.law_conv_backward_weight_is_adjoint, CONV),
        named(laws.law_conv_backward_bias_is_adjoint, CONV),
        *hygiene("conv_backward"),
        named(laws.law_conv_backward_matches_finite_differences, GRADCHECK_CONV),
    ],
    "pool_forward": [
        named(laws.law_pool_forward_agrees_with_torch, strategies.pool_problems(**POOL)),
        named(laws.law_pool_forward_rejects_unknown_mode, laws.unknown_mode_pool_problems()),
        *hygiene("pool_forward"),
    ],
    "pool_backward": [
        named(laws.law_pool_backward_agrees_with_torch, strategies.pool_problems(**POOL)),
        named(laws.law_pool_uncovered_cells_get_zero_gradient, strategies.pool_problems(**POOL)),
        named(
            laws.law_max_pool_gradient_mass_is_dA,
            strategies.pool_problems(modes=("max",), **POOL),
        ),
        named(
            laws.law_max_pool_backward_is_adjoint_of_gather,
            strategies.pool_problems(modes=("max",), **POOL),
        ),
        named(
            laws.law_avg_pool_backward_is_adjoint,
            strategies.pool_problems(modes=("average",), **POOL),
        ),
        *hygiene("pool_backward"),
        named(
            laws.law_pool_backward_matches_finite_differences,
            laws.untied_pool_problems(max_batch=2, max_side=4, max_channels=2, max_f=3),
        ),
    ],
    "create_mask_from_window": [
        named(laws.law_create_mask_agrees, strategies.window_problems()),
        named(laws.law_mask_marks_first_maximum, strategies.window_problems(allow_nan=True)),
        *hygiene("create_mask_from_window"),
    ],
    "distribute_value": [
        named(laws.law_distribute_value_agrees, strategies.distribute_problems()),
        named(laws.law_distribute_value_sums_to_dz, strategies.distribute_problems()),
        named(laws.law_distribute_value_is_uniform, strategies.distribute_problems()),
        *hygiene("distribute_value"),
    ],
}

CASES = [
    (stem, function)
    for stem, entry in ZOO.items()
    if entry["kind"] == "bug"
    for function in entry["functions"]
]

# (stem, function) -> (first failing law, examples it needed, its seconds, laws that held before)
RESULTS: dict[tuple[str, str], tuple[str, int, float, int]] = {}


@cache
def load(stem: str) -> Any:
    return load_target(ZOO_DIR / f"{stem}.py").namespace


def examples_until_failure(law: Law, impl: Any, strategy: st.SearchStrategy[Any]) -> int | None:
    """How many generated problems it takes for ``law`` to fail on ``impl`` (None: it held on
    ``BUDGET`` problems)."""
    calls = 0
    first = 0

    def fails(problem: Any) -> bool:
        nonlocal calls, first
        calls += 1
        try:
            law(impl, problem)
        except Exception:  # noqa: BLE001 - any exception from the implementation breaks the law
            first = first or calls
            return True
        return False

    try:
        find(strategy, fails, settings=SEARCH)
    except NoSuchExample:
        return None
    return first


@pytest.fixture(scope="module", autouse=True)
def teeth_table():
    """Print the table after the module's tests (pytest -s) and optionally write it."""
    previous = laws.CALL_TIMEOUT
    laws.CALL_TIMEOUT = CALL_TIMEOUT
    oracle.require_torch()  # import torch now, so that its import time counts for no bug
    yield
    laws.CALL_TIMEOUT = previous
    if not RESULTS:
        return
    lines = [
        "| bug | function | first law that fails | examples | seconds | laws that held before |",
        "|---|---|---|---:|---:|---:|",
    ]
    for (stem, function), (law, examples, seconds, held) in sorted(RESULTS.items()):
        lines.append(f"| {stem} | {function} | {law} | {examples} | {seconds:.2f} | {held} |")
    counts = np.array([examples for _, examples, _, _ in RESULTS.values()])
    summary = (
        f"\n{len(RESULTS)} (bug, function) pairs caught; examples the first failing law needed: "
        f"median {np.median(counts):g}, max {counts.max()}; budget {BUDGET} per law "
        f"(derandomized, no shrinking)."
    )
    table = "\n".join(lines) + "\n" + summary + "\n"
    print("\n\n" + table)
    if os.environ.get("REFCONV_WRITE_TEETH") == "1":
        REPORT.write_text(
            "# The property suite has teeth\n\n"
            "Generated by `REFCONV_WRITE_TEETH=1 python -m pytest tests/test_teeth.py -s`: for "
            "each function a zoo bug breaks, the first law of `properties/laws.py` (tried in a "
            "fixed order: conformance law, then the torch-free laws) that fails, after how many "
            "generated examples, and how many laws held on all "
            f"{BUDGET} examples before it.\n\n" + table
        )


@pytest.mark.parametrize(("stem", "function"), CASES, ids=[f"{s}-{f}" for s, f in CASES])
def test_some_law_fails(stem: str, function: str) -> None:
    impl = load(stem)
    tried = []
    for name, law, strategy in CANDIDATES[function]:
        started = time.perf_counter()
        examples = examples_until_failure(law, impl, strategy)
        if examples is not None:
            seconds = time.perf_counter() - started
            RESULTS[stem, function] = (name, examples, seconds, len(tried))
            return
        tried.append(name)
    pytest.fail(f"{stem}: no law fails for {function} within {BUDGET} examples (tried {tried})")
