"""TernaryMap: the predicted property (or its uncertainty) over a ternary section.

Rendering choice: an anywidget whose view draws the map on a ``<canvas>`` (filled grid
triangles, marching-triangle contours, colour bar, training points), rather than ipympl.
The kernel computes the grid once (one vectorized ``predict_fractions`` call) and sends mean
and std as float32 binary buffers (about 20 kB each at resolution 100); switching between
mean and uncertainty, hovering and redrawing then cost the browser a few milliseconds, with
no kernel round trip and no PNG re-render (ipympl redraws a ``tricontourf`` figure and ships
an image on every change, ~100-300 ms). Its state is plain synced traits, so it is tested
headless the same way as the sliders, and it needs no other front-end extension. A click
gives a composition that is pushed to linked :class:`CompositionSliders`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anywidget
import numpy as np
import traitlets

from ..core import CompositionError, is_element, parse_composition
from ._frontend import esm
from ._model import predict_grid

__all__ = ["TernaryMap", "TernaryGrid", "ternary_grid"]


@dataclass
class TernaryGrid:
    """A computed ternary map.

    Attributes:
        elements: All model inputs: the three corners, then the fixed elements.
        bary: ``(n, 3)`` barycentric coordinates over the corners (rows sum to 1).
        X: ``(n, len(elements))`` fractions given to the model (rows sum to 1).
        mean: ``(n,)`` predicted mean.
        std: ``(n,)`` predicted standard deviation.
    """

    elements: list[str]
    bary: np.ndarray
    X: np.ndarray
    mean: np.ndarray
    std: np.ndarray

    def __len__(self) -> int:
        return len(self.bary)


def ternary_grid(resolution: int) -> np.ndarray:
    """Barycentric grid ``(a, b, c)`` with ``a = i/r``, ``b = j/r``, ``i + j <= r``.

    Rows are ordered by ``i`` then ``j`` (the view relies on this order); there are
    ``(r + 1)(r + 2)/2`` of them (5,151 for ``r = 100``).
    """
    r = int(resolution)
    counts = r + 1 - np.arange(r + 1)
    i = np.repeat(np.arange(r + 1), counts)
    starts = np.cumsum(counts) - counts
    j = np.arange(len(i)) - np.repeat(starts, counts)
    a = i / r
    b = j / r
    c = np.clip((r - i - j) / r, 0.0, 1.0)
    return np.column_stack([a, b, c])


class TernaryMap(anywidget.AnyWidget):
    """Predicted property over the ternary simplex of three elements, with contours.

    Args:
        model: A fitted ``PropertyModel``.
        elements: The three corner elements ``(A, B, C)``.
        fixed: Other elements held at fixed fractions (``{"Mo": 0.02}``); the ternary then
            spans the remaining ``1 - sum(fixed)``.
        resolution: Grid divisions per edge (``100`` -> 5,151 points).
        sliders: A :class:`CompositionSliders` to link: a click sets it, and its current
            composition is marked on the map.
        dataset: Training data to overlay (default: the session's dataset, the one
            ``%matopt train`` used, when its target is the model's); points within
            ``tolerance`` of the section are shown.
        show: ``"mean"`` or ``"std"``.
        levels: Number of contour levels.
        tolerance: Largest total fraction of other elements for a training point to be drawn.
    """

    _esm = esm("ternary")

    elements = traitlets.List(traitlets.Unicode()).tag(sync=True)
    fixed = traitlets.Dict().tag(sync=True)
    resolution = traitlets.Int(100).tag(sync=True)
    mean = traitlets.Bytes(b"").tag(sync=True)
    std = traitlets.Bytes(b"").tag(sync=True)
    show = traitlets.Unicode("mean").tag(sync=True)
    levels = traitlets.Int(8).tag(sync=True)
    points: traitlets.List[Any] = traitlets.List().tag(sync=True)
    marker: traitlets.List[Any] = traitlets.List().tag(sync=True)
    selected = traitlets.Dict().tag(sync=True)
    target = traitlets.Unicode("").tag(sync=True)
    units = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    busy = traitlets.Bool(False).tag(sync=True)

    def __init__(
        self,
        model: Any,
        elements: Sequence[str] = ("A", "B", "C"),
        fixed: Mapping[str, float] | None = None,
        resolution: int = 100,
        sliders: Any = None,
        *,
        dataset: Any = None,
        show: str = "mean",
        levels: int = 8,
        tolerance: float = 0.05,
        **kwargs: Any,
    ) -> None:
        corners = [str(e).strip() for e in elements]
        if len(corners) != 3 or len(set(corners)) != 3:
            raise CompositionError(
                f"a ternary map needs three different elements, got {elements!r}"
            )
        fixed = {str(k): float(v) for k, v in (fixed or {}).items()}
        bad = [e for e in [*corners, *fixed] if not is_element(e)]
        if bad:
            raise CompositionError(f"{bad} are not chemical element symbols")
        overlap = [e for e in fixed if e in corners]
        if overlap:
            raise CompositionError(f"{overlap} cannot be both a corner and fixed")
        total = math.fsum(fixed.values())
        if any(v < 0 for v in fixed.values()) or total >= 1:
            raise CompositionError(
                f"fixed fractions must be non-negative and add up to less than 1, got {fixed}"
            )
        if not 1 <= int(resolution) <= 400:
            raise CompositionError(f"resolution must be between 1 and 400, got {resolution!r}")
        if show not in ("mean", "std"):
            raise CompositionError(f"show must be 'mean' or 'std', got {show!r}")
        super().__init__(**kwargs)
        self._model = model
        self._dataset = dataset
        self._tolerance = float(tolerance)
        self._sliders: Any = None
        self._grid: TernaryGrid | None = None
        with self.hold_sync():
            self.elements = corners
            self.fixed = fixed
            self.resolution = int(resolution)
            self.show = show
            self.levels = int(levels)
            self.target = str(getattr(model, "target_", None) or "prediction")
            self.units = str(getattr(model, "units_", None) or "")
        self.refresh()
        if sliders is not None:
            self.link(sliders)

    # ------------------------------------------------------------------ compute
    def compute(self) -> TernaryGrid:
        """Predict over the grid (one vectorized model call) and return the arrays."""
        bary = ternary_grid(self.resolution)
        corners = list(self.elements)
        fixed = dict(self.fixed)
        scale = 1.0 - math.fsum(fixed.values())
        X = np.empty((len(bary), 3 + len(fixed)))
        X[:, :3] = bary * scale
        for k, v in enumerate(fixed.values()):
            X[:, 3 + k] = v
        els = corners + list(fixed)
        mean, std = predict_grid(self._model, X, els)
        return TernaryGrid(els, bary, X, mean, std)

    def refresh(self) -> None:
        """Recompute the map and the overlay and send them to the view."""
        self.busy = True
        try:
            grid = self.compute()
            self._grid = grid
            with self.hold_sync():
                self.mean = grid.mean.astype("<f4").tobytes()
                self.std = grid.std.astype("<f4").tobytes()
                self.points = self._training_points()
                self.error = ""
        except Exception as exc:  # noqa: BLE001 - shown in the view, not only logged
            self.error = f"could not compute the map: {exc}"
        finally:
            self.busy = False

    @property
    def grid(self) -> TernaryGrid | None:
        """The last computed grid."""
        return self._grid

    def _training_points(self) -> list[list[float]]:
        data = self._dataset
        if data is None:
            # the model keeps no training rows; the session's dataset is the one %matopt
            # train fitted it on when the target matches
            from .._session import session

            ds = session().dataset
            if ds is not None and getattr(ds, "target", None) == getattr(
                self._model, "target_", object()
            ):
                data = ds
        if data is None:
            return []
        comps = getattr(data, "compositions", None)
        y = getattr(data, "y", None)
        if comps is None or y is None:
            return []
        corners = list(self.elements)
        fixed = dict(self.fixed)
        out: list[list[float]] = []
        for comp, value in zip(comps, np.asarray(y, dtype=float), strict=False):
            try:
                c = comp if isinstance(comp, Mapping) else parse_composition(comp)
            except CompositionError:
                continue
            abc = np.array([c.get(e, 0.0) for e in corners])
            share = abc.sum()
            off = math.fsum(v for e, v in c.items() if e not in corners and e not in fixed)
            off += math.fsum(abs(c.get(e, 0.0) - v) for e, v in fixed.items())
            if share <= 0 or off > self._tolerance or not np.isfinite(value):
                continue
            a, b, cc = (abc / share).tolist()
            out.append([a, b, cc, float(value)])
        return out

    # ------------------------------------------------------------------ linking
    def link(self, sliders: Any) -> TernaryMap:
        """Link :class:`CompositionSliders`: clicks set them, their composition is marked."""
        if self._sliders is not None:
            self._sliders.unobserve(self._on_sliders, names="fractions")
        self._sliders = sliders
        sliders.observe(self._on_sliders, names="fractions")
        self._on_sliders({"new": sliders.fractions})
        return self

    def _on_sliders(self, change: dict[str, Any]) -> None:
        fr = change["new"] or {}
        abc = np.array([float(fr.get(e, 0.0)) for e in self.elements])
        if abc.sum() <= 0:
            self.marker = []
        else:
            self.marker = (abc / abc.sum()).tolist()

    def composition_at(self, a: float, b: float, c: float) -> dict[str, float]:
        """The full composition (corners scaled, fixed elements added) at barycentric a, b, c."""
        abc = np.clip(np.array([a, b, c], dtype=float), 0.0, None)
        if abc.sum() <= 0:
            raise CompositionError(f"barycentric coordinates must not all be zero, got {(a, b, c)}")
        abc = abc / abc.sum()
        scale = 1.0 - math.fsum(self.fixed.values())
        out = {e: float(v * scale) for e, v in zip(self.elements, abc, strict=True)}
        out.update({e: float(v) for e, v in self.fixed.items()})
        return out

    def click(self, a: float, b: float, c: float) -> dict[str, float]:
        """Do what a click at barycentric ``(a, b, c)`` does in the view."""
        comp = self.composition_at(a, b, c)
        self.selected = comp
        return comp

    @traitlets.observe("selected")
    def _on_selected(self, change: dict[str, Any]) -> None:
        comp = change["new"]
        if not comp or self._sliders is None:
            return
        try:
            sliders = self._sliders
            missing = [e for e in comp if e not in sliders.elements and comp[e] > 0]
            for e in missing:
                sliders.add_element(e)
            sliders.set_composition({e: v for e, v in comp.items() if v > 0})
        except Exception as exc:  # noqa: BLE001
            self.error = f"could not set the sliders: {exc}"

    @traitlets.observe("resolution", "fixed", "elements")
    def _on_geometry(self, change: dict[str, Any]) -> None:
        if getattr(self, "_model", None) is None or self._grid is None:
            return  # still in __init__
        self.refresh()

    @traitlets.validate("show")
    def _valid_show(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in ("mean", "std"):
            raise traitlets.TraitError(f"show must be 'mean' or 'std', got {proposal['value']!r}")
        return str(proposal["value"])

    @traitlets.validate("resolution")
    def _valid_resolution(self, proposal: dict[str, Any]) -> int:
        r = int(proposal["value"])
        if not 1 <= r <= 400:
            raise traitlets.TraitError(f"resolution must be between 1 and 400, got {r}")
        return r
