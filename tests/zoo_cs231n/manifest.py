"""Manifest of the CS231n zoo: naive conv / max-pool layers of assignment 2, correct and buggy.

Every file defines some of conv_forward_naive, conv_backward_naive, max_pool_forward_naive,
max_pool_backward_naive with the skeleton's signatures (NCHW, w (F, C, HH, WW), b (F,),
conv_param {'stride', 'pad'}, pool_param {'pool_height', 'pool_width', 'stride'}).

ZOO[stem] = {
    "kind": "correct" | "bug",
    "functions": the functions whose OWN output is wrong (must FAIL a conformance check); a
                 backward is judged on the cache of its own forward AND on a cache built by the
                 checker in the documented layout (x, w, b, conv_param) / (x, pool_param), so a
                 backward that is right only with its own cache is listed here,
    "bug": one-sentence description ("none: ..." plus the style for correct entries),
    "trigger": the input condition that exposes the bug (inside the contract: float64, exact
               geometry),
    "tie_only": True when only windows with tied maxima expose it (torch gives the whole
                gradient to the FIRST maximum in row-major order),
    "own_cache_only": True when the bug shows only with the checker-built documented cache (the
                      backward reads extra items its own forward put into the cache),
    "diagnosis_hint": words a good checker diagnosis should contain,
}

`python tests/zoo_cs231n/verify_zoo.py` re-derives "functions", "tie_only" and
"own_cache_only" of every entry straight against torch and exits 0 iff they all agree.
"""

CF, CB = "conv_forward_naive", "conv_backward_naive"
PF, PB = "max_pool_forward_naive", "max_pool_backward_naive"


def _correct(style):
    return {"kind": "correct", "functions": [], "bug": "none: " + style, "trigger": "never",
            "tie_only": False, "own_cache_only": False, "diagnosis_hint": ""}


def _bug(functions, bug, trigger, hint, tie_only=False, own_cache_only=False):
    return {"kind": "bug", "functions": list(functions), "bug": bug, "trigger": trigger,
            "tie_only": tie_only, "own_cache_only": own_cache_only, "diagnosis_hint": hint}


ZOO = {
    # ------------------------------------------------------------------ correct
    "correct_loops": _correct(
        "four nested loops (n, f, i, j) on np.pad; pool backward scans for the first maximum"),
    "correct_tensordot": _correct(
        "loops over output positions, np.sum over (C, HH, WW) forward, np.tensordot backward, "
        "pool backward by argmax of the flattened windows"),
    "correct_im2col": _correct(
        "vectorised im2col / col2im with index arrays and np.add.at; pooling through im2col"),
    "correct_strided": _correct(
        "sliding_window_view + einsum convolution; as_strided pooling windows, np.add.at scatter"),
    "correct_argmax_pool": _correct(
        "max pooling only; backward via np.unravel_index(np.argmax(window))"),
    "correct_py2": _correct(
        "Python-2-compatible skeleton style (from builtins import range, int(... / stride)); "
        "pool backward takes the first hit of np.where(window == max)"),
    "correct_flip_backward": _correct(
        "convolution only; backward as full convolutions (dilated dout, rotated filters)"),
    # ------------------------------------------------------------------ conv forward
    "bug_conv_wout_uses_hh": _bug(
        [CF], "conv_forward_naive computes W_out with the filter height HH instead of WW",
        "HH != WW with (W + 2*pad - HH) // stride != (W + 2*pad - WW) // stride (always at "
        "stride 1; floor division can hide it at stride > 1)",
        "output width uses HH instead of WW (filter height/width swapped)"),
    "bug_bias_broadcast": _bug(
        [CF], "conv_forward_naive adds the bias as `out += b`, broadcasting b (F,) along the "
        "width axis instead of the filter axis",
        "F > 1 (broadcast error, or silently wrong when W' == F)",
        "bias broadcast along the last axis (W') instead of the filter axis"),
    "bug_conv_range_end": _bug(
        [CF], "conv_forward_naive loops over window corners range(0, H + 2*pad - HH, stride) "
        "without the + 1, so the last output row and column stay zero",
        "always (last output row / column)",
        "off-by-one loop bound: last output row and column never computed (zeros)"),
    "bug_mutates_b_shape": _bug(
        [CF], "conv_forward_naive sets b.shape = (F, 1) on the caller's bias to broadcast it; "
        "the output is right but the input is mutated",
        "always (input mutation)", "mutates its input b in place (shape changed)"),
    # ------------------------------------------------------------------ conv backward
    "bug_conv_backward_hw_unpack": _bug(
        [CB], "conv_backward_naive unpacks N, C, W, H = x.shape, so dx is unpadded with H and W "
        "swapped", "H != W", "dx has H and W swapped (wrong shape) for non-square inputs"),
    "bug_conv_backward_no_stride": _bug(
        [CB], "conv_backward_naive puts the window corner at (i, j) instead of (i*stride, "
        "j*stride), so dx and dw ignore the stride", "stride > 1",
        "stride ignored in the backward pass (window corner i instead of i*stride)"),
    "bug_dx_unpad_pad0": _bug(
        [CB], "conv_backward_naive unpads with dx_pad[:, :, pad:-pad, pad:-pad], which is empty "
        "when pad == 0", "pad == 0", "pad == 0: [pad:-pad] slice is empty, dx has shape 0"),
    "bug_db_keepdims": _bug(
        [CB], "conv_backward_naive returns db = np.sum(dout, axis=(0, 2, 3), keepdims=True) of "
        "shape (1, F, 1, 1) instead of (F,)", "always (shape)",
        "db has shape (1, F, 1, 1) instead of (F,) (keepdims); values right"),
    "bug_dw_reset_per_example": _bug(
        [CB], "conv_backward_naive re-initialises dw = np.zeros_like(w) inside the loop over "
        "examples, so dw holds only the last example's contribution", "N > 1",
        "dw not accumulated over the batch: only the last example"),
    "bug_conv_dx_assign": _bug(
        [CB], "conv_backward_naive assigns (=) w[f] * dout into dx_pad instead of accumulating "
        "(+=)", "overlapping windows (stride < kernel) or F > 1",
        "dx overwritten instead of accumulated (= instead of +=)"),
    "bug_conv_cache_xpad": _bug(
        [CB], "conv_backward_naive unpacks (x, w, b, conv_param, x_pad), a cache layout only its "
        "own forward produces; the documented 4-tuple raises ValueError",
        "documented cache (x, w, b, conv_param)",
        "backward needs a non-documented cache item (x_pad): not enough values to unpack",
        own_cache_only=True),
    # ------------------------------------------------------------------ conv, both
    "bug_true_convolution": _bug(
        [CF, CB], "conv_forward_naive flips the filter (true convolution instead of torch's "
        "cross-correlation) and conv_backward_naive is its exact gradient, so a numerical "
        "gradient check of the own forward passes", "any filter larger than 1x1",
        "filter flipped (convolution instead of cross-correlation), forward and backward "
        "consistent"),
    "bug_pad_top_left": _bug(
        [CF, CB], "the zero_pad helper of both conv functions copies x into the top-left corner "
        "(x_pad[:, :, :H, :W] = x): all 2*pad zeros on the bottom/right side", "pad > 0",
        "padding on one side only (bottom/right), input shifted by pad"),
    # ------------------------------------------------------------------ pooling
    "bug_pool_square_output": _bug(
        [PF], "max_pool_forward_naive sets H_out = W_out = 1 + (H - ph) // stride (square "
        "images assumed)", "H' != W'", "output width computed from H (square assumption)"),
    "bug_pool_max_no_axis": _bug(
        [PF], "max_pool_forward_naive takes np.max(window) without axis=(2, 3), the maximum "
        "over the whole batch and all channels", "N * C > 1",
        "max over batch and channels too (np.max without axis)"),
    "bug_pool_backward_assign": _bug(
        [PB], "max_pool_backward_naive assigns (=) mask * dout into the window instead of "
        "accumulating (+=)", "overlapping pools (stride < pool size)",
        "overlapping windows overwritten instead of accumulated (= instead of +=)"),
    "bug_pool_all_maxima": _bug(
        [PB], "max_pool_backward_naive uses mask = (window == np.max(window)): every tied "
        "maximum gets the full gradient", "tied maxima in a window",
        "ties: every tied maximum receives the gradient (torch: first maximum only)",
        tie_only=True),
    "bug_pool_unravel_swapped": _bug(
        [PB], "max_pool_backward_naive unravels the argmax with the shape (pool_width, "
        "pool_height), so the maximum's position is wrong for rectangular pools",
        "pool_height != pool_width",
        "argmax unravelled with (pool_width, pool_height): pool height/width swapped"),
    "bug_pool_cache_switches": _bug(
        [PB], "max_pool_backward_naive unpacks (x, pool_param, switches), argmax positions only "
        "its own forward stores; the documented 2-tuple raises ValueError",
        "documented cache (x, pool_param)",
        "backward needs a non-documented cache item (switches): not enough values to unpack",
        own_cache_only=True),
    "bug_pool_stride_is_pool_size": _bug(
        [PF, PB], "both max-pool functions start the windows at (i * ph, j * pw): the stride is "
        "assumed equal to the pool size (forward and backward consistent)",
        "stride != pool size (overlapping pools or stride > pool)",
        "pool stride ignored: windows step by the pool size"),
    # ------------------------------------------------------------------ both layers
    "bug_py3_true_division": _bug(
        [CF, PF], "both forwards compute the output size with `/` (copied from the docstring): "
        "a float in Python 3, np.zeros raises TypeError", "always (Python 3)",
        "float output size from true division (/ instead of //): TypeError"),
}
