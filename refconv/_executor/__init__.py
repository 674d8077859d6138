"""The executor side of ``refconv check``: the only code that runs next to an untrusted target.

``refconv check`` is two processes. The *judge* (hypothesis, the oracle, the tolerance model,
shrinking, diagnosis, reports, the exit status) never imports the target. The *executor*
(:mod:`~refconv._executor.serve`) loads the target and answers one kind of request: "call
function F with these arrays", returning the outputs, the exception, the printed text and the
time, as plain data (:mod:`~refconv._executor.wire`). The judge side of the pair is
:mod:`refconv.conformance.isolation`; docs/security.md says what is enforced where.

Everything in this package imports only the standard library and NumPy (never refconv), and
parses as Python 3.8: the executor may run under another interpreter (``--python``), e.g. a
course's environment with NumPy 1.23.

- :mod:`~refconv._executor.wire`: framing and the value codec (both sides);
- :mod:`~refconv._executor.loader`: loading a ``.py``, ``.ipynb`` or module target;
- :mod:`~refconv._executor.confine`: namespaces, read-only file system, uid, resource limits;
- :mod:`~refconv._executor.serve`: the executor's main loop (run as a script by path).
"""
