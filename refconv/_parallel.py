"""Blocking over the batch axis, optionally on a few threads.

Pooling and the im2col copies are sequences of whole-array NumPy operations, each one pass over
memory. Two things make them fast: working on blocks of examples small enough to stay in the
core's cache between passes, and running independent blocks on several cores (NumPy releases the
GIL inside its loops). Every block writes a disjoint slice of a preallocated result, so the result
does not depend on the number of threads or on the block size.

The thread count defaults to the number of cores (at most 8), like torch's intra-op pool; set
``REFCONV_NUM_THREADS`` or call :func:`set_num_threads` (e.g. to 1 in each of many worker
processes).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

#: Bytes of input per block: a block's working set (input, a few intermediates, output) then
#: stays in a 2 MiB L2 cache, and a large input gives every thread several blocks.
BLOCK_BYTES = 2**20
#: Below this many bytes of input a call runs on the calling thread alone: thread hand-off
#: costs more than it saves. Measured on the 2-vCPU benchmark machine, one and two threads
#: alternating call by call (median of 21 pairs, float64 max and average pooling, forward and
#: backward, f2 s2 and f3 s1): two threads took 1.05-1.60x the time of one at 4 MiB of input and
#: 0.79-1.39x at 16 MiB (slower in 13 of the 16 cases); at 64 MiB the forward took 0.5x.
PARALLEL_BYTES = 32 * 2**20

_threads: int = 0
_executor: ThreadPoolExecutor | None = None
_executor_pid: int = 0


def _default_threads() -> int:
    value = os.environ.get("REFCONV_NUM_THREADS", "")
    if value.strip():
        try:
            threads = int(value)
        except ValueError:
            threads = 0
        if threads < 1:
            raise ValueError(f"REFCONV_NUM_THREADS must be a positive integer, got {value!r}")
        return threads
    return max(1, min(os.cpu_count() or 1, 8))


def get_num_threads() -> int:
    """Number of threads refconv's pooling and im2col kernels use."""
    global _threads
    if not _threads:
        _threads = _default_threads()
    return _threads


def set_num_threads(threads: int) -> None:
    """Use ``threads`` threads (>= 1) in refconv's pooling and im2col kernels.

    BLAS matrix products (the convolution GEMMs) follow NumPy's BLAS threading instead.
    """
    global _threads, _executor
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    _threads = threads
    if _executor is not None:
        _executor.shutdown(wait=False)
        _executor = None


def _pool() -> ThreadPoolExecutor:
    global _executor, _executor_pid
    # A forked child inherits the executor object but not its threads: make a new one.
    if _executor is None or _executor_pid != os.getpid():
        _executor = ThreadPoolExecutor(get_num_threads(), thread_name_prefix="refconv")
        _executor_pid = os.getpid()
    return _executor


def blocks(n: int, bytes_per_example: int, block_bytes: int | None = None) -> list[slice]:
    """Slices of ``range(n)`` holding about ``block_bytes`` each (at least one example)."""
    block_bytes = BLOCK_BYTES if block_bytes is None else block_bytes
    step = max(1, block_bytes // max(1, bytes_per_example))
    return [slice(start, min(start + step, n)) for start in range(0, n, step)] or [slice(0, 0)]


def for_each_block(
    n: int,
    bytes_per_example: int,
    work: Callable[[slice], None],
    parts: list[slice] | None = None,
) -> None:
    """Call ``work(block)`` for every block of examples, on several threads for large inputs.

    ``parts`` are the blocks (default: :func:`blocks`). ``work`` must only write the part of its
    results that belongs to ``block``. An exception in any block is raised here.
    """
    if parts is None:
        parts = blocks(n, bytes_per_example)
    threads = get_num_threads()
    if threads == 1 or len(parts) == 1 or n * bytes_per_example < PARALLEL_BYTES:
        for part in parts:
            work(part)
        return
    list(_pool().map(work, parts))
