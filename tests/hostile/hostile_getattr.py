"""A module-level __getattr__ that never returns: looking up a missing function hangs."""
import numpy as np


def __getattr__(name):
    while True:
        pass


def zero_pad(X, pad):
    return np.zeros_like(X)
