"""Chunking, blocking and threads never change a result.

The conv core splits its work into chunks (a few examples, or bands of output rows of one large
example, each padded on its own) and the pooling core into blocks of examples, run on several
threads for large inputs. Forcing the smallest chunks and blocks, and one or several threads, must
give the same arrays as one big chunk (bit for bit for pooling, within a few ulps for the conv
GEMMs, which BLAS blocks differently for another number of rows) and as torch.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import refconv.functional as F
from refconv import _parallel, conv

TF = torch.nn.functional

rng = np.random.default_rng(11)

# (input shape NCHW, weight shape, stride, padding, dilation, groups)
CONV_CASES = [
    ((2, 3, 9, 7), (4, 3, 3, 3), 1, 1, 1, 1),
    ((1, 4, 11, 6), (6, 2, 3, 2), 2, (2, 1), 1, 2),
    ((3, 2, 8, 8), (2, 2, 2, 3), (1, 2), 0, (2, 1), 1),
    ((1, 3, 10, 5), (3, 1, 3, 3), 3, 2, 1, 3),
    ((2, 2, 6, 6), (2, 2, 1, 1), 2, 0, 1, 1),
]


@pytest.fixture
def tiny_chunks(monkeypatch):
    """Chunks of a single output row (the smallest the core makes)."""
    monkeypatch.setattr(conv, "CHUNK_BYTES", 1)


def _conv_all(x, w, b, stride, padding, dilation, groups):
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    y = F.conv2d(x, w, b, **kwargs)
    dy = np.random.default_rng(0).standard_normal(y.shape)
    grads = F.conv2d_backward(dy, x, w, b, **kwargs)
    return y, dy, grads


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: f"x{c[0]}-w{c[1]}")
def test_conv_row_bands_agree_with_one_chunk_and_torch(case, monkeypatch):
    shape, wshape, stride, padding, dilation, groups = case
    x = rng.standard_normal(shape)
    w = rng.standard_normal(wshape)
    b = rng.standard_normal(wshape[0])
    args = (stride, padding, dilation, groups)
    y_big, dy, grads_big = _conv_all(x, w, b, *args)
    monkeypatch.setattr(conv, "CHUNK_BYTES", 1)
    y_small, _, grads_small = _conv_all(x, w, b, *args)
    # BLAS may order a dot product differently for another number of rows: a few ulps.
    for small, big in zip((y_small, *grads_small), (y_big, *grads_big), strict=True):
        np.testing.assert_allclose(small, big, rtol=1e-12, atol=1e-12)
    xt = torch.from_numpy(x).requires_grad_(True)
    wt = torch.from_numpy(w).requires_grad_(True)
    bt = torch.from_numpy(b).requires_grad_(True)
    out = TF.conv2d(xt, wt, bt, stride, padding, dilation, groups)
    out.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(y_small, out.detach().numpy(), rtol=1e-12, atol=1e-12)
    for mine, theirs in zip(grads_small, (xt.grad, wt.grad, bt.grad), strict=True):
        np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-11, atol=1e-11)


def test_conv_transpose_with_row_bands_agrees_with_torch(tiny_chunks):
    x = rng.standard_normal((2, 4, 5, 6))
    w = rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(6)
    kwargs = {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2}
    mine = F.conv_transpose2d(x, w, b, **kwargs)
    theirs = TF.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b),
                                 **kwargs)
    np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-12, atol=1e-12)


def test_chunks_split_large_examples_into_row_bands(tiny_chunks):
    from refconv._windows import Geometry

    geometry = Geometry(9, 7, (3, 3), (1, 1), (1, 1, 1, 1))
    chunks = conv._chunks(geometry, 2, 3, 8)
    assert len(chunks) == 2 * 9  # one output row of one example each
    assert {c.examples.stop - c.examples.start for c in chunks} == {1}


def test_conv_chunks_bound_the_memory_of_one_chunk():
    """The working set of every chunk of a large layer stays within CHUNK_BYTES."""
    from refconv._windows import Geometry

    geometry = Geometry(64, 64, (3, 3), (1, 1), (1, 1, 1, 1))
    c_in, itemsize = 32, 8
    for chunk in conv._chunks(geometry, 32, c_in, itemsize):
        first, stop = conv._band_rows(geometry, chunk)
        examples = chunk.examples.stop - chunk.examples.start
        rows = chunk.rows.stop - chunk.rows.start
        columns = examples * rows * 64 * 9 * c_in * itemsize
        band = examples * (stop - first) * 66 * c_in * itemsize
        assert columns + band <= conv.CHUNK_BYTES * 1.1  # the band's kernel overhang: 2 rows


POOL_CASES = [
    ("max", (3, 4, 13, 11), {"kernel_size": 3, "stride": 1, "padding": 1}),
    ("max", (2, 3, 12, 12), {"kernel_size": 2, "stride": 2}),
    ("max", (2, 3, 10, 9), {"kernel_size": (3, 2), "stride": (2, 1), "dilation": (1, 2),
                            "ceil_mode": True, "padding": (1, 0)}),
    ("avg", (3, 4, 13, 11), {"kernel_size": 3, "stride": 1, "padding": 1,
                             "count_include_pad": False}),
    ("avg", (2, 3, 12, 12), {"kernel_size": 2, "stride": 2}),
    ("avg", (2, 3, 11, 9), {"kernel_size": (3, 2), "stride": (2, 3), "ceil_mode": True}),
]


def _pool_all(kind, x, dy_seed, kwargs):
    forward = F.max_pool2d if kind == "max" else F.avg_pool2d
    backward = F.max_pool2d_backward if kind == "max" else F.avg_pool2d_backward
    y = forward(x, **kwargs)
    dy = np.random.default_rng(dy_seed).standard_normal(y.shape).astype(x.dtype)
    return y, backward(dy, x, **kwargs)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: f"{c[0]}-{c[1]}")
def test_pool_blocks_and_threads_give_identical_bits(case, dtype, monkeypatch):
    kind, shape, kwargs = case
    # Ties (small integers) and a NaN in one example exercise the argmax fallbacks per block.
    x = rng.integers(-3, 4, shape).astype(dtype)
    x[1, 0, 2, 2] = np.nan
    reference = _pool_all(kind, x, 1, kwargs)
    monkeypatch.setattr(_parallel, "BLOCK_BYTES", 1)  # one example per block
    monkeypatch.setattr(_parallel, "PARALLEL_BYTES", 0)  # threads even for tiny inputs
    for threads in (1, 3):
        _parallel.set_num_threads(threads)
        try:
            result = _pool_all(kind, x, 1, kwargs)
        finally:
            _parallel.set_num_threads(_parallel._default_threads())
        for mine, ref in zip(result, reference, strict=True):
            np.testing.assert_array_equal(mine, ref)
            assert mine.dtype == ref.dtype
    xt = torch.from_numpy(x).requires_grad_(True)
    y = (TF.max_pool2d if kind == "max" else TF.avg_pool2d)(xt, **kwargs)
    y.backward(torch.from_numpy(np.random.default_rng(1).standard_normal(y.shape).astype(dtype)))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(reference[0], y.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(reference[1], xt.grad.numpy(), rtol=tol, atol=tol)


def test_set_num_threads_rejects_bad_values():
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="threads"):
            _parallel.set_num_threads(bad)
