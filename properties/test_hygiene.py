"""Law 6: hygiene, for every seed function of every implementation.

- inputs are never mutated (passed read-only, and compared afterwards);
- float32 in gives float32 out, float64 gives float64 (create_mask_from_window: boolean);
- integer inputs are promoted to float64 (same results as the same values in float64);
- two identical calls give bit-identical results.

Problems are small (laws.small_problems): these laws are about bookkeeping, not arithmetic.
"""

import laws
import pytest
from hypothesis import given
from hypothesis import strategies as st

from refconv import SEED_FUNCTIONS

every_function = pytest.mark.parametrize("function", SEED_FUNCTIONS)


@every_function
@given(data=st.data())
def test_inputs_not_mutated(impl, function, data):
    problem = data.draw(laws.small_problems_both_dtypes(function), label="problem")
    laws.law_inputs_not_mutated(impl, function, problem)


@every_function
@given(data=st.data())
def test_dtype_preserved(impl, function, data):
    problem = data.draw(laws.small_problems_both_dtypes(function), label="problem")
    laws.law_dtype_preserved(impl, function, problem)


@every_function
@given(data=st.data())
def test_integer_inputs_promoted_to_float64(impl, function, data):
    problem = data.draw(laws.small_problems(function, kinds=laws.INTEGER_KINDS), label="problem")
    laws.law_integer_inputs_promoted(impl, function, problem)


@every_function
@given(data=st.data())
def test_deterministic(impl, function, data):
    problem = data.draw(laws.small_problems_both_dtypes(function), label="problem")
    laws.law_deterministic(impl, function, problem)
