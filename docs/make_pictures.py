"""Regenerate the README's pictures of the seed notebook's pool_backward (needs matplotlib).

``python docs/make_pictures.py`` writes ``docs/seed_pool_backward_<mode>_example.png``: the
notebook's own printed example (``np.random.seed(1)``, ``A_prev`` of shape (5, 5, 3, 2), f=2,
stride=1, ``dA`` of shape (5, 4, 2, 2)) checked against torch and drawn like ``--plot`` does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from refconv.conformance.checks import ConformanceFailure, check
from refconv.conformance.diagnose import explain
from refconv.conformance.plot import plot_failure
from refconv.conformance.target import load_target
from refconv.problems import PoolProblem

HERE = Path(__file__).resolve().parent


def main() -> None:
    seed = load_target(str(HERE.parent / "tests" / "zoo" / "seed_notebook.py")).namespace
    np.random.seed(1)  # the notebook's own data  # noqa: NPY002
    A_prev = np.random.randn(5, 5, 3, 2)  # noqa: NPY002
    dA = np.random.randn(5, 4, 2, 2)  # noqa: NPY002
    for mode in ("max", "average"):
        problem = PoolProblem(A_prev=A_prev, f=2, stride=1, mode=mode, dA=dA)
        try:
            check("pool_backward", seed, problem)
        except ConformanceFailure as failure:
            explain(failure, seed)
            path = HERE / f"seed_pool_backward_{mode}_example.png"
            plot_failure(failure, path)
            print(f"wrote {path}")
        else:
            raise SystemExit(f"the seed's pool_backward ({mode}) unexpectedly conforms")


if __name__ == "__main__":
    main()
