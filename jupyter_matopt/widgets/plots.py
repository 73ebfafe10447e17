"""Model insight figures: pure functions from data to a matplotlib Figure (pymatviz style).

Each takes its data first and keyword-only options after ``*``, draws on ``ax`` when given
(else on a new ``pyplot`` figure, so that under ``%matplotlib widget`` it is an ipympl
canvas) and returns the Figure.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..core import ATOMIC_NUMBER, CompositionError, parse_composition

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "parity_plot",
    "periodic_table_heatmap",
    "element_coverage",
    "convergence_plot",
    "pareto_plot",
    "table_position",
]


def _new_ax(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    import matplotlib.pyplot as plt

    fig, new = plt.subplots(figsize=figsize, layout="constrained")
    return fig, new


def _parity_frame(report: Any) -> pd.DataFrame:
    frame = getattr(report, "parity", report)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            "parity_plot needs a CVReport (with a .parity DataFrame) or a DataFrame with "
            f"columns y_true and y_pred, got {type(report).__name__}"
        )
    missing = [c for c in ("y_true", "y_pred") if c not in frame.columns]
    if missing:
        raise ValueError(f"parity data lacks the columns {missing}; it has {list(frame.columns)}")
    return frame


def parity_plot(
    report: Any,
    *,
    ax: Axes | None = None,
    show_std: bool = True,
    color_by_fold: bool = True,
    title: str | None = None,
    units: str | None = None,
    target: str | None = None,
    figsize: tuple[float, float] = (5.0, 5.0),
    density_above: int = 2000,
) -> Figure:
    """Cross-validated predictions against the truth, with uncertainty bars.

    Above ``density_above`` points, markers and error bars only overlap into a blob, so the
    plot becomes a log-scaled hexbin density of the points instead (no bars, no fold colours).

    Args:
        report: A ``CVReport`` (its ``.parity`` DataFrame: ``y_true``, ``y_pred``,
            ``y_std``, ``fold``) or such a DataFrame.
        ax: Axes to draw on (default: a new figure).
        show_std: Draw ``y_std`` as vertical error bars (1 std) when present.
        color_by_fold: One colour per fold when a ``fold`` column is present.
        title: Title (default: MAE, RMSE and R² of the data).
        units: Units for the axis labels (default: the report's ``units`` if any).
        target: Name of the property (default: the report's ``target`` or "value").
        figsize: Size of a new figure, in inches.
        density_above: Draw a hexbin density when there are more points than this.

    Returns:
        The Figure.
    """
    frame = _parity_frame(report)
    y = frame["y_true"].to_numpy(float)
    p = frame["y_pred"].to_numpy(float)
    ok = np.isfinite(y) & np.isfinite(p)
    fig, ax = _new_ax(ax, figsize)
    units = units if units is not None else getattr(report, "units", None) or ""
    target = target if target is not None else getattr(report, "target", None) or "value"
    s = frame["y_std"].to_numpy(float) if show_std and "y_std" in frame.columns else None
    groups: list[tuple[str | None, np.ndarray]] = [(None, ok)]
    if color_by_fold and "fold" in frame.columns:
        folds = frame["fold"].to_numpy()
        groups = [(f"fold {f}", ok & (folds == f)) for f in pd.unique(folds)]
    dense = int(ok.sum()) > density_above
    if dense:
        groups = []
        hb = ax.hexbin(y[ok], p[ok], gridsize=60, bins="log", mincnt=1, cmap="viridis")
        ax.figure.colorbar(hb, ax=ax, shrink=0.8, label=f"points per cell (of {ok.sum():,})")
    for label, mask in groups:
        err = None if s is None else np.where(np.isfinite(s[mask]), s[mask], 0.0)
        ax.errorbar(
            y[mask], p[mask], yerr=err, fmt="o", ms=3.5, alpha=0.7, elinewidth=0.7,
            capsize=0, label=label,
        )
    if ok.any():
        lo = float(min(y[ok].min(), p[ok].min()))
        hi = float(max(y[ok].max(), p[ok].max()))
        pad = 0.03 * (hi - lo or 1.0)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k--", lw=1, zorder=0)
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
    ax.set_aspect("equal", adjustable="box")
    suffix = f" ({units})" if units else ""
    ax.set_xlabel(f"measured {target}{suffix}")
    ax.set_ylabel(f"predicted {target}{suffix}")
    if ok.any():
        err = p[ok] - y[ok]
        mae = float(np.mean(np.abs(err)))
        rmse = float(np.sqrt(np.mean(err**2)))
        ss = float(np.sum((y[ok] - y[ok].mean()) ** 2))
        r2 = 1.0 - float(np.sum(err**2)) / ss if ss > 0 else float("nan")
        ax.set_title(title if title is not None else f"MAE {mae:.3g}, RMSE {rmse:.3g}, R² {r2:.3f}")
    elif title:
        ax.set_title(title)
    if len(groups) > 1 and len(groups) <= 10:
        ax.legend(fontsize=8, frameon=False)
    return fig


def table_position(symbol: str) -> tuple[int, int]:
    """(row, column) of an element in the periodic table layout, both starting at 0.

    Lanthanides and actinides are drawn in rows 8 and 9 (after a gap), columns 2 to 16.
    """
    z = ATOMIC_NUMBER.get(symbol)
    if z is None:
        raise CompositionError(f"{symbol!r} is not a chemical element symbol")
    if z == 1:
        return 0, 0
    if z == 2:
        return 0, 17
    starts = [(3, 10, 1), (11, 18, 2), (19, 36, 3), (37, 54, 4), (55, 86, 5), (87, 118, 6)]
    for lo, hi, row in starts:
        if lo <= z <= hi:
            k = z - lo
            if row in (1, 2):
                return row, k if k < 2 else k + 10
            if row in (3, 4):
                return row, k
            if k < 2:
                return row, k
            if k <= 16:  # La..Lu / Ac..Lr
                return row + 3, k
            return row, k - 14
    raise CompositionError(f"no table position for {symbol}")  # pragma: no cover


def periodic_table_heatmap(
    values: Mapping[str, float],
    *,
    title: str | None = None,
    ax: Axes | None = None,
    cmap: str = "viridis",
    log: bool = False,
    value_format: str = "{:.3g}",
    colorbar_label: str | None = None,
    show_values: bool = True,
    figsize: tuple[float, float] = (12.0, 6.6),
) -> Figure:
    """Colour the periodic table by a value per element (importance, coverage, ...).

    Args:
        values: Element symbol -> value; elements left out are drawn blank.
        title: Figure title.
        ax: Axes to draw on (default: a new figure).
        cmap: Matplotlib colormap name.
        log: Logarithmic colour scale (positive values only).
        value_format: Format of the value printed under each symbol.
        colorbar_label: Label of the colour bar.
        show_values: Print the values in the cells.
        figsize: Size of a new figure, in inches.

    Returns:
        The Figure.

    Raises:
        CompositionError: for a key that is not an element symbol.
    """
    import matplotlib as mpl
    from matplotlib.patches import Rectangle

    vals = {str(k): float(v) for k, v in values.items()}
    bad = [k for k in vals if k not in ATOMIC_NUMBER]
    if bad:
        raise CompositionError(f"periodic_table_heatmap: {bad} are not element symbols")
    finite = [v for v in vals.values() if math.isfinite(v) and (v > 0 or not log)]
    fig, ax = _new_ax(ax, figsize)
    if finite:
        lo, hi = min(finite), max(finite)
        if hi == lo:
            lo, hi = (lo / 2, hi * 2) if log else (lo - 0.5, hi + 0.5)
        norm: Any = mpl.colors.LogNorm(lo, hi) if log else mpl.colors.Normalize(lo, hi)
    else:
        norm = mpl.colors.Normalize(0, 1)
    colormap = mpl.colormaps[cmap]
    for sym in ATOMIC_NUMBER:
        row, col = table_position(sym)
        y = -row + (0.6 if row >= 8 else 0.0)  # f-block a little below the main table
        v = vals.get(sym)
        has = v is not None and math.isfinite(v) and (v > 0 or not log)
        face = colormap(norm(v)) if has else (0.95, 0.95, 0.95, 1.0)
        ax.add_patch(Rectangle((col, y), 0.94, 0.94, facecolor=face, edgecolor="0.6", lw=0.5))
        rgb = np.asarray(face[:3])
        text = "white" if has and float(rgb @ [0.299, 0.587, 0.114]) < 0.5 else "black"
        ax.text(col + 0.47, y + 0.6, sym, ha="center", va="center", fontsize=9,
                color=text if has else "0.6", fontweight="bold" if has else "normal")
        if has and show_values:
            ax.text(col + 0.47, y + 0.25, value_format.format(v), ha="center", va="center",
                    fontsize=6, color=text)
    ax.set_xlim(-0.2, 18.2)
    ax.set_ylim(-8.5, 1.1)
    ax.set_aspect("equal")
    ax.axis("off")
    mappable = mpl.cm.ScalarMappable(norm=norm, cmap=colormap)
    cbar = fig.colorbar(mappable, ax=ax, shrink=0.6, pad=0.01)
    if colorbar_label:
        cbar.set_label(colorbar_label)
    if title:
        ax.set_title(title)
    return fig


def element_coverage(dataset: Any) -> dict[str, int]:
    """How many compositions of a dataset contain each element.

    Args:
        dataset: A ``Dataset`` (its ``.compositions``) or an iterable of formulas/mappings.

    Returns:
        Element -> number of compositions containing it, ordered by atomic number.
    """
    comps: Iterable[Any] = getattr(dataset, "compositions", dataset)
    counts: Counter[str] = Counter()
    for c in comps:
        fr = c if isinstance(c, Mapping) else parse_composition(c)
        counts.update(e for e, v in fr.items() if v > 0)
    return {e: counts[e] for e in sorted(counts, key=ATOMIC_NUMBER.__getitem__)}


def convergence_plot(
    values: Iterable[float],
    *,
    maximize: bool = True,
    ax: Axes | None = None,
    label: str = "value",
    figsize: tuple[float, float] = (5.0, 3.5),
) -> Figure:
    """Measured values by iteration and the best so far.

    Args:
        values: Measured objective values in the order they were told.
        maximize: Whether larger is better.
        ax: Axes to draw on (default: a new figure).
        label: Name of the objective for the y axis.
        figsize: Size of a new figure, in inches.
    """
    y = np.asarray(list(values), dtype=float)
    fig, ax = _new_ax(ax, figsize)
    it = np.arange(1, len(y) + 1)
    best = best_so_far(y, maximize=maximize)
    ax.plot(it, y, "o", ms=4, alpha=0.6, label="measured")
    ax.step(it, best, where="post", lw=1.8, label="best so far")
    ax.set_xlabel("iteration")
    ax.set_ylabel(label)
    ax.legend(frameon=False, fontsize=8)
    return fig


def best_so_far(values: Iterable[float], *, maximize: bool = True) -> np.ndarray:
    """Running best of ``values`` (NaN ignored until the first finite value)."""
    y = np.asarray(list(values), dtype=float)
    filled = np.where(np.isfinite(y), y, -np.inf if maximize else np.inf)
    best = np.maximum.accumulate(filled) if maximize else np.minimum.accumulate(filled)
    return np.where(np.isfinite(best), best, np.nan)


def pareto_plot(
    points: pd.DataFrame,
    front: pd.DataFrame | None = None,
    *,
    x: str,
    y: str,
    ax: Axes | None = None,
    figsize: tuple[float, float] = (5.0, 4.0),
) -> Figure:
    """Two objectives of all measured points, with the Pareto front highlighted.

    Args:
        points: All measured points (columns ``x`` and ``y``).
        front: The non-dominated points (default: none highlighted).
        x: Column of the first objective.
        y: Column of the second objective.
        ax: Axes to draw on (default: a new figure).
        figsize: Size of a new figure, in inches.
    """
    fig, ax = _new_ax(ax, figsize)
    ax.plot(points[x], points[y], "o", ms=4, alpha=0.5, label="measured")
    if front is not None and len(front):
        f = front.sort_values(x)
        ax.plot(f[x], f[y], "o-", ms=6, lw=1.5, label="Pareto front")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.legend(frameon=False, fontsize=8)
    return fig
