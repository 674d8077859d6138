"""The NaN rule (README "Semantics", row NaN): NaN propagates through every forward; in max
pooling a NaN is the maximum and receives the gradient, the *last* NaN of a window when there
are several.
The implementations agree with torch exactly there: the conformance engine compares NaN equal to
NaN and flags a NaN on one side only; a gradient routed to the wrong cell exceeds its bound.
Max-pooling inputs are small (one example, up to 4x4x2), so that the one to eight NaN positions
the strategy draws often fall into the same window.
"""

import laws
from hypothesis import given

from refconv.strategies import conv_problems, pool_problems

NAN_POOL = pool_problems(allow_nan=True, modes=("max",), max_batch=1, max_side=4, max_channels=2)


@given(problem=NAN_POOL)
def test_max_pool_forward_with_nan_agrees_with_torch(impl, problem):
    laws.tag_nan_windows(problem)
    laws.law_pool_forward_agrees_with_torch(impl, problem)


@given(problem=NAN_POOL)
def test_max_pool_backward_with_nan_agrees_with_torch(impl, problem):
    """The gradient goes to the NaN (the last one of a window with several)."""
    laws.tag_nan_windows(problem)
    laws.law_pool_backward_agrees_with_torch(impl, problem)


@given(problem=laws.nan_crowded_pool_problems(max_side=5))
def test_max_pool_backward_with_several_nans_in_a_window_agrees_with_torch(impl, problem):
    """One window holds two or more NaNs (when f >= 2): the last one gets the gradient."""
    laws.tag_nan_windows(problem)
    laws.law_pool_backward_agrees_with_torch(impl, problem)


@given(problem=pool_problems(allow_nan=True, modes=("average",), max_side=4))
def test_average_pool_forward_with_nan_agrees_with_torch(impl, problem):
    laws.law_pool_forward_agrees_with_torch(impl, problem)


@given(problem=conv_problems(allow_nan=True, max_side=4))
def test_conv_forward_with_nan_agrees_with_torch(impl, problem):
    laws.law_conv_forward_agrees_with_torch(impl, problem)
