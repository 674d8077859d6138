"""Flood the output descriptors with 200 MB, then answer wrongly."""
import os

import numpy as np

CHUNK = b"x" * 2**20


def zero_pad(X, pad):
    for _ in range(100):
        os.write(1, CHUNK)
        os.write(2, CHUNK)
    return np.zeros_like(X)
