"""Law 1: every forward function agrees with torch (conv2d, max_pool2d, avg_pool2d) or with the
plain NumPy expression it stands for, in float64 and in float32.

Judged by the conformance engine of ``refconv check`` (refconv.conformance.checks.check):
tolerance derived from the computation, max pooling exact, guarded calls.
"""

import laws
from hypothesis import given
from hypothesis import strategies as st

from refconv.strategies import (
    conv_problems,
    distribute_problems,
    pad_problems,
    pool_problems,
    single_step_problems,
    window_problems,
)


@given(data=st.data())
def test_conv_forward_agrees_with_torch(impl, dtype, data):
    problem = data.draw(conv_problems(dtype=dtype), label="problem")
    laws.law_conv_forward_agrees_with_torch(impl, problem)


@given(data=st.data())
def test_pool_forward_agrees_with_torch(impl, dtype, data):
    """Both modes, "max" and "average", drawn per example."""
    problem = data.draw(pool_problems(dtype=dtype), label="problem")
    laws.law_pool_forward_agrees_with_torch(impl, problem)


@given(data=st.data())
def test_zero_pad_agrees(impl, dtype, data):
    laws.law_zero_pad_agrees(impl, data.draw(pad_problems(dtype=dtype), label="problem"))


@given(data=st.data())
def test_conv_single_step_agrees(impl, dtype, data):
    problem = data.draw(single_step_problems(dtype=dtype), label="problem")
    laws.law_conv_single_step_agrees(impl, problem)


@given(data=st.data())
def test_create_mask_from_window_agrees(impl, dtype, data):
    problem = data.draw(window_problems(dtype=dtype), label="problem")
    laws.law_create_mask_agrees(impl, problem)


@given(problem=distribute_problems())
def test_distribute_value_agrees(impl, problem):
    laws.law_distribute_value_agrees(impl, problem)
