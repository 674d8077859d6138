"""refconv: machine-checked NumPy reference implementations of 2-D convolution and pooling.

The seed API (NHWC, ``hparameters`` dicts, cache tuples) of the "Convolution model - Step by
Step" notebook, correct and vectorised::

    from refconv import conv_forward, conv_backward, pool_forward, pool_backward

``refconv.stepwise`` holds the same functions as explicit loops for reading along.
"""

from refconv import seed
from refconv._parallel import get_num_threads, set_num_threads
from refconv.seed import (
    conv_backward,
    conv_forward,
    conv_single_step,
    create_mask_from_window,
    distribute_value,
    pool_backward,
    pool_forward,
    zero_pad,
)

__version__ = "0.1.0"

#: The eight functions of the seed API, in the notebook's order.
SEED_FUNCTIONS: tuple[str, ...] = tuple(seed.__all__)

__all__ = [
    "zero_pad",
    "conv_single_step",
    "conv_forward",
    "conv_backward",
    "pool_forward",
    "create_mask_from_window",
    "distribute_value",
    "pool_backward",
    "SEED_FUNCTIONS",
    "get_num_threads",
    "set_num_threads",
    "__version__",
]
