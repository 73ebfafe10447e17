"""Tables for people: units in the headers, values rounded to what their uncertainty supports.

The ``%matopt predict`` and ``%matopt suggest`` tables stay ordinary DataFrames with full
precision (``frame["prediction"]`` is the model's number); only how they *display* changes:

* a value with an uncertainty is shown to the decimal of the uncertainty's second
  significant digit (``-0.394 ± 0.027``, ``1,210 ± 85``), so no digit is shown that the
  model cannot vouch for;
* other numbers get three significant figures;
* headers carry units (``prediction (eV/atom)``);
* text such as the domain ``reason`` is shown in full and wraps (no ``...`` truncation);
* everything is HTML-escaped (a formula or reason never becomes markup).

Pure pandas/numpy: no Jupyter import, so the backend may use it too.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "decimals_for",
    "format_number",
    "format_sig",
    "format_with_std",
    "PredictionTable",
    "display_frame",
    "to_html_table",
]

#: Never show more decimals than this, whatever the uncertainty.
MAX_DECIMALS = 6


def decimals_for(std: float, *, digits: int = 2) -> int:
    """Decimals that keep ``digits`` significant digits of ``std`` (0 for std >= 10).

    >>> decimals_for(0.027), decimals_for(215.0), decimals_for(3.6)
    (3, 0, 1)
    """
    if not math.isfinite(std) or std <= 0:
        return 3
    return int(min(MAX_DECIMALS, max(0, digits - 1 - math.floor(math.log10(std)))))


def format_number(x: Any, decimals: int) -> str:
    """``x`` with ``decimals`` decimals and thousands separators; ``""`` for missing."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "" if x is None else str(x)
    if not math.isfinite(v):
        return ""
    if abs(v) < 0.5 * 10.0**-decimals:
        v = 0.0  # no "-0.00"
    return f"{v:,.{decimals}f}"


def format_sig(x: Any, sig: int = 3) -> str:
    """``x`` with ``sig`` significant figures (scientific notation only when tiny or huge)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "" if x is None else str(x)
    if not math.isfinite(v):
        return ""
    if v == 0:
        return "0"
    exp = math.floor(math.log10(abs(v)))
    if exp < -4 or exp >= 7:
        return f"{v:.{sig - 1}e}"
    return format_number(v, max(0, sig - 1 - exp))


def format_with_std(mean: Any, std: Any) -> str:
    """``mean ± std``, both to the decimal of the std's second significant digit."""
    try:
        m, s = float(mean), float(std)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(m):
        return ""
    if not math.isfinite(s):
        return format_sig(m)
    d = decimals_for(s)
    return f"{format_number(m, d)} ± {format_number(s, d)}"


def _units(units: str | None) -> str:
    return f" ({units})" if units else ""


def display_frame(frame: pd.DataFrame, *, units: str | None = None,
                  mean_col: str = "prediction", std_col: str = "std",
                  fraction_cols: Sequence[str] = (), fraction_decimals: int | None = None,
                  value_cols: Sequence[str] = (), label: str | None = None) -> pd.DataFrame:
    """A frame of display strings: ``mean ± std`` with units, rounded fractions, flags.

    Args:
        frame: The numeric table.
        units: Units of ``mean_col`` (and of ``value_cols``).
        mean_col: Column of predicted values; shown with ``std_col`` as ``mean ± std``.
        std_col: Column of standard deviations.
        fraction_cols: Composition fraction columns.
        fraction_decimals: Decimals of the fractions (default: enough for the values shown,
            at most 4).
        value_cols: Further columns in the units of the prediction, rounded like it
            (e.g. an acquisition's optimistic bound).
        label: Header of the ``mean ± std`` column (default ``mean_col``).

    Returns:
        A DataFrame of strings (index kept) for display only.
    """
    out = pd.DataFrame(index=frame.index)
    if fraction_cols:
        vals = frame[list(fraction_cols)].to_numpy(dtype=float)
        if fraction_decimals is None:
            fraction_decimals = 2
            while fraction_decimals < 4 and np.any(
                    np.abs(np.round(vals, fraction_decimals) - vals) > 1e-9):
                fraction_decimals += 1
    for col in frame.columns:
        if col == std_col and mean_col in frame.columns:
            continue
        if col == mean_col and std_col in frame.columns:
            head = f"{label or mean_col}{_units(units)}"
            out[head] = [format_with_std(m, s) for m, s in zip(frame[mean_col],
                                                               frame[std_col], strict=False)]
        elif col in fraction_cols:
            out[col] = [format_number(v, fraction_decimals or 2) for v in frame[col]]
        elif col in value_cols:
            stds = frame[std_col] if std_col in frame.columns else [math.nan] * len(frame)
            out[f"{col}{_units(units)}"] = [
                format_number(v, decimals_for(float(s))) if math.isfinite(float(s))
                else format_sig(v) for v, s in zip(frame[col], stds, strict=False)]
        elif pd.api.types.is_bool_dtype(frame[col]):
            out[col] = ["yes" if bool(v) else "no" for v in frame[col]]
        elif pd.api.types.is_float_dtype(frame[col]):
            out[col] = [format_sig(v) for v in frame[col]]
        else:
            out[col] = ["" if v is None else str(v) for v in frame[col]]
    return out


_STYLE = ("<style>.jp-matopt-table td{white-space:normal;text-align:right}"
          ".jp-matopt-table td.jp-matopt-text{text-align:left;max-width:40em}</style>")


def to_html_table(shown: pd.DataFrame, *, caption: str = "", text_cols: Sequence[str] = ()
                  ) -> str:
    """Escaped HTML of a display frame; text columns wrap instead of being truncated."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    rows = []
    for idx, row in shown.iterrows():
        cells = "".join(
            f'<td class="jp-matopt-text">{html.escape(str(v))}</td>' if c in text_cols
            else f"<td>{html.escape(str(v))}</td>" for c, v in row.items())
        rows.append(f"<tr><th>{html.escape(str(idx))}</th>{cells}</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (f'{_STYLE}<table class="dataframe jp-matopt-table">{cap}<thead><tr><th></th>'
            f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


class PredictionTable(pd.DataFrame):
    """The ``%matopt predict`` table: full-precision columns, displayed rounded with units.

    Columns ``composition``, ``prediction``, ``std``, ``in_domain``, ``reason``; ``attrs``
    holds ``units`` and ``target``. Selections and copies are plain DataFrames.
    """

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame

    def _shown(self) -> pd.DataFrame:
        target = self.attrs.get("target") or "prediction"
        return display_frame(pd.DataFrame(self), units=self.attrs.get("units"),
                             label=str(target))

    def _repr_html_(self) -> str:  # type: ignore[override]
        shown = self._shown()
        return to_html_table(shown, text_cols=("composition", "reason"))

    def __repr__(self) -> str:
        with pd.option_context("display.max_colwidth", None, "display.width", 200):
            return self._shown().to_string()


#: How ``%matopt suggest`` shows the acquisition value of a campaign: (header, kind), where
#: kind says how the campaign's maximization-frame score becomes a readable number.
ACQUISITION_DISPLAY: dict[str, tuple[str, str]] = {
    "ucb": ("optimistic bound", "bound"),
    "lcb": ("optimistic bound", "bound"),
    "ei": ("expected improvement", "units"),
    "pi": ("P(improvement)", "probability"),
}

_SUGGESTION_CLASSES: dict[type, type] = {}


def _suggestion_class(base: type) -> type:
    """A subclass of ``base`` (the campaign's Suggestions) that displays rounded, with units."""
    cls = _SUGGESTION_CLASSES.get(base)
    if cls is not None:
        return cls

    def _constructor(self: Any) -> type:
        return base  # selections and copies are the campaign's plain Suggestions

    def _shown(self: Any) -> pd.DataFrame:
        a = self.attrs
        comps = [c for c in (getattr(self, "_matopt_components", None) or [])
                 if c in self.columns]
        frame = pd.DataFrame(self).drop(columns=["acquisition"], errors="ignore")
        value_cols: list[str] = []
        shown_acq = a.get("acquisition_shown")
        if shown_acq is not None and shown_acq in frame.columns:
            value_cols = [shown_acq] if a.get("acquisition_kind") != "probability" else []
        units = a.get("units")
        return display_frame(frame, units=units, mean_col="mean", std_col="std",
                             fraction_cols=comps, value_cols=value_cols,
                             label=f"predicted {a.get('target') or 'value'}")

    def _repr_html_(self: Any) -> str:
        return to_html_table(_shown(self), caption=str(self.attrs.get("caption", "")),
                             text_cols=("reason",))

    def __repr__(self: Any) -> str:
        with pd.option_context("display.max_colwidth", None, "display.width", 200):
            text = _shown(self).to_string()
        cap = self.attrs.get("caption")
        return f"{cap}\n{text}" if cap else text

    cls = type(f"Displayed{base.__name__}", (base,), {
        "_constructor": property(_constructor), "_repr_html_": _repr_html_,
        "__repr__": __repr__, "_shown": _shown,
        "__doc__": f"{base.__name__} displayed rounded to their std, with units."})
    _SUGGESTION_CLASSES[base] = cls
    return cls


def suggestion_table(frame: pd.DataFrame, *, units: str | None, target: str | None,
                     direction: str, acquisition: str, kappa: float = 1.0,
                     domain: pd.DataFrame | None = None, caption: str = "") -> pd.DataFrame:
    """The suggestions of a campaign, displayed with units, rounding and domain flags.

    The numbers stay as the campaign returned them (``mean``, ``std``, ``acquisition``,
    and ``.compositions`` still works); added are ``in_domain``/``reason`` (from ``domain``)
    and, for UCB/EI/PI, the acquisition in readable form: the optimistic bound
    ``mean + kappa * std`` (``mean - kappa * std`` when minimizing) of the row, in the
    target's units; the expected improvement in those units; or the probability of
    improvement (both at the time of the pick).

    Args:
        frame: ``Campaign.suggest``'s Suggestions.
        units: Units of the objective.
        target: Name of the objective.
        direction: ``"max"`` or ``"min"``.
        acquisition: The campaign's acquisition name.
        kappa: The campaign's UCB weight.
        domain: The model's domain table for the rows (``in_domain``, ``reason``).
        caption: A line shown above the table.
    """
    out = _suggestion_class(type(frame))(frame.copy())
    for name in getattr(frame, "_metadata", []):
        setattr(out, name, getattr(frame, name, None))
    shown, kind = ACQUISITION_DISPLAY.get(acquisition, (None, None))
    if shown is not None and "acquisition" in out.columns:
        acq = out["acquisition"].to_numpy(dtype=float)
        if kind == "bound" and {"mean", "std"} <= set(out.columns):
            # from the row's own mean and std; ``acquisition`` keeps the value at the time of
            # the pick (after the batch's earlier picks were fantasized, so std was smaller)
            sign = 1.0 if direction == "max" else -1.0
            col = f"{shown} (mean {'+' if sign > 0 else '-'} {kappa:g}σ)"
            out[col] = out["mean"].to_numpy(float) + sign * kappa * out["std"].to_numpy(float)
        else:
            col = shown
            out[col] = acq
        out.attrs["acquisition_shown"] = col
        out.attrs["acquisition_kind"] = kind
    if domain is not None and len(domain) == len(out):  # last: the reason is long text
        out["in_domain"] = np.asarray(domain["in_domain"], dtype=bool)
        out["reason"] = list(domain["reason"])
    out.attrs.update({"units": units or "", "target": target or "", "caption": caption})
    return out


class ExplanationTable(pd.DataFrame):
    """The ``%matopt explain`` table: contributions in full precision, shown to three
    significant figures with the target's units (``attrs["units"]``)."""

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame

    def _shown(self) -> pd.DataFrame:
        units = self.attrs.get("units")
        out = pd.DataFrame(index=self.index)
        for col in self.columns:
            out[f"{col}{_units(units)}"] = [format_sig(v) for v in self[col]]
        return out

    def _repr_html_(self) -> str:  # type: ignore[override]
        return to_html_table(self._shown())

    def __repr__(self) -> str:
        return self._shown().to_string()
