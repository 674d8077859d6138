"""The conformance engine behind ``refconv check``, the pytest plugin and the property suite.

- :mod:`~refconv.conformance.apis`: one profile per API (seed, cs231n, functional): its
  functions, their checks, problems, corpus, diagnoses and snippets, in one declarative object;
- :mod:`~refconv.conformance.checks`: the engine's one entry point, ``check(function, impl,
  problem)``, which runs the check of the function's profile;
- :mod:`~refconv.conformance.guard`: the guarded call of user code (exceptions, hangs, crashes,
  prints, mutation become failures) and the failure type;
- :mod:`~refconv.conformance.ties`: what each max-pooling tie policy accepts;
- :mod:`~refconv.conformance.tolerance`: the error bound a correct implementation stays within;
- :mod:`~refconv.conformance.runner`: hypothesis drives the checks, shrinks the first failure,
  caching each problem's verdict; :mod:`~refconv.conformance.search`: one search, hypothesis's
  engine driven directly; :mod:`~refconv.conformance.lookahead`: the explorer process that
  draws problems ahead of the judge (``refconv check --pipeline``, with
  :mod:`refconv.oracle_process`, torch in a process of its own);
- :mod:`~refconv.conformance.calls` and :mod:`~refconv.conformance.isolation`: the target in
  this process (trusted code) or in the executor (a user's), a call started while the judge
  works;
- :mod:`~refconv.conformance.diagnose`: the diagnosis engine (confirmation on fresh values)
  and the seed API's bug models;
- :mod:`~refconv.conformance.target`: loads a ``.py``, ``.ipynb`` or module to check;
- :mod:`~refconv.conformance.report`: text and JSON reports; :mod:`~refconv.conformance.snippets`:
  reproduction snippets.

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
