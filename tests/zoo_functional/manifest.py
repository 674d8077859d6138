"""Manifest of the functional zoo: torch-like NumPy implementations of the functional API
(``refconv check --api functional``), what each entry gets wrong and what should expose it.

The API is refconv.functional's: conv2d, conv_transpose2d, max_pool2d, avg_pool2d (NCHW, the
arguments and defaults of torch.nn.functional) and their backward adapters
``<op>_backward(grad_output, *forward arguments)``.

ZOO[stem] = {
    "kind": "correct" | "bug",
    "functions": the functions whose OWN output or errors are wrong (each must FAIL a conformance
                 check, and no other function of the entry may): a wrong value, shape, dtype or
                 structure on a call torch accepts, an exception where torch accepts the call,
                 or no ValueError/TypeError where torch raises. A backward adapter is given the
                 forward's arguments directly, so it fails only through its own code (a helper
                 it shares with its forward counts as its own),
    "bug": one-sentence description,
    "trigger": the input condition that exposes it,
    "error_parity": True when the bug is a missing or spurious error only (every failure is a
                 raise/no-raise disagreement with torch, never a wrong number),
    "diagnosis_hint": words a good checker diagnosis should contain,
}

Entries that do not define all eight functions are checked on the ones they define
(correct_strided has no transposed convolution). ``python tests/zoo_functional/verify_zoo.py``
re-derives this manifest straight against torch, without refconv.
"""

ALL_POOL = ["max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward"]

ZOO = {
    # ------------------------------------------------------------------------- correct
    "correct_loops": {
        "kind": "correct",
        "functions": [],
        "bug": "none: all eight functions, a Python loop over the kernel offsets, each a strided "
               "slice of the padded input (einsum over channels)",
        "trigger": "never",
        "error_parity": False,
        "diagnosis_hint": "",
    },
    "correct_im2col": {
        "kind": "correct",
        "functions": [],
        "bug": "none: all eight functions, im2col by fancy indexing, one batched matmul per "
               "group, col2im with np.add.at; divisor as the pooled count of a mask",
        "trigger": "never",
        "error_parity": False,
        "diagnosis_hint": "",
    },
    "correct_strided": {
        "kind": "correct",
        "functions": [],
        "bug": "none: conv2d and the two poolings (+ backward) with sliding_window_view + "
               "einsum; grad_input as a full correlation with the flipped kernel",
        "trigger": "never",
        "error_parity": False,
        "diagnosis_hint": "",
    },
    # ------------------------------------------------------------------------- convolution
    "bug_dilation_extent_k_times_d": {
        "kind": "bug",
        "functions": ["conv2d", "conv2d_backward"],
        "bug": "conv2d takes the dilated kernel extent as k * d instead of d * (k - 1) + 1: too "
               "few output positions (and a wrong fit check and 'same' padding)",
        "trigger": "dilation > 1",
        "error_parity": False,
        "diagnosis_hint": "dilation: output size uses k * dilation instead of dilation * (k - 1) "
                          "+ 1",
    },
    "bug_same_pad_odd_first": {
        "kind": "bug",
        "functions": ["conv2d", "conv2d_backward"],
        "bug": "padding='same' with an odd total padding puts the extra row/column at the "
               "top/left; torch puts it at the bottom/right",
        "trigger": "padding='same' with dilation * (k - 1) odd (an even kernel)",
        "error_parity": False,
        "diagnosis_hint": "'same' padding asymmetric on the wrong side (even kernel)",
    },
    "bug_groups_interleaved_filters": {
        "kind": "bug",
        "functions": ["conv2d"],
        "bug": "conv2d deals the filters to the groups round-robin (filter o to group o % groups) "
               "instead of contiguous blocks; the backward is right",
        "trigger": "groups > 1 with C_out / groups > 1",
        "error_parity": False,
        "diagnosis_hint": "groups: wrong weight slice per group (output channels permuted)",
    },
    "bug_weight_grad_ignores_groups": {
        "kind": "bug",
        "functions": ["conv2d_backward", "conv_transpose2d_backward"],
        "bug": "the shared weight-gradient helper ignores groups: grad_weight has every output "
               "channel against every input channel, shape (C_out, C_in, kh, kw)",
        "trigger": "groups > 1",
        "error_parity": False,
        "diagnosis_hint": "grad_weight: groups ignored in backward, wrong shape",
    },
    "bug_groups_not_dividing_accepted": {
        "kind": "bug",
        "functions": ["conv2d", "conv2d_backward"],
        "bug": "conv2d does not check that groups divides C_out: the last output channels are "
               "silently left at the bias where torch raises",
        "trigger": "C_out % groups != 0 (or C_out < groups) with a matching C_in",
        "error_parity": True,
        "diagnosis_hint": "missing error: output channels not divisible by groups",
    },
    "bug_rejects_padding_valid": {
        "kind": "bug",
        "functions": ["conv2d", "conv2d_backward"],
        "bug": "conv2d only knows the padding string 'same' and raises ValueError for 'valid'",
        "trigger": "padding='valid'",
        "error_parity": True,
        "diagnosis_hint": "spurious error: padding='valid' rejected",
    },
    "bug_rejects_unbatched_conv": {
        "kind": "bug",
        "functions": ["conv2d", "conv2d_backward"],
        "bug": "conv2d and its backward require 4-D input and reject unbatched (C, H, W)",
        "trigger": "3-D input",
        "error_parity": True,
        "diagnosis_hint": "spurious error: unbatched 3-D input rejected",
    },
    "bug_kernel_check_unpadded": {
        "kind": "bug",
        "functions": ["conv2d", "conv2d_backward"],
        "bug": "conv2d checks the dilated kernel against the unpadded input, rejecting kernels "
               "that only fit thanks to the padding",
        "trigger": "kernel extent > H (or W) but <= H + padding",
        "error_parity": True,
        "diagnosis_hint": "spurious error: kernel larger than the input but fits the padded input",
    },
    "bug_grad_bias_axes_unbatched": {
        "kind": "bug",
        "functions": ["conv2d_backward"],
        "bug": "conv2d_backward sums grad_bias over axes (0, -2, -1) of grad_output as given: for "
               "unbatched (C, H, W) axis 0 is the channel axis, so grad_bias is a scalar",
        "trigger": "unbatched input with a bias",
        "error_parity": False,
        "diagnosis_hint": "grad_bias summed over the wrong axes (channel axis, unbatched)",
    },
    "bug_transpose_output_padding_ignored": {
        "kind": "bug",
        "functions": ["conv_transpose2d", "conv_transpose2d_backward"],
        "bug": "conv_transpose2d validates output_padding but leaves it out of the output size "
               "(its backward then rejects the right grad_output)",
        "trigger": "output_padding > 0",
        "error_parity": False,
        "diagnosis_hint": "output_padding ignored: output too small by output_padding",
    },
    # ------------------------------------------------------------------------- pooling
    "bug_ceil_mode_no_start_rule": {
        "kind": "bug",
        "functions": ALL_POOL,
        "bug": "ceil_mode rounds the window count up without torch's rule that the last window "
               "must start inside the input or the left padding",
        "trigger": "ceil_mode=True where the extra window would start in the right padding",
        "error_parity": False,
        "diagnosis_hint": "ceil_mode: an extra window starting in the right padding",
    },
    "bug_pool_stride_default_one": {
        "kind": "bug",
        "functions": ALL_POOL,
        "bug": "pooling's stride=None means 1 (conv2d's default) instead of kernel_size",
        "trigger": "stride omitted or None with kernel_size > 1",
        "error_parity": False,
        "diagnosis_hint": "stride default 1 instead of kernel_size",
    },
    "bug_pool_padding_not_checked": {
        "kind": "bug",
        "functions": ALL_POOL,
        "bug": "pooling does not check padding <= kernel_size // 2 and computes such calls "
               "silently where torch raises",
        "trigger": "padding > kernel_size // 2",
        "error_parity": True,
        "diagnosis_hint": "missing error: padding more than half the kernel",
    },
    "bug_maxpool_indices_padded": {
        "kind": "bug",
        "functions": ["max_pool2d"],
        "bug": "max_pool2d's indices are flat positions in the padded buffer (row_p * W_p + "
               "col_p), not in the input plane (the values and the backward are right)",
        "trigger": "return_indices=True with padding > 0 (or a ceil-mode overhang)",
        "error_parity": False,
        "diagnosis_hint": "indices relative to the padded input",
    },
    "bug_maxpool_zero_padding": {
        "kind": "bug",
        "functions": ["max_pool2d", "max_pool2d_backward"],
        "bug": "max pooling pads with zeros instead of -inf: a border window of negative inputs "
               "returns 0 and sends its gradient to the wrong element",
        "trigger": "padding > 0 (or a ceil-mode overhang) with negative inputs at the border",
        "error_parity": False,
        "diagnosis_hint": "padding treated as zero instead of -inf (negative inputs)",
    },
    "bug_maxpool_last_max": {
        "kind": "bug",
        "functions": ["max_pool2d", "max_pool2d_backward"],
        "bug": "max pooling keeps the last maximum of a window (>=) where torch keeps the first: "
               "the values are right, the indices and the gradient of tied windows are not",
        "trigger": "tied maxima in a window (return_indices=True, or the backward)",
        "error_parity": False,
        "diagnosis_hint": "ties: last maximum instead of the first",
    },
    "bug_count_include_pad_inverted": {
        "kind": "bug",
        "functions": ["avg_pool2d", "avg_pool2d_backward"],
        "bug": "avg_pool2d's divisor leaves the padding out when count_include_pad=True and "
               "counts it when False",
        "trigger": "padding > 0",
        "error_parity": False,
        "diagnosis_hint": "count_include_pad inverted",
    },
    "bug_divisor_override_forward_ignored": {
        "kind": "bug",
        "functions": ["avg_pool2d"],
        "bug": "avg_pool2d does not pass divisor_override on to its divisor helper (its backward "
               "does)",
        "trigger": "divisor_override differing from the window's own divisor",
        "error_parity": False,
        "diagnosis_hint": "divisor_override ignored",
    },
    "bug_avg_ceil_divisor_overhang": {
        "kind": "bug",
        "functions": ["avg_pool2d", "avg_pool2d_backward"],
        "bug": "avg_pool2d's divisor counts the part of a ceil-mode window that overhangs the "
               "padded input; torch clips the window there first",
        "trigger": "ceil_mode=True with an overhanging last window and count_include_pad=True",
        "error_parity": False,
        "diagnosis_hint": "ceil_mode divisor counts the out-of-bounds part of the window",
    },
    "bug_avg_backward_no_grad_check": {
        "kind": "bug",
        "functions": ["avg_pool2d_backward"],
        "bug": "avg_pool2d_backward does not check grad_output's shape: a broadcastable one "
               "such as (N, C, 1, 1) is silently spread over the windows",
        "trigger": "grad_output of the wrong (broadcastable) shape",
        "error_parity": True,
        "diagnosis_hint": "missing error: grad_output shape not checked (broadcast)",
    },
}
