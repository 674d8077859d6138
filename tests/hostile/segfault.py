"""Crash the process in C: read address 0."""
import ctypes


def zero_pad(X, pad):
    return ctypes.string_at(0)
