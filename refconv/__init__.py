"""refconv: machine-checked NumPy reference implementations of 2-D convolution and pooling.

The seed API (NHWC, ``hparameters`` dicts, cache tuples) of the "Convolution model - Step by
Step" notebook, correct and vectorised::

    from refconv import conv_forward, conv_backward, pool_forward, pool_backward

``refconv.stepwise`` holds the same functions as explicit loops for reading along;
``refconv.cs231n`` CS231n's naive layers and ``refconv.functional`` torch-like NCHW functions, thin
faces over the same core. ``refconv check`` judges other people's implementations of any of the
three APIs (:mod:`refconv.conformance`).
"""

from refconv import cs231n, functional, seed
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

#: The functions of each API ``refconv check`` knows (``--api``), in the order they are checked.
API_FUNCTIONS: dict[str, tuple[str, ...]] = {
    "seed": SEED_FUNCTIONS,
    "cs231n": tuple(cs231n.__all__),
    "functional": tuple(functional.__all__),
}

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
    "API_FUNCTIONS",
    "get_num_threads",
    "set_num_threads",
    "__version__",
]
