"""Pictures of a failure: expected, actual and their difference as heatmaps (``--plot DIR``).

For each function whose minimal counterexample is a *value* failure, :func:`plot_results` writes
``DIR/<function>.png``: for every compared output one row per channel (at most
:data:`MAX_CHANNELS`), each with three panels, expected, actual and ``actual - expected``. The
sample shown is the one holding the worst mismatch; small maps have their values written in the
cells, which is what makes the tiny shrunk counterexamples readable at a glance.

matplotlib is an optional extra (``pip install 'refconv[plot]'``) and is imported lazily, through
the object-oriented API and the Agg canvas only: plotting never touches pyplot's global state nor
opens a window.
"""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from refconv.conformance.apis import api_of
from refconv.conformance.guard import ConformanceFailure
from refconv.conformance.tolerance import Mismatch

__all__ = ["MAX_CHANNELS", "plot_failure", "plot_results", "require_matplotlib"]

MISSING_MATPLOTLIB = "refconv check --plot needs matplotlib: pip install 'refconv[plot]'"

#: Channels (or kernel channel pairs) drawn per output; the rest are omitted, and said so.
MAX_CHANNELS = 4
#: Outputs laid out as conv kernels (f, f, C_prev, C) and as biases (1, 1, 1, C).
KERNEL_OUTPUTS = ("dW", "W")
BIAS_OUTPUTS = ("db", "b")
#: Input arrays with at most this many entries have their values in the figure's title.
SMALL_INPUT = 8

# Map sizes in inches: about _CELL per cell, the longer side kept within [_SIDE_MIN, _SIDE_MAX],
# so that a 1 x 1 counterexample stays compact and an 8 x 8 one still has legible cell values.
_CELL = 0.6
_SIDE_MIN, _SIDE_MAX = 1.5, 3.0
_ANNOTATE_MIN_CELL = 0.28  # inches: smaller cells get no written values
_DPI = 100


def require_matplotlib() -> ModuleType:
    """Import matplotlib, or raise ImportError saying which extra installs it."""
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError(MISSING_MATPLOTLIB) from exc
    return matplotlib


@dataclass
class _Row:
    """One 2-D slice of an output: expected and actual maps, with words saying where it is."""

    output: str
    label: str  # numpy notation, e.g. "dA_prev[0, :, :, 1]"
    where: str  # the same in words, e.g. "sample 0, channel 1"
    expected: np.ndarray
    actual: np.ndarray
    worst: tuple[int, int] | None  # cell of the reported worst mismatch, when in this slice


def _pick(differs: Sequence[bool], must: int | None) -> tuple[list[int], str | None]:
    """At most :data:`MAX_CHANNELS` channels: ``must`` (the worst), then those that differ.

    Returns the chosen channels in order and a note saying what was left out, if anything.
    """
    count = len(differs)
    first = [] if must is None else [must]
    ranked = first + [c for c in range(count) if differs[c] and c != must]
    ranked += [c for c in range(count) if not differs[c] and c != must]
    chosen = sorted(ranked[:MAX_CHANNELS])
    if count <= MAX_CHANNELS:
        return chosen, None
    left = sum(differs[c] for c in ranked[MAX_CHANNELS:])
    which = f"{left} of them differ" if left else "they all agree"
    return chosen, f"{count - MAX_CHANNELS} of {count} omitted ({which})"


def _badness(expected: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """|actual - expected| with a lone NaN counted as infinitely wrong and NaN == NaN as right."""
    with np.errstate(invalid="ignore"):
        diff = np.abs(actual - expected)
    diff = np.where(np.isnan(expected) & np.isnan(actual), 0.0, diff)
    return np.nan_to_num(diff, nan=np.inf, posinf=np.inf)


def _rows(
    name: str,
    expected: np.ndarray,
    actual: np.ndarray,
    mismatch: Mismatch | None,
    layout: str = "NHWC",
) -> tuple[list[_Row], str | None]:
    """The slices of one output to draw, and a note when some channels are left out.

    4-D arrays of an NCHW API are drawn as the same (H, W) slices, labelled in NCHW.
    """
    # Only the output the mismatch was reported in knows where its worst entry is.
    index = mismatch.index if mismatch is not None and mismatch.name == name else None
    nchw = layout == "NCHW" and expected.ndim == 4
    if nchw:
        expected, actual = np.moveaxis(expected, 1, 3), np.moveaxis(actual, 1, 3)
        index = None if index is None else (index[0], index[2], index[3], index[1])
    e, a = expected, actual
    if e.ndim == 4 and name in BIAS_OUTPUTS and not nchw:
        worst = (0, index[3]) if index is not None else None
        label, where = f"{name}[0, 0, 0, :]", "all channels"
        return [_Row(name, label, where, e.reshape(1, -1), a.reshape(1, -1), worst)], None
    if e.ndim == 4 and name in KERNEL_OUTPUTS and not nchw:
        pairs = list(itertools.product(range(e.shape[2]), range(e.shape[3])))
        must = pairs.index((index[2], index[3])) if index is not None else None
        bad = _badness(e, a).max(axis=(0, 1))
        chosen, note = _pick([bool(bad[pair] > 0) for pair in pairs], must)
        rows = []
        for k in chosen:
            ci, co = pairs[k]
            worst = (index[0], index[1]) if index is not None and must == k else None
            rows.append(
                _Row(
                    name,
                    f"{name}[:, :, {ci}, {co}]",
                    f"input channel {ci}, output channel {co}",
                    e[:, :, ci, co],
                    a[:, :, ci, co],
                    worst,
                )
            )
        return rows, note and f"channel pairs {note}"
    if e.ndim in (3, 4):
        if e.ndim == 3:  # (H, W, C): one sample
            e, a = e[None], a[None]
            index = (0, *index) if index is not None else None
        if index is not None:
            sample = index[0]
        else:  # another output of the same call: show its own worst sample
            sample = int(np.argmax(_badness(e, a).reshape(e.shape[0], -1).max(axis=1)))
        bad = _badness(e[sample], a[sample]).max(axis=(0, 1))
        chosen, note = _pick([bool(x > 0) for x in bad], None if index is None else index[3])
        rows = []
        for c in chosen:
            worst = (index[1], index[2]) if index is not None and index[3] == c else None
            prefix = f"{sample}, " if expected.ndim == 4 else ""
            rows.append(
                _Row(
                    name,
                    f"{name}[{sample}, {c}, :, :]" if nchw else f"{name}[{prefix}:, :, {c}]",
                    f"sample {sample}, channel {c}",
                    e[sample, :, :, c],
                    a[sample, :, :, c],
                    worst,
                )
            )
        return rows, note and f"channels {note}"
    if e.ndim == 2:
        worst = (index[0], index[1]) if index is not None else None
        return [_Row(name, name, f"{e.shape[0]} x {e.shape[1]}", e, a, worst)], None
    # scalars and 1-D: a 1 x n strip
    worst = None if index is None else (0, index[0] if index else 0)
    where = "scalar" if e.ndim == 0 else f"{e.size} entries"
    return [_Row(name, name, where, e.reshape(1, -1), a.reshape(1, -1), worst)], None


def _pairs(failure: ConformanceFailure) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, expected, actual) per compared output, as float64 arrays of equal shapes."""
    names = [n for n in failure.expected if n in failure.actual]
    if names:
        pairs = [(n, failure.expected[n], failure.actual[n]) for n in names]
    else:
        # The subgradient probe compares differently named arrays (allowed cells vs a
        # response): pair them in order, named after both.
        expected, actual = failure.expected.items(), failure.actual.items()
        pairs = [
            (f"{ne} vs {na}", e, a) for (ne, e), (na, a) in zip(expected, actual, strict=False)
        ]
    out = []
    for name, e, a in pairs:
        try:
            e64, a64 = (np.asarray(x, dtype=np.float64) for x in (e, a))
        except (TypeError, ValueError):
            continue
        if e64.shape == a64.shape:
            out.append((name, e64, a64))
    return out


def _finite_range(*arrays: np.ndarray) -> tuple[float, float]:
    """(min, max) over the finite entries, widened when flat so that a colorbar can be drawn."""
    values = np.concatenate([x[np.isfinite(x)].ravel() for x in arrays])
    if values.size == 0:
        return -1.0, 1.0
    low, high = float(values.min()), float(values.max())
    if low == high:
        pad = abs(low) * 0.5 or 1.0
        return low - pad, high + pad
    return low, high


def _format(value: float) -> str:
    if np.isnan(value):
        return "nan"
    if np.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = f"{value:.3g}"
    return "0" if text in ("0", "-0") else text


def _cell_inches(shape: tuple[int, ...]) -> float:
    """Side of one cell of a map of ``shape`` (rows, cols), in inches."""
    side = max(shape)
    return min(max(_CELL * side, _SIDE_MIN), _SIDE_MAX) / side


def _draw(
    fig: Any,
    ax: Any,
    data: np.ndarray,
    cmap: Any,
    vmin: float,
    vmax: float,
    title: str,
    worst: tuple[int, int] | None,
) -> None:
    """One heatmap with its colorbar, cell values when legible, and the worst cell outlined."""
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import MaxNLocator

    image = ax.imshow(
        np.ma.masked_invalid(data), cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest"
    )
    fig.colorbar(image, ax=ax, shrink=0.85, pad=0.03)
    ax.set_title(title, fontsize=9)
    rows, cols = data.shape
    # Ticks are cell indices, never fractions of a cell.
    for axis, count in ((ax.yaxis, rows), (ax.xaxis, cols)):
        if count <= 16:
            axis.set_ticks(range(count))
        else:
            axis.set_major_locator(MaxNLocator(nbins=8, integer=True))
    ax.tick_params(labelsize=7, length=2)
    cell = _cell_inches(data.shape)
    if cell >= _ANNOTATE_MIN_CELL:
        texts = {index: _format(value) for index, value in np.ndenumerate(data)}
        longest = max(len(text) for text in texts.values())
        # a digit is about 0.6 em wide: fit the longest value in 80% of the cell
        size = min(max(cell * 72 * 0.8 / (0.6 * longest), 5.0), 12.0)
        for (r, c), value in np.ndenumerate(data):
            if np.isfinite(value):
                red, green, blue, _ = image.cmap(image.norm(value))
                dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
                color = "white" if dark else "black"
            else:
                color = "black"
            ax.text(c, r, texts[r, c], ha="center", va="center", fontsize=size, color=color)
    if worst is not None:
        # inset a little: on a 1 x 1 map a box on the cell's edge would hide under the frame
        ax.add_patch(
            Rectangle(
                (worst[1] - 0.45, worst[0] - 0.45),
                0.9,
                0.9,
                fill=False,
                edgecolor="red",
                linewidth=2.5,
            )
        )


def _inputs_line(problem: Any) -> str:
    """The counterexample in one line, with the values of its small arrays (the shrunk ones)."""
    if not is_dataclass(problem):
        return f"counterexample: {problem!r}"
    parts = []
    for item in fields(problem):
        value = getattr(problem, item.name)
        if isinstance(value, np.ndarray):
            shape = f"{item.name}{value.shape}"
            if value.size <= SMALL_INPUT:
                values = ", ".join(_format(float(v)) for v in value.reshape(-1))
                shape += f" = [{values}]"
            parts.append(shape)
        else:
            parts.append(f"{item.name}={value!r}")
    return f"counterexample {type(problem).__name__}: {', '.join(parts)}"


def _header(failure: ConformanceFailure, notes: list[str], grey: bool, chars: int) -> str:
    """The figure title: function and message, diagnosis, worst entry, counterexample."""
    lines = [f"{failure.function}: {failure.message}"]
    if failure.diagnosis:
        lines.append(f"diagnosis: {failure.diagnosis}")
    if failure.mismatch is not None:
        lines.append(failure.mismatch.describe())
    if failure.problem is not None:
        lines.append(_inputs_line(failure.problem))
    lines += notes
    lines.append("red box: the worst entry" + ("; grey cells: NaN or inf" if grey else ""))
    return "\n".join(textwrap.fill(line, chars, subsequent_indent="    ") for line in lines)


def plot_failure(failure: ConformanceFailure, path: str | Path) -> bool:
    """Write the heatmaps of a "value" failure to ``path`` (PNG).

    Parameters
    ----------
    failure : the (shrunk) failure of one function
    path : the PNG file to write; its folder must exist

    Returns
    -------
    bool
        False, and nothing written, when the failure has no arrays to compare (an exception,
        a wrong shape or type, a mode that should have been rejected...).
    """
    if failure.kind != "value":
        return False
    outputs = _pairs(failure)
    if not outputs:
        return False
    require_matplotlib()
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows: list[_Row] = []
    notes: list[str] = []
    for name, expected, actual in outputs:
        layout = api_of(failure.function).layout
        drawn, note = _rows(name, expected, actual, failure.mismatch, layout)
        rows += drawn
        if note:
            notes.append(f"{name}: {note}")

    values_cmap = colormaps["viridis"].with_extremes(bad="0.75")
    diff_cmap = colormaps["RdBu_r"].with_extremes(bad="0.75")
    grey = not all(np.isfinite(r.expected).all() and np.isfinite(r.actual).all() for r in rows)
    sizes = [_cell_inches(r.expected.shape) * np.array(r.expected.shape) for r in rows]
    # each panel also holds a colorbar, its labels and the map's ticks: about 1.5 inches
    width = max(3 * (max(w for _, w in sizes) + 1.5), 10.0)
    chars = int(width * 12.5)  # monospace characters per header line at 9 points
    header = _header(failure, notes, grey, chars)
    ratios = [max(h, 0.3) for h, _ in sizes]
    height = 0.18 * (header.count("\n") + 1) + 0.3 + sum(0.75 + h for h in ratios)
    fig = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    # twice the default padding: a row's titles must not touch the header or the row above
    fig.get_layout_engine().set(h_pad=0.1, w_pad=0.06)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(rows), 3, squeeze=False, gridspec_kw={"height_ratios": ratios})
    for row, (ax_e, ax_a, ax_d) in zip(rows, axes, strict=True):
        low, high = _finite_range(row.expected, row.actual)
        with np.errstate(invalid="ignore"):
            diff = row.actual - row.expected
        # NaN == NaN and inf == inf are not mismatches: show them as zero difference
        agree = (np.isnan(row.expected) & np.isnan(row.actual)) | (
            np.isinf(row.expected) & (row.actual == row.expected)
        )
        diff = np.where(agree, 0.0, diff)
        finite = np.abs(diff[np.isfinite(diff)])
        bound = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
        _draw(fig, ax_e, row.expected, values_cmap, low, high, f"expected {row.label}", row.worst)
        _draw(fig, ax_a, row.actual, values_cmap, low, high, f"actual {row.label}", row.worst)
        # symmetric scale: zero difference is the diverging map's white middle
        _draw(fig, ax_d, diff, diff_cmap, -bound, bound, "actual - expected", row.worst)
        ax_e.set_ylabel(f"{row.output}\n{row.where}", fontsize=9)
    fig.suptitle(header, fontsize=9, x=0.01, ha="left", fontfamily="monospace")
    fig.savefig(Path(path), dpi=_DPI)
    return True


def plot_results(results: Iterable[Any], directory: str | Path) -> list[Path]:
    """One PNG per failing function with a "value" failure: ``directory/<function>.png``.

    Parameters
    ----------
    results : :class:`~refconv.conformance.runner.FunctionResult` of :func:`run_all`
    directory : created when absent

    Returns
    -------
    list of Path
        The files written, in the order of ``results``; passing, missing and non-value failures
        (exceptions, wrong shapes or types...) write nothing.
    """
    require_matplotlib()
    folder = Path(directory)
    written = []
    for result in results:
        failure = getattr(result, "failure", None)
        if failure is None or failure.kind != "value" or not _pairs(failure):
            continue  # nothing to draw: no (empty) folder either
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{result.function}.png"
        if plot_failure(failure, path):
            written.append(path)
    return written
