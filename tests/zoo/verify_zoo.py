"""Check every zoo entry against torch and against tests/zoo/manifest.py.

Run:  python tests/zoo/verify_zoo.py [-v] [STEM ...]

For every module in tests/zoo/ (correct_*.py and bug_*.py) and each of the
eight seed functions, the function is run on a handful of float64 cases
(plus small-integer "tie" cases and integer-dtype cases) and compared with
torch (conv2d / max_pool2d / avg_pool2d and autograd with a random upstream
gradient).  A function FAILS when it raises, hangs (per-call timeout), returns
the wrong shape/dtype/values, mutates an input, or does not raise ValueError
where it should (unknown pooling mode, kernel larger than the (padded) input).

conv_backward / pool_backward are fed the cache of the module's OWN forward
(when that forward raises, a cache in the documented format is built instead).

Correct entries must pass everything (plus NaN cases, and float32 cases when
the manifest says "preserves_float32"); bug entries must fail exactly the
functions listed in the manifest, and - when "tie_only" - only on tie cases.
Exit status 0 when every entry agrees with the manifest, 1 otherwise.
"""
import copy
import importlib.util
import signal
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
FUNCS = ["zero_pad", "conv_single_step", "conv_forward", "conv_backward",
         "pool_forward", "create_mask_from_window", "distribute_value", "pool_backward"]
TIMEOUT = 5.0      # seconds per call
RTOL = 1e-9        # float64: |actual - expected| <= RTOL * (1 + max|expected|)
RTOL32 = 1e-5      # float32 outputs compared with the float64 torch reference


# --------------------------------------------------------------------------- utilities

class Failure(Exception):
    pass


class CallTimeout(BaseException):
    """BaseException so that a student's `except Exception` cannot swallow it."""


def _alarm(signum, frame):
    raise CallTimeout()


def load_module(stem):
    spec = importlib.util.spec_from_file_location("zoo_" + stem, HERE / (stem + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b or (a != a and b != b)


def call(fn, *args, **kwargs):
    """Run fn under a timeout; fail if it raises, hangs, or mutates an argument."""
    before = copy.deepcopy((args, kwargs))
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, TIMEOUT)
    try:
        out = fn(*args, **kwargs)
    except CallTimeout:
        raise Failure("TIMEOUT: no result after %.0f s" % TIMEOUT)
    except Exception as e:
        raise Failure("raised %s: %s" % (type(e).__name__, str(e).splitlines()[0][:90] if str(e) else ""))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    for i, (x, y) in enumerate(zip(before[0], args)):
        if not _same(x, y):
            raise Failure("mutated its argument #%d" % i)
    return out


def expect_raise(fn, exc, *args, **kwargs):
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, TIMEOUT)
    try:
        fn(*args, **kwargs)
    except CallTimeout:
        raise Failure("TIMEOUT on an invalid call (expected %s)" % exc.__name__)
    except exc:
        return
    except Exception as e:
        raise Failure("raised %s instead of %s" % (type(e).__name__, exc.__name__))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    raise Failure("no error for an invalid call (expected %s)" % exc.__name__)


def compare(what, actual, expected, dtype=np.float64, rtol=RTOL):
    if not isinstance(actual, np.ndarray):
        raise Failure("%s: expected an ndarray, got %s" % (what, type(actual).__name__))
    if actual.shape != expected.shape:
        raise Failure("%s: shape %s, expected %s" % (what, actual.shape, expected.shape))
    if dtype is not None and actual.dtype != dtype:
        raise Failure("%s: dtype %s, expected %s" % (what, actual.dtype, np.dtype(dtype)))
    a = actual.astype(np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if not np.array_equal(np.isnan(a), np.isnan(e)):
        raise Failure("%s: NaN pattern differs" % what)
    ok = ~np.isnan(e)
    if not np.array_equal(a[ok & np.isinf(e)], e[ok & np.isinf(e)]):
        raise Failure("%s: infinities differ" % what)
    fin = ok & np.isfinite(e)
    if fin.any():
        err = np.abs(a[fin] - e[fin])
        scale = 1.0 + np.max(np.abs(e[fin]))
        if not np.all(err <= rtol * scale):   # also catches NaN in `a`
            j = int(np.argmax(np.where(np.isnan(err), np.inf, err)))
            idx = tuple(int(t) for t in np.argwhere(fin)[j])
            raise Failure("%s: max error %.3g at %s (actual %r, expected %r)"
                          % (what, float(err[j]), idx, float(a[fin][j]), float(e[fin][j])))


# --------------------------------------------------------------------------- torch references

def _t(x):
    return torch.tensor(np.asarray(x, dtype=np.float64))


def ref_conv(A, W, b, stride, pad, dZ=None):
    At = _t(A).permute(0, 3, 1, 2).contiguous().requires_grad_()
    Wt = _t(W).permute(3, 2, 0, 1).contiguous().requires_grad_()
    bt = _t(b).reshape(-1).requires_grad_()
    Z = F.conv2d(At, Wt, bt, stride=stride, padding=pad)
    Znp = Z.detach().permute(0, 2, 3, 1).numpy().copy()
    if dZ is None:
        return Znp
    Z.backward(_t(dZ).permute(0, 3, 1, 2))
    return (Znp, At.grad.permute(0, 2, 3, 1).numpy().copy(),
            Wt.grad.permute(2, 3, 1, 0).numpy().copy(), bt.grad.reshape(1, 1, 1, -1).numpy().copy())


def ref_pool(A, f, stride, mode, dA=None):
    At = _t(A).permute(0, 3, 1, 2).contiguous().requires_grad_()
    op = F.max_pool2d if mode == "max" else F.avg_pool2d
    Y = op(At, kernel_size=f, stride=stride)
    Ynp = Y.detach().permute(0, 2, 3, 1).numpy().copy()
    if dA is None:
        return Ynp
    Y.backward(_t(dA).permute(0, 3, 1, 2))
    return Ynp, At.grad.permute(0, 2, 3, 1).numpy().copy()


def ref_mask(x):
    flat = np.asarray(x, dtype=np.float64).ravel()
    nans = np.flatnonzero(np.isnan(flat))
    idx = nans[-1] if nans.size else int(np.argmax(flat))   # torch CPU: last NaN, else first max
    mask = np.zeros(np.shape(x), dtype=bool)
    mask.flat[idx] = True
    return mask


# --------------------------------------------------------------------------- cases
# Each case: (label, tie, args...).  "tie" cases use small integers (ties in windows).

CONV = [  # m, H, W, C_prev, C, f, stride, pad
    (1, 4, 4, 1, 1, 1, 1, 0),
    (2, 5, 7, 3, 2, 3, 1, 0),
    (3, 6, 5, 2, 3, 2, 2, 1),
    (2, 7, 6, 3, 2, 3, 2, 0),
    (1, 5, 8, 2, 4, 4, 3, 2),
    (2, 4, 6, 2, 3, 3, 3, 1),
    (1, 6, 7, 2, 2, 2, 3, 0),
    (3, 3, 5, 1, 2, 4, 1, 1),
    (2, 5, 5, 3, 3, 2, 1, 3),
]
POOL = [  # m, H, W, C, f, stride
    (1, 4, 4, 1, 2, 2),
    (2, 5, 7, 3, 3, 1),
    (3, 6, 5, 2, 2, 1),
    (2, 7, 6, 3, 3, 2),
    (1, 8, 5, 2, 2, 3),
    (2, 4, 6, 3, 4, 1),
    (1, 5, 5, 2, 1, 1),
    (2, 6, 9, 2, 3, 3),
]
WINDOWS = [(2, 2), (3, 3), (2, 3), (4, 1), (1, 1), (3, 4), (4, 4)]
PADS = (0, 1, 2, 3)                                  # zero_pad
STEP = [(f, cp) for f in (1, 2, 3, 4) for cp in (1, 3)]  # conv_single_step: f, C_prev
KINDS = ["normal", "ties"]                           # value distributions for every function
INT_KINDS = ["int"]                                  # extra, for pooling and masks (integer dtype)


def draw(rng, shape, kind):
    if kind == "normal":
        return rng.standard_normal(shape)
    if kind == "ties":
        return rng.integers(-2, 3, size=shape).astype(np.float64)
    if kind == "int":
        return rng.integers(-2, 3, size=shape).astype(np.int64)
    if kind == "float32":
        return rng.standard_normal(shape).astype(np.float32)
    if kind == "nan":
        x = rng.integers(-2, 3, size=shape).astype(np.float64)
        x[rng.random(shape) < 0.3] = np.nan
        return x
    raise ValueError(kind)


def kinds_for(extra):
    return list(KINDS) + list(extra)


def out_dtype(kind):
    return np.float32 if kind == "float32" else np.float64


def tol(kind):
    return RTOL32 if kind == "float32" else RTOL


# --------------------------------------------------------------------------- per-function checks
# Each check yields (tie, thunk) pairs; a thunk raises Failure.

def check_zero_pad(mod, rng, extra):
    for kind in kinds_for([k for k in extra if k in ("float32", "nan")]):
        for shape in [(1, 3, 3, 1), (2, 3, 5, 2), (3, 4, 2, 3)]:
            for pad in PADS:
                X = draw(rng, shape, kind)

                def run(X=X, pad=pad):
                    out = call(mod.zero_pad, X, pad)
                    exp = np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
                    compare("X_pad", out, exp, dtype=X.dtype)
                yield kind == "ties", run


def check_conv_single_step(mod, rng, extra):
    for kind in kinds_for([k for k in extra if k in ("float32", "nan")]):
        for f, cp in STEP:
            a = draw(rng, (f, f, cp), kind)
            W = draw(rng, (f, f, cp), "normal" if kind == "nan" else kind)
            b = draw(rng, (1, 1, 1), "normal" if kind == "nan" else kind)

            def run(a=a, W=W, b=b, kind=kind):
                out = call(mod.conv_single_step, a, W, b)
                if np.ndim(out) != 0:
                    raise Failure("Z: expected a scalar, got shape %s" % (np.shape(out),))
                if kind == "float32" and np.asarray(out).dtype != np.float32:
                    raise Failure("Z: dtype %s, expected float32" % np.asarray(out).dtype)
                exp = np.sum(a.astype(np.float64) * W) + float(b.ravel()[0])
                compare("Z", np.asarray(out, dtype=np.float64).reshape(()), np.asarray(exp),
                        dtype=None, rtol=tol(kind))
            yield kind == "ties", run


def conv_inputs(rng, case, kind):
    m, H, Wd, cp, c, f, s, p = case
    wk = "normal" if kind == "nan" else kind
    return (draw(rng, (m, H, Wd, cp), kind), draw(rng, (f, f, cp, c), wk),
            draw(rng, (1, 1, 1, c), wk), {"stride": s, "pad": p})


def check_conv_forward(mod, rng, extra):
    for kind in kinds_for([k for k in extra if k in ("float32", "nan")]):
        for case in CONV:
            A, W, b, hp = conv_inputs(rng, case, kind)

            def run(A=A, W=W, b=b, hp=hp, kind=kind):
                out = call(mod.conv_forward, A, W, b, hp)
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise Failure("expected (Z, cache)")
                compare("Z", out[0], ref_conv(A, W, b, hp["stride"], hp["pad"]),
                        dtype=out_dtype(kind), rtol=tol(kind))
            yield kind == "ties", run

    def too_big():   # kernel larger than the padded input -> ValueError (torch: RuntimeError)
        A, W, b, _ = conv_inputs(rng, (1, 3, 4, 2, 2, 4, 1, 0), "normal")
        expect_raise(mod.conv_forward, ValueError, A, W, b, {"stride": 1, "pad": 0})
    yield False, too_big


def own_cache(forward, args, fallback):
    try:
        out = call(forward, *copy.deepcopy(args))
        cache = out[1]
        if isinstance(cache, tuple) and len(cache) == len(fallback):
            return cache
    except Failure:
        pass
    return fallback


def check_conv_backward(mod, rng, extra):
    for kind in kinds_for([k for k in extra if k in ("float32", "nan")]):
        for case in CONV:
            A, W, b, hp = conv_inputs(rng, case, kind)
            Zref = ref_conv(A, W, b, hp["stride"], hp["pad"])
            dZ = rng.standard_normal(Zref.shape)
            if kind == "float32":
                dZ = dZ.astype(np.float32)

            def run(A=A, W=W, b=b, hp=hp, dZ=dZ, kind=kind):
                cache = own_cache(mod.conv_forward, (A, W, b, hp),
                                  (A.copy(), W.copy(), b.copy(), dict(hp)))
                out = call(mod.conv_backward, dZ, cache)
                if not (isinstance(out, tuple) and len(out) == 3):
                    raise Failure("expected (dA_prev, dW, db)")
                _, dA_e, dW_e, db_e = ref_conv(A, W, b, hp["stride"], hp["pad"], dZ)
                for name, act, exp in zip(("dA_prev", "dW", "db"), out, (dA_e, dW_e, db_e)):
                    compare(name, act, exp, dtype=out_dtype(kind), rtol=tol(kind))
            yield kind == "ties", run


def pool_inputs(rng, case, kind):
    m, H, Wd, c, f, s = case
    return draw(rng, (m, H, Wd, c), kind), {"f": f, "stride": s}


def check_pool_forward(mod, rng, extra):
    for kind in kinds_for(INT_KINDS + [k for k in extra if k in ("float32", "nan")]):
        for case in POOL:
            for mode in ("max", "average"):
                A, hp = pool_inputs(rng, case, kind)

                def run(A=A, hp=hp, mode=mode, kind=kind):
                    out = call(mod.pool_forward, A, hp, mode=mode)
                    if not (isinstance(out, tuple) and len(out) == 2):
                        raise Failure("expected (A, cache)")
                    compare("A[%s]" % mode, out[0], ref_pool(A, hp["f"], hp["stride"], mode),
                            dtype=out_dtype(kind), rtol=tol(kind))
                yield kind in ("ties", "int"), run

    def bad_mode():
        A, hp = pool_inputs(rng, POOL[0], "normal")
        try:
            expect_raise(mod.pool_forward, ValueError, A, hp, mode="min")
        except Failure as e:
            raise Failure("error parity: mode='min': %s" % e)

    def too_big():
        A, _ = pool_inputs(rng, POOL[0], "normal")
        try:
            expect_raise(mod.pool_forward, ValueError, A, {"f": 5, "stride": 1}, mode="max")
        except Failure as e:
            raise Failure("error parity: f > H: %s" % e)
    yield False, bad_mode
    yield False, too_big


def check_create_mask(mod, rng, extra):
    for kind in kinds_for(INT_KINDS + [k for k in extra if k in ("float32", "nan")]):
        for shape in WINDOWS:
            for _ in range(3):
                x = draw(rng, shape, kind)

                def run(x=x):
                    out = call(mod.create_mask_from_window, x)
                    exp = ref_mask(x)
                    if not isinstance(out, np.ndarray) or out.shape != exp.shape:
                        raise Failure("mask: expected a %s ndarray, got %r" % (exp.shape, np.shape(out)))
                    if out.dtype != bool:
                        raise Failure("mask: dtype %s, expected bool" % out.dtype)
                    if not np.array_equal(out, exp):
                        raise Failure("mask: %d True at %s, expected 1 True at %s"
                                      % (out.sum(), np.argwhere(out).tolist(), np.argwhere(exp).tolist()))
                yield kind in ("ties", "int"), run


def check_distribute_value(mod, rng, extra):
    dzs = [float(rng.standard_normal()), 0.0, 2, float(rng.standard_normal())]
    if "float32" in extra:
        dzs.append(np.float32(rng.standard_normal()))
    for dz in dzs:
        for shape in WINDOWS:
            def run(dz=dz, shape=shape):
                out = call(mod.distribute_value, dz, shape)
                f32 = isinstance(dz, np.float32)
                exp = np.full(shape, np.float64(dz) / (shape[0] * shape[1]))
                compare("a", out, exp, dtype=np.float32 if f32 else np.float64,
                        rtol=RTOL32 if f32 else RTOL)
            yield False, run


def check_pool_backward(mod, rng, extra):
    for kind in kinds_for(INT_KINDS + [k for k in extra if k in ("float32", "nan")]):
        for case in POOL:
            for mode in ("max", "average"):
                A, hp = pool_inputs(rng, case, kind)
                Yref = ref_pool(A, hp["f"], hp["stride"], mode)
                dA = rng.standard_normal(Yref.shape)
                if kind == "float32":
                    dA = dA.astype(np.float32)

                def run(A=A, hp=hp, mode=mode, dA=dA, kind=kind):
                    cache = own_cache(lambda *a: mod.pool_forward(*a, mode=mode), (A, hp),
                                      (A.copy(), dict(hp)))
                    out = call(mod.pool_backward, dA, cache, mode=mode)
                    _, exp = ref_pool(A, hp["f"], hp["stride"], mode, dA)
                    compare("dA_prev[%s]" % mode, out, exp, dtype=out_dtype(kind), rtol=tol(kind))
                yield kind in ("ties", "int"), run

    def bad_mode():
        A, hp = pool_inputs(rng, POOL[0], "normal")
        dA = rng.standard_normal((1, 2, 2, 1))
        try:
            expect_raise(mod.pool_backward, ValueError, dA, (A, hp), mode="min")
        except Failure as e:
            raise Failure("error parity: mode='min': %s" % e)
    yield False, bad_mode


CHECKS = {
    "zero_pad": check_zero_pad,
    "conv_single_step": check_conv_single_step,
    "conv_forward": check_conv_forward,
    "conv_backward": check_conv_backward,
    "pool_forward": check_pool_forward,
    "create_mask_from_window": check_create_mask,
    "distribute_value": check_distribute_value,
    "pool_backward": check_pool_backward,
}


def run_function(mod, name, extra, seed):
    """Return (first failure message or None, whether that failure was on a tie case,
    whether any non-tie case failed)."""
    rng = np.random.default_rng(seed)
    cases = list(CHECKS[name](mod, rng, extra))
    # non-tie cases first, so that a tie-only bug is seen to pass them
    cases.sort(key=lambda tc: tc[0])
    for tie, thunk in cases:
        try:
            thunk()
        except Failure as e:
            return str(e), tie
    return None, None


# --------------------------------------------------------------------------- main

def main(argv):
    verbose = "-v" in argv
    only = [a for a in argv if not a.startswith("-")]
    sys.path.insert(0, str(HERE))
    from manifest import ZOO

    on_disk = sorted(p.stem for p in HERE.glob("*.py")
                     if p.stem.startswith(("correct_", "bug_", "seed_")))
    problems = []
    missing = sorted(set(on_disk) ^ set(ZOO))
    if missing:
        problems.append("manifest and files disagree on: %s" % ", ".join(missing))
    stems = [s for s in on_disk if s in ZOO and (not only or s in only)]

    short = {"zero_pad": "pad", "conv_single_step": "step", "conv_forward": "cfwd",
             "conv_backward": "cbwd", "pool_forward": "pfwd", "create_mask_from_window": "mask",
             "distribute_value": "dist", "pool_backward": "pbwd"}
    header = "%-40s %-7s " % ("entry", "kind") + " ".join("%-4s" % short[f] for f in FUNCS) + "  verdict"
    print(header)
    print("-" * len(header))
    n_ok = 0
    for i, stem in enumerate(stems):
        entry = ZOO[stem]
        extra = ["nan"] if entry["kind"] == "correct" else []
        if entry.get("preserves_float32"):
            extra.append("float32")
        mod = load_module(stem)
        expected_bad = set(entry["functions"])
        cells, notes, bad_here = [], [], []
        for name in FUNCS:
            msg, tie = run_function(mod, name, extra, seed=1000 + FUNCS.index(name))
            failed = msg is not None
            want_fail = name in expected_bad
            mark = ("T" if msg and msg.startswith("TIMEOUT") else "F") if failed else "."
            if failed != want_fail:
                mark += "!"
                bad_here.append("%s: %s" % (name, msg if failed else "passed but manifest says wrong"))
            elif failed and entry.get("tie_only") and not tie:
                mark += "!"
                bad_here.append("%s: tie_only but failed a non-tie case: %s" % (name, msg))
            cells.append("%-4s" % mark)
            if failed:
                notes.append("%s: %s" % (short[name], msg))
        verdict = "OK" if not bad_here else "DISAGREES"
        n_ok += not bad_here
        print("%-40s %-7s " % (stem, entry["kind"]) + " ".join(cells) + "  " + verdict)
        if verbose:
            for n in notes:
                print("      " + n)
        for b in bad_here:
            print("      !! " + b)
            problems.append("%s: %s" % (stem, b))
    print("-" * len(header))
    print("legend: . pass   F fail   T timeout   ! disagrees with manifest")
    print("%d/%d entries agree with the manifest (%d correct, %d bug)"
          % (n_ok, len(stems), sum(ZOO[s]["kind"] == "correct" for s in stems),
             sum(ZOO[s]["kind"] == "bug" for s in stems)))
    for p in problems:
        if ":" not in p or p.startswith("manifest"):
            print("!! " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
