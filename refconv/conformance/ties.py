"""Tie references for max pooling: what each tie policy (``--ties``) accepts.

Inputs without ties are judged identically under every policy; they differ only on windows with
several maximal cells. Everything here works on an NHWC float64 input and the
:class:`~refconv._windows.Geometry` of the pooling (any API converts its layout first):

- ``torch``: the whole gradient of a window goes to its first maximum in row-major order;
- ``subgradient``: any split of each window's gradient over its maximal cells
  (:func:`check_subgradient` probes each tied window with a one-hot upstream gradient);
- ``all``: the notebook's convention (:func:`all_ties_gradient`: every tied maximum receives
  the window's full gradient), or else any subgradient.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from refconv._windows import Geometry
from refconv.conformance.guard import ConformanceFailure, Context, judge

TIE_POLICIES = ("torch", "subgradient", "all")
TIE_POLICY_TEXT = {
    "torch": "torch's rule: the whole gradient goes to the first maximum in row-major order",
    "subgradient": "a subgradient: each window's gradient split over its maximal positions",
    "all": "the notebook's convention (every tied maximum receives the full gradient) or any "
    "subgradient, torch's rule included",
}


def window_max_sets(x: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Boolean ``(N, n_H, n_W, kh, kw, C)``: which cells of each window hold its maximum.

    ``x`` is the NHWC input (unpadded: pooling here has no padding).
    """
    windows = geometry.windows(np.asarray(x, dtype=np.float64))
    return windows == windows.max(axis=(3, 4), keepdims=True)


def first_maximum(max_sets: np.ndarray, last: bool = False) -> np.ndarray:
    """One True per window at its first (or last) maximal cell, shape of ``max_sets``."""
    m, n_h, n_w, kh, kw, c = max_sets.shape
    flat = np.ascontiguousarray(max_sets).reshape(m, n_h, n_w, kh * kw, c)
    index = np.argmax(flat[:, :, :, ::-1] if last else flat, axis=3)
    if last:
        index = kh * kw - 1 - index
    mask = np.zeros(flat.shape, dtype=bool)
    np.put_along_axis(mask, index[:, :, :, None, :], True, axis=3)
    return mask.reshape(max_sets.shape)


def has_ties(x: np.ndarray, geometry: Geometry) -> bool:
    """Whether some window has a tied maximum (the policies only differ there)."""
    return bool((window_max_sets(x, geometry).sum(axis=(3, 4)) > 1).any())


def scatter_windows(shape: tuple[int, ...], geometry: Geometry, weights: np.ndarray) -> np.ndarray:
    """Sum over windows of ``weights`` ``(N, n_H, n_W, kh, kw, C)`` placed at their cells:
    an NHWC array of ``shape``."""
    out = np.zeros(shape, dtype=np.float64)
    kw = geometry.kernel[1]
    for k, index in geometry.offsets():
        out[index] += weights[:, :, :, k // kw, k % kw, :]
    return out


def all_ties_gradient(x: np.ndarray, geometry: Geometry, dA: np.ndarray) -> np.ndarray:
    """The notebook's convention: every tied maximum of a window receives its full ``dA``."""
    weights = window_max_sets(x, geometry) * dA[:, :, :, None, None, :]
    return scatter_windows(x.shape, geometry, weights)


def check_subgradient(
    ctx: Context,
    function: str,
    problem: object,
    x: np.ndarray,
    geometry: Geometry,
    dA: np.ndarray,
    actual: np.ndarray,
    bound: np.ndarray | float,
    backward: Callable[[np.ndarray], np.ndarray],
    output: str = "dA_prev",
    nchw: bool = False,
) -> None:
    """Each window's gradient lies on its maximal cells with total mass dA (one-hot probes).

    ``x``, ``dA``, ``actual`` are NHWC; ``backward(probe)`` runs the implementation's backward
    on an NHWC upstream gradient and returns its NHWC result. Windows without ties have one
    maximal cell, so there the gradient is torch's; each tied window is probed with a one-hot
    ``dA`` (backward is linear in dA), and the random-dA result must be the dA-weighted sum of
    the probes. Raises :class:`ConformanceFailure` of ``function`` otherwise, stating positions
    and arrays in NCHW when ``nchw`` (the API's own layout).
    """

    def shown(a: np.ndarray | float) -> np.ndarray | float:
        return np.moveaxis(a, 3, 1) if nchw and np.ndim(a) == 4 else a

    max_sets = window_max_sets(x, geometry)
    tied = max_sets.sum(axis=(3, 4)) > 1  # (N, n_H, n_W, C)
    (kh, kw), (sh, sw) = geometry.kernel, geometry.stride
    untied_weights = np.where(
        tied[:, :, :, None, None, :], 0.0, first_maximum(max_sets) * dA[:, :, :, None, None, :]
    )
    combined = scatter_windows(x.shape, geometry, untied_weights)
    for position in zip(*np.nonzero(tied), strict=True):
        probe = np.zeros(dA.shape, dtype=dA.dtype)
        probe[position] = 1
        response = backward(probe)
        i, h, w, c = position
        allowed = np.zeros(x.shape, dtype=bool)
        rows, cols = slice(h * sh, h * sh + kh), slice(w * sw, w * sw + kw)
        allowed[i, rows, cols, c] = max_sets[i, h, w, :, :, c]
        outside = np.abs(np.where(allowed, 0.0, response)).max()
        mass = response.sum()
        if outside > 0 or abs(mass - 1) > 1e-12:
            where = (i, c, h, w) if nchw else (i, h, w, c)
            raise ConformanceFailure(
                function,
                "value",
                f"with dA one-hot at {tuple(map(int, where))}, the gradient is "
                + ("neither the notebook's convention nor " if ctx.policy == "all" else "not ")
                + f"a subgradient: mass {mass:.6g} (must be 1), {outside:.3g} placed off the "
                "window's maximal cells",
                problem,
                ctx.policy,
                expected={"allowed_cells": shown(allowed.astype(np.float64))},
                actual={f"{output} (one-hot probe)": shown(response)},
                bounds={output: shown(bound)},
            )
        combined += dA[position] * response
    judge(ctx, function, problem, [(output, shown(actual), shown(combined), shown(bound))])
