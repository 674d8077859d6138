"""The functional zoo (tests/zoo_functional/): every buggy torch-like implementation is caught,
function by function (wrong values, and missing or spurious errors: error parity with torch);
no correct implementation is flagged. Runs the engine of ``refconv check --api functional``.

``python tests/zoo_functional/verify_zoo.py`` re-derives the manifest independently of refconv
(straight against torch).
"""

import importlib.util
from pathlib import Path

import pytest

from refconv.conformance.apis import get
from refconv.conformance.runner import run_all
from refconv.conformance.target import load_target

ZOO_DIR = Path(__file__).parent / "zoo_functional"
# by path, under a name of its own: every zoo has a manifest.py
_spec = importlib.util.spec_from_file_location("zoo_functional_manifest", ZOO_DIR / "manifest.py")
_manifest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_manifest)
ZOO = _manifest.ZOO

FUNCTIONS = get("functional").functions
CORRECT = [stem for stem, entry in ZOO.items() if entry["kind"] == "correct"]
BUGS = [stem for stem, entry in ZOO.items() if entry["kind"] == "bug"]


def _results(stem: str, **options):
    impl = load_target(ZOO_DIR / f"{stem}.py", FUNCTIONS).namespace
    return {r.function: r for r in run_all(impl, api="functional", **options)}


def test_the_manifest_covers_the_zoo():
    files = {p.stem for p in ZOO_DIR.glob("*.py")} - {"manifest", "verify_zoo"}
    assert files == set(ZOO)
    assert len(CORRECT) >= 3 and len(BUGS) >= 10  # issue 14's minimum


@pytest.mark.parametrize("stem", CORRECT)
def test_correct_implementation_passes(stem):
    results = _results(stem)
    defined = [f for f, r in results.items() if r.status != "missing"]
    assert len(defined) >= 6, f"{stem} defines {defined}"
    for function in defined:
        r = results[function]
        assert r.status == "pass", f"{stem}.{function}: {r.status} {r.message}"


@pytest.mark.parametrize("stem", BUGS)
def test_buggy_implementation_is_caught(stem):
    entry = ZOO[stem]
    results = _results(stem)
    failing = {f for f, r in results.items() if r.status == "fail"}
    assert failing == set(entry["functions"]), f"{stem}: {entry['bug']}"
    for function in failing:
        failure = results[function].failure
        if entry["error_parity"]:
            # a missing error, or an error where torch accepts the call
            assert failure.kind in ("parity", "exception"), (stem, function, failure.kind)
