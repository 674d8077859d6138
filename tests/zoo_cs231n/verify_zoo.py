"""Check every CS231n zoo entry against torch and against tests/zoo_cs231n/manifest.py.

Run:  python tests/zoo_cs231n/verify_zoo.py [-v] [STEM ...]

Independent of refconv: numpy and torch only.  For every module in this folder
(correct_*.py and bug_*.py) and each of the four CS231n functions

    conv_forward_naive, conv_backward_naive, max_pool_forward_naive, max_pool_backward_naive

the function is run on a fixed set of float64 cases inside the contract
(rectangular inputs, kernels and pools, H != W, stride 1/2/3, pad 0/1/2, N, C, F
from 1 to 4, overlapping pools and pools with stride > pool size, every geometry
dividing exactly) and compared with torch.nn.functional.conv2d / max_pool2d and
their autograd gradients for a random upstream gradient.  Max pooling is also run
on small-integer "tie" inputs (torch's rule: the whole gradient goes to the FIRST
maximum of a window in row-major order).

A backward is run twice per case: with the cache of the module's OWN forward (when
that forward exists and returns (out, cache)) and with a cache built here in the
documented layout (x, w, b, conv_param) / (x, pool_param).  A call FAILS when it
raises, hangs (per-call SIGALRM timeout), returns the wrong type/shape/dtype/values
(|actual - expected| <= RTOL * (1 + max|expected|)) or mutates one of its arguments.

Per function the verifier derives: fails or not; "tie only" (every failing case is a
tie case); "documented cache only" (a backward that fails only with the documented
cache and passes every run with its own).  Exit status 0 iff every entry agrees with
the manifest: the failing functions are exactly ZOO[stem]["functions"] and each of
them has the manifest's "tie_only" and "own_cache_only" flags.
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
FUNCS = ["conv_forward_naive", "conv_backward_naive",
         "max_pool_forward_naive", "max_pool_backward_naive"]
SHORT = {"conv_forward_naive": "cfwd", "conv_backward_naive": "cbwd",
         "max_pool_forward_naive": "pfwd", "max_pool_backward_naive": "pbwd"}
TIMEOUT = 5.0   # seconds per call
RTOL = 1e-9     # float64: |actual - expected| <= RTOL * (1 + max|expected|)

torch.set_num_threads(1)


# --------------------------------------------------------------------------- utilities

class Failure(Exception):
    pass


class CallTimeout(BaseException):
    """BaseException so that a student's `except Exception` cannot swallow it."""


def _alarm(signum, frame):
    raise CallTimeout()


def _guarded(fn, *args):
    """fn(*args) under a SIGALRM timeout; raises Failure on an exception or a hang."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, TIMEOUT)
    try:
        return fn(*args)
    except CallTimeout:
        raise Failure(f"TIMEOUT: no result after {TIMEOUT:.0f} s") from None
    except Exception as e:
        text = str(e).splitlines()[0][:90] if str(e) else ""
        raise Failure(f"raised {type(e).__name__}: {text}") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def load_module(stem):
    spec = importlib.util.spec_from_file_location("zoo_cs231n_" + stem, HERE / (stem + ".py"))
    mod = importlib.util.module_from_spec(spec)
    _guarded(spec.loader.exec_module, mod)
    return mod


def _same(a, b):
    """Deep equality that also sees shape, dtype and in-place changes of arrays."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
                and a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b))
    if isinstance(a, (tuple, list)):
        return (type(a) is type(b) and len(a) == len(b)
                and all(_same(x, y) for x, y in zip(a, b, strict=True)))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except Exception:
        return a is b


def call(fn, *args):
    """Run fn under a timeout; fail if it raises, hangs, or mutates an argument."""
    before = copy.deepcopy(args)
    out = _guarded(fn, *args)
    for i, (x, y) in enumerate(zip(before, args, strict=True)):
        if not _same(x, y):
            raise Failure(f"mutated its argument #{i}")
    return out


def compare(what, actual, expected):
    if not isinstance(actual, np.ndarray):
        raise Failure(f"{what}: expected an ndarray, got {type(actual).__name__}")
    if actual.shape != expected.shape:
        raise Failure(f"{what}: shape {actual.shape}, expected {expected.shape}")
    if actual.dtype != np.float64:
        raise Failure(f"{what}: dtype {actual.dtype}, expected float64")
    err = np.abs(actual - expected)
    bound = RTOL * (1.0 + np.max(np.abs(expected), initial=0.0))
    if not np.all(err <= bound):          # also catches NaN in `actual`
        j = np.unravel_index(int(np.argmax(np.where(np.isnan(err), np.inf, err))), err.shape)
        where = tuple(int(t) for t in j)
        raise Failure(f"{what}: max error {float(err[j]):.3g} at {where} "
                      f"(actual {float(actual[j])!r}, expected {float(expected[j])!r})")


# --------------------------------------------------------------------------- torch references

def ref_conv(x, w, b, stride, pad, dout):
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    out = F.conv2d(xt, wt, bt, stride=stride, padding=pad)
    out.backward(torch.tensor(dout))
    return (out.detach().numpy().copy(), xt.grad.numpy().copy(),
            wt.grad.numpy().copy(), bt.grad.numpy().copy())


def ref_pool(x, ph, pw, stride, dout):
    xt = torch.tensor(x, requires_grad=True)
    out = F.max_pool2d(xt, (ph, pw), stride=stride)
    out.backward(torch.tensor(dout))
    return out.detach().numpy().copy(), xt.grad.numpy().copy()


# --------------------------------------------------------------------------- cases
# Every geometry divides exactly: (H + 2p - HH) % s == 0, (W + 2p - WW) % s == 0,
# (H - ph) % s == 0, (W - pw) % s == 0.

CONV = [  # N, C, H, W, F, HH, WW, stride, pad
    (2, 3, 5, 7, 4, 3, 2, 1, 1),
    (1, 2, 7, 6, 3, 3, 2, 2, 0),
    (3, 1, 6, 9, 2, 2, 3, 2, 1),
    (2, 2, 8, 9, 2, 3, 1, 3, 2),
    (1, 3, 4, 4, 2, 2, 2, 1, 0),     # the course's square case
    (2, 2, 5, 6, 3, 1, 3, 1, 2),
    (1, 1, 3, 5, 1, 3, 3, 1, 0),     # N = C = F = 1
    (2, 2, 7, 10, 2, 4, 1, 3, 0),
    (2, 3, 6, 8, 3, 4, 2, 2, 1),
    (1, 2, 7, 8, 2, 1, 2, 3, 0),     # stride > kernel
    (2, 2, 6, 6, 3, 3, 3, 1, 1),     # square, stride 1 (the course's gradient check)
]
POOL = [  # N, C, H, W, ph, pw, stride
    (2, 3, 4, 4, 2, 2, 2),     # the course's square, non-overlapping case
    (2, 2, 5, 7, 3, 2, 1),     # overlapping
    (1, 3, 7, 6, 3, 2, 2),     # overlapping along H only
    (2, 1, 6, 9, 2, 3, 2),     # overlapping along W only
    (1, 2, 8, 10, 2, 1, 3),    # stride > pool size
    (3, 2, 6, 10, 2, 4, 2),
    (2, 2, 9, 6, 3, 3, 3),     # square pool, non-overlapping, H != W
    (1, 1, 5, 5, 1, 1, 1),
    (2, 3, 4, 7, 4, 1, 2),     # H' = 1
]


def conv_cases(rng):
    for N, C, H, W, Fn, HH, WW, s, p in CONV:
        assert (H + 2 * p - HH) % s == 0 and (W + 2 * p - WW) % s == 0
        x = rng.standard_normal((N, C, H, W))
        w = rng.standard_normal((Fn, C, HH, WW))
        b = rng.standard_normal(Fn)
        H_out, W_out = 1 + (H + 2 * p - HH) // s, 1 + (W + 2 * p - WW) // s
        dout = rng.standard_normal((N, Fn, H_out, W_out))
        label = f"x{(N, C, H, W)} w{(Fn, C, HH, WW)} s{s} p{p}"
        yield label, False, x, w, b, {"stride": s, "pad": p}, dout


def pool_cases(rng):
    for tie in (False, True):
        for N, C, H, W, ph, pw, s in POOL:
            assert (H - ph) % s == 0 and (W - pw) % s == 0
            if tie:
                x = rng.integers(-1, 2, size=(N, C, H, W)).astype(np.float64)
            else:
                x = rng.standard_normal((N, C, H, W))
            dout = rng.standard_normal((N, C, 1 + (H - ph) // s, 1 + (W - pw) // s))
            label = ("ties " if tie else "") + f"x{(N, C, H, W)} pool {ph}x{pw} s{s}"
            yield label, tie, x, {"pool_height": ph, "pool_width": pw, "stride": s}, dout


# --------------------------------------------------------------------------- per-function runs
# Each run yields (label, tie, cache_kind, thunk); cache_kind is None, "own" or "doc".

def _expect_pair(res, what):
    if not (isinstance(res, tuple) and len(res) == 2):
        raise Failure(f"{what}: expected a tuple (out, cache), got {type(res).__name__}")
    return res


def _own_cache(forward, args, hung):
    """The cache of the module's own forward on copies of args, or None.  `hung` is a list
    shared by the cases of one function: once the forward timed out it is not called again."""
    if forward is None or hung:
        return None
    try:
        res = _guarded(forward, *copy.deepcopy(args))
    except Failure as e:
        if str(e).startswith("TIMEOUT"):
            hung.append(True)
        return None
    if isinstance(res, tuple) and len(res) == 2:
        return res[1]
    return None


def runs_conv_forward(mod, rng):
    for label, tie, x, w, b, cp, dout in conv_cases(rng):
        def run(x=x, w=w, b=b, cp=cp, dout=dout):
            out, _ = _expect_pair(call(mod.conv_forward_naive, x, w, b, cp), "conv_forward")
            compare("out", out, ref_conv(x, w, b, cp["stride"], cp["pad"], dout)[0])
        yield label, tie, None, run


def runs_conv_backward(mod, rng):
    forward, hung = getattr(mod, "conv_forward_naive", None), []
    for label, tie, x, w, b, cp, dout in conv_cases(rng):
        _, dx_e, dw_e, db_e = ref_conv(x, w, b, cp["stride"], cp["pad"], dout)
        caches = [("own", _own_cache(forward, (x, w, b, cp), hung)),
                  ("doc", (x.copy(), w.copy(), b.copy(), dict(cp)))]
        for kind, cache in caches:
            if cache is None:
                continue

            def run(cache=cache, dout=dout, dx_e=dx_e, dw_e=dw_e, db_e=db_e):
                res = call(mod.conv_backward_naive, dout.copy(), cache)
                if not (isinstance(res, tuple) and len(res) == 3):
                    raise Failure(f"expected a tuple (dx, dw, db), got {type(res).__name__}")
                for name, act, exp in zip(("dx", "dw", "db"), res, (dx_e, dw_e, db_e),
                                          strict=True):
                    compare(name, act, exp)
            yield label, tie, kind, run


def runs_pool_forward(mod, rng):
    for label, tie, x, pp, dout in pool_cases(rng):
        def run(x=x, pp=pp, dout=dout):
            out, _ = _expect_pair(call(mod.max_pool_forward_naive, x, pp), "max_pool_forward")
            compare("out", out, ref_pool(x, pp["pool_height"], pp["pool_width"],
                                         pp["stride"], dout)[0])
        yield label, tie, None, run


def runs_pool_backward(mod, rng):
    forward, hung = getattr(mod, "max_pool_forward_naive", None), []
    for label, tie, x, pp, dout in pool_cases(rng):
        _, dx_e = ref_pool(x, pp["pool_height"], pp["pool_width"], pp["stride"], dout)
        own = _own_cache(forward, (x, pp), hung)
        for kind, cache in [("own", own), ("doc", (x.copy(), dict(pp)))]:
            if cache is None:
                continue

            def run(cache=cache, dout=dout, dx_e=dx_e):
                compare("dx", call(mod.max_pool_backward_naive, dout.copy(), cache), dx_e)
            yield label, tie, kind, run


RUNS = {
    "conv_forward_naive": runs_conv_forward,
    "conv_backward_naive": runs_conv_backward,
    "max_pool_forward_naive": runs_pool_forward,
    "max_pool_backward_naive": runs_pool_backward,
}


def judge(mod, name, seed):
    """Run every case of one function; return a summary dict (or None if not defined).

    Non-tie cases come first, so a tie-only bug is seen to pass all of them; after the first
    timeout the remaining cases are skipped (and "own_cache_only" is not claimed)."""
    if not callable(getattr(mod, name, None)):
        return None
    failures, kinds_run, timed_out = [], set(), False
    for label, tie, kind, thunk in RUNS[name](mod, np.random.default_rng(seed)):
        kinds_run.add(kind)
        try:
            thunk()
        except Failure as e:
            failures.append((label, tie, kind, str(e)))
            if str(e).startswith("TIMEOUT"):
                timed_out = True
                break
    failed = bool(failures)
    return {
        "failed": failed,
        "tie_only": failed and all(tie for _, tie, _, _ in failures),
        "own_cache_only": (failed and not timed_out and "own" in kinds_run
                           and all(kind == "doc" for _, _, kind, _ in failures)),
        "timeout": timed_out,
        "failures": failures,
    }


# --------------------------------------------------------------------------- main

MANIFEST_KEYS = {"kind", "functions", "bug", "trigger", "tie_only", "own_cache_only",
                 "diagnosis_hint"}


def check_entry(stem, entry):
    """Return (cells, problems, notes) for one zoo file."""
    problems = []
    if set(entry) != MANIFEST_KEYS:
        problems.append(f"manifest keys {sorted(set(entry) ^ MANIFEST_KEYS)}")
    try:
        mod = load_module(stem)
    except Failure as e:
        return ["?   "] * len(FUNCS), problems + [f"import {e}"], []
    cells, notes = [], []
    for name in FUNCS:
        res = judge(mod, name, seed=2000 + FUNCS.index(name))
        want_fail = name in entry["functions"]
        if res is None:
            mark = "-"
            if want_fail:
                problems.append(f"{name}: not defined but the manifest says wrong")
                mark += "!"
            cells.append(f"{mark:<4}")
            continue
        if not res["failed"]:
            mark = "."
        elif res["timeout"]:
            mark = "T"
        elif res["tie_only"]:
            mark = "t"
        elif res["own_cache_only"]:
            mark = "c"
        else:
            mark = "F"
        if res["failed"] != want_fail:
            why = res["failures"][0][3] if res["failed"] else "passed but the manifest says wrong"
            problems.append(f"{name}: {why}")
            mark += "!"
        elif res["failed"]:
            for flag in ("tie_only", "own_cache_only"):
                if res[flag] != entry[flag]:
                    problems.append(f"{name}: {flag} is {res[flag]}, "
                                    f"the manifest says {entry[flag]}")
                    mark += "!"
        cells.append(f"{mark:<4}")
        if res["failed"]:
            label, _, kind, msg = res["failures"][0]
            where = f"{label}, {kind} cache" if kind else label
            notes.append(f"{SHORT[name]}: {len(res['failures'])} failing run(s); "
                         f"first [{where}]: {msg}")
    return cells, problems, notes


def main(argv):
    verbose = "-v" in argv
    only = [a for a in argv if not a.startswith("-")]
    sys.path.insert(0, str(HERE))
    from manifest import ZOO

    on_disk = sorted(p.stem for p in HERE.glob("*.py") if p.stem.startswith(("correct_", "bug_")))
    problems = []
    for stem in sorted(set(on_disk) ^ set(ZOO)):
        problems.append(f"{stem}: " + ("no manifest entry" if stem in on_disk else "no file"))
    stems = [s for s in on_disk if s in ZOO and (not only or s in only)]

    header = f"{'entry':<36} {'kind':<7} " + " ".join(f"{SHORT[f]:<4}" for f in FUNCS)
    header += "  verdict"
    print(header)
    print("-" * len(header))
    n_ok = 0
    for stem in stems:
        entry = ZOO[stem]
        cells, bad, notes = check_entry(stem, entry)
        n_ok += not bad
        print(f"{stem:<36} {entry['kind']:<7} " + " ".join(cells) + "  "
              + ("OK" if not bad else "DISAGREES"))
        if verbose:
            for n in notes:
                print("      " + n)
        for b in bad:
            print("      !! " + b)
            problems.append(f"{stem}: {b}")
    print("-" * len(header))
    print("legend: . pass  F fail  t fails only on tie cases  c fails only with the documented"
          " cache  T timeout  - not defined  ! disagrees with the manifest")
    n_correct = sum(ZOO[s]["kind"] == "correct" for s in stems)
    print(f"{n_ok}/{len(stems)} entries agree with the manifest "
          f"({n_correct} correct, {len(stems) - n_correct} bug)")
    for p in problems:
        if p.endswith(("no manifest entry", "no file")):
            print("!! " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
