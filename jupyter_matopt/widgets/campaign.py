"""CampaignPanel: suggestions, measured values, ``tell``, convergence and Pareto plots."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import anywidget
import pandas as pd
import traitlets

from ..core import to_formula
from ._frontend import esm
from .plots import best_so_far

__all__ = ["CampaignPanel"]


class CampaignInputError(ValueError):
    """A measured value typed into the panel that cannot be recorded."""


#: Most suggestions asked for at once (the view's count box stops at the same number); every
#: number that arrives from the browser is checked against a bound before the kernel acts.
MAX_SUGGEST = 100
#: Longest text accepted as one measured value.
MAX_VALUE_CHARS = 100


def _count(n: Any) -> int:
    """``n`` as a suggestion count in 1..MAX_SUGGEST, or CampaignInputError."""
    if isinstance(n, bool) or not isinstance(n, (int, float)) or (
        isinstance(n, float) and not (math.isfinite(n) and n.is_integer())
    ):
        raise CampaignInputError(
            f"the number of suggestions must be a whole number from 1 to {MAX_SUGGEST}, "
            f"got {n!r}")
    if not 1 <= n <= MAX_SUGGEST:
        raise CampaignInputError(
            f"the number of suggestions must be from 1 to {MAX_SUGGEST}, got {int(n)}")
    return int(n)


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


class CampaignPanel(anywidget.AnyWidget):
    """A view over a :class:`~jupyter_matopt.optimize.Campaign`.

    Shows the next suggestions as a table with one box per row and objective for the
    measured value; "Record" ``tell``s the campaign the rows that have values (the campaign
    appends them to its file at once), "Suggest" asks for more. The convergence plot shows
    the best value so far by iteration, and the Pareto plot the non-dominated measurements of
    a multi-objective campaign. All state lives in the campaign and its file, so after a
    kernel restart ``CampaignPanel.from_path(path)`` shows the same campaign.

    Args:
        campaign: The campaign.
        n_suggest: How many suggestions to ask for at a time.
        suggest: Ask for suggestions now when the campaign has none pending.
    """

    _esm = esm("campaign")

    components = traitlets.List(traitlets.Unicode()).tag(sync=True)
    objectives = traitlets.List(traitlets.Unicode()).tag(sync=True)
    suggestions: traitlets.List[Any] = traitlets.List().tag(sync=True)
    history: traitlets.List[Any] = traitlets.List().tag(sync=True)
    best_so_far: traitlets.List[Any] = traitlets.List().tag(sync=True)
    pareto: traitlets.List[Any] = traitlets.List().tag(sync=True)
    n_suggest = traitlets.Int(5).tag(sync=True)
    path = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    busy = traitlets.Bool(False).tag(sync=True)

    def __init__(self, campaign: Any, *, n_suggest: int = 5, suggest: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.campaign = campaign
        self._rows: dict[int, Any] = {}  # row id -> composition as Campaign.tell takes it
        self._next_id = 1
        self.on_msg(self._on_custom_msg)
        with self.hold_sync():
            self.n_suggest = _count(n_suggest)
            self.components = list(_components(campaign))
            self.objectives = list(_objectives(campaign))
            self.path = str(getattr(campaign, "path", "") or "")
        self.refresh()
        if suggest:
            # suggestions depend only on the seed and the measurements, so after a restart
            # this shows the same rows as before it
            self.suggest(self.n_suggest)

    @classmethod
    def from_path(cls, path: str | os.PathLike[str], **kwargs: Any) -> CampaignPanel:
        """Reopen a campaign from its file (e.g. after a kernel restart) and show it."""
        from pathlib import Path

        from ..optimize import Campaign

        return cls(Campaign.load(Path(path)), **kwargs)

    # ------------------------------------------------------------------ actions
    def suggest(self, n: int | None = None) -> pd.DataFrame | None:
        """Ask the campaign for ``n`` suggestions and show them (errors go to ``error``)."""
        self.busy = True
        try:
            n = _count(n if n is not None else self.n_suggest)
            frame = self.campaign.suggest(n)
            self.n_suggest = n  # the view's count box shows how many rows it asked for
            self._show(frame)
            self.status = f"{len(frame)} suggestion{'s' if len(frame) != 1 else ''}"
            self.error = ""
            return frame
        except Exception as exc:  # noqa: BLE001 - shown in the panel, not only logged
            self.error = f"could not suggest: {exc}"
            return None
        finally:
            self.busy = False

    def record(self, values: Mapping[Any, Any]) -> int:
        """Tell the campaign measured values of suggested rows.

        Args:
            values: Row id (as shown in the ``#`` column) -> value, or -> ``{objective:
                value}`` for several objectives. Text is parsed as a number. Rows missing
                here stay pending.

        Returns:
            The number of rows recorded (0 when the input was rejected; the reason is in
            ``error``).
        """
        self.busy = True
        try:
            comps, ys, ids = self._parse(values)
            if not ids:
                raise CampaignInputError("type a measured value in at least one row first")
            y: Any = ys if len(self.objectives) > 1 else [v[0] for v in ys]
            self.campaign.tell(comps, y)
            for i in ids:
                self._rows.pop(i, None)
            self.suggestions = [r for r in self.suggestions if r["id"] not in ids]
            self.refresh()
            self.status = f"recorded {len(ids)} measurement{'s' if len(ids) != 1 else ''}" + (
                f" in {self.path}" if self.path else ""
            )
            self.error = ""
            return len(ids)
        except Exception as exc:  # noqa: BLE001
            self.error = f"not recorded: {exc}"
            return 0
        finally:
            self.busy = False

    def refresh(self) -> None:
        """Re-read history, best-so-far and Pareto front from the campaign."""
        try:
            hist = _history(self.campaign)
            objs = list(self.objectives)
            rows = []
            elemental = _is_elemental(self.campaign)
            for k, (_, r) in enumerate(hist.iterrows(), start=1):
                comp = {c: float(r[c]) for c in self.components if c in r and _num(r[c])}
                rows.append({
                    "iteration": k,
                    "formula": _formula(comp) if elemental else _label(None, comp),
                    "values": {o: _num(r.get(o)) for o in objs},
                })
            maximize = _maximize(self.campaign, objs)
            first = objs[0] if objs else None
            best = []
            if first is not None and first in hist.columns and len(hist):
                b = best_so_far(hist[first].to_numpy(float), maximize=maximize[0])
                best = [_num(v) for v in b]
            front: list[list[float]] = []
            if len(objs) >= 2 and len(hist):
                try:
                    p = self.campaign.pareto()
                    front = [[float(a), float(b)] for a, b in
                             zip(p[objs[0]], p[objs[1]], strict=True) if _num(a) is not None]
                except Exception:  # noqa: BLE001 - the front is a nicety; keep the rest
                    front = []
            with self.hold_sync():
                self.history = rows
                self.best_so_far = best
                self.pareto = front
        except Exception as exc:  # noqa: BLE001
            self.error = f"could not read the campaign history: {exc}"

    # ------------------------------------------------------------------ internals
    def _show(self, frame: pd.DataFrame) -> None:
        objs = list(self.objectives)
        cols = list(self.components)
        try:
            tellable = list(frame.compositions)  # what Campaign.tell takes back, per row
        except Exception:  # noqa: BLE001 - a plain DataFrame: rebuild the dicts
            tellable = [{c: float(r[c]) for c in cols if c in r} for _, r in frame.iterrows()]
        rows = []
        for (_, r), item in zip(frame.iterrows(), tellable, strict=False):
            inputs = {c: float(r[c]) for c in cols if c in r and _num(r[c]) is not None}
            rid = self._next_id
            self._next_id += 1
            self._rows[rid] = item
            mean, std = _pred(r, objs)
            rows.append({
                "id": rid,
                "formula": _label(item, inputs),
                "inputs": inputs,
                "mean": mean,
                "std": std,
                "acquisition": _num(r.get("acquisition")),
            })
        self.suggestions = rows

    def _parse(self, values: Mapping[Any, Any]) -> tuple[list[Any], list[list[float]], list[int]]:
        if not isinstance(values, Mapping):
            raise CampaignInputError(f"expected row id -> value, got {values!r}")
        objs = list(self.objectives) or ["value"]
        comps, ys, ids = [], [], []
        for key, raw in values.items():
            try:
                rid = int(key)
            except (TypeError, ValueError):
                raise CampaignInputError(f"{key!r} is not a row number") from None
            if rid not in self._rows:
                raise CampaignInputError(f"row {rid} is not a pending suggestion")
            per = raw if isinstance(raw, Mapping) else {objs[0]: raw}
            row = []
            for o in objs:
                text = per.get(o)
                if isinstance(text, str) and len(text) > MAX_VALUE_CHARS:
                    raise CampaignInputError(f"row {rid}: the measured {o} is not a number "
                                             f"({len(text)} characters)")
                if text is None or (isinstance(text, str) and not text.strip()):
                    raise CampaignInputError(f"row {rid}: the measured {o} is missing")
                v = _num(text.strip().replace(",", ".") if isinstance(text, str) else text)
                if v is None:
                    raise CampaignInputError(
                        f"row {rid}: {text!r} is not a number (type e.g. 1234.5)"
                    )
                row.append(v)
            item = self._rows[rid]
            comps.append(dict(item) if isinstance(item, Mapping) else item)
            ys.append(row)
            ids.append(rid)
        return comps, ys, ids

    def _on_custom_msg(self, _widget: Any, content: Any, buffers: Any = None) -> None:
        if not isinstance(content, dict):
            return
        try:
            if content.get("type") == "record":
                self.record(content.get("values") or {})
            elif content.get("type") == "suggest":
                n = content.get("n")
                self.suggest(self.n_suggest if n is None else n)
        except Exception as exc:  # noqa: BLE001
            self.error = str(exc)

    @traitlets.validate("n_suggest")
    def _valid_n_suggest(self, proposal: Any) -> int:
        try:
            return _count(proposal["value"])
        except CampaignInputError as exc:
            raise traitlets.TraitError(str(exc)) from None

    def set_state(self, sync_data: Any) -> None:
        """Apply state from the browser; a refused value shows in ``error`` (never raises)."""
        try:
            super().set_state(sync_data)
        except traitlets.TraitError as exc:
            self.error = str(exc)
            # the view shows the value it sent: send back what the kernel kept
            self.send_state(key=[k for k in sync_data if k in self.keys])


def _formula(comp: Mapping[str, float]) -> str:
    pos = {k: v for k, v in comp.items() if v > 0}
    try:
        return to_formula(pos) if pos else ""
    except Exception:  # noqa: BLE001 - components that are not elements
        return " ".join(f"{k}={v:.4g}" for k, v in comp.items())


def _label(item: Any, inputs: Mapping[str, float]) -> str:
    if isinstance(item, str):
        return item
    return " ".join(f"{k}={v:.4g}" for k, v in inputs.items() if v != 0)


def _components(campaign: Any) -> list[str]:
    """Inputs shown per row: the components, then the conditions the campaign searches."""
    comps = list(getattr(campaign, "components", []) or [])
    spec = getattr(campaign, "condition_spec", None)
    if spec is not None:
        return comps + spec.varied()
    return comps + list(getattr(campaign, "conditions", []) or [])


def _objectives(campaign: Any) -> list[str]:
    return [str(o) for o in campaign.objectives]


def _maximize(campaign: Any, objs: list[str]) -> list[bool]:
    return [str(d).lower() == "max" for d in campaign.directions] or [True]


def _is_elemental(campaign: Any) -> bool:
    space = getattr(campaign, "space", None)
    return bool(space is not None and space.is_elemental)


def _history(campaign: Any) -> pd.DataFrame:
    hist = campaign.history
    return hist if isinstance(hist, pd.DataFrame) else pd.DataFrame(hist)


def _pred(row: pd.Series, objs: list[str]
          ) -> tuple[dict[str, float | None], dict[str, float | None]]:
    mean: dict[str, float | None] = {}
    std: dict[str, float | None] = {}
    for o in objs:
        if len(objs) == 1:
            mean[o] = _num(row.get("mean", row.get(f"mean_{o}")))
            std[o] = _num(row.get("std", row.get(f"std_{o}")))
        else:
            mean[o] = _num(row.get(f"mean_{o}"))
            std[o] = _num(row.get(f"std_{o}"))
    return mean, std

