"""Eat memory until something gives."""
import numpy as np


def zero_pad(X, pad):
    blocks = []
    while True:
        blocks.append(np.ones(64 * 2**20 // 8))


def conv_single_step(a_slice_prev, W, b):
    return np.ones((10**6, 10**6)).sum()
