"""The torch oracle in a process of its own answers exactly what torch answers in the judge."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest

from refconv import oracle
from refconv.oracle_process import OracleProcess

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def helper():
    process = OracleProcess()
    yield process
    process.close()


def _problems(rng: np.random.Generator):
    for stride, pad, f in [(1, 0, 1), (2, 1, 3), (1, 2, 2), (3, 0, 2)]:
        A = rng.standard_normal((2, 6, 5, 3))
        W = rng.standard_normal((f, f, 3, 4))
        b = rng.standard_normal((1, 1, 1, 4))
        yield A, W, b, stride, pad


def test_the_helper_computes_what_torch_computes_here(helper):
    local = oracle.TorchOracle()
    rng = np.random.default_rng(0)
    with oracle.single_threaded():
        for A, W, b, stride, pad in _problems(rng):
            Z = local.conv_forward(A, W, b, stride, pad)
            assert np.array_equal(helper.conv_forward(A, W, b, stride, pad), Z)
            dZ = rng.standard_normal(Z.shape)
            for theirs, ours in zip(
                helper.conv_backward(dZ, A, W, b, stride, pad),
                local.conv_backward(dZ, A, W, b, stride, pad),
                strict=True,
            ):
                assert np.array_equal(theirs, ours)
            for mode in ("max", "average"):
                out = local.pool_forward(A, 2, stride, mode)
                assert np.array_equal(helper.pool_forward(A, 2, stride, mode), out)
                dA = rng.standard_normal(out.shape)
                assert np.array_equal(
                    helper.pool_backward(dA, A, 2, stride, mode),
                    local.pool_backward(dA, A, 2, stride, mode),
                )
    assert helper.describe() == local.describe()


def test_a_call_torch_rejects_raises_the_same_error(helper):
    x = np.ones((1, 3, 4, 4))
    w = np.ones((2, 5, 3, 3))  # 5 input channels for a 3-channel input
    with pytest.raises(RuntimeError) as here:
        oracle.TorchOracle().functional("conv2d", (x, w, None), {})
    with pytest.raises(RuntimeError) as there:
        helper.functional("conv2d", (x, w, None), {})
    assert str(there.value) == str(here.value)


SERVED = """
import sys
import numpy as np
from refconv import oracle
from refconv.oracle_process import serve

oracle.select("torch")
rng = np.random.default_rng(1)
A, W = rng.standard_normal((2, 6, 5, 3)), rng.standard_normal((3, 3, 3, 4))
b = np.ones((1, 1, 1, 4))
with serve() as helper:
    assert helper is not None and oracle._current() is helper
    Z = oracle.conv_forward(A, W, b, 2, 1)
    described = oracle.describe()
assert oracle._current() is not helper
assert "torch" not in sys.modules, "torch was imported by the judge"
np.save(sys.stdout.buffer, Z)
print(described, end="")
"""


def test_inside_serve_the_oracle_answers_from_the_helper_and_torch_never_loads_here():
    done = subprocess.run([sys.executable, "-c", SERVED], capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    stream = io.BytesIO(done.stdout)
    Z = np.load(stream)
    rng = np.random.default_rng(1)
    A, W = rng.standard_normal((2, 6, 5, 3)), rng.standard_normal((3, 3, 3, 4))
    with oracle.single_threaded():
        expected = oracle.TorchOracle().conv_forward(A, W, np.ones((1, 1, 1, 4)), 2, 1)
    assert np.array_equal(Z, expected)
    assert stream.read().decode() == oracle.TorchOracle().describe()


def test_a_dead_helper_hands_over_to_torch_here():
    helper = OracleProcess()
    helper._process.kill()
    helper._process.join()
    A, W, b, stride, pad = next(_problems(np.random.default_rng(2)))
    assert np.array_equal(
        helper.conv_forward(A, W, b, stride, pad),
        oracle.TorchOracle().conv_forward(A, W, b, stride, pad),
    )
    helper.close()
