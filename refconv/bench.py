"""Side-by-side benchmark of refconv against torch on the CPU (``refconv bench``).

Every operation is timed for refconv and for torch in the same process, interleaved (refconv,
torch, refconv, torch, ...; the order alternates each round), so that a machine that slows down or
speeds up affects both sides alike. The figure reported is the median over rounds of the ratio
*refconv time / torch time* of one round: below 1.0 refconv is faster.

What is compared, per operation (the refconv side is the seed API, NHWC, as users call it):

- conv forward: ``conv_forward`` vs ``torch.nn.functional.conv2d`` (with bias);
- conv backward: ``conv_backward`` (dA_prev, dW, db) vs ``aten.convolution_backward`` with all
  three gradients, the kernel torch's autograd runs;
- max pool forward: ``pool_forward`` vs ``F.max_pool2d``;
- max pool forward + backward: ``pool_forward`` + ``pool_backward`` vs torch autograd forward and
  backward, because the seed's ``pool_backward`` recomputes the argmax from the cached input;
- average pool forward and backward: vs ``F.avg_pool2d`` and ``aten.avg_pool2d_backward``.

torch runs on whichever memory layout is faster for that operation in this run (NCHW contiguous
or channels_last: measured during warm-up); inputs are converted before timing. Conv throughput
is reported in GFLOP/s next to NumPy's own GEMM rate for the same matrix product, measured in the
same run: the GEMM is the physical limit of an im2col convolution.

Peak memory: each conv call is also run in a fresh subprocess that reports how much its peak
resident set grew during the call, to compare with the output size plus the chunk budget of
:mod:`refconv.conv`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

import refconv
from refconv import conv as conv_core
from refconv._parallel import get_num_threads, set_num_threads

#: Targets of issue 6: the largest acceptable median ratio refconv / torch per operation and dtype.
TARGETS: dict[tuple[str, str], float] = {
    ("conv forward", "float64"): 1.0,
    ("conv forward", "float32"): 1.5,
    ("conv backward", "float64"): 1.5,
    ("conv backward", "float32"): 2.0,
    ("max pool forward", "float64"): 1.5,
    ("max pool forward", "float32"): 1.5,
    ("avg pool forward", "float64"): 1.5,
    ("avg pool forward", "float32"): 1.5,
    ("max pool fwd+bwd", "float64"): 2.0,
    ("max pool fwd+bwd", "float32"): 2.0,
    ("avg pool backward", "float64"): 1.5,
    ("avg pool backward", "float32"): 1.5,
}
#: Smallest acceptable share of NumPy's GEMM rate for conv forward, on every benchmark layer.
GEMM_SHARE_TARGET = 0.70


@dataclass(frozen=True)
class ConvShape:
    name: str
    batch: int
    side: int
    c_in: int
    c_out: int
    f: int = 3
    stride: int = 1
    pad: int = 1

    @property
    def out_side(self) -> int:
        return (self.side + 2 * self.pad - self.f) // self.stride + 1

    @property
    def flops(self) -> float:
        """Multiply-adds of the forward pass, counted as 2 flops each."""
        return 2.0 * self.batch * self.out_side**2 * self.c_out * self.f * self.f * self.c_in

    def describe(self) -> str:
        return (
            f"batch {self.batch}, {self.side}x{self.side}, {self.c_in}->{self.c_out}, "
            f"f{self.f} s{self.stride} p{self.pad}"
        )


@dataclass(frozen=True)
class PoolShape:
    name: str
    batch: int
    side: int
    channels: int
    f: int
    stride: int

    def describe(self) -> str:
        return (
            f"batch {self.batch}, {self.side}x{self.side}x{self.channels}, f{self.f} s{self.stride}"
        )


CONV_SHAPES = (
    ConvShape("conv", 16, 32, 16, 32),
    ConvShape("conv large", 32, 64, 32, 64),
)
POOL_SHAPES = (
    PoolShape("pool f2s2", 16, 32, 32, 2, 2),
    PoolShape("pool f3s1", 16, 32, 32, 3, 1),
)


@dataclass
class Row:
    operation: str
    shape: str
    dtype: str
    refconv_ms: float
    torch_ms: float
    ratio: float
    torch_layout: str
    target: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.ratio <= self.target


def _time_once(fn: Callable[[], Any]) -> float:
    """Time of one call in steady state: an untimed call first absorbs the wake-up of this
    library's thread pool and the spinning threads the other library left behind (sleeping
    instead would penalise the pool that went idle)."""
    fn()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _best_layout(variants: dict[str, Callable[[], Any]], rounds: int = 3) -> str:
    """The torch layout whose callable has the smallest median time (warm-up included)."""
    times = {}
    for layout, fn in variants.items():
        fn()
        times[layout] = statistics.median(_time_once(fn) for _ in range(rounds))
    return min(times, key=times.__getitem__)


def compare(
    ours: Callable[[], Any], theirs: dict[str, Callable[[], Any]], rounds: int
) -> tuple[float, float, float, str]:
    """Median refconv time, median torch time (s), median paired ratio, torch layout used."""
    layout = _best_layout(theirs)
    reference = theirs[layout]
    ours()  # warm-up
    mine, other, ratios = [], [], []
    for round_ in range(rounds):
        if round_ % 2:
            t_other, t_mine = _time_once(reference), _time_once(ours)
        else:
            t_mine, t_other = _time_once(ours), _time_once(reference)
        mine.append(t_mine)
        other.append(t_other)
        ratios.append(t_mine / t_other)
    return statistics.median(mine), statistics.median(other), statistics.median(ratios), layout


def _torch_layouts(torch: Any, x: np.ndarray, requires_grad: bool = False) -> dict[str, Any]:
    """NHWC NumPy array -> torch tensors in NCHW contiguous and channels_last memory formats."""
    nchw = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    last = nchw.contiguous(memory_format=torch.channels_last)
    out = {"NCHW": nchw, "channels_last": last}
    if requires_grad:
        out = {k: t.detach().clone(memory_format=torch.preserve_format) for k, t in out.items()}
        for t in out.values():
            t.requires_grad_(True)
    return out


def bench_conv(torch: Any, shape: ConvShape, dtype: np.dtype, rounds: int) -> list[Row]:
    F = torch.nn.functional
    rng = np.random.default_rng(0)
    x = rng.standard_normal((shape.batch, shape.side, shape.side, shape.c_in)).astype(dtype)
    w = rng.standard_normal((shape.f, shape.f, shape.c_in, shape.c_out)).astype(dtype)
    b = rng.standard_normal((1, 1, 1, shape.c_out)).astype(dtype)
    hp = {"stride": shape.stride, "pad": shape.pad}
    out_side = shape.out_side
    dz = rng.standard_normal((shape.batch, out_side, out_side, shape.c_out)).astype(dtype)
    _, cache = refconv.conv_forward(x, w, b, hp)

    xs = _torch_layouts(torch, x)
    dzs = _torch_layouts(torch, dz)
    wt = {
        layout: torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1))).contiguous(
            memory_format=(
                torch.channels_last if layout == "channels_last" else torch.contiguous_format
            )
        )
        for layout in xs
    }
    bt = torch.from_numpy(b.reshape(-1).copy())
    conv_args = (shape.stride, shape.pad)
    with torch.no_grad():
        forward = {
            layout: (lambda lay=layout: F.conv2d(xs[lay], wt[lay], bt, *conv_args)) for layout in xs
        }
        backward = {
            layout: (
                lambda lay=layout: torch.ops.aten.convolution_backward(
                    dzs[lay],
                    xs[lay],
                    wt[lay],
                    [shape.c_out],
                    [shape.stride] * 2,
                    [shape.pad] * 2,
                    [1, 1],
                    False,
                    [0, 0],
                    1,
                    [True, True, True],
                )
            )
            for layout in xs
        }
        rows = []
        ours_fwd = lambda: refconv.conv_forward(x, w, b, hp)  # noqa: E731
        ms, ts, ratio, layout = compare(ours_fwd, forward, rounds)
        gemm, share = _gemm_share(ours_fwd, shape, dtype, rounds)
        extra = {
            "refconv_gflops": shape.flops / ms / 1e9,
            "torch_gflops": shape.flops / ts / 1e9,
            "numpy_gemm_gflops": gemm,
            "share_of_gemm": share,
        }
        rows.append(_row("conv forward", shape, dtype, ms, ts, ratio, layout, extra))
        ours_bwd = lambda: refconv.conv_backward(dz, cache)  # noqa: E731
        ms, ts, ratio, layout = compare(ours_bwd, backward, rounds)
        extra = {
            "refconv_gflops": 2 * shape.flops / ms / 1e9,
            "torch_gflops": 2 * shape.flops / ts / 1e9,
        }
        rows.append(_row("conv backward", shape, dtype, ms, ts, ratio, layout, extra))
    return rows


def _gemm_share(
    ours: Callable[[], Any], shape: ConvShape, dtype: np.dtype, rounds: int
) -> tuple[float, float]:
    """NumPy's GEMM rate on the conv's im2col product (rows x f*f*C_in @ ... x C_out), in
    GFLOP/s, and refconv's share of it: the median over rounds of GEMM time / conv time, each
    pair timed back to back (this machine's speed drifts by tens of percent within minutes)."""
    rng = np.random.default_rng(1)
    rows = shape.batch * shape.out_side**2
    inner = shape.f * shape.f * shape.c_in
    a = rng.standard_normal((rows, inner)).astype(dtype)
    b = rng.standard_normal((inner, shape.c_out)).astype(dtype)
    out = np.empty((rows, shape.c_out), dtype=dtype)
    gemm = lambda: np.matmul(a, b, out=out)  # noqa: E731
    times, shares = [], []
    for round_ in range(max(3, rounds)):
        if round_ % 2:
            t_ours, t_gemm = _time_once(ours), _time_once(gemm)
        else:
            t_gemm, t_ours = _time_once(gemm), _time_once(ours)
        times.append(t_gemm)
        shares.append(t_gemm / t_ours)
    rate = 2.0 * rows * inner * shape.c_out / statistics.median(times) / 1e9
    return rate, statistics.median(shares)


def bench_pool(torch: Any, shape: PoolShape, dtype: np.dtype, rounds: int) -> list[Row]:
    F = torch.nn.functional
    rng = np.random.default_rng(0)
    x = rng.standard_normal((shape.batch, shape.side, shape.side, shape.channels)).astype(dtype)
    out_side = (shape.side - shape.f) // shape.stride + 1
    dy = rng.standard_normal((shape.batch, out_side, out_side, shape.channels)).astype(dtype)
    hp = {"f": shape.f, "stride": shape.stride}
    k, s = shape.f, shape.stride
    xs = _torch_layouts(torch, x)
    xg = _torch_layouts(torch, x, requires_grad=True)
    dys = _torch_layouts(torch, dy)
    _, cache = refconv.pool_forward(x, hp, "average")

    def max_fwd_bwd(layout: str) -> None:
        xg[layout].grad = None
        F.max_pool2d(xg[layout], k, s).backward(dys[layout])

    rows = []
    with torch.no_grad():
        cases = [
            (
                "max pool forward",
                lambda: refconv.pool_forward(x, hp, "max"),
                {lay: (lambda lay=lay: F.max_pool2d(xs[lay], k, s)) for lay in xs},
            ),
            (
                "avg pool forward",
                lambda: refconv.pool_forward(x, hp, "average"),
                {lay: (lambda lay=lay: F.avg_pool2d(xs[lay], k, s)) for lay in xs},
            ),
            (
                "avg pool backward",
                lambda: refconv.pool_backward(dy, cache, "average"),
                {
                    lay: (
                        lambda lay=lay: torch.ops.aten.avg_pool2d_backward(
                            dys[lay], xs[lay], [k, k], [s, s], [0, 0], False, True, None
                        )
                    )
                    for lay in xs
                },
            ),
        ]
        for operation, ours, theirs in cases:
            ms, ts, ratio, layout = compare(ours, theirs, rounds)
            rows.append(_row(operation, shape, dtype, ms, ts, ratio, layout))

    def ours_max() -> None:
        _, max_cache = refconv.pool_forward(x, hp, "max")
        refconv.pool_backward(dy, max_cache, "max")

    with torch.enable_grad():
        theirs = {lay: (lambda lay=lay: max_fwd_bwd(lay)) for lay in xs}
        ms, ts, ratio, layout = compare(ours_max, theirs, rounds)
    rows.append(_row("max pool fwd+bwd", shape, dtype, ms, ts, ratio, layout))
    return rows


def _row(
    operation: str,
    shape: ConvShape | PoolShape,
    dtype: np.dtype,
    ms: float,
    ts: float,
    ratio: float,
    layout: str,
    extra: dict[str, Any] | None = None,
) -> Row:
    name = np.dtype(dtype).name
    return Row(
        operation,
        f"{shape.name}: {shape.describe()}",
        name,
        ms * 1e3,
        ts * 1e3,
        ratio,
        layout,
        TARGETS.get((operation, name)),
        extra or {},
    )


# --- peak memory, measured in a fresh process per call ----------------------------------------

_MEMORY_PROBE = """
import json, resource, sys
import numpy as np
import refconv


def peak_rss():
    # VmHWM (peak resident set) can be reset on Linux; elsewhere ru_maxrss never goes down.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


kind, batch, side, c_in, c_out, f, stride, pad, dtype = json.loads(sys.argv[1])
rng = np.random.default_rng(0)
x = rng.standard_normal((batch, side, side, c_in)).astype(dtype)
w = rng.standard_normal((f, f, c_in, c_out)).astype(dtype)
b = rng.standard_normal((1, 1, 1, c_out)).astype(dtype)
hp = {"stride": stride, "pad": pad}
n_out = (side + 2 * pad - f) // stride + 1
dz = rng.standard_normal((batch, n_out, n_out, c_out)).astype(dtype)
cache = (x, w, b, hp)
refconv.conv_forward(x[:1], w, b, hp)  # first-call allocations out of the way
refconv.conv_backward(dz[:1], (x[:1], w, b, hp))
exact = reset_peak()
before = peak_rss() if exact else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
if kind == "forward":
    result = refconv.conv_forward(x, w, b, hp)[:1]
else:
    result = refconv.conv_backward(dz, cache)
after = peak_rss()
outputs = sum(r.nbytes for r in result)
print(json.dumps({"peak_extra": after - before, "outputs": outputs, "exact": exact}))
"""


def peak_memory(shape: ConvShape, dtype: np.dtype, kind: str) -> dict[str, float]:
    """Growth of the peak RSS (bytes) during one conv call, measured in a fresh process."""
    spec = [kind, shape.batch, shape.side, shape.c_in, shape.c_out, shape.f, shape.stride]
    spec += [shape.pad, np.dtype(dtype).name]
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, json.dumps(spec)],
        capture_output=True,
        text=True,
        check=True,
    )
    measured = json.loads(done.stdout)
    measured["budget"] = measured["outputs"] + conv_core.MEMORY_BUDGET
    return measured


# --- report ------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    import torch

    blas = "unknown"
    try:
        config = np.show_config(mode="dicts")
        blas_info = config["Build Dependencies"]["blas"]
        blas = f"{blas_info.get('name')} {blas_info.get('version', '')}".strip()
    except Exception:  # noqa: BLE001 - older NumPy: the report just says unknown
        pass
    return {
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy_blas": blas,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "refconv_threads": get_num_threads(),
        "refconv": refconv.__version__,
    }


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run(
    rounds: int = 15,
    dtypes: Sequence[str] = ("float64", "float32"),
    threads: int = 2,
    quick: bool = False,
    memory: bool = True,
) -> dict[str, Any]:
    """Run every comparison; returns a JSON-able document (also printed by :func:`main`)."""
    from refconv.oracle import require_torch

    torch = require_torch()
    torch.set_num_threads(threads)
    set_num_threads(threads)
    conv_shapes = CONV_SHAPES[:1] if quick else CONV_SHAPES
    rows: list[Row] = []
    for name in dtypes:
        dtype = np.dtype(name)
        for shape in conv_shapes:
            rows += bench_conv(torch, shape, dtype, rounds)
            _progress(rows[-2:])
        for pool_shape in POOL_SHAPES:
            rows += bench_pool(torch, pool_shape, dtype, rounds)
            _progress(rows[-4:])
    memory_rows = []
    if memory:
        for shape in conv_shapes:
            for kind in ("forward", "backward"):
                measured = peak_memory(shape, np.dtype(dtypes[0]), kind)
                memory_rows.append({"shape": shape.describe(), "call": kind, **measured})
    forwards = [r for r in rows if r.operation == "conv forward"]
    return {
        "machine": machine(),
        "rounds": rounds,
        "rows": [asdict(r) | {"met": r.met} for r in rows],
        "gemm_share_target": GEMM_SHARE_TARGET,
        "gemm_shares": [
            {"dtype": r.dtype, "shape": r.shape, "share": r.extra["share_of_gemm"]}
            for r in forwards
        ],
        "memory": memory_rows,
        "chunk_budget": conv_core.MEMORY_BUDGET,
    }


def _progress(rows: list[Row]) -> None:
    if sys.stderr.isatty():
        for r in rows:
            print(f"  measured {r.operation} {r.dtype} ({r.shape})", file=sys.stderr)


def format_report(document: dict[str, Any]) -> str:
    m = document["machine"]
    lines = [
        f"refconv {m['refconv']} vs torch {m['torch']} ({m['torch_threads']} threads), numpy "
        f"{m['numpy']} ({m['numpy_blas']}), Python {m['python']}",
        f"{m['cpu']}, {m['cores']} cores; median of {document['rounds']} interleaved rounds",
        "",
        f"{'operation':<18} {'dtype':<8} {'shape':<46} {'refconv':>9} {'torch':>9} "
        f"{'ratio':>6} {'target':>7}  torch layout",
    ]
    misses = 0
    for r in document["rows"]:
        target = "" if r["target"] is None else f"<= {r['target']:.1f}"
        verdict = "" if r["met"] is None else ("ok" if r["met"] else "MISSED")
        misses += r["met"] is False
        lines.append(
            f"{r['operation']:<18} {r['dtype']:<8} {r['shape']:<46} {r['refconv_ms']:>7.2f}ms "
            f"{r['torch_ms']:>7.2f}ms {r['ratio']:>6.2f} {target:>7} {verdict:<6} "
            f"{r['torch_layout']}"
        )
    lines += ["", "conv throughput (GFLOP/s; NumPy GEMM = np.matmul on the same im2col product)"]
    for r in document["rows"]:
        if r["operation"] == "conv forward":
            e = r["extra"]
            lines.append(
                f"  {r['dtype']:<8} {r['shape']:<46} refconv {e['refconv_gflops']:6.1f}  "
                f"torch {e['torch_gflops']:6.1f}  NumPy GEMM {e['numpy_gemm_gflops']:6.1f}  "
                f"-> {100 * e['share_of_gemm']:.0f}% of GEMM"
            )
    target = document["gemm_share_target"]
    for row in document["gemm_shares"]:
        ok = row["share"] >= target
        misses += not ok
        lines.append(
            f"  {row['dtype']} {row['shape'].split(':')[0]}: {100 * row['share']:.0f}% of NumPy's "
            f"GEMM rate, median of paired rounds (target >= {100 * target:.0f}%) "
            f"{'ok' if ok else 'MISSED'}"
        )
    if document["memory"]:
        budget = document["chunk_budget"] / 2**20
        lines += ["", f"peak extra RSS of one conv call (budget: outputs + {budget:.0f} MiB)"]
        for row in document["memory"]:
            ok = row["peak_extra"] <= row["budget"]
            misses += not ok
            lines.append(
                f"  {row['call']:<9} {row['shape']:<46} peak +{row['peak_extra'] / 2**20:6.1f} MiB"
                f"  outputs {row['outputs'] / 2**20:6.1f} MiB  budget "
                f"{row['budget'] / 2**20:6.1f} MiB {'ok' if ok else 'MISSED'}"
            )
    lines += ["", "every target met" if not misses else f"{misses} target(s) missed"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="refconv bench", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


def _dtypes(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in ("float64", "float32")]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"expected float64 and/or float32, comma-separated, got {text!r}"
        )
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from refconv.cli import _positive_int

    parser.add_argument(
        "--rounds",
        type=_positive_int,
        default=None,
        help="interleaved rounds (default 15; 3 with --isolation)",
    )
    parser.add_argument(
        "--dtypes",
        type=_dtypes,
        default=["float64", "float32"],
        help="comma-separated (default float64,float32)",
    )
    parser.add_argument(
        "--threads",
        type=_positive_int,
        default=2,
        help="threads of torch and of refconv's pooling/im2col (default 2; NumPy's BLAS "
        "uses its own setting, e.g. OPENBLAS_NUM_THREADS)",
    )
    parser.add_argument("--quick", action="store_true", help="skip the large conv layer")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-RSS probes")
    parser.add_argument("--json", metavar="FILE", help="also write the measurements as JSON")
    parser.add_argument(
        "--isolation",
        action="store_true",
        help="instead, time refconv check's work isolated (executor) vs in-process "
        "(refconv.bench_isolation; uses only --rounds and --json)",
    )
    parser.add_argument(
        "--grading",
        action="store_true",
        help="instead, time refconv check on four targets (pipelined and on one core), profile "
        "where its work goes, and measure batch throughput with 1 and 2 workers "
        "(refconv.bench_grading; uses --max-examples, --seed, --runs, --baseline, --quick, "
        "--no-batch and --json)",
    )
    parser.add_argument(
        "--max-examples", type=_positive_int, default=100, help="with --grading: per function"
    )
    parser.add_argument("--seed", type=int, default=0, help="with --grading: hypothesis seed")
    parser.add_argument(
        "--no-batch", action="store_true", help="with --grading: skip the batch throughput"
    )
    parser.add_argument(
        "--runs",
        type=_positive_int,
        default=3,
        help="with --grading: runs of each check command (the median counts; default 3)",
    )
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        default=None,
        help="with --grading: also time the refconv in DIR (e.g. a git worktree of an earlier "
        "commit) in the same rounds",
    )


def run_from_args(args: argparse.Namespace) -> int:
    if getattr(args, "grading", False):
        from refconv import bench_grading

        return bench_grading.run_from_args(args)
    if getattr(args, "isolation", False):
        from refconv import bench_isolation

        return bench_isolation.run_from_args(args)
    document = run(
        rounds=15 if args.rounds is None else args.rounds,
        dtypes=args.dtypes,
        threads=args.threads,
        quick=args.quick,
        memory=not args.no_memory,
    )
    print(format_report(document))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(document, out, indent=2)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
