"""The conformance engine behind ``refconv check``, the pytest plugin and the property suite.

- :mod:`~refconv.conformance.checks`: one check per seed function (black-box call, guarded
  against exceptions, hangs, prints and mutation; judged against torch with the tolerance model);
- :mod:`~refconv.conformance.tolerance`: the error bound a correct implementation stays within;
- :mod:`~refconv.conformance.runner`: hypothesis drives the checks, shrinks the first failure;
- :mod:`~refconv.conformance.diagnose`: names recognisable bugs;
- :mod:`~refconv.conformance.target`: loads a ``.py``, ``.ipynb`` or module to check;
- :mod:`~refconv.conformance.report`: text and JSON reports, reproduction snippets.

Importing this package needs hypothesis; judging with torch (the default oracle) needs the
``check`` extra, and ``--oracle numpy`` judges without it.
"""

from refconv.conformance.checks import TIE_POLICIES, ConformanceFailure, check
from refconv.conformance.runner import FunctionResult, run_all, run_function
from refconv.conformance.target import Target, TargetLoadError, load_target

__all__ = [
    "TIE_POLICIES",
    "ConformanceFailure",
    "FunctionResult",
    "Target",
    "TargetLoadError",
    "check",
    "load_target",
    "run_all",
    "run_function",
]
