"""ScreenTable: the ranked result of :func:`~jupyter_matopt.screen.screen`, linked to sliders."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import anywidget
import numpy as np
import pandas as pd
import traitlets

from ..screen import ScreenError

__all__ = ["ScreenTable"]

# Columns of a screen result that are not element fractions.
_META = {"rank", "formula", "mean", "std", "candidate", "in_domain"}
_META_PREFIXES = ("constraint_", "objective_")
# A row matches the sliders when every fraction agrees to this (the sliders snap to a step
# and put rounding residue on one element).
_MATCH_TOL = 1e-9

# Small and self-contained, so the view needs no build step: rows are written with
# textContent only (formulas come from the user's data).
_ESM = r"""
function fmt(x, d) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return x.toExponential(d - 1);
  return x.toFixed(Math.max(0, d - Math.max(0, Math.floor(Math.log10(a || 1)) + 1)));
}

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "jp-matopt-screen";
  const summary = document.createElement("div");
  summary.className = "jp-matopt-screen-summary";
  const error = document.createElement("div");
  error.className = "jp-matopt-screen-error";
  const wrap = document.createElement("div");
  wrap.className = "jp-matopt-screen-scroll";
  const table = document.createElement("table");
  table.className = "jp-matopt-screen-table";
  wrap.appendChild(table);
  root.append(summary, error, wrap);
  el.appendChild(root);

  function draw() {
    const rows = model.get("rows") || [];
    const selected = model.get("selected");
    const label = model.get("value_label") || "prediction";
    summary.textContent = model.get("summary") || "";
    error.textContent = model.get("error") || "";
    error.style.display = model.get("error") ? "" : "none";
    table.replaceChildren();
    const head = table.createTHead().insertRow();
    const hasDomain = rows.some((r) => r.in_domain !== undefined && r.in_domain !== null);
    const titles = ["#", "composition", `${label} (mean ± std)`];
    if (hasDomain) titles.push("in domain");
    for (const title of titles) {
      const th = document.createElement("th");
      th.textContent = title;
      head.appendChild(th);
    }
    const body = table.createTBody();
    rows.forEach((r, i) => {
      const tr = body.insertRow();
      tr.className = "jp-matopt-screen-row" + (i === selected ? " jp-mod-selected" : "");
      tr.tabIndex = 0;
      const cells = [String(r.rank), r.formula, `${fmt(r.mean, 4)} ± ${fmt(r.std, 3)}`];
      if (hasDomain) cells.push(r.in_domain ? "yes" : "no");
      for (const text of cells) tr.insertCell().textContent = text;
      const pick = () => { model.set("selected", i); model.save_changes(); };
      tr.addEventListener("click", pick);
      tr.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") pick(); });
    });
  }

  draw();
  for (const name of ["rows", "selected", "summary", "error", "value_label"]) {
    model.on(`change:${name}`, draw);
  }
}

export default { render };
"""

_CSS = """
.jp-matopt-screen { font-size: var(--jp-ui-font-size1, 13px); }
.jp-matopt-screen-summary { margin: 2px 0 4px; color: var(--jp-ui-font-color2, #555); }
.jp-matopt-screen-error { color: var(--jp-error-color1, #c62828); margin: 2px 0; }
.jp-matopt-screen-scroll { max-height: 320px; overflow-y: auto; }
.jp-matopt-screen-table { border-collapse: collapse; }
.jp-matopt-screen-table th, .jp-matopt-screen-table td { padding: 1px 8px; text-align: right; }
.jp-matopt-screen-table td:nth-child(2), .jp-matopt-screen-table th:nth-child(2) {
  text-align: left; font-family: var(--jp-code-font-family, monospace); }
.jp-matopt-screen-row { cursor: pointer; }
.jp-matopt-screen-row:hover { background: var(--jp-layout-color2, #eee); }
.jp-matopt-screen-row.jp-mod-selected { background: var(--jp-brand-color3, #bbdefb); }
"""

#: Names of the synced traits the view reads and writes (kept in step with ``_ESM``).
TRAIT_KEYS = ("rows", "selected", "summary", "error", "value_label")


def _num(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


class ScreenTable(anywidget.AnyWidget):
    """A ranked table of screened compositions; picking a row moves the linked sliders.

    Each row shows the rank, the composition and the predicted mean ± std (and the
    applicability-domain flag when the screen used it). Selecting a row, by clicking it or
    by setting ``selected``, sets the ``fractions`` of the linked
    :class:`~jupyter_matopt.widgets.CompositionSliders`, whose own model then shows the
    prediction and its explanation; moving the sliders onto a listed composition selects
    that row, and moving them away clears the selection.

    Args:
        result: The DataFrame returned by :func:`~jupyter_matopt.screen.screen` (or its
            ``attrs["pareto"]``): one column per element plus ``mean`` and ``std``.
        sliders: Optional :class:`~jupyter_matopt.widgets.CompositionSliders` to drive
            (can be set later through the ``sliders`` property).
        max_rows: Rows sent to the view (default 1000); the rest stay in ``result``.
        **kwargs: Passed to ``anywidget.AnyWidget``.

    Raises:
        ScreenError: if ``result`` is not a screen result.

    A bad selection never raises from the observer: its message goes to the synced
    ``error`` trait, which the view displays.
    """

    _esm = _ESM
    _css = _CSS

    rows = traitlets.List(traitlets.Dict()).tag(sync=True)
    selected = traitlets.Int(-1).tag(sync=True)
    summary = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    value_label = traitlets.Unicode("prediction").tag(sync=True)

    def __init__(self, result: pd.DataFrame, sliders: Any = None, *, max_rows: int = 1000,
                 **kwargs: Any) -> None:
        if not isinstance(result, pd.DataFrame) or not {"mean", "std"} <= set(result.columns):
            raise ScreenError(
                "ScreenTable needs the DataFrame returned by screen() (with 'mean' and 'std' "
                f"columns), got {type(result).__name__}"
            )
        if isinstance(max_rows, bool) or not isinstance(max_rows, (int, np.integer)) \
                or max_rows < 1:
            raise ScreenError(f"max_rows must be a positive integer, got {max_rows!r}")
        self.result = result
        self.elements = [str(c) for c in result.columns
                         if c not in _META and not str(c).startswith(_META_PREFIXES)]
        if not self.elements:
            raise ScreenError("the screen result has no element columns to show")
        self._sliders: Any = None
        self._guard = False
        self._last_valid = -1
        super().__init__(**kwargs)
        shown = result.iloc[: int(max_rows)]
        self.rows = [self._row(i, r) for i, (_, r) in enumerate(shown.iterrows())]
        self.summary = self._summary(len(shown))
        target = result.attrs.get("target")
        if target:
            self.value_label = str(target)
        self.sliders = sliders

    # ------------------------------------------------------------------ public API
    @property
    def sliders(self) -> Any:
        """The linked :class:`CompositionSliders` (or None)."""
        return self._sliders

    @sliders.setter
    def sliders(self, sliders: Any) -> None:
        if sliders is not None and not (hasattr(sliders, "fractions")
                                        and hasattr(sliders, "elements")):
            raise ScreenError(
                f"sliders must be a CompositionSliders widget, got {type(sliders).__name__}"
            )
        if self._sliders is not None:
            self._sliders.unobserve(self._on_sliders, names="fractions")
        self._sliders = sliders
        if sliders is not None:
            sliders.observe(self._on_sliders, names="fractions")
            if 0 <= self.selected < len(self.rows):
                self._push(self.selected)
            else:
                self._on_sliders(None)

    @property
    def selected_row(self) -> dict[str, Any] | None:
        """The selected row (rank, formula, fractions, mean, std, ...), or None."""
        if 0 <= self.selected < len(self.rows):
            return dict(self.rows[self.selected])
        return None

    def select(self, rank: int) -> dict[str, Any] | None:
        """Select the row of ``rank`` (1 = best), as a click would; returns that row.

        Errors (no such rank, sliders that cannot show the composition) go to ``error``.
        """
        for i, row in enumerate(self.rows):
            if row["rank"] == rank:
                self.selected = i
                return self.selected_row
        self.error = f"no row has rank {rank!r}: ranks run from 1 to {len(self.rows)}"
        return None

    # ------------------------------------------------------------------ internals
    def _row(self, i: int, r: pd.Series) -> dict[str, Any]:
        x = np.array([float(r[e]) for e in self.elements])
        total = x.sum()
        fr = {e: float(v / total) for e, v in zip(self.elements, x, strict=True)} \
            if total > 0 else {e: 0.0 for e in self.elements}
        formula = r.get("formula")
        if not isinstance(formula, str):
            formula = " ".join(f"{e}:{v:.4g}" for e, v in fr.items() if v > 0)
        row: dict[str, Any] = {
            "rank": int(r["rank"]) if "rank" in r else i + 1,
            "formula": formula,
            "mean": _num(r["mean"]),
            "std": _num(r["std"]),
            "fractions": fr,
        }
        if "candidate" in r:
            row["candidate"] = int(r["candidate"])
        if "in_domain" in r:
            row["in_domain"] = bool(r["in_domain"])
        for key in r.index:
            if str(key).startswith(_META_PREFIXES):
                row[str(key)] = _num(r[key])
        return row

    def _summary(self, shown: int) -> str:
        a = self.result.attrs
        if not shown:
            text = "no candidate passed"
        else:
            text = f"top {shown:,}"
            if len(self.result) > shown:
                text += f" (of {len(self.result):,} kept)"
        if "n_screened" in a:
            text += f" of {int(a['n_screened']):,} screened"
            if a.get("n_passed") is not None and a["n_passed"] != a["n_screened"]:
                text += f", {int(a['n_passed']):,} passed the filters"
        if a.get("objective"):
            text += f"; {a['objective']}imized"
        if a.get("interrupted"):
            text += "; interrupted, partial result"
        return text

    def _push(self, index: int) -> None:
        """Put row ``index`` on the sliders; problems go to ``error``."""
        sliders = self._sliders
        row = self.rows[index]
        fr = row["fractions"]
        missing = [e for e, v in fr.items() if v > 0 and e not in sliders.elements]
        if missing:
            self.error = (
                f"rank {row['rank']} ({row['formula']}) contains {', '.join(missing)}, which "
                f"the sliders ({', '.join(sliders.elements)}) lack"
            )
            return
        self._guard = True
        try:
            sliders.fractions = {e: float(fr.get(e, 0.0)) for e in sliders.elements}
        finally:
            self._guard = False
        got = {e: float(v) for e, v in sliders.fractions.items()}
        off = max(abs(got.get(e, 0.0) - fr.get(e, 0.0)) for e in {*fr, *got})
        if off > 1e-6:
            self.error = (
                f"rank {row['rank']} ({row['formula']}) lies outside the sliders' bounds; they "
                f"show the nearest allowed composition {getattr(sliders, 'formula', '')}"
            )
        else:
            self.error = ""

    def _match(self, fractions: Mapping[str, float]) -> int:
        for i, row in enumerate(self.rows):
            fr = row["fractions"]
            keys = {*fr, *fractions}
            if all(abs(float(fractions.get(e, 0.0)) - fr.get(e, 0.0)) <= _MATCH_TOL
                   for e in keys):
                return i
        return -1

    def _on_sliders(self, change: Any) -> None:
        if self._guard or self._sliders is None:
            return
        try:
            index = self._match(self._sliders.fractions)
        except Exception:  # noqa: BLE001 - an observer must not raise
            index = -1
        if index != self.selected:
            self._guard = True
            try:
                self.selected = index
            finally:
                self._guard = False

    @traitlets.validate("selected")
    def _valid_selected(self, proposal: dict[str, Any]) -> int:
        value = proposal["value"]
        if value < -1 or value >= len(self.rows):
            self.error = (
                f"row {value} does not exist: select 0 to {len(self.rows) - 1} "
                "(or -1 for none)" if self.rows else "the table is empty: nothing to select"
            )
            # not self.selected: inside set_state it already holds the rejected value
            return self._last_valid
        self._last_valid = int(value)
        return int(value)

    @traitlets.observe("selected")
    def _on_selected(self, change: dict[str, Any]) -> None:
        if self._guard:
            return
        # the trait, not change["new"]: inside hold_trait_notifications (set_state) the
        # notification carries the value from before validation
        index = self.selected
        if not 0 <= index < len(self.rows) or change["new"] != index:
            return
        if change["old"] == index or not -1 <= change["old"] < len(self.rows):
            return  # set_state rolling a rejected value back: keep its message
        if self._sliders is None:
            self.error = ""
            return
        try:
            self._push(index)
        except Exception as exc:  # noqa: BLE001 - show, do not raise, from an observer
            self.error = f"could not set the sliders to rank {self.rows[index]['rank']}: {exc}"
