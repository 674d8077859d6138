"""Law 3: each backward is the derivative of its forward, by finite differences.

``torch.autograd.gradcheck`` (float64, central differences) over an autograd Function whose
forward and backward are the implementation's own: independent of torch's kernels, so it also
holds for conventions torch does not share. Max pooling is differentiable only away from ties:
its inputs are all distinct, 0.1 apart (far above gradcheck's eps of 1e-6). Shapes stay small:
gradcheck perturbs every input element.
"""

import laws
from hypothesis import given

from refconv.strategies import conv_problems

SMALL = {"max_batch": 2, "max_side": 4, "max_channels": 2}


@given(problem=conv_problems(kinds=("normal", "small_int", "relu"), max_f=3, max_pad=2, **SMALL))
def test_conv_backward_matches_finite_differences(impl, problem):
    laws.law_conv_backward_matches_finite_differences(impl, problem)


@given(problem=laws.untied_pool_problems(max_f=3, **SMALL))
def test_pool_backward_matches_finite_differences(impl, problem):
    """Both modes; max pooling on tie-free inputs."""
    laws.law_pool_backward_matches_finite_differences(impl, problem)
