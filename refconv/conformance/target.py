"""Loading a target *in this process*: for trusted code and reproduction snippets only.

``refconv check``, batch grading and the pytest plugin never load a user's code here: they go
through the executor (:mod:`refconv.conformance.isolation`). This module gives the same loader
(:mod:`refconv._executor.loader`) to refconv's own tests and to the snippets a report prints
(``impl = load_target(path).namespace``), which a user runs on purpose, on their own code.
"""

from __future__ import annotations

import os

from refconv import SEED_FUNCTIONS
from refconv._executor import loader
from refconv._executor.loader import Target, TargetLoadError

__all__ = ["SEED_FUNCTIONS", "Target", "TargetLoadError", "load_target"]


def load_target(
    spec: str | os.PathLike[str] | None, names: tuple[str, ...] = SEED_FUNCTIONS
) -> Target:
    """Load ``spec`` (a ``.py`` file, a ``.ipynb`` notebook, a module name, or None for refconv)
    in this process; raise :class:`TargetLoadError` with the user's trimmed traceback."""
    return loader.load_target(spec, names)
