"""Law 4: each backward is the adjoint (transpose) of its linear forward map.

For the random upstream gradient ``y`` drawn with each problem, and within the tolerance model
(bound ``dot_bound`` over the whole triple sum, magnitude = the same inner products on absolute
values):

- convolution (b = 0): ``<conv(A_prev, W), y> == <A_prev, dA_prev(y)> == <W, dW(A_prev, y)>``,
  and for the bias ``<broadcast(b), y> == <b, db(y)>``;
- average pooling: ``<pool(A_prev), y> == <A_prev, pool_backward(y)>``;
- max pooling: ``<gather_argmax(A_prev, z), y> == <z, pool_backward(y)>`` for a probe ``z``,
  the argmax (torch's rule: first maximum) taken from refconv on the same ``A_prev``.
"""

import laws
from hypothesis import given

from refconv.strategies import conv_problems, pool_problems


@given(problem=conv_problems())
def test_conv_backward_input_is_adjoint(impl, problem):
    laws.law_conv_backward_input_is_adjoint(impl, problem)


@given(problem=conv_problems())
def test_conv_backward_weight_is_adjoint(impl, problem):
    laws.law_conv_backward_weight_is_adjoint(impl, problem)


@given(problem=conv_problems())
def test_conv_backward_bias_is_adjoint(impl, problem):
    laws.law_conv_backward_bias_is_adjoint(impl, problem)


@given(problem=pool_problems(modes=("average",)))
def test_average_pool_backward_is_adjoint(impl, problem):
    laws.law_avg_pool_backward_is_adjoint(impl, problem)


@given(problem=pool_problems(modes=("max",)))
def test_max_pool_backward_is_adjoint_of_gather_at_argmax(impl, problem):
    laws.law_max_pool_backward_is_adjoint_of_gather(impl, problem)
