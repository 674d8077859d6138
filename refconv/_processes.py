"""How the checker starts its helper processes (workers, the look-ahead explorer, the oracle
process): ``fork`` where it is safe, ``spawn`` elsewhere."""

from __future__ import annotations

import multiprocessing
import sys
from multiprocessing.context import BaseContext


def process_context() -> BaseContext:
    """``fork`` where it is safe: a child inherits what is loaded and imported (the checker,
    torch, a loaded implementation), starts in milliseconds and never re-runs a submission's
    top-level code. ``spawn`` on macOS (forking a process that uses system frameworks may crash)
    and where there is no fork."""
    if sys.platform != "darwin" and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")
