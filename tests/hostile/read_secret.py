"""Read a file of the judge's user (right only if the secret could be read)."""
import numpy as np


def zero_pad(X, pad):
    try:
        with open("__SECRET__") as secret:
            secret.read()
    except OSError:
        return X  # wrong: no padding
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
