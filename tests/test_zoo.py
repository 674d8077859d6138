"""The bug zoo: every faulty implementation is caught with a fitting diagnosis, no correct one is
flagged. Runs the same engine as ``refconv check`` at its default settings.

Each zoo file (tests/zoo/) is a module a student could have written; tests/zoo/manifest.py says
which of its functions are wrong. ``python tests/zoo/verify_zoo.py`` re-derives that manifest
independently of refconv (straight against torch).
"""

import sys
from pathlib import Path

import pytest

from refconv.conformance import diagnose as texts
from refconv.conformance.runner import run_all, run_function
from refconv.conformance.target import load_target

ZOO_DIR = Path(__file__).parent / "zoo"
sys.path.insert(0, str(ZOO_DIR))
from manifest import ZOO  # noqa: E402

sys.path.remove(str(ZOO_DIR))

CORRECT = [stem for stem, entry in ZOO.items() if entry["kind"] == "correct"]
BUGS = [stem for stem, entry in ZOO.items() if entry["kind"] == "bug"]

NP_FLOAT = texts.numpy_alias("float")
AVG_COMPUTES_MAX = texts.MODE_COMPUTES_OTHER.format(mode="average", other="max")
ZEROS_LIKE = texts.INTEGER_DTYPE.format(name="dA_prev", dtype="int64")
# Sets: any of these texts fits (which one depends on the counterexample found).
CEIL = {
    texts.OUTPUT_SIZE_NOT_FLOOR.format(how=texts.OUTPUT_SIZE_ROUNDINGS[True, rounded])
    for rounded in (False, True)
}
INPUT_SLICE = {texts.POOL_INPUT_SLICE, texts.POOL_INPUT_SLICE_ALL_TIES}
CONV_ASSIGNED = {texts.DA_PREV_ASSIGNED, texts.OVERLAP_ASSIGNED}
WRITES_INTO = {texts.WRITES_INTO_ARGUMENT, texts.WRITES_INTO_READ_ONLY}  # read-only input or not
# The diagnosis of each failing function: a named text of refconv.conformance.diagnose, or a
# set of them. Exceptions without a bug model that reproduces them get the facts alone
# (NOT_BROADCASTING, EMPTY_REDUCTION): a guess at their cause would be an unconfirmed diagnosis.
DIAGNOSIS = {
    "seed_notebook": {
        "conv_single_step": NP_FLOAT,
        "conv_forward": NP_FLOAT,
        "conv_backward": texts.EMPTY_UNPAD,
        "pool_forward": texts.UNKNOWN_MODE,
        "create_mask_from_window": texts.MASK_ALL_TIES,
        "pool_backward": INPUT_SLICE,
    },
    "bug_seed_pool_backward_max_input_slice": {"pool_backward": INPUT_SLICE},
    "bug_seed_pool_backward_avg_swapped": {"pool_backward": texts.AVG_WINDOW_SUM_SWAPPED},
    "bug_seed_unpad_pad0": {"conv_backward": texts.EMPTY_UNPAD},
    "bug_seed_np_float": {
        "conv_single_step": NP_FLOAT,
        "conv_forward": NP_FLOAT,
    },
    "bug_seed_float_of_array": {
        "conv_single_step": texts.FLOAT_OF_ARRAY,
        "conv_forward": texts.FLOAT_OF_ARRAY,
    },
    "bug_seed_all_ties_mask": {
        "create_mask_from_window": texts.MASK_ALL_TIES,
        "pool_backward": texts.POOL_ALL_TIES,
    },
    "bug_seed_unknown_mode_zeros": {"pool_forward": texts.UNKNOWN_MODE},
    "bug_stride_ignored_horizontal": {"conv_forward": texts.STRIDE_IGNORED_WIDTH},
    "bug_hw_swapped_corners": {"conv_backward": texts.NOT_BROADCASTING},
    "bug_loop_bounds_swapped": {"pool_backward": texts.EMPTY_REDUCTION},
    "bug_conv_backward_assign_not_accumulate": {"conv_backward": CONV_ASSIGNED},
    "bug_pool_backward_assign_not_accumulate": {"pool_backward": texts.OVERLAP_ASSIGNED},
    "bug_db_assigned": {"conv_backward": texts.DB_ASSIGNED},
    "bug_bias_inside_sum": {
        "conv_single_step": texts.SINGLE_STEP_BIAS_PER_PRODUCT,
        "conv_forward": texts.BIAS_PER_PRODUCT,
    },
    "bug_dA_at_window_start": {"pool_backward": texts.INDEX_PAST_END},
    "bug_distribute_n_plus": {"distribute_value": texts.DISTRIBUTE_N_PLUS},
    "bug_last_example_only": {"conv_backward": texts.LAST_EXAMPLE_ONLY},
    "bug_float32_accumulator": {"conv_forward": texts.FLOAT32_RESULT.format(name="Z")},
    "bug_ceil_conv": {"conv_forward": CEIL},
    "bug_ceil_pool": {"pool_forward": texts.EMPTY_REDUCTION},
    "bug_zeros_like_pool_backward": {"pool_backward": ZEROS_LIKE},
    "bug_conv_forward_no_padding": {"conv_forward": texts.NOT_BROADCASTING},
    "bug_flipped_kernel": {
        "conv_forward": texts.FLIPPED_KERNEL,
        "conv_backward": texts.FLIPPED_KERNEL,
    },
    "bug_avg_uses_max": {"pool_forward": AVG_COMPUTES_MAX},
    "bug_dW_missing_stride": {"conv_backward": texts.DW_NO_STRIDE},
    "bug_mean_in_single_step": {
        "conv_single_step": texts.MEAN_NOT_SUM,
        "conv_forward": texts.MEAN_NOT_SUM,
    },
    "bug_mutates_input": {"conv_forward": WRITES_INTO},
    "bug_dW_transposed": {"conv_backward": texts.DW_SHAPE},
    "bug_db_flat": {"conv_backward": texts.DB_SHAPE},
    "bug_zero_pad_channels": {"zero_pad": texts.PAD_CHANNELS},
    "bug_zero_pad_one_side": {"zero_pad": texts.PAD_ONE_SIDE},
    "bug_single_step_array": {"conv_single_step": texts.SINGLE_STEP_NOT_SCALAR},
    "bug_last_max_mask": {
        "create_mask_from_window": texts.MASK_LAST_MAX,
        "pool_backward": texts.POOL_LAST_MAX,
    },
    "bug_while_no_advance": {"pool_backward": texts.TIMEOUT},
    "bug_vec_einsum_wrong_axes": {"conv_forward": texts.KERNEL_TRANSPOSED},
    "bug_vec_fancy_index_add": {"pool_backward": texts.OVERLAP_ASSIGNED},
}
# Functions that fail only because a helper they call fails: the report must say so instead.
HELPER_NOTE = {
    ("bug_zero_pad_channels", "conv_forward"),
    ("bug_zero_pad_channels", "conv_backward"),
    ("bug_zero_pad_one_side", "conv_forward"),
    ("bug_zero_pad_one_side", "conv_backward"),
    ("bug_distribute_n_plus", "pool_backward"),
}
UNDIAGNOSED = {("bug_mask_wrong_channel", "pool_backward")}  # caught; no pattern to name yet
# Behaviour outside the seed API's contract: advice by default, a failure with strict=True.
# (stem, function) -> (fragment of the advice, the strict diagnosis)
ADVICE = {
    ("bug_seed_unknown_mode_zeros", "pool_forward"): ("unknown mode", texts.UNKNOWN_MODE),
    ("seed_notebook", "pool_forward"): ("unknown mode", texts.UNKNOWN_MODE),
    ("bug_zeros_like_pool_backward", "pool_backward"): ("integer input", ZEROS_LIKE),
}


def load(stem):
    return load_target(ZOO_DIR / f"{stem}.py").namespace


def test_zoo_size():
    assert len(BUGS) >= 25 and len(CORRECT) >= 3
    assert set(DIAGNOSIS) | {s for s, _ in UNDIAGNOSED} == set(BUGS)


@pytest.mark.parametrize("stem", CORRECT)
def test_correct_implementation_passes_everything(stem):
    results = run_all(load(stem))
    assert [(r.function, r.status) for r in results if r.status != "pass"] == []
    assert all(r.examples >= 100 for r in results)


@pytest.mark.parametrize("stem", BUGS)
def test_bug_is_caught_with_a_fitting_diagnosis(stem):
    impl = load(stem)
    wanted = [f for f in ZOO[stem]["functions"] if (stem, f) not in ADVICE]
    results = {f: run_function(impl, f, timeout=2.0) for f in wanted}
    helper_failed = {f for f, r in results.items() if r.status == "fail"}
    for function, result in results.items():
        assert result.status == "fail", f"{stem}: {function} not caught"
        failure = result.failure
        if (stem, function) in HELPER_NOTE:
            continue
        if (stem, function) in UNDIAGNOSED:
            continue
        expected = DIAGNOSIS[stem][function]
        accepted = expected if isinstance(expected, set) else {expected}
        assert failure.diagnosis in accepted, (
            f"{stem}: {function} diagnosis {failure.diagnosis!r}, not {expected!r}"
        )
    assert helper_failed == set(wanted)


@pytest.mark.parametrize("stem", [s for s in BUGS if ZOO[s]["tie_only"]])
def test_tie_only_bugs_say_so_and_name_the_policy_they_follow(stem):
    impl = load(stem)
    result = run_function(impl, "pool_backward")
    notes = result.failure.notes
    assert texts.TIES_ONLY in notes
    follows = "all" if stem == "bug_seed_all_ties_mask" else "subgradient"
    assert texts.TIE_POLICY_FOLLOWED.format(rule=texts.TIE_RULES[follows], policy=follows) in notes


def test_seed_mask_convention_passes_under_ties_all_and_fails_subgradient():
    impl = load("bug_seed_all_ties_mask")
    for function in ("create_mask_from_window", "pool_backward"):
        assert run_function(impl, function, policy="all").status == "pass"
        failed = run_function(impl, function, policy="subgradient")
        assert failed.status == "fail"
    last = load("bug_last_max_mask")  # a valid subgradient, not torch's rule
    for function in ("create_mask_from_window", "pool_backward"):
        assert run_function(last, function, policy="subgradient").status == "pass"
        assert run_function(last, function, policy="all").status == "pass"
        assert run_function(last, function, policy="torch").status == "fail"


@pytest.mark.parametrize(("stem", "function"), sorted(ADVICE))
def test_behaviour_outside_the_contract_is_advice_unless_strict(stem, function):
    impl = load(stem)
    advice, diagnosis = ADVICE[stem, function]
    lenient = run_function(impl, function)
    assert lenient.status == "pass"
    assert any(advice in text for text in lenient.advice), lenient.advice
    strict = run_function(impl, function, strict=True)
    assert strict.status == "fail"
    assert strict.failure.diagnosis == diagnosis, strict.failure


def test_helper_failures_are_pointed_out():
    results = run_all(load("bug_zero_pad_channels"), ["zero_pad", "conv_forward"])
    notes = " ".join(results[1].failure.notes)
    assert "zero_pad fails too: if conv_forward uses it" in notes
