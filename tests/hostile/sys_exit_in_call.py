"""sys.exit(0) inside a call."""
import sys


def zero_pad(X, pad):
    sys.exit(0)
