"""Leave a daemon behind: double fork, new session, exec a long sleep (`sleep 31337`)."""
import os

import numpy as np

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        try:
            os.execv("/bin/sleep", ["sleep", "31337"])
        finally:
            os._exit(0)
    os._exit(0)


def zero_pad(X, pad):
    return np.zeros_like(X)
