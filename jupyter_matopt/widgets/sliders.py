"""CompositionSliders: one slider per element, coupled so that the fractions sum to 1."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from typing import Any

import anywidget
import numpy as np
import traitlets

from ..core import CompositionError, CompositionSpace, is_element, parse_composition, to_formula
from ._frontend import esm
from ._sliders_state import centre, check_step, clean_fractions, formula_of
from ._stability_panel import StabilityPanel
from ._model import Evaluator
from .rebalance import RebalanceError, feasible_fractions, rebalance, remove_element, set_subset

__all__ = ["CompositionSliders"]


class CompositionSliders(StabilityPanel, anywidget.AnyWidget):
    """Sliders for a composition whose fractions always sum to 1, with a live prediction.

    Moving one slider rebalances the free others in proportion (see
    :func:`~jupyter_matopt.widgets.rebalance.rebalance`), respecting bounds and locked
    elements. The browser does this during a drag and sends the kernel settled values only.
    The formula box is synced both ways; elements can be added and removed. With a model the
    view shows the prediction with its uncertainty, the out-of-domain flag and its reason,
    and a per-element contribution chart.

    Args:
        space_or_elements: A :class:`~jupyter_matopt.core.CompositionSpace` (bounds, fixed
            fractions and step come from it), a list of element symbols, a formula such as
            ``"Fe70Cr20Ni10"`` or a mapping of element to amount (the start composition).
        model: An optional fitted :class:`~jupyter_matopt.models.PropertyModel`.
        fractions: Start composition (defaults to the centre of the allowed region, or the
            formula given as ``space_or_elements``).
        step: Slider step for the fractions (``0`` for continuous); overrides the space's.
        stability: ``True`` or a dict of :func:`jupyter_matopt.stability` options adds a
            Stability button: the current composition's energy above the hull, on request,
            in the background, marked stale when the sliders move (see ``stability()``).
        **kwargs: Passed to ``anywidget.AnyWidget``.

    Errors from the model or from user input never escape an observer: they appear in the
    synced ``error`` trait, which the view displays.
    """

    _esm = esm("sliders")

    elements = traitlets.List(traitlets.Unicode()).tag(sync=True)
    fractions = traitlets.Dict().tag(sync=True)
    lower = traitlets.Dict().tag(sync=True)
    upper = traitlets.Dict().tag(sync=True)
    fixed = traitlets.List(traitlets.Unicode()).tag(sync=True)
    step = traitlets.Float(0.0).tag(sync=True)
    formula = traitlets.Unicode("").tag(sync=True)
    prediction = traitlets.Dict().tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    busy = traitlets.Bool(False).tag(sync=True)
    #: Raw-material price per kg and supply concentration (HHI) of the current fractions, from
    #: :func:`jupyter_matopt.economics.composition_economics` (``label`` is what the view shows).
    economics = traitlets.Dict().tag(sync=True)

    def __init__(
        self,
        space_or_elements: CompositionSpace | Sequence[str] | Mapping[str, float] | str,
        model: Any = None,
        *,
        fractions: Mapping[str, float] | str | None = None,
        step: float | None = None,
        stability: bool | Mapping[str, Any] = False,
        **kwargs: Any,
    ) -> None:
        start: dict[str, float] | None = None
        spec = space_or_elements
        lower: dict[str, float] = {}
        upper: dict[str, float] = {}
        fixed: list[str] = []
        space_step = 0.0
        if isinstance(spec, CompositionSpace):
            elements = list(spec.components)
            lower = {e: float(v) for e, v in zip(elements, spec.lower, strict=True)}
            upper = {e: float(v) for e, v in zip(elements, spec.upper, strict=True)}
            fixed = [e for e in elements if e in spec.fixed]
            space_step = float(spec.step or 0.0)
        elif isinstance(spec, (str, Mapping)):
            start = parse_composition(spec)
            elements = list(start)
        else:
            elements = [str(e).strip() for e in spec]
            if isinstance(spec, (bytes, bytearray)) or not elements:
                raise CompositionError(
                    f"CompositionSliders needs a CompositionSpace, element symbols or a formula, "
                    f"got {space_or_elements!r}"
                )
        if len(set(elements)) != len(elements):
            raise CompositionError(f"elements are given twice in {elements}")
        bad = [e for e in elements if not is_element(e)]
        if bad:
            what = "is not a chemical element" if len(bad) == 1 else "are not chemical elements"
            raise CompositionError(
                f"{', '.join(map(repr, bad))} {what}: sliders take element symbols, e.g. Fe Cr Ni"
            )
        self._evaluator = Evaluator(model) if model is not None else None
        self._model = model
        self._guard = False
        super().__init__(stability=stability, **kwargs)
        self.on_msg(self._on_custom_msg)
        if fractions is not None:
            start = parse_composition(fractions)
            missing = [e for e in start if e not in elements]
            if missing:
                raise CompositionError(
                    f"fractions name {missing}, which are not among the sliders {elements}"
                )
        self._guard = True
        try:
            with self.hold_trait_notifications():
                self.elements = elements
                self.lower = {e: lower.get(e, 0.0) for e in elements}
                self.upper = {e: upper.get(e, 1.0) for e in elements}
                self.fixed = fixed
                self.step = check_step(step) if step is not None else space_step
        finally:
            self._guard = False
        locks = {e: float(lower[e]) for e in fixed}
        if start is None:
            start = centre(elements, self.lower, self.upper, locks)
        values = {e: float(start.get(e, 0.0)) for e in elements}
        values = feasible_fractions(values, self.lower, self.upper, self._locks(values))
        self._apply(self._snap(values))

    # ------------------------------------------------------------------ public API
    @property
    def model(self) -> Any:
        """The model whose prediction is shown (``None`` for plain sliders)."""
        return self._model

    @model.setter
    def model(self, model: Any) -> None:
        self._model = model
        self._evaluator = Evaluator(model) if model is not None else None
        self._update_prediction()

    @property
    def composition(self) -> dict[str, float]:
        """The current fractions (non-zero ones), as a new dict."""
        return {e: v for e, v in self.fractions.items() if v > 0}

    def set_fraction(self, element: str, value: float) -> dict[str, float]:
        """Move one slider as a drag would: the free others rebalance to keep the sum at 1.

        Returns:
            The new fractions.

        Raises:
            RebalanceError: when ``element`` is unknown or locked, or the locks leave no
                room (the message is also put in ``error``).
        """
        try:
            new = rebalance(
                self.fractions, element, value, self.lower, self.upper, self.fixed,
                step=self.step,
            )
        except RebalanceError as exc:
            self.error = str(exc)
            raise
        self.fractions = new
        return dict(self.fractions)

    def set_composition(self, composition: Mapping[str, float] | str) -> None:
        """Set all sliders from a formula or mapping (like typing it in the formula box)."""
        self.formula = composition if isinstance(composition, str) else to_formula(
            parse_composition(composition)
        )

    def set_ratio(
        self, ratios: Mapping[str, float], *, exact: Mapping[str, float] | None = None
    ) -> dict[str, float]:
        """Put some elements in a ratio, leaving every other slider where it is.

        This is what a ternary-map click does: ``exact`` elements (the map's fixed section
        elements) are set to their values first (added as sliders if missing), then the
        elements of ``ratios`` share what the other sliders leave, in that ratio, within
        their bounds and on the grid. No slider outside ``ratios`` and ``exact`` moves.

        Args:
            ratios: Element -> non-negative weight, e.g. ``{"Bi": 0.2, "Sb": 0.2, "Te": 0.6}``.
            exact: Element -> fraction, set as given.

        Returns:
            The new fractions.

        Raises:
            CompositionError: unknown or non-element names, bad weights, or bounds that
                leave no room (the message is also put in ``error``).
        """
        try:
            exact = {str(e): float(v) for e, v in (exact or {}).items()}
            for e, v in exact.items():
                if not (math.isfinite(v) and 0.0 <= v <= 1.0):
                    raise CompositionError(f"the fraction of {e} must be in [0, 1], got {v}")
            missing = [e for e in [*ratios, *exact] if e not in self.elements]
            for e in missing:
                self._add_element(e)
            start = {**self.fractions, **exact}
            new = set_subset(start, ratios, self.lower, self.upper, step=self.step)
        except CompositionError as exc:
            self.error = str(exc)
            raise
        self.error = ""
        self._apply(new)
        return dict(self.fractions)

    def add_element(self, element: str, fraction: float = 0.0) -> None:
        """Add a slider for ``element`` (at ``fraction``, the others scaled to make room)."""
        try:
            self._add_element(element, fraction)
        except CompositionError as exc:
            self.error = str(exc)
            raise

    def remove_element(self, element: str) -> None:
        """Remove the slider of ``element``; the others are renormalized to sum to 1."""
        try:
            self._remove_element(element)
        except CompositionError as exc:
            self.error = str(exc)
            raise

    def predict_now(self) -> dict[str, Any]:
        """Recompute and return the prediction for the current fractions."""
        self._update_prediction(wait=True)
        return dict(self.prediction)

    # ------------------------------------------------------------------ internals
    def _locks(self, values: Mapping[str, float]) -> dict[str, float]:
        lo, hi = self.lower, self.upper
        out = {}
        for e in self.fixed:
            if e in values:
                v = float(values[e])
                out[e] = min(max(v, lo.get(e, 0.0)), hi.get(e, 1.0))
        return out

    def _snap(self, values: dict[str, float]) -> dict[str, float]:
        """Put feasible fractions on the step grid (a no-op move of the first free slider)."""
        if self.step <= 0:
            return values
        free = [e for e in self.elements if e not in self.fixed]
        if not free:
            return values
        try:
            snapped = rebalance(values, free[0], values[free[0]], self.lower, self.upper,
                                self.fixed, step=self.step)
        except RebalanceError:
            return values
        # a grid with no point inside the bounds (step 1, lower 0.2): stay feasible, off it
        return snapped if self._allowed(snapped) else values

    def _allowed(self, values: Mapping[str, float]) -> bool:
        """Whether ``values`` sum to 1 and lie within the bounds."""
        lo, hi = self.lower, self.upper
        inside = all(
            lo.get(e, 0.0) - 1e-9 <= v <= hi.get(e, 1.0) + 1e-9 for e, v in values.items()
        )
        return inside and abs(math.fsum(values.values()) - 1.0) <= 1e-9

    def _apply(self, fractions: Mapping[str, float], *, formula: str | None = None) -> None:
        """Set fractions and formula together, then update the prediction."""
        # one message to the view for the composition, its price line and its prediction:
        # each message is a trip through the server and the lab's widget manager
        with self.hold_sync():
            self._guard = True
            try:
                self.fractions = {e: float(fractions.get(e, 0.0)) for e in self.elements}
                self.formula = formula if formula is not None else formula_of(self.fractions)
            finally:
                self._guard = False
            self._update_economics()
            self._update_prediction()

    def _update_economics(self) -> None:
        try:
            from ..economics import composition_economics
        except ImportError:  # an older backend without the price tables
            return
        x = np.array([self.fractions.get(e, 0.0) for e in self.elements], dtype=float)
        try:
            econ = composition_economics(x, list(self.elements))
        except Exception as exc:  # noqa: BLE001 - a missing price must not stop the sliders
            econ = {"label": "", "error": f"no price/HHI: {exc}"}
        self.economics = {
            k: (v if v is None or isinstance(v, (str, int, float, bool)) else str(v))
            for k, v in dict(econ).items()
        }

    def _add_element(self, element: str, fraction: float = 0.0) -> None:
        name = str(element).strip()
        if not name:
            raise CompositionError("type an element symbol to add, e.g. Mo")
        if all(is_element(e) for e in self.elements) and not is_element(name):
            raise CompositionError(f"{name!r} is not a chemical element symbol (e.g. Mo, Ti, Al)")
        if name in self.elements:
            raise CompositionError(f"{name} is already one of the sliders")
        if not (0.0 <= fraction <= 1.0):
            raise CompositionError(f"the fraction of {name} must be in [0, 1], got {fraction}")
        values = {e: v * (1.0 - fraction) for e, v in self.fractions.items()}
        values[name] = float(fraction)
        self._guard = True
        try:
            with self.hold_sync():
                self.elements = [*self.elements, name]
                self.lower = {**self.lower, name: 0.0}
                self.upper = {**self.upper, name: 1.0}
        finally:
            self._guard = False
        self.error = ""
        self._apply(self._snap(
            feasible_fractions(values, self.lower, self.upper, self._locks(values))
        ))

    def _remove_element(self, element: str) -> None:
        if element not in self.elements:
            raise CompositionError(f"{element!r} is not one of the sliders {self.elements}")
        if len(self.elements) == 1:
            raise CompositionError(f"cannot remove {element}: it is the only element")
        rest = [e for e in self.elements if e != element]
        lower = {e: self.lower.get(e, 0.0) for e in rest}
        upper = {e: self.upper.get(e, 1.0) for e in rest}
        fixed = [e for e in self.fixed if e in rest]
        # its share goes to the free others in proportion (on the grid): an element at 0
        # stays at 0, unlike a Euclidean projection which lifts every element equally
        try:
            new = remove_element(self.fractions, element, self.lower, self.upper, fixed,
                                 step=self.step)
        except RebalanceError:
            # the locks cannot absorb the share: release them rather than refuse
            fixed = []
            new = remove_element(self.fractions, element, self.lower, self.upper, fixed,
                                 step=self.step)
        self._guard = True
        try:
            with self.hold_sync():
                self.elements = rest
                self.lower = lower
                self.upper = upper
                self.fixed = fixed
        finally:
            self._guard = False
        if not self._allowed(new):
            # no grid point inside the bounds (step 1, lower 0.2): feasible, then the grid
            new = self._snap(feasible_fractions(new, lower, upper, self._locks(new)))
        self.error = ""
        self._apply(new)

    def _update_prediction(self, *, wait: bool = False) -> None:
        """Show mean, std and domain at once; the contributions follow.

        The explanation is computed on the next turn of the kernel's event loop, and only if
        no newer composition has arrived by then (a drag sends several): what a drag waits
        for is the prediction, not TreeSHAP. Without a running loop (scripts, tests) or with
        ``wait``, everything is computed before returning.
        """
        if self._evaluator is None:
            return
        self._generation = getattr(self, "_generation", 0) + 1
        generation = self._generation
        x = np.array([self.fractions.get(e, 0.0) for e in self.elements], dtype=float)
        elements = list(self.elements)
        self.busy = True
        try:
            first = self._evaluator.quick(x, elements)
        except Exception as exc:  # noqa: BLE001 - an observer must show, not raise
            first = None
            self._fail(exc)
        if first is None:
            self._explain(generation, x, elements)
            return
        with self.hold_sync():
            self._show(first)
            self.busy = False
        if not first.get("explaining"):
            return
        loop = None
        if not wait:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
        if loop is None:
            self._explain(generation, x, elements)
        else:
            loop.call_later(0.01, self._explain, generation, x, elements)

    def _explain(self, generation: int, x: np.ndarray, elements: list[str]) -> None:
        if generation != self._generation or self._evaluator is None:
            return  # a newer composition came in: its own explanation follows
        self.busy = True
        try:
            self._show(self._evaluator.evaluate(x, elements))
        except Exception as exc:  # noqa: BLE001 - an observer must show, not raise
            self._fail(exc)
        finally:
            self.busy = False

    def _show(self, prediction: dict[str, Any]) -> None:
        # the composition it is for, so a view (or a test) can tell a new answer from an old
        self.prediction = {**prediction, "formula": self.formula}
        if prediction.get("mean") is None:
            self.error = (
                f"prediction failed: the model gives no finite value for {self.formula} "
                "(an element without descriptor data?)"
            )
        elif self.error.startswith("prediction failed"):
            self.error = ""

    def _fail(self, exc: Exception) -> None:
        self.prediction = {**self.prediction, "mean": None, "std": None}
        self.error = f"prediction failed: {exc}"
        self.busy = False

    # ------------------------------------------------------------------ observers
    @traitlets.observe("fractions")
    def _on_fractions(self, change: dict[str, Any]) -> None:
        if self._guard:
            return
        try:
            values = clean_fractions(change["new"], self.elements)
            lo, hi = self.lower, self.upper
            ok = abs(math.fsum(values.values()) - 1.0) <= 1e-6 and all(
                lo.get(e, 0.0) - 1e-9 <= v <= hi.get(e, 1.0) + 1e-9 for e, v in values.items()
            )
            if ok:
                # a settled value from the view: keep it, locked ones exactly, and put any
                # rounding residue on the largest free element
                resid = 1.0 - math.fsum(values.values())
                free = [e for e in self.elements if e not in self.fixed]
                if resid != 0.0 and free:
                    big = max(free, key=lambda e: values[e])
                    values[big] = min(max(values[big] + resid, lo.get(big, 0.0)), hi.get(big, 1.0))
            else:
                values = feasible_fractions(values, lo, hi, self._locks(change["old"] or values))
            # with a step, what arrives is put on the grid (a view or a script may send
            # 0.333 on a 1 % grid); the twin's own output is already on it
            self._apply(self._snap(values))
            if self.error and not self.error.startswith("prediction failed"):
                self.error = ""
        except Exception as exc:  # noqa: BLE001
            self._guard = True
            try:
                self.fractions = change["old"]
            finally:
                self._guard = False
            self.error = str(exc)

    @traitlets.observe("formula")
    def _on_formula(self, change: dict[str, Any]) -> None:
        if self._guard:
            return
        text = change["new"]
        try:
            parsed = parse_composition(text)
            new_elements = [e for e in parsed if e not in self.elements]
            if new_elements and all(is_element(e) for e in self.elements):
                self._guard = True
                try:
                    with self.hold_sync():
                        self.elements = [*self.elements, *new_elements]
                        self.lower = {**self.lower, **{e: 0.0 for e in new_elements}}
                        self.upper = {**self.upper, **{e: 1.0 for e in new_elements}}
                finally:
                    self._guard = False
            elif new_elements:
                raise CompositionError(f"{new_elements} are not among the sliders {self.elements}")
            values = {e: parsed.get(e, 0.0) for e in self.elements}
            # a typed formula sets every slider, locked ones included
            fitted = feasible_fractions(values, self.lower, self.upper, None)
            moved = max(abs(fitted[e] - values[e]) for e in self.elements)
            snapped = self._snap(fitted)
            on_grid = max(abs(snapped[e] - fitted[e]) for e in self.elements) <= 1e-9
            self._apply(snapped, formula=text if moved <= 1e-9 and on_grid else None)
            self.error = (
                ""
                if moved <= 1e-9
                else f"{text} lies outside the slider bounds; showing the nearest allowed "
                f"composition {self.formula}"
            )
        except Exception as exc:  # noqa: BLE001
            self.error = str(exc)

    @traitlets.observe("fixed")
    def _on_fixed(self, change: dict[str, Any]) -> None:
        if self._guard:
            return
        wanted = list(dict.fromkeys(change["new"]))
        keep = [e for e in wanted if e in self.elements]
        if keep != change["new"]:
            self._guard = True
            try:
                self.fixed = keep
            finally:
                self._guard = False
        unknown = [e for e in wanted if e not in self.elements]
        if unknown:
            self.error = f"cannot lock {unknown}: not among the sliders {self.elements}"

    @traitlets.observe("elements")
    def _on_elements(self, change: dict[str, Any]) -> None:
        if self._guard:
            return
        old, new = list(change["old"]), list(dict.fromkeys(change["new"]))
        self._guard = True
        self.elements = old
        self._guard = False
        try:
            for e in [e for e in old if e not in new]:
                self._remove_element(e)
            for e in [e for e in new if e not in old]:
                self._add_element(e)
        except CompositionError as exc:
            self.error = str(exc)

    @traitlets.observe("lower", "upper")
    def _on_bounds(self, change: dict[str, Any]) -> None:
        if self._guard:
            return
        try:
            lo = {e: float(self.lower.get(e, 0.0)) for e in self.elements}
            hi = {e: float(self.upper.get(e, 1.0)) for e in self.elements}
            bad = [e for e in self.elements if not (0.0 <= lo[e] <= hi[e] <= 1.0)]
            if bad:
                raise CompositionError(
                    f"bounds of {bad} must satisfy 0 <= lower <= upper <= 1"
                )
            values = dict(self.fractions)
            # feasible is not enough: with a step the fractions go back on its grid too
            self._apply(self._snap(feasible_fractions(values, lo, hi, self._locks(values))))
            if not self.error.startswith("prediction failed"):
                self.error = ""
        except Exception as exc:  # noqa: BLE001
            self._guard = True
            try:
                setattr(self, change["name"], change["old"])
            finally:
                self._guard = False
            self.error = str(exc)

    @traitlets.observe("step")
    def _on_step(self, change: dict[str, Any]) -> None:
        if self._guard:
            return
        try:
            check_step(change["new"])
        except CompositionError as exc:
            self._guard = True
            try:
                self.step = change["old"]
            finally:
                self._guard = False
            self.error = str(exc)
            return
        # a new grid: the fractions move onto it (sum 1, within bounds), as a drag would
        values = dict(self.fractions)
        self._apply(self._snap(
            feasible_fractions(values, self.lower, self.upper, self._locks(values))
        ))
        if not self.error.startswith("prediction failed"):
            self.error = ""

    def _on_custom_msg(self, _widget: Any, content: Any, buffers: list[Any] | None = None) -> None:
        """View actions: ``add_element``, ``remove_element``, ``set_fraction``, ``stability``."""
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        try:
            if kind == "add_element":
                self._add_element(str(content.get("element", "")))
            elif kind == "remove_element":
                self._remove_element(str(content.get("element", "")))
            elif kind == "set_fraction":
                self.set_fraction(str(content["element"]), float(content["value"]))
            elif kind == "stability":
                self.stability(wait=False)  # a background thread; the status line follows
        except Exception as exc:  # noqa: BLE001
            self.error = str(exc)

