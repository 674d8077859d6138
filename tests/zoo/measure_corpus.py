"""Measure, for each zoo bug, whether the seed corpus alone catches it and, without the corpus,
how many generated examples exploration needs (seed 0). Prints a Markdown table for the README.

    python tests/zoo/measure_corpus.py
"""

import sys
from pathlib import Path

from refconv.conformance.checks import ConformanceFailure, check
from refconv.conformance.corpus import corpus
from refconv.conformance.runner import run_function
from refconv.conformance.target import load_target

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from manifest import ZOO  # noqa: E402


def corpus_catches(impl, function):
    for index, problem in enumerate(corpus(function), 1):
        try:
            check(function, impl, problem, timeout=2.0)
        except ConformanceFailure:
            return index
    return 0


def main():
    print("| zoo entry | function | corpus catches it (problem #) | exploration alone: examples "
          "to first failure (seed 0) |")
    print("| --- | --- | --- | --- |")
    for stem, entry in ZOO.items():
        if entry["kind"] != "bug":
            continue
        impl = load_target(HERE / f"{stem}.py").namespace
        for function in entry["functions"]:
            hit = corpus_catches(impl, function)
            explored = run_function(impl, function, use_corpus=False, max_examples=1000,
                                    timeout=2.0, shrink_seconds=0.5)
            found = explored.found_at if explored.status == "fail" else "not in 1000"
            print(f"| {stem} | {function} | {'yes (#%d)' % hit if hit else 'no'} | {found} |",
                  flush=True)


if __name__ == "__main__":
    main()
