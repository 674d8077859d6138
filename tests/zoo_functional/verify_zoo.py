"""Check every functional-zoo entry against torch and against tests/zoo_functional/manifest.py.

Run:  python tests/zoo_functional/verify_zoo.py [-v] [STEM ...]

Independent of refconv: numpy and torch only. For every module in tests/zoo_functional/
(correct_*.py and bug_*.py) and each of the eight functions of the torch-like API it defines
(conv2d, conv_transpose2d, max_pool2d, avg_pool2d and their ``*_backward`` adapters), the function
is run on a fixed, deterministic list of calls, and each call is first run through
torch.nn.functional:

- valid calls (torch accepts them): stride, padding (ints, pairs, 'valid', 'same' with even
  kernels), dilation, groups (depthwise too), ceil_mode (windows overhanging the input, a kernel
  larger than the input), count_include_pad, divisor_override (negative too), return_indices,
  unbatched (C, H, W) input, positional arguments in torch's order, float64 and float32, tied,
  all-negative, NaN and -inf inputs for max pooling (a window whose input values are all -inf
  has torch's index: its first tap inside the input). The forward output must match torch (max
  pooling and its int64 indices exactly), the backward must match torch autograd for a random
  grad_output; shape, dtype (float32 stays float32) and structure ((grad_input, grad_weight,
  grad_bias), grad_bias None without a bias) included; no argument may be modified.
- invalid calls (torch raises): bad shapes and ranks, channels and groups, kernel larger than the
  padded input, non-positive stride/dilation/kernel, negative padding, pooling padding above
  kernel_size // 2, 'same' with a stride, bad output_padding, zero divisor_override; for the
  backward adapters also a grad_output whose shape is not the forward output's (an extra row, a
  broadcastable (..., 1, 1), a missing batch axis). The function must raise ValueError or
  TypeError.
- type-level calls (a bool, float, str, None or array where torch wants an int or an int tuple,
  a non-bool ceil_mode, ...): the function should raise exactly when torch raises. Reported in
  the "type" column for information only; they do not decide pass/fail.

A call fails with one of the kinds: wrong (value, shape, dtype or structure), crash (an exception
other than ValueError/TypeError on a valid call), spurious_error (ValueError/TypeError on a valid
call), missing_error (no exception on an invalid call), wrong_error (another exception on an
invalid call), mutated, timeout (per call, SIGALRM).

For a call torch rejects, a backward adapter gets a grad_output of the shape the module's own
forward returns for it (when it returns one), so that the missing check decides, not a mismatch.

A function FAILS when any of its valid or invalid calls fails. Correct entries must pass
everything; a bug entry must fail exactly the manifest's "functions"; with "error_parity" True
all its failures must be error-parity ones (spurious_error/missing_error), with False at least one
must be a wrong result (or a crash or timeout). Error-parity kinds: spurious_error, missing_error,
wrong_error. Exit status 0 when every entry agrees with the manifest, 1 otherwise
(or when a call's torch verdict is not the one the case list expects).
"""
import copy
import importlib.util
import signal
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as TF

HERE = Path(__file__).resolve().parent
FORWARD = ["conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d"]
FUNCS = [name for op in FORWARD for name in (op, op + "_backward")]
SHORT = {"conv2d": "c2d", "conv2d_backward": "c2d_b", "conv_transpose2d": "ct2d",
         "conv_transpose2d_backward": "ct2d_b", "max_pool2d": "mp", "max_pool2d_backward": "mp_b",
         "avg_pool2d": "ap", "avg_pool2d_backward": "ap_b"}
TIMEOUT = 10.0     # seconds per call
RTOL = 1e-9        # float64: |actual - expected| <= RTOL * (1 + max|expected|)
RTOL32 = 1e-4      # float32 results against the float64 torch reference of the same values
ERROR_PARITY_KINDS = {"spurious_error", "missing_error", "wrong_error"}

# Parameter order of each op, as torch.nn.functional has it (for the positional calls).
SIGNATURE = {
    "conv2d": ["stride", "padding", "dilation", "groups"],
    "conv_transpose2d": ["stride", "padding", "output_padding", "groups", "dilation"],
    "max_pool2d": ["kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"],
    "avg_pool2d": ["kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                   "divisor_override"],
}
CONV_OPS = ("conv2d", "conv_transpose2d")


# --------------------------------------------------------------------------- cases

class Case:
    """One call of a forward op (the backward adapter gets the same arguments)."""

    def __init__(self, op, category, x, w=None, bias=True, data="normal", dtype=np.float64,
                 positional=False, grad=None, **kwargs):
        self.op, self.category = op, category
        self.x_shape, self.w_shape, self.with_bias = x, w, bias
        self.data, self.dtype, self.positional = data, np.dtype(dtype), positional
        self.grad = grad          # None, or how to spoil grad_output: "row", "bcast", "nobatch"
        self.kwargs = kwargs
        self.seed = None

    def label(self):
        shapes = f"x{self.x_shape}"
        if self.w_shape is not None:
            shapes += f" w{self.w_shape}" + ("" if self.with_bias else " nobias")
        extra = []
        if self.data != "normal":
            extra.append(self.data)
        if self.dtype != np.float64:
            extra.append(self.dtype.name)
        if self.positional:
            extra.append("positional")
        if self.grad:
            extra.append("grad_output:" + self.grad)
        kw = "".join(f", {k}={v!r}" for k, v in self.kwargs.items())
        tags = f" [{', '.join(extra)}]" if extra else ""
        return f"{self.op}({shapes}{kw}){tags}"

    def arrays(self):
        """(input, weight, bias) as numpy arrays (weight/bias None for pooling)."""
        rng = np.random.default_rng(self.seed)
        x = draw(rng, self.x_shape, self.data).astype(self.dtype)
        if self.op not in CONV_OPS:
            return x, None, None
        w = rng.standard_normal(self.w_shape).astype(self.dtype)
        b = None
        if self.with_bias is True:
            w_out = self.w_shape[0]
            if self.op == "conv_transpose2d":   # C_out = weight.shape[1] * groups
                groups = self.kwargs.get("groups", 1)
                w_out = self.w_shape[1] * (groups if type(groups) is int else 1)
            b = rng.standard_normal(w_out).astype(self.dtype)
        elif self.with_bias is not False:   # an explicit (bad) bias shape
            b = rng.standard_normal(self.with_bias).astype(self.dtype)
        return x, w, b

    def call_args(self, arrays, backward=False):
        """(args, kwargs) for the op (numpy or torch arrays), in the case's style."""
        x, w, b = arrays
        kwargs = dict(self.kwargs)
        if backward:
            kwargs.pop("return_indices", None)
        head = [x, w, b] if self.op in CONV_OPS else [x]
        if not self.positional:
            return head, kwargs
        names = [n for n in SIGNATURE[self.op] if not (backward and n == "return_indices")]
        defaults = {"stride": None if self.op not in CONV_OPS else 1, "padding": 0,
                    "dilation": 1, "groups": 1, "output_padding": 0, "ceil_mode": False,
                    "return_indices": False, "count_include_pad": True,
                    "divisor_override": None}
        last = max(i for i, n in enumerate(names) if n in kwargs)
        return head + [kwargs.get(n, defaults.get(n)) for n in names[:last + 1]], {}


def draw(rng, shape, data):
    if data == "normal":
        return rng.standard_normal(shape)
    if data == "negative":
        return -(np.abs(rng.standard_normal(shape)) + 0.1)
    if data == "ties":
        return rng.integers(-1, 2, size=shape).astype(np.float64)
    if data == "neginf":   # whole -inf regions: windows whose input values are all -inf
        x = rng.integers(-2, 3, size=shape).astype(np.float64)
        x[rng.random(shape) < 0.4] = -np.inf
        x[..., :2, :2] = -np.inf     # the corner windows of a padded 3x3 pooling
        x[..., -2:, -2:] = -np.inf
        return x
    if data == "nan":
        x = rng.integers(-2, 3, size=shape).astype(np.float64)
        x[rng.random(shape) < 0.25] = np.nan
        return x
    raise ValueError(data)


def conv(cat, x, w, bias=True, **kw):
    return Case("conv2d", cat, x, w, bias, **kw)


def convt(cat, x, w, bias=True, **kw):
    return Case("conv_transpose2d", cat, x, w, bias, **kw)


def maxp(cat, x, **kw):
    return Case("max_pool2d", cat, x, **kw)


def avgp(cat, x, **kw):
    return Case("avg_pool2d", cat, x, **kw)


V, I, T = "valid", "invalid", "type"  # noqa: E741 - the three categories of call
F32 = np.float32

CONV2D = [
    conv(V, (2, 3, 6, 7), (4, 3, 3, 3)),
    conv(V, (2, 3, 6, 7), (4, 3, 3, 3), dtype=F32),
    conv(V, (2, 3, 7, 6), (4, 3, 3, 2), stride=2, padding=1),
    conv(V, (1, 2, 8, 7), (3, 2, 3, 2), stride=(2, 1), padding=(1, 2), dilation=(2, 1)),
    conv(V, (2, 2, 7, 8), (2, 2, 3, 3), False, dilation=2),
    conv(V, (2, 4, 6, 6), (6, 2, 3, 3), groups=2, padding=1),
    conv(V, (2, 4, 6, 6), (6, 2, 3, 3), groups=2, padding=1, dtype=F32),
    conv(V, (1, 3, 5, 5), (6, 1, 3, 3), groups=3, stride=2),
    conv(V, (2, 6, 5, 4), (3, 2, 2, 3), groups=3),
    conv(V, (1, 4, 9, 9), (4, 1, 3, 3), groups=4, dilation=2, padding=2, stride=2),
    conv(V, (2, 3, 6, 5), (2, 3, 3, 3), padding="same"),
    conv(V, (2, 3, 6, 5), (2, 3, 2, 4), padding="same"),
    conv(V, (2, 3, 6, 5), (2, 3, 2, 4), padding="same", dtype=F32),
    conv(V, (1, 2, 7, 7), (3, 2, 2, 3), padding="same", dilation=(3, 2)),
    conv(V, (2, 3, 6, 7), (2, 3, 3, 3), padding="valid"),
    conv(V, (3, 6, 6), (4, 3, 3, 3), stride=2, padding=1),
    conv(V, (3, 6, 6), (4, 3, 3, 3), stride=2, padding=1, dtype=F32),
    conv(V, (3, 5, 6), (2, 3, 2, 2), False),
    conv(V, (4, 5, 5), (2, 2, 3, 2), groups=2, padding="same"),
    conv(V, (1, 2, 3, 3), (2, 2, 5, 5), padding=1),
    conv(V, (2, 2, 3, 5), (1, 2, 4, 3), padding=(1, 0)),
    conv(V, (1, 3, 7, 7), (2, 3, 1, 1), stride=3),
    conv(V, (2, 2, 6, 6), (3, 2, 3, 3), stride=[2, 1]),
    conv(V, (2, 2, 6, 6), (3, 2, 3, 3), stride=np.int64(2), padding=(1,)),
    conv(V, (2, 4, 6, 6), (4, 2, 3, 3), positional=True, stride=2, padding=1, groups=2),
    # invalid
    conv(I, (1, 4, 5, 5), (3, 2, 3, 3), groups=2),         # C_out not divisible by groups
    conv(I, (1, 5, 5, 5), (4, 2, 3, 3), groups=2),         # C_in != C_in/groups * groups
    conv(I, (1, 6, 5, 5), (2, 2, 3, 3), groups=3),         # C_out < groups
    conv(I, (1, 3, 5, 5), (2, 2, 3, 3)),                   # C_in mismatch
    conv(I, (1, 2, 5, 5), (2, 2, 3, 3), groups=0),
    conv(I, (1, 2, 5, 5), (2, 2, 3, 3), groups=-1),
    conv(I, (1, 2, 5, 5), (2, 2, 3, 3), stride=0),
    conv(I, (1, 2, 5, 5), (2, 2, 3, 3), stride=(1, -1)),
    conv(I, (1, 2, 5, 5), (2, 2, 3, 3), dilation=0),
    conv(I, (1, 2, 5, 5), (2, 2, 3, 3), padding=-1),
    conv(I, (1, 2, 5, 5), (2, 2, 3, 3), padding=(0, -1)),
    conv(I, (1, 2, 5, 5), (2, 2, 3, 3), padding="full"),
    conv(I, (1, 2, 5, 5), (2, 2, 3, 3), padding="SAME"),
    conv(I, (1, 2, 5, 5), (2, 2, 3, 3), padding="same", stride=2),
    conv(I, (1, 2, 5, 5), (2, 2, 3, 3), padding="same", stride=(1, 2)),
    conv(I, (1, 2, 4, 4), (2, 2, 5, 3)),                   # kernel larger than the input
    conv(I, (1, 2, 5, 5), (2, 2, 3, 3), dilation=(1, 3)),  # dilated kernel larger
    conv(I, (1, 2, 4, 5), (2, 2, 3, 3), dilation=2, padding=(0, 1)),
    conv(I, (1, 2, 5, 5), (2, 2, 0, 3)),                   # empty kernel
    conv(I, (1, 2, 5, 5), (2, 2, 3, 3), (3,)),             # bias of the wrong length
    conv(I, (1, 2, 5, 5), (2, 2, 3, 3), (1, 2)),           # 2-D bias
    conv(I, (5, 5), (2, 2, 3, 3)),
    conv(I, (1, 1, 2, 5, 5), (2, 2, 3, 3)),
    conv(I, (1, 2, 5, 5), (2, 3, 3)),
    conv(I, (1, 2, 5, 5), (2, 2, 3, 3), stride=(1, 1, 1)),
    conv(I, (1, 2, 5, 5), (2, 2, 3, 3), padding=(1, 1, 1)),
    conv(I, (1, 2, 5, 5), (2, 2, 3, 3), stride=()),
    # type-level
    conv(T, (1, 2, 5, 5), (2, 2, 3, 3), stride=True),
    conv(T, (1, 2, 5, 5), (2, 2, 3, 3), stride=1.0),
    conv(T, (1, 2, 5, 5), (2, 2, 3, 3), stride="1"),
    conv(T, (1, 2, 5, 5), (2, 2, 3, 3), stride=None),
    conv(T, (1, 2, 5, 5), (2, 2, 3, 3), stride=np.array([2, 1])),
    conv(T, (1, 2, 5, 5), (2, 2, 3, 3), stride=np.bool_(True)),
    conv(T, (1, 2, 5, 5), (2, 2, 3, 3), stride=(True, 1)),
    conv(T, (1, 2, 5, 5), (2, 2, 3, 3), stride=(2, 1.0)),
    conv(T, (1, 2, 5, 5), (2, 2, 3, 3), padding=None),
    conv(T, (1, 2, 5, 5), (2, 2, 3, 3), padding=False),
    conv(T, (1, 2, 5, 5), (2, 2, 3, 3), padding=1.0),
    conv(T, (1, 2, 5, 5), (2, 2, 3, 3), dilation=(2, True)),
    conv(T, (1, 4, 5, 5), (2, 2, 3, 3), groups=2.0),
    conv(T, (1, 2, 5, 5), (2, 2, 3, 3), groups=True),
    conv(T, (1, 2, 5, 5), (2, 2, 3, 3), groups=None),
]

CONV_TRANSPOSE2D = [
    convt(V, (2, 4, 3, 3), (4, 3, 3, 3), groups=2),
    convt(V, (2, 4, 3, 3), (4, 3, 3, 3), groups=2, dtype=F32),
    convt(V, (2, 3, 4, 3), (3, 2, 3, 3), stride=2, output_padding=1),
    convt(V, (1, 2, 4, 4), (2, 3, 2, 3), stride=(2, 3), padding=(1, 0), output_padding=(1, 2)),
    convt(V, (2, 2, 3, 4), (2, 2, 2, 2), False, dilation=2, output_padding=1),
    convt(V, (1, 4, 3, 3), (4, 1, 3, 3), groups=4, stride=2, padding=1),
    convt(V, (3, 4, 4), (3, 2, 2, 2), stride=2),
    convt(V, (3, 4, 4), (3, 2, 2, 2), stride=2, dtype=F32),
    convt(V, (2, 2, 2, 2), (2, 2, 1, 1), stride=2, padding=1),
    convt(V, (1, 2, 3, 3), (2, 3, 3, 3), padding=2),
    convt(V, (2, 3, 3, 4), (3, 2, 3, 2), stride=3, padding=1, dilation=2, output_padding=(2, 1)),
    convt(V, (2, 4, 3, 3), (4, 1, 3, 3), positional=True, stride=2, padding=1, output_padding=1,
          groups=2, dilation=1),
    # invalid
    convt(I, (1, 2, 3, 3), (2, 2, 3, 3), output_padding=1),
    convt(I, (1, 2, 3, 3), (2, 2, 3, 3), stride=2, output_padding=2),
    convt(I, (1, 2, 3, 3), (2, 2, 3, 3), stride=(2, 1), output_padding=(0, 1)),
    convt(I, (1, 2, 3, 3), (2, 2, 3, 3), stride=2, output_padding=-1),
    convt(I, (1, 2, 3, 3), (2, 2, 3, 3), padding=-1),
    convt(I, (1, 2, 3, 3), (2, 2, 3, 3), padding=3),       # empty output
    convt(I, (1, 4, 3, 3), (4, 3, 3, 3), groups=3),
    convt(I, (1, 2, 3, 3), (4, 3, 3, 3), groups=2),        # input channels != weight.shape[0]
    convt(I, (1, 2, 3, 3), (2, 2, 3, 3), stride=0),
    convt(I, (1, 2, 3, 3), (2, 2, 3, 3), dilation=0),
    convt(I, (1, 2, 3, 3), (2, 2, 3, 3), groups=0),
    convt(I, (1, 2, 3, 3), (2, 2, 3, 3), (3,)),
    convt(I, (3, 3), (2, 2, 3, 3)),
    convt(I, (1, 2, 3, 3), (2, 2, 3)),
    convt(I, (1, 2, 3, 3), (2, 0, 2, 2)),
    convt(I, (1, 2, 3, 3), (2, 2, 3, 3), stride=(1, 1, 1)),
    convt(I, (1, 2, 3, 3), (2, 2, 3, 3), stride=2, output_padding=(1, 1, 1)),
    # type-level
    convt(T, (1, 2, 3, 3), (2, 2, 3, 3), padding="same"),
    convt(T, (1, 2, 3, 3), (2, 2, 3, 3), padding="valid"),
    convt(T, (1, 2, 3, 3), (2, 2, 3, 3), stride=True),
    convt(T, (1, 2, 3, 3), (2, 2, 3, 3), groups=1.0),
    convt(T, (1, 2, 3, 3), (2, 2, 3, 3), stride=2, output_padding=1.0),
    convt(T, (1, 2, 3, 3), (2, 2, 3, 3), dilation=None),
    convt(T, (1, 2, 3, 3), (2, 2, 3, 3), padding=(True, 0)),
]

MAX_POOL2D = []
for ri in (False, True):
    MAX_POOL2D += [
        maxp(V, (2, 3, 6, 7), kernel_size=2, return_indices=ri),
        maxp(V, (2, 3, 7, 7), kernel_size=3, stride=2, padding=1, return_indices=ri),
        maxp(V, (2, 3, 7, 7), kernel_size=3, stride=2, padding=1, return_indices=ri, dtype=F32),
        maxp(V, (1, 2, 6, 8), kernel_size=(3, 2), stride=(1, 2), padding=(1, 1),
             return_indices=ri),
        maxp(V, (2, 2, 7, 8), kernel_size=2, stride=1, padding=1, dilation=2, return_indices=ri),
        maxp(V, (2, 2, 5, 5), kernel_size=2, stride=2, padding=1, ceil_mode=True,
             return_indices=ri),
        maxp(V, (2, 2, 5, 5), kernel_size=2, stride=2, padding=1, ceil_mode=True,
             return_indices=ri, dtype=F32),
        maxp(V, (1, 2, 5, 6), kernel_size=2, stride=2, ceil_mode=True, return_indices=ri),
        maxp(V, (1, 2, 6, 6), kernel_size=3, stride=2, padding=1, ceil_mode=True,
             return_indices=ri),
        maxp(V, (1, 2, 7, 7), kernel_size=2, stride=2, padding=1, dilation=2, ceil_mode=True,
             return_indices=ri),
        maxp(V, (1, 2, 5, 5), kernel_size=6, stride=2, ceil_mode=True, return_indices=ri),
        maxp(V, (3, 6, 6), kernel_size=3, stride=2, padding=1, return_indices=ri),
        maxp(V, (2, 3, 6, 6), kernel_size=3, stride=1, padding=1, data="negative",
             return_indices=ri),
        maxp(V, (2, 2, 6, 6), kernel_size=2, stride=2, padding=1, data="negative",
             return_indices=ri),
        maxp(V, (2, 2, 6, 6), kernel_size=2, stride=2, padding=1, data="negative",
             return_indices=ri, dtype=F32),
        maxp(V, (2, 3, 6, 6), kernel_size=3, stride=2, padding=1, data="ties", return_indices=ri),
        maxp(V, (2, 3, 6, 7), kernel_size=2, stride=1, data="ties", return_indices=ri),
        maxp(V, (1, 1, 4, 4), kernel_size=(4, 1), padding=(2, 0), return_indices=ri),
        maxp(V, (2, 2, 6, 6), kernel_size=2, stride=1, data="nan", return_indices=ri),
        maxp(V, (2, 3, 7, 7), kernel_size=3, stride=2, padding=1, data="neginf",
             return_indices=ri),
        maxp(V, (2, 2, 7, 7), kernel_size=3, stride=None, return_indices=ri),
        maxp(V, (2, 2, 7, 7), positional=True, kernel_size=3, stride=2, padding=1, dilation=1,
             ceil_mode=True, return_indices=ri),
    ]
MAX_POOL2D += [
    maxp(I, (1, 2, 5, 6), kernel_size=0),
    maxp(I, (1, 2, 5, 6), kernel_size=-1),
    maxp(I, (1, 2, 5, 6), kernel_size=(2, 0)),
    maxp(I, (1, 2, 5, 6), kernel_size=2, stride=0),
    maxp(I, (1, 2, 5, 6), kernel_size=2, stride=-1),
    maxp(I, (1, 2, 5, 6), kernel_size=2, padding=-1),
    maxp(I, (1, 2, 5, 6), kernel_size=3, padding=2),
    maxp(I, (1, 2, 5, 6), kernel_size=(2, 1), padding=(0, 1)),
    maxp(I, (1, 2, 5, 6), kernel_size=2, dilation=0),
    maxp(I, (1, 2, 5, 6), kernel_size=6),
    maxp(I, (1, 2, 5, 6), kernel_size=3, dilation=3),
    maxp(I, (1, 2, 5, 5), kernel_size=6, stride=1, ceil_mode=True),
    maxp(I, (5, 6), kernel_size=2),
    maxp(I, (1, 1, 2, 5, 6), kernel_size=2),
    maxp(I, (1, 0, 4, 4), kernel_size=2),
    maxp(I, (1, 2, 0, 4), kernel_size=1),
    maxp(I, (1, 2, 5, 6), kernel_size=(2, 2, 2)),
    maxp(I, (1, 2, 5, 6), kernel_size=2, stride=(1, 1, 1)),
    maxp(I, (1, 2, 5, 6), kernel_size=2, padding=()),
    # type-level
    maxp(T, (1, 2, 5, 6), kernel_size=True),
    maxp(T, (1, 2, 5, 6), kernel_size=2.0),
    maxp(T, (1, 2, 5, 6), kernel_size=np.array([2, 2])),
    maxp(T, (1, 2, 5, 6), kernel_size=(2, True)),
    maxp(T, (1, 2, 5, 6), kernel_size=(True, 2)),
    maxp(T, (1, 2, 5, 6), kernel_size=2, stride=1.5),
    maxp(T, (1, 2, 5, 6), kernel_size=2, padding=None),
    maxp(T, (1, 2, 5, 6), kernel_size=2, dilation=True),
    maxp(T, (1, 2, 5, 6), kernel_size=2, ceil_mode=1),
    maxp(T, (1, 2, 5, 6), kernel_size=2, ceil_mode=None),
    maxp(T, (1, 2, 5, 6), kernel_size=2, return_indices=None),
]

AVG_POOL2D = [
    avgp(V, (2, 3, 6, 7), kernel_size=2),
    avgp(V, (2, 3, 7, 7), kernel_size=3, stride=2, padding=1),
    avgp(V, (2, 3, 7, 7), kernel_size=3, stride=2, padding=1, dtype=F32),
    avgp(V, (2, 3, 7, 7), kernel_size=3, stride=2, padding=1, count_include_pad=False),
    avgp(V, (1, 2, 6, 8), kernel_size=(3, 2), stride=(1, 2), padding=(1, 1),
         count_include_pad=False),
    avgp(V, (2, 2, 5, 5), kernel_size=2, stride=2, padding=1, ceil_mode=True),
    avgp(V, (1, 2, 5, 6), kernel_size=2, stride=2, ceil_mode=True),
    avgp(V, (1, 2, 6, 6), kernel_size=3, stride=2, padding=1, ceil_mode=True,
         count_include_pad=False),
    avgp(V, (1, 2, 6, 6), kernel_size=3, stride=2, padding=1, ceil_mode=True,
         count_include_pad=False, dtype=F32),
    avgp(V, (1, 2, 6, 6), kernel_size=3, stride=2, padding=1, ceil_mode=True),
    avgp(V, (2, 2, 6, 6), kernel_size=2, divisor_override=3),
    avgp(V, (2, 2, 6, 6), kernel_size=2, divisor_override=3, dtype=F32),
    avgp(V, (2, 2, 7, 7), kernel_size=3, stride=2, padding=1, divisor_override=-2),
    avgp(V, (3, 6, 6), kernel_size=3, stride=2, padding=1, count_include_pad=False),
    avgp(V, (1, 2, 5, 5), kernel_size=6, stride=2, ceil_mode=True),
    avgp(V, (2, 2, 7, 7), kernel_size=3, stride=None),
    avgp(V, (2, 2, 7, 7), positional=True, kernel_size=3, stride=2, padding=1, ceil_mode=True,
         count_include_pad=False, divisor_override=None),
    # invalid
    avgp(I, (1, 2, 5, 6), kernel_size=2, divisor_override=0),
    avgp(I, (1, 2, 5, 6), kernel_size=2, padding=2),
    avgp(I, (1, 2, 5, 6), kernel_size=(3, 1), padding=(1, 1)),
    avgp(I, (1, 2, 5, 6), kernel_size=0),
    avgp(I, (1, 2, 5, 6), kernel_size=2, stride=0),
    avgp(I, (1, 2, 5, 6), kernel_size=3, padding=-1),
    avgp(I, (1, 2, 5, 6), kernel_size=6),
    avgp(I, (5, 6), kernel_size=2),
    avgp(I, (1, 1, 2, 5, 6), kernel_size=2),
    avgp(I, (1, 0, 4, 4), kernel_size=2),
    avgp(I, (1, 2, 5, 6), kernel_size=(2, 2, 2)),
    # type-level
    avgp(T, (1, 2, 5, 6), kernel_size=True),
    avgp(T, (1, 2, 5, 6), kernel_size=2.0),
    avgp(T, (1, 2, 5, 6), kernel_size=(2, True)),
    avgp(T, (1, 2, 5, 6), kernel_size=2, padding=True),
    avgp(T, (1, 2, 5, 6), kernel_size=2, stride="2"),
    avgp(T, (1, 2, 5, 6), kernel_size=2, ceil_mode=0),
    avgp(T, (1, 2, 5, 6), kernel_size=2, count_include_pad=0),
    avgp(T, (1, 2, 5, 6), kernel_size=2, divisor_override=2.0),
    avgp(T, (1, 2, 5, 6), kernel_size=2, divisor_override=True),
]

CASES = {"conv2d": CONV2D, "conv_transpose2d": CONV_TRANSPOSE2D, "max_pool2d": MAX_POOL2D,
         "avg_pool2d": AVG_POOL2D}


def grad_cases(op):
    """Backward-only invalid calls: a grad_output of the wrong shape for valid forwards."""
    picks = [c for c in CASES[op] if c.category == V and c.dtype == np.float64
             and not c.positional and c.data == "normal"][:3]
    out = []
    for base in picks:
        for spoil in ("row", "bcast", "nobatch"):
            if spoil == "nobatch" and len(base.x_shape) == 3:
                continue
            case = copy.copy(base)
            case.category, case.grad = I, spoil
            out.append(case)
    return out


def assign_seeds():
    for op, cases in CASES.items():
        for i, case in enumerate(cases):
            case.seed = 1000 * (FORWARD.index(op) + 1) + i


# --------------------------------------------------------------------------- running calls

class CallTimeout(BaseException):
    """BaseException, so that an `except Exception` in the code under test cannot swallow it."""


def _alarm(signum, frame):
    raise CallTimeout()


def guarded(fn, *args, **kwargs):
    """("ok", result) | ("raise", exception) | ("timeout", None)."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, TIMEOUT)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return "ok", fn(*args, **kwargs)
    except CallTimeout:
        return "timeout", None
    except Exception as e:  # any exception of the code under test is a verdict
        return "raise", e
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _t(a, grad=False):
    if a is None:
        return None
    t = torch.from_numpy(np.array(a, dtype=np.float64))
    return t.requires_grad_(grad)


class TorchResult:
    def __init__(self):
        self.forward_ok = False
        self.error = None
        self.output = self.indices = None
        self.grad_output = None
        self.grads = None
        self.backward_ok = False


_TORCH = {}


def torch_reference(case):
    """torch's verdict and results for the case (float64 on the case's values), cached."""
    key = id(case)
    if key in _TORCH:
        return _TORCH[key]
    res = TorchResult()
    x, w, b = case.arrays()
    leaves = [_t(x, True), _t(w, w is not None), _t(b, b is not None)]
    args, kwargs = case.call_args(leaves)
    status, out = guarded(getattr(TF, case.op), *args, **kwargs)
    res.forward_ok = status == "ok"
    res.error = out if status == "raise" else None
    if not res.forward_ok:
        _TORCH[key] = res
        return res
    if isinstance(out, tuple):
        out, idx = out
        res.indices = idx.numpy().copy()
    res.output = out.detach().numpy().copy()
    rng = np.random.default_rng(case.seed + 7)
    gy = rng.standard_normal(res.output.shape)
    res.grad_output = spoil_grad(gy, case.grad, rng) if case.grad else gy
    status, err = guarded(out.backward, _t(res.grad_output))
    res.backward_ok = status == "ok"
    if res.backward_ok:
        res.grads = [None if t is None else t.grad.numpy().copy() for t in leaves]
    else:
        res.error = err
    _TORCH[key] = res
    return res


def spoil_grad(gy, how, rng):
    if how == "row":
        shape = gy.shape[:-2] + (gy.shape[-2] + 1, gy.shape[-1])
    elif how == "bcast":
        shape = gy.shape[:-2] + (1, 1)
    elif how == "nobatch":
        shape = gy.shape[1:]
    else:
        raise ValueError(how)
    return rng.standard_normal(shape)


def has_empty_max_window(case):
    """A max-pooling window with no tap inside the input (torch's answer there is undefined)."""
    kw = case.kwargs

    def pair(v, default):
        v = default if v is None else v
        return (v, v) if isinstance(v, (int, np.integer)) else (v[0], v[-1])

    k = pair(kw["kernel_size"], None)
    s = pair(kw.get("stride"), k)
    p = pair(kw.get("padding", 0), None)
    d = pair(kw.get("dilation", 1), None)
    ceil = kw.get("ceil_mode", False)
    for axis, n in enumerate(case.x_shape[-2:]):
        span = n + 2 * p[axis] - d[axis] * (k[axis] - 1) - 1
        if ceil:
            n_out = -(-span // s[axis]) + 1
            if (n_out - 1) * s[axis] >= n + p[axis]:
                n_out -= 1
        else:
            n_out = span // s[axis] + 1
        for o in range(n_out):
            taps = o * s[axis] - p[axis] + d[axis] * np.arange(k[axis])
            if not ((taps >= 0) & (taps < n)).any():
                return True
    return False


# --------------------------------------------------------------------------- comparisons

class Failure(Exception):
    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


def compare(what, actual, expected, dtype, exact=False):
    if not isinstance(actual, np.ndarray):
        raise Failure("wrong", f"{what}: expected an ndarray, got {type(actual).__name__}")
    if actual.shape != expected.shape:
        raise Failure("wrong", f"{what}: shape {actual.shape}, expected {expected.shape}")
    if actual.dtype != dtype:
        raise Failure("wrong", f"{what}: dtype {actual.dtype}, expected {np.dtype(dtype)}")
    a = actual.astype(np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if not np.array_equal(np.isnan(a), np.isnan(e)):
        raise Failure("wrong", f"{what}: NaN pattern differs ({np.isnan(a).sum()} NaN, "
                               f"expected {np.isnan(e).sum()})")
    fin = np.isfinite(e)
    if not np.array_equal(a[~fin & ~np.isnan(e)], e[~fin & ~np.isnan(e)]):
        raise Failure("wrong", f"{what}: infinities differ")
    if not fin.any():
        return
    err = np.abs(a[fin] - e[fin])
    rtol = 0.0 if exact else (RTOL32 if dtype == np.float32 else RTOL)
    bound = rtol * (1.0 + np.max(np.abs(e[fin])))
    if not np.all(err <= bound):
        j = int(np.argmax(np.where(np.isnan(err), np.inf, err)))
        idx = tuple(int(t) for t in np.argwhere(fin)[j])
        raise Failure("wrong", f"{what}: max error {float(err[j]):.3g} at {idx} (actual "
                               f"{float(a[fin][j])!r}, expected {float(e[fin][j])!r})")


def check_forward(case, fn, ref):
    arrays = case.arrays()
    out = run_checked(fn, case, arrays, case.call_args(arrays), ref.forward_ok)
    if not ref.forward_ok:
        return
    if case.op == "max_pool2d":
        if case.kwargs.get("return_indices"):
            if not (isinstance(out, tuple) and len(out) == 2):
                raise Failure("wrong", "return_indices=True: expected (output, indices), got "
                                       f"{type(out).__name__}")
            out, idx = out
            if not isinstance(idx, np.ndarray) or idx.dtype != np.int64:
                got = getattr(idx, "dtype", type(idx).__name__)
                raise Failure("wrong", f"indices: expected an int64 ndarray, got {got}")
            if idx.shape != ref.indices.shape or not np.array_equal(idx, ref.indices):
                bad = (np.argwhere(idx != ref.indices)[0].tolist()
                       if idx.shape == ref.indices.shape else f"shape {idx.shape}")
                raise Failure("wrong", f"indices differ from torch's (first at {bad})")
        compare("output", out, ref.output, case.dtype, exact=True)
    else:
        compare("output", out, ref.output, case.dtype)


def check_backward(case, fn, ref, forward=None):
    arrays = case.arrays()
    gy = ref.grad_output
    if gy is None:
        # torch rejects the forward: give the backward a grad_output of the shape the module's
        # own forward returns for the call (if it returns one), so that only the missing check,
        # not a shape mismatch, decides
        gy = np.zeros((1,) * len(case.x_shape))
        if forward is not None:
            f_args, f_kwargs = case.call_args(arrays)
            status, out = guarded(forward, *f_args, **f_kwargs)
            out = out[0] if status == "ok" and isinstance(out, tuple) else out
            if status == "ok" and isinstance(out, np.ndarray):
                gy = np.ones(out.shape)
    gy = gy.astype(case.dtype)
    args, kwargs = case.call_args(arrays, backward=True)
    ok = ref.forward_ok and ref.backward_ok
    out = run_checked(fn, case, arrays, ([gy] + args, kwargs), ok, extra=gy)
    if not ok:
        return
    if case.op in CONV_OPS:
        if not (isinstance(out, (tuple, list)) and len(out) == 3):
            raise Failure("wrong", "expected (grad_input, grad_weight, grad_bias), got "
                                   f"{type(out).__name__}")
        names = ("grad_input", "grad_weight", "grad_bias")
        for name, act, exp in zip(names, out, ref.grads, strict=True):
            if exp is None:
                if act is not None:
                    raise Failure("wrong", f"{name}: expected None (no bias), got "
                                           f"{type(act).__name__}")
                continue
            compare(name, act, exp, case.dtype)
    else:
        compare("grad_input", out, ref.grads[0], case.dtype)


def run_checked(fn, case, arrays, call, should_work, extra=None):
    args, kwargs = call
    watched = [a for a in (*arrays, extra) if a is not None]
    before = [a.copy() for a in watched]
    status, out = guarded(fn, *args, **kwargs)
    for a, b in zip(before, watched, strict=True):
        if not np.array_equal(a, b, equal_nan=True):
            raise Failure("mutated", "modified one of its array arguments")
    if status == "timeout":
        raise Failure("timeout", f"no result after {TIMEOUT:.0f} s")
    if should_work:
        if status == "raise":
            kind = "spurious_error" if isinstance(out, (ValueError, TypeError)) else "crash"
            raise Failure(kind, f"raised {type(out).__name__} on a valid call: {first(out)}")
        return out
    if status == "ok":
        torch_error = type(torch_reference(case).error).__name__
        raise Failure("missing_error", f"no error where torch raises {torch_error}")
    if not isinstance(out, (ValueError, TypeError)):
        raise Failure("wrong_error", f"raised {type(out).__name__} (not ValueError/TypeError): "
                                     f"{first(out)}")
    return None


def first(exc):
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text[:100]


# --------------------------------------------------------------------------- per function

def function_cases(name):
    op = name.removesuffix("_backward")
    cases = list(CASES[op])
    if name.endswith("_backward"):
        cases += GRAD_CASES[op]
    return op, cases


def run_function(mod, name):
    """(failures, type_mismatches): lists of (case, kind, message)."""
    fn = getattr(mod, name)
    op, cases = function_cases(name)
    backward = name.endswith("_backward")
    failures, type_mismatches = [], []
    for case in cases:
        if case.grad and not backward:
            continue
        ref = torch_reference(case)
        try:
            if backward:
                check_backward(case, fn, ref, getattr(mod, op, None))
            else:
                check_forward(case, fn, ref)
        except Failure as f:
            if case.category == T:
                type_mismatches.append((case, f.kind, str(f)))
            else:
                failures.append((case, f.kind, str(f)))
    return failures, type_mismatches


def sanity_problems():
    """Cases whose torch verdict is not the expected one (a bug of this verifier's lists)."""
    problems = []
    for op in FORWARD:
        for case in CASES[op] + GRAD_CASES[op]:
            ref = torch_reference(case)
            ok = ref.forward_ok and ref.backward_ok
            if case.category == V and not ok:
                problems.append(f"torch rejects the valid case {case.label()}: {ref.error}")
            if case.category == I and ok:
                problems.append(f"torch accepts the invalid case {case.label()}")
            if case.category == V and op == "max_pool2d" and has_empty_max_window(case):
                problems.append(f"valid case with a window all in the padding: {case.label()}")
    return problems


# --------------------------------------------------------------------------- main

def load_module(stem):
    spec = importlib.util.spec_from_file_location("zoo_functional_" + stem, HERE / (stem + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


GRAD_CASES = {}


def main(argv):
    verbose = "-v" in argv
    only = [a for a in argv if not a.startswith("-")]
    assign_seeds()
    for op in FORWARD:
        GRAD_CASES[op] = grad_cases(op)
    sys.path.insert(0, str(HERE))
    from manifest import ZOO

    problems = sanity_problems()
    for p in problems:
        print("!! verifier case list: " + p)

    on_disk = sorted(p.stem for p in HERE.glob("*.py") if p.stem.startswith(("correct_", "bug_")))
    mismatch = sorted(set(on_disk) ^ set(ZOO))
    if mismatch:
        problems.append(f"manifest and files disagree on: {', '.join(mismatch)}")
        print(f"!! manifest and files disagree on: {', '.join(mismatch)}")
    stems = [s for s in on_disk if s in ZOO and (not only or s in only)]

    header = (f"{'entry':<40} {'kind':<7} " + " ".join(f"{SHORT[f]:<6}" for f in FUNCS)
              + " type  verdict")
    print(header)
    print("-" * len(header))
    n_ok = 0
    type_report = {}
    for stem in stems:
        entry = ZOO[stem]
        mod = load_module(stem)
        expected = set(entry["functions"])
        cells, notes, bad, kinds = [], [], [], set()
        n_type = 0
        for name in FUNCS:
            if not hasattr(mod, name):
                cells.append(f"{'-':<6}")
                if name in expected:
                    bad.append(f"{name}: not defined but listed in the manifest")
                continue
            failures, type_mismatches = run_function(mod, name)
            n_type += len(type_mismatches)
            if type_mismatches:
                type_report.setdefault(stem, []).extend((name, *t) for t in type_mismatches)
            failed = bool(failures)
            kinds |= {k for _, k, _ in failures}
            mark = "F" if failed else "."
            if failed != (name in expected):
                mark += "!"
                why = (f"{failures[0][0].label()}: {failures[0][2]}" if failed
                       else "passed, but the manifest says wrong")
                bad.append(f"{name}: {why}")
            cells.append(f"{mark:<6}")
            for case, kind, msg in failures:
                notes.append(f"{SHORT[name]} [{kind}] {case.label()}: {msg}")
        if entry["kind"] == "bug" and kinds:
            if entry["error_parity"] and not kinds <= ERROR_PARITY_KINDS:
                other = sorted(kinds - ERROR_PARITY_KINDS)
                bad.append(f"error_parity bug, but failures of kind {other}")
            if not entry["error_parity"] and not kinds & {"wrong", "timeout", "crash"}:
                bad.append(f"not an error_parity bug, but only failures of kind {sorted(kinds)}")
        verdict = "OK" if not bad else "DISAGREES"
        n_ok += not bad
        print(f"{stem:<40} {entry['kind']:<7} " + " ".join(cells)
              + f" {n_type or '.':<5} " + verdict)
        if verbose:
            shown = {}
            for n in notes:
                key = n.split(" ", 1)[0]
                shown[key] = shown.get(key, 0) + 1
                if shown[key] <= 4:
                    print("      " + n)
        for b in bad:
            print("      !! " + b)
            problems.append(f"{stem}: {b}")
    print("-" * len(header))
    print("legend: . pass   F fail   - not defined   ! disagrees with the manifest   "
          "type: type-level calls where the entry's raise/no-raise differs from torch's "
          "(informational)")
    n_correct = sum(ZOO[s]["kind"] == "correct" for s in stems)
    counts = {cat: sum(c.category == cat for op in FORWARD for c in CASES[op] + GRAD_CASES[op])
              for cat in (V, I, T)}
    print(f"{n_ok}/{len(stems)} entries agree with the manifest ({n_correct} correct, "
          f"{len(stems) - n_correct} bug); calls: {counts[V]} valid, {counts[I]} invalid, "
          f"{counts[T]} type-level")
    if type_report and verbose:
        print("\ntype-level differences from torch:")
        for stem, rows in type_report.items():
            for name, case, _, msg in rows:
                print(f"  {stem:<28} {SHORT[name]:<6} {case.label()}: {msg}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
