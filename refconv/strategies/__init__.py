"""Hypothesis strategies that generate valid problems for the seed, CS231n and functional APIs.

Each strategy returns a :class:`hypothesis.strategies.SearchStrategy` of one of the problem
dataclasses of :mod:`refconv.problems` (the arguments of one call plus, for the layer functions,
a random upstream gradient)::

    from hypothesis import given
    from refconv.strategies import conv_problems

    @given(conv_problems(max_side=5))
    def test_conv(problem):
        Z, cache = conv_forward(problem.A_prev, problem.W, problem.b, problem.hparameters)
        dA_prev, dW, db = conv_backward(problem.dZ, cache)

Modules
-------
Every public name is importable from :mod:`refconv.strategies`; the modules group them by idea:

- :mod:`refconv.strategies.seed`: the seed API's problems (NHWC), :func:`pad_problems`,
  :func:`single_step_problems`, :func:`conv_problems`, :func:`pool_problems`,
  :func:`window_problems` and :func:`distribute_problems` (their defaults :data:`POOL_MODES`
  and :data:`WINDOW_KINDS` too);
- :mod:`refconv.strategies.functional`: valid calls of the functional API
  (:mod:`refconv.functional`, NCHW like torch), :func:`conv2d_problems`,
  :func:`conv_transpose2d_problems`, :func:`max_pool2d_problems` and :func:`avg_pool2d_problems`
  (every geometric parameter drawn per axis, groups with depthwise, padding strings, ceil mode,
  ``count_include_pad``, ``divisor_override``, unbatched and empty-batch inputs), with
  :func:`has_empty_max_window`, and :func:`functional_configs`, which also draws *invalid* calls
  for the error-parity property;
- :mod:`refconv.strategies.cs231n`: CS231n's naive layers (NCHW, rectangular kernels and
  pools, strides that divide exactly as the assignment assumes), :func:`cs231n_conv_problems`
  and :func:`cs231n_pool_problems`;
- :mod:`refconv.strategies.mutants`: the mutations that make those invalid calls (one change of
  a valid call each);
- ``refconv.strategies._values`` (private): argument validation, the value distributions
  (:func:`values`, :data:`VALUE_KINDS`) and the helpers that keep every problem within
  hypothesis's choice budget;
- ``refconv.strategies._choices`` (private): ``composite``, whose ``draw`` also makes choices
  directly (``draw.integer``, ``draw.bytes``...), skipping the strategy machinery;
- ``refconv.strategies._layouts`` (private): memory layouts of an input array
  (:data:`LAYOUTS`, :func:`as_layout`, :func:`with_input_layout`).

Design
------
The strategies of both APIs follow the same rules.

*Valid by construction.* Every problem is accepted by the API it is for: sizes are drawn in an
order that makes the constraints ranges, never rejections (no ``assume``, no ``.filter``). For a
convolution ``H``, ``W`` and ``pad`` are drawn first, then ``f`` in ``[1, min(H, W) + 2*pad]``;
for pooling (which the seed does not pad) ``f`` is in ``[1, min(H, W)]``. The upstream gradient
(``dZ``, ``dA``) has exactly the forward output's shape.

*Shrinking heads to the smallest readable case.* Sizes are drawn before the arrays and every
range starts at its smallest legal value, so a failing case shrinks towards ``m = 1``,
``n_C = 1``, ``H = W = 1``, ``stride = 1``, ``pad = 0``, ``f = 1`` and arrays of zeros, and only
keeps what the failure needs. (Hypothesis ranks an example with fewer drawn numbers as simpler,
so when the failure needs, say, ``f = 2``, it may keep ``stride = 2`` because that makes the
output, hence ``dZ``, 1x1.)

*Cheap to draw.* An array is one choice of bytes (1-3 per element, decoded onto the value
kind's grid; zero bytes are zeros, so shrinking the bytes shrinks the values), and sizes are
choices made directly on hypothesis's choice sequence (``_choices.composite``): a problem costs
a dozen choices however large its arrays, about 1 ms to draw where drawing every element cost
4-5 ms. Hypothesis abandons an example after 8 KiB of choices, so the sizes are still drawn one
after the other, each range capped so that the rest of the problem fits; with the default
maxima nothing is capped. Every maximum remains reachable and no example is thrown away.

*Edges emphasised.* A quarter of the time the kernel size is the largest allowed, usually the
whole (padded) input, where output-size arithmetic goes wrong.

*Coverage.* The size ranges make all of the following reachable (``properties/
test_strategies.py`` proves each with :func:`hypothesis.find`):

- geometry: ``stride == 1``, ``stride < f`` (overlapping windows), ``stride == f``,
  ``stride > f`` (input cells skipped), ``pad == 0``, ``pad >= f``, ``f`` equal to the (padded)
  input height or width, ``f == 1``, ``H != W``, ``m == 1`` and ``m > 1``, ``n_C_prev != n_C``;
- values (:data:`VALUE_KINDS`, drawn once per array, see :func:`values`): ``"normal"`` floats in
  [-3, 3]; ``"small_int"`` integers in [-2, 2], which forces tied maxima in pooling windows;
  ``"relu"``, many exact zeros as in post-ReLU feature maps (and all-zero arrays); ``"mixed"``,
  magnitudes spanning eight orders (the case where a loose tolerance hides errors);
- NaN, only when asked (``allow_nan=True``): then half of the input arrays contain one to eight
  NaNs, so that the NaN rules (propagation; a NaN is the maximum of its window) are
  exercised;
- dtype: float64 by default, float32 with ``dtype=np.float32`` (every value is then exactly
  representable in float32).

Upstream gradients are always drawn with the ``"normal"`` kind and never NaN: a random gradient
(rather than all ones) is what exposes a backward pass that reads it at the wrong index.

*Readable output.* Problems print their shapes and scalar parameters; every drawn parameter is
also reported with :func:`hypothesis.event`, so ``pytest --hypothesis-show-statistics`` shows how
often each coverage category (e.g. ``"stride > f (gaps)"``, ``"A_prev: small_int"``) occurred.
"""

from refconv.strategies._layouts import LAYOUTS, as_layout, with_input_layout
from refconv.strategies._values import VALUE_KINDS, values
from refconv.strategies.cs231n import cs231n_conv_problems, cs231n_pool_problems
from refconv.strategies.functional import (
    avg_pool2d_problems,
    conv2d_problems,
    conv_transpose2d_problems,
    functional_configs,
    has_empty_max_window,
    max_pool2d_problems,
)

# Public too, though not in __all__ (properties/test_coverage.py reads strategies.POOL_MODES):
# the redundant aliases mark them as re-exported.
from refconv.strategies.seed import POOL_MODES as POOL_MODES
from refconv.strategies.seed import WINDOW_KINDS as WINDOW_KINDS
from refconv.strategies.seed import (
    conv_problems,
    distribute_problems,
    pad_problems,
    pool_problems,
    single_step_problems,
    window_problems,
)

__all__ = [
    "VALUE_KINDS",
    "values",
    "pad_problems",
    "single_step_problems",
    "conv_problems",
    "pool_problems",
    "window_problems",
    "distribute_problems",
    "conv2d_problems",
    "conv_transpose2d_problems",
    "max_pool2d_problems",
    "avg_pool2d_problems",
    "functional_configs",
    "has_empty_max_window",
    "cs231n_conv_problems",
    "cs231n_pool_problems",
    "LAYOUTS",
    "as_layout",
    "with_input_layout",
]
