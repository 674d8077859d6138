"""A long call inside C that never returns to the interpreter (catastrophic regex backtracking):
a SIGALRM handler in the target's own process would never run."""
import re


def zero_pad(X, pad):
    re.match(r"(a+)+$", "a" * 64 + "b")
    return X
