"""Error parity (README "The property suite"), the part the seed API adds: pool_forward rejects a
pooling mode it does not know instead of returning an array (the notebook returned zeros).
Argument errors of the functional API are covered by tests/test_errors.py."""

import laws
from hypothesis import given


@given(problem=laws.unknown_mode_pool_problems(max_side=4))
def test_pool_forward_rejects_unknown_mode(impl, problem):
    laws.law_pool_forward_rejects_unknown_mode(impl, problem)
