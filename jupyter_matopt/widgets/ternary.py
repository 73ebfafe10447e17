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

__all__ = ["TernaryMap", "TernaryMapError", "TernaryGrid", "ternary_grid"]


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
        sliders: A :class:`CompositionSliders` to link: its current composition is marked
            on the map, and a click sets only the map's own elements (see
            :meth:`CompositionSliders.set_ratio`): the corners take the clicked ratio within
            the share the other sliders leave, the fixed elements their fixed values, and
            every other slider keeps its value; bounds and the grid step are respected.
        dataset: Training data to overlay (default: the session's dataset, the one
            ``%matopt train`` used, when its target is the model's); points within
            ``tolerance`` of the section are shown.
        show: ``"mean"`` or ``"std"``.
        levels: Number of contour levels.
        tolerance: Largest total fraction of other elements for a training point to be drawn.
        bounds: The allowed region to shade: a ``CompositionSpace`` or ``{element: (low,
            high)}`` in fractions; default: the linked sliders' bounds, else the session's
            space when it covers the corners.
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
    #: The allowed region: ``{corner: [low, high]}`` in the map's barycentric units (a
    #: corner's fraction divided by the share of the corners); empty when unbounded.
    region = traitlets.Dict().tag(sync=True)

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
        bounds: Any = None,
        **kwargs: Any,
    ) -> None:
        corners = _check_corners(elements)
        fixed = _check_fixed(fixed or {}, corners)
        resolution = _check_int("resolution", resolution, 1, MAX_RESOLUTION)
        levels = _check_int("levels", levels, 0, MAX_LEVELS)
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
            self.resolution = resolution
            self.show = show
            self.levels = levels
            self.target = str(getattr(model, "target_", None) or "prediction")
            self.units = str(getattr(model, "units_", None) or "")
        self._bounds = bounds
        self.refresh()
        if sliders is not None:
            self.link(sliders)
        else:
            self._update_region()

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
            self._sliders.unobserve(self._on_slider_bounds, names=["lower", "upper"])
        self._sliders = sliders
        sliders.observe(self._on_sliders, names="fractions")
        sliders.observe(self._on_slider_bounds, names=["lower", "upper"])
        self._on_sliders({"new": sliders.fractions})
        self._update_region()
        return self

    def _on_slider_bounds(self, change: dict[str, Any]) -> None:
        self._update_region()

    def _bounds_source(self) -> dict[str, tuple[float, float]]:
        """Fraction bounds of the corners: explicit, the linked sliders', or the space's."""
        src = self._bounds
        if src is None and self._sliders is not None:
            lo, hi = dict(self._sliders.lower), dict(self._sliders.upper)
            return {e: (float(lo.get(e, 0.0)), float(hi.get(e, 1.0))) for e in self.elements}
        if src is None:
            from .._session import session

            src = session().space
            if src is None or not set(self.elements) <= set(getattr(src, "components", ())):
                return {}
        if hasattr(src, "components") and hasattr(src, "lower"):
            return {
                e: (float(lo), float(hi))
                for e, lo, hi in zip(src.components, src.lower, src.upper, strict=True)
                if e in self.elements
            }
        out = {}
        for e, b in dict(src).items():
            lo, hi = b
            out[str(e)] = (float(lo), float(hi))
        return out

    def _update_region(self) -> None:
        """Send the allowed region in barycentric units (empty: the whole triangle)."""
        try:
            bounds = self._bounds_source()
        except Exception as exc:  # noqa: BLE001 - a bad bounds source only costs the shading
            self.error = f"could not read the bounds to shade: {exc}"
            return
        share = 1.0 - math.fsum(self.fixed.values())
        region = {}
        for e in self.elements:
            lo, hi = bounds.get(e, (0.0, 1.0))
            b_lo = min(max(lo / share, 0.0), 1.0)
            b_hi = min(max(hi / share, 0.0), 1.0)
            if b_lo > 1e-12 or b_hi < 1 - 1e-12:
                region[e] = [b_lo, b_hi]
        self.region = {e: region[e] for e in self.elements if e in region} if region else {}

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
            if not isinstance(comp, Mapping):
                raise CompositionError(f"a selection must map elements to fractions: {comp!r}")
            corners = list(self.elements)
            unknown = [e for e in comp if e not in corners and e not in self.fixed]
            if unknown:
                raise CompositionError(
                    f"{unknown} are neither corners {corners} nor fixed elements of this map"
                )
            ratios = {e: float(comp.get(e, 0.0)) for e in corners}
            # A click sets only the map's own elements: its corners in the clicked ratio
            # and its fixed section elements at their values. Every other slider keeps its
            # value and the corners share what is left, so a click never lifts an element
            # the map does not show (e.g. a Pb added to Bi-Sb-Te sliders stays put).
            self._sliders.set_ratio(ratios, exact=dict(self.fixed))
            if self.error.startswith("could not set the sliders"):
                self.error = ""
        except Exception as exc:  # noqa: BLE001
            self.error = f"could not set the sliders: {exc}"

    @traitlets.observe("resolution", "fixed", "elements")
    def _on_geometry(self, change: dict[str, Any]) -> None:
        if getattr(self, "_model", None) is None or self._grid is None:
            return  # still in __init__
        self.refresh()
        self._update_region()

    @traitlets.validate("show")
    def _valid_show(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in ("mean", "std"):
            raise traitlets.TraitError(f"show must be 'mean' or 'std', got {proposal['value']!r}")
        return str(proposal["value"])

    def set_state(self, sync_data: dict[str, Any]) -> None:
        """Apply state from the view; a refused value is reverted there, not raised."""
        try:
            super().set_state(sync_data)
        except TernaryMapError as exc:
            # traitlets rolled the held changes back (``error`` too): put the view back in
            # step and show the message instead of an exception in the kernel log
            self.send_state([k for k in sync_data if k in self.keys])
            self.error = str(exc)

    # Values arriving later (a script, set_state from the view) are checked the same way as
    # at construction; a refusal keeps the old value and says why in ``error`` as well.
    def _refuse(self, exc: CompositionError) -> TernaryMapError:
        self.error = str(exc)
        return TernaryMapError(str(exc))

    @traitlets.validate("resolution")
    def _valid_resolution(self, proposal: dict[str, Any]) -> int:
        try:
            return _check_int("resolution", proposal["value"], 1, MAX_RESOLUTION)
        except CompositionError as exc:
            raise self._refuse(exc) from None

    @traitlets.validate("levels")
    def _valid_levels(self, proposal: dict[str, Any]) -> int:
        try:
            return _check_int("levels", proposal["value"], 0, MAX_LEVELS)
        except CompositionError as exc:
            raise self._refuse(exc) from None

    @traitlets.validate("elements")
    def _valid_elements(self, proposal: dict[str, Any]) -> list[str]:
        try:
            corners = _check_corners(proposal["value"])
            _check_fixed(self.fixed, corners)
            return corners
        except CompositionError as exc:
            raise self._refuse(exc) from None

    @traitlets.validate("fixed")
    def _valid_fixed(self, proposal: dict[str, Any]) -> dict[str, float]:
        try:
            return _check_fixed(proposal["value"], list(self.elements))
        except CompositionError as exc:
            raise self._refuse(exc) from None


class TernaryMapError(CompositionError, traitlets.TraitError):
    """A refused TernaryMap setting (a ``CompositionError``, and a ``TraitError`` for traitlets)."""


MAX_RESOLUTION = 400
MAX_LEVELS = 50


def _check_int(name: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float, np.floating)):
        raise CompositionError(f"{name} must be a whole number from {lo} to {hi}, got {value!r}")
    if not (math.isfinite(float(value)) and float(value) == int(value) and lo <= value <= hi):
        raise CompositionError(f"{name} must be a whole number from {lo} to {hi}, got {value!r}")
    return int(value)


def _check_corners(elements: Any) -> list[str]:
    if isinstance(elements, (str, bytes)) or not isinstance(elements, Sequence):
        raise CompositionError(
            f"a ternary map needs three different elements, e.g. ('Bi', 'Sb', 'Te'), got "
            f"{elements!r}"
        )
    corners = [str(e).strip() for e in elements]
    if len(corners) != 3 or len(set(corners)) != 3:
        raise CompositionError(
            f"a ternary map needs three different elements, e.g. ('Bi', 'Sb', 'Te'), got "
            f"{list(elements)!r}"
        )
    bad = [e for e in corners if not is_element(e)]
    if bad:
        raise CompositionError(f"{bad} are not chemical element symbols")
    return corners


def _check_fixed(fixed: Any, corners: Sequence[str]) -> dict[str, float]:
    if not isinstance(fixed, Mapping):
        raise CompositionError(f"fixed must map elements to fractions, got {fixed!r}")
    out: dict[str, float] = {}
    for k, v in fixed.items():
        try:
            out[str(k).strip()] = float(v)
        except (TypeError, ValueError):
            raise CompositionError(f"the fixed fraction of {k} is not a number: {v!r}") from None
    bad = [e for e in out if not is_element(e)]
    if bad:
        raise CompositionError(f"{bad} are not chemical element symbols")
    overlap = [e for e in out if e in corners]
    if overlap:
        raise CompositionError(f"{overlap} cannot be both a corner and fixed")
    total = math.fsum(out.values())
    if any(not math.isfinite(v) or v < 0 for v in out.values()) or not total < 1:
        raise CompositionError(
            f"fixed fractions must be non-negative and add up to less than 1, got {out}"
        )
    return out
