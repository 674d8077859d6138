"""The CS231n zoo (tests/zoo_cs231n/): every buggy student file is caught, function by function,
with a fitting diagnosis where one is claimed; no correct file is flagged. Runs the engine of
``refconv check --api cs231n`` at its default settings.

``python tests/zoo_cs231n/verify_zoo.py`` re-derives the manifest independently of refconv
(straight against torch).
"""

import importlib.util
from pathlib import Path

import pytest

from refconv.conformance.apis import cs231n_diagnoses as texts
from refconv.conformance.apis import get
from refconv.conformance.runner import run_all
from refconv.conformance.target import load_target

ZOO_DIR = Path(__file__).parent / "zoo_cs231n"
# by path, under a name of its own: every zoo has a manifest.py
_spec = importlib.util.spec_from_file_location("zoo_cs231n_manifest", ZOO_DIR / "manifest.py")
_manifest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_manifest)
ZOO = _manifest.ZOO

FUNCTIONS = get("cs231n").functions
CORRECT = [stem for stem, entry in ZOO.items() if entry["kind"] == "correct"]
BUGS = [stem for stem, entry in ZOO.items() if entry["kind"] == "bug"]

# The diagnosis each failing function must carry (a named text of the profile). A failure
# without an entry here gets the facts alone (a shape, an exception), which is also checked.
DIAGNOSIS = {
    "bug_conv_backward_no_stride": {"conv_backward_naive": texts.BACKWARD_STRIDE_IGNORED},
    "bug_conv_cache_xpad": {"conv_backward_naive": texts.CACHE_LAYOUT},
    "bug_conv_dx_assign": {"conv_backward_naive": texts.DX_ASSIGNED},
    "bug_conv_range_end": {"conv_forward_naive": texts.LAST_WINDOW_MISSING},
    "bug_db_keepdims": {"conv_backward_naive": texts.DB_WRONG_AXES},
    "bug_dw_reset_per_example": {"conv_backward_naive": texts.DW_LAST_EXAMPLE},
    "bug_dx_unpad_pad0": {"conv_backward_naive": texts.EMPTY_UNPAD},
    "bug_pad_top_left": {
        "conv_forward_naive": texts.PADDING_ONE_SIDE,
        "conv_backward_naive": texts.PADDING_ONE_SIDE,
    },
    "bug_pool_all_maxima": {"max_pool_backward_naive": texts.POOL_ALL_TIES},
    "bug_pool_backward_assign": {"max_pool_backward_naive": texts.POOL_DX_ASSIGNED},
    "bug_pool_cache_switches": {"max_pool_backward_naive": texts.CACHE_LAYOUT},
    "bug_pool_max_no_axis": {"max_pool_forward_naive": texts.POOL_MAX_NO_AXIS},
    "bug_pool_square_output": {"max_pool_forward_naive": texts.POOL_SQUARE_OUTPUT},
    "bug_pool_stride_is_pool_size": {"max_pool_forward_naive": texts.POOL_STRIDE_IS_SIZE},
    "bug_py3_true_division": {
        "conv_forward_naive": texts.TRUE_DIVISION,
        "max_pool_forward_naive": texts.TRUE_DIVISION,
    },
    "bug_true_convolution": {
        "conv_forward_naive": texts.FLIPPED_KERNEL,
        "conv_backward_naive": texts.FLIPPED_KERNEL,
    },
}


def _results(stem: str, **options):
    impl = load_target(ZOO_DIR / f"{stem}.py", FUNCTIONS).namespace
    return {r.function: r for r in run_all(impl, api="cs231n", **options)}


def test_the_manifest_covers_the_zoo():
    files = {p.stem for p in ZOO_DIR.glob("*.py")} - {"manifest", "verify_zoo"}
    assert files == set(ZOO)
    assert len(CORRECT) >= 5 and len(BUGS) >= 15  # issue 14's minimum
    assert set(DIAGNOSIS) <= set(BUGS)


@pytest.mark.parametrize("stem", CORRECT)
def test_correct_file_passes(stem):
    results = _results(stem)
    defined = [f for f, r in results.items() if r.status != "missing"]
    assert defined, f"{stem} defines none of the functions"
    for function in defined:
        r = results[function]
        assert r.status == "pass", f"{stem}.{function}: {r.status} {r.message}"


@pytest.mark.parametrize("stem", BUGS)
def test_buggy_file_is_caught(stem):
    entry = ZOO[stem]
    results = _results(stem)
    failing = {f for f, r in results.items() if r.status == "fail"}
    assert failing == set(entry["functions"]), f"{stem}: {entry['bug']}"
    for function in failing:
        failure = results[function].failure
        assert failure.problem is not None and failure.problem.summary()
        expected = DIAGNOSIS.get(stem, {}).get(function)
        if expected is not None:
            assert failure.diagnosis == expected, f"{stem}.{function}: {failure.diagnosis}"


def test_tie_only_bug_passes_under_the_notebook_policy():
    """The course's `mask = window == max` idiom is a subgradient convention: --ties all
    accepts it, torch's rule (the default) does not."""
    stems = [stem for stem in BUGS if ZOO[stem]["tie_only"]]
    assert stems
    for stem in stems:
        results = _results(stem, policy="all")
        assert all(r.status in ("pass", "missing") for r in results.values()), stem


def test_a_backward_is_judged_with_the_documented_cache_too():
    """A consistent forward/backward pair that changes the skeleton's cache passes the course's
    own checks; the documented cache exposes it, and the note says which cache it was."""
    stems = [stem for stem in BUGS if ZOO[stem]["own_cache_only"]]
    assert stems
    for stem in stems:
        results = _results(stem)
        for function in ZOO[stem]["functions"]:
            notes = results[function].failure.notes
            assert any("documented cache" in note for note in notes), notes
