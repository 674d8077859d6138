"""Stop its own process (SIGSTOP) in the middle of a call."""
import os
import signal


def zero_pad(X, pad):
    os.kill(os.getpid(), signal.SIGSTOP)
    return X
