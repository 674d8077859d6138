"""Law 2: every backward function agrees with torch autograd, for a *random* upstream gradient
(drawn with each problem: an all-ones gradient hides indexing bugs), in float64 and float32.

Judged by the conformance engine of ``refconv check``; each backward gets the cache of the
implementation's own forward.
"""

import laws
from hypothesis import given
from hypothesis import strategies as st

from refconv.strategies import conv_problems, pool_problems


@given(data=st.data())
def test_conv_backward_agrees_with_torch(impl, dtype, data):
    problem = data.draw(conv_problems(dtype=dtype), label="problem")
    laws.law_conv_backward_agrees_with_torch(impl, problem)


@given(data=st.data())
def test_pool_backward_agrees_with_torch(impl, dtype, data):
    """Both modes, "max" and "average", drawn per example."""
    problem = data.draw(pool_problems(dtype=dtype), label="problem")
    laws.law_pool_backward_agrees_with_torch(impl, problem)
