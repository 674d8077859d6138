"""Return an array larger than any frame the judge accepts (hundreds of MB)."""
import numpy as np


def zero_pad(X, pad):
    return np.zeros(40 * 2**20)
