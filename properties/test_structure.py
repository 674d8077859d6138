"""Law 5: structural facts that any correct implementation obeys, checked without torch."""

import laws
from hypothesis import given

from refconv.strategies import (
    conv_problems,
    distribute_problems,
    pad_problems,
    pool_problems,
    single_step_problems,
    window_problems,
)


@given(problem=conv_problems())
def test_conv_uncovered_cells_get_zero_gradient(impl, problem):
    """Gaps of stride > f and trailing rows/columns that no window reads: dA_prev == 0."""
    laws.law_conv_uncovered_cells_get_zero_gradient(impl, problem)


@given(problem=pool_problems())
def test_pool_uncovered_cells_get_zero_gradient(impl, problem):
    laws.law_pool_uncovered_cells_get_zero_gradient(impl, problem)


@given(problem=pool_problems(modes=("max",)))
def test_max_pool_gradient_mass_is_dA(impl, problem):
    """Each window sends its whole dA to one maximal cell (ties included: never multiplied)."""
    laws.law_max_pool_gradient_mass_is_dA(impl, problem)


@given(problem=distribute_problems())
def test_distribute_value_sums_to_dz(impl, problem):
    laws.law_distribute_value_sums_to_dz(impl, problem)


@given(problem=distribute_problems())
def test_distribute_value_is_uniform(impl, problem):
    laws.law_distribute_value_is_uniform(impl, problem)


@given(problem=window_problems())
def test_mask_marks_first_maximum(impl, problem):
    laws.law_mask_marks_first_maximum(impl, problem)


@given(problem=window_problems(allow_nan=True))
def test_mask_marks_last_nan(impl, problem):
    """With NaN in the window, the mask marks the last NaN (torch CPU's scan)."""
    laws.law_mask_marks_first_maximum(impl, problem)


@given(problem=pad_problems())
def test_zero_pad_equals_np_pad(impl, problem):
    laws.law_zero_pad_equals_np_pad(impl, problem)


@given(problem=single_step_problems())
def test_conv_single_step_is_exact_sum(impl, problem):
    laws.law_conv_single_step_is_exact_sum(impl, problem)
