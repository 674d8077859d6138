"""The bug zoo: every faulty implementation is caught with a fitting diagnosis, no correct one is
flagged. Runs the same engine as ``refconv check`` at its default settings.

Each zoo file (tests/zoo/) is a module a student could have written; tests/zoo/manifest.py says
which of its functions are wrong. ``python tests/zoo/verify_zoo.py`` re-derives that manifest
independently of refconv (straight against torch).
"""

import sys
from pathlib import Path

import pytest

from refconv.conformance.runner import run_all, run_function
from refconv.conformance.target import load_target

ZOO_DIR = Path(__file__).parent / "zoo"
sys.path.insert(0, str(ZOO_DIR))
from manifest import ZOO  # noqa: E402

sys.path.remove(str(ZOO_DIR))

CORRECT = [stem for stem, entry in ZOO.items() if entry["kind"] == "correct"]
BUGS = [stem for stem, entry in ZOO.items() if entry["kind"] == "bug"]

# What the diagnosis of each failing function must say (a distinctive fragment). Exceptions
# without a bug model that reproduces them get the facts alone ("do not broadcast", "empty
# array"): a guess at their cause would be an unconfirmed diagnosis.
DIAGNOSIS = {
    "seed_notebook": {
        "conv_single_step": "np.float was removed",
        "conv_forward": "np.float was removed",
        "conv_backward": "empty unpadding at pad 0",
        "pool_forward": "unknown mode",
        "create_mask_from_window": "tied maxima all marked",
        "pool_backward": "input slice instead of dA",
    },
    "bug_seed_pool_backward_max_input_slice": {"pool_backward": "input slice instead of dA"},
    "bug_seed_pool_backward_avg_swapped": {"pool_backward": "h and w swapped"},
    "bug_seed_unpad_pad0": {"conv_backward": "empty unpadding at pad 0"},
    "bug_seed_np_float": {
        "conv_single_step": "np.float was removed",
        "conv_forward": "np.float was removed",
    },
    "bug_seed_float_of_array": {
        "conv_single_step": "float() of a (1,1,1) array",
        "conv_forward": "float() of a (1,1,1) array",
    },
    "bug_seed_all_ties_mask": {
        "create_mask_from_window": "tied maxima all marked",
        "pool_backward": "tied maxima each receive the full gradient",
    },
    "bug_seed_unknown_mode_zeros": {"pool_forward": "unknown mode"},
    "bug_stride_ignored_horizontal": {"conv_forward": "stride ignored along the width"},
    "bug_hw_swapped_corners": {"conv_backward": "do not broadcast"},
    "bug_loop_bounds_swapped": {"pool_backward": "empty array"},
    "bug_conv_backward_assign_not_accumulate": {"conv_backward": "assigned (=), not accumulated"},
    "bug_pool_backward_assign_not_accumulate": {"pool_backward": "assigned (=), not accumulated"},
    "bug_db_assigned": {"conv_backward": "db was assigned (=)"},
    "bug_bias_inside_sum": {
        "conv_single_step": "bias added to every product",
        "conv_forward": "bias added once per product",
    },
    "bug_dA_at_window_start": {"pool_backward": "index ran past the end"},
    "bug_distribute_n_plus": {"distribute_value": "n_H + n_W"},
    "bug_last_example_only": {"conv_backward": "only the last example"},
    "bug_float32_accumulator": {"conv_forward": "float32"},
    "bug_ceil_conv": {"conv_forward": "ceil"},
    "bug_ceil_pool": {"pool_forward": "empty array"},
    "bug_zeros_like_pool_backward": {"pool_backward": "zeros_like"},
    "bug_conv_forward_no_padding": {"conv_forward": "do not broadcast"},
    "bug_flipped_kernel": {"conv_forward": "kernel flipped", "conv_backward": "kernel flipped"},
    "bug_avg_uses_max": {"pool_forward": "computes the max"},
    "bug_dW_missing_stride": {"conv_backward": "h*stride"},
    "bug_mean_in_single_step": {
        "conv_single_step": "mean instead of sum",
        "conv_forward": "mean instead of sum",
    },
    "bug_mutates_input": {"conv_forward": "writes into an array it was given"},
    "bug_dW_transposed": {"conv_backward": "dW must have the shape of W"},
    "bug_db_flat": {"conv_backward": "(1, 1, 1, n_C)"},
    "bug_zero_pad_channels": {"zero_pad": "channel axis"},
    "bug_zero_pad_one_side": {"zero_pad": "one side"},
    "bug_single_step_array": {"conv_single_step": "must return a scalar"},
    "bug_last_max_mask": {
        "create_mask_from_window": "last maximum",
        "pool_backward": "last maximum",
    },
    "bug_while_no_advance": {"pool_backward": "never returned"},
    "bug_vec_einsum_wrong_axes": {"conv_forward": "W transposed"},
    "bug_vec_fancy_index_add": {"pool_backward": "assigned (=), not accumulated"},
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
# (stem, function) -> (fragment of the advice, fragment of the strict diagnosis)
ADVICE = {
    ("bug_seed_unknown_mode_zeros", "pool_forward"): ("unknown mode", "unknown mode"),
    ("seed_notebook", "pool_forward"): ("unknown mode", "unknown mode"),
    ("bug_zeros_like_pool_backward", "pool_backward"): ("integer input", "zeros_like"),
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
        assert failure.diagnosis and expected in failure.diagnosis, (
            f"{stem}: {function} diagnosis {failure.diagnosis!r} lacks {expected!r}"
        )
    assert helper_failed == set(wanted)


@pytest.mark.parametrize("stem", [s for s in BUGS if ZOO[s]["tie_only"]])
def test_tie_only_bugs_say_so_and_name_the_policy_they_follow(stem):
    impl = load(stem)
    result = run_function(impl, "pool_backward")
    notes = " ".join(result.failure.notes)
    assert "only at tied maxima" in notes
    follows = "all" if stem == "bug_seed_all_ties_mask" else "subgradient"
    assert f"--ties {follows} accepts it" in notes


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
    assert diagnosis in (strict.failure.diagnosis or ""), strict.failure


def test_helper_failures_are_pointed_out():
    results = run_all(load("bug_zero_pad_channels"), ["zero_pad", "conv_forward"])
    notes = " ".join(results[1].failure.notes)
    assert "zero_pad fails too: if conv_forward uses it" in notes
