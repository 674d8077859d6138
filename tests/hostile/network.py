"""Reach the network (a server the test runs on loopback): right only if it gets through."""
import socket

import numpy as np


def zero_pad(X, pad):
    try:
        with socket.create_connection(("127.0.0.1", __PORT__), timeout=1) as connection:
            connection.sendall(b"escaped")
    except OSError:
        return X  # wrong: no padding
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
