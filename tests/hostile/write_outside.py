"""Write into a world-writable file of the judge's working directory, and into /tmp."""
import numpy as np


def zero_pad(X, pad):
    for path in ("__CANARY__", "/tmp/refconv-hostile-was-here"):
        try:
            with open(path, "w") as out:
                out.write("overwritten by the target")
        except OSError:
            pass
    return np.zeros_like(X)
