"""Hostile values from the browser into the widgets (issue 16, finding 9 and the suite).

The slider and TernaryMap fixes are the UI helper's; this file holds them to it: a fraction of
1e30, off-grid values with a step, ``['Fe', 'Fe', 'Fe']`` corners and ``levels=-5`` are refused
with a message, and 10,000 generated ``set_state`` calls and custom messages across the
widgets never raise anything but a traitlets refusal and never leave a state that breaks the
widget's own rules (fractions summing to 1 within their bounds and on the grid, three distinct
corners, counts in range).
"""

from __future__ import annotations

import math
import random

import pytest

pytest.importorskip("anywidget")

import traitlets  # noqa: E402

from jupyter_matopt.core import CompositionError, CompositionSpace  # noqa: E402
from jupyter_matopt.optimize import Campaign  # noqa: E402
from jupyter_matopt.widgets import CampaignPanel, CompositionSliders, TernaryMap  # noqa: E402
from jupyter_matopt.widgets.campaign import MAX_SUGGEST  # noqa: E402

N_MESSAGES = 10_000
CORNERS = ["Fe", "Al", "O"]


@pytest.fixture(scope="module")
def ternary(small_model):  # type: ignore[no-untyped-def]
    return TernaryMap(small_model, CORNERS, resolution=8, levels=5)


# ------------------------------------------------------------------ the named findings
def test_a_fraction_of_1e30_is_refused_and_the_sum_stays_1() -> None:
    sliders = CompositionSliders(["Fe", "Cr", "Ni"])
    before = dict(sliders.fractions)
    sliders.set_state({"fractions": {"Fe": 1e30, "Cr": 0.0, "Ni": 0.0}})
    assert sliders.error
    assert sliders.fractions == before
    assert math.fsum(sliders.fractions.values()) == pytest.approx(1.0, abs=1e-12)


def test_off_grid_values_are_put_on_the_grid() -> None:
    sliders = CompositionSliders(CompositionSpace(["Fe", "Cr", "Ni"], step=0.01))
    sliders.set_state({"fractions": {"Fe": 0.3333, "Cr": 0.3333, "Ni": 0.3334}})
    for v in sliders.fractions.values():
        assert abs(v * 100 - round(v * 100)) < 1e-6
    assert math.fsum(sliders.fractions.values()) == pytest.approx(1.0, abs=1e-9)


def test_repeated_corners_and_negative_levels_are_refused(small_model, ternary) -> None:
    with pytest.raises(CompositionError):
        TernaryMap(small_model, ["Fe", "Fe", "Fe"])
    with pytest.raises(CompositionError):
        TernaryMap(small_model, CORNERS, levels=-5)
    ternary.set_state({"levels": -5})
    assert ternary.levels == 5 and "levels" in ternary.error
    ternary.set_state({"elements": ["Fe", "Fe", "Fe"]})
    assert ternary.elements == CORNERS and ternary.error


def test_a_step_that_does_not_divide_one_is_refused() -> None:
    sliders = CompositionSliders(["Fe", "Cr", "Ni"])
    sliders.set_state({"step": 0.333})
    assert sliders.step != 0.333 and sliders.error


def test_a_new_step_puts_the_fractions_on_its_grid() -> None:
    sliders = CompositionSliders(["Fe", "Cr", "Ni"])
    sliders.set_state({"step": 0.05})
    for v in sliders.fractions.values():
        assert abs(v / 0.05 - round(v / 0.05)) < 1e-6


def test_new_bounds_keep_the_fractions_on_the_grid() -> None:
    sliders = CompositionSliders(CompositionSpace(["Fe", "Cr", "Ni"], step=0.05))
    sliders.set_state({"upper": {"Fe": 0.333, "Cr": 1.0, "Ni": 1.0}})
    for v in sliders.fractions.values():
        assert abs(v / 0.05 - round(v / 0.05)) < 1e-6


# ------------------------------------------------------------------ 10,000 messages
JUNK = [None, True, False, -5, 0, 1, 3, 2**31, 10**100, -1e30, 1e30, math.nan, math.inf,
        0.333, -0.0, "", "Fe", "Fe1e30", "Xx", "<img src=x onerror=alert(1)>", "mean", "std",
        [], ["Fe", "Fe", "Fe"], ["Fe", "Al", "O"], ["Fe", "Cr", "Ni", "Mo"], ["Xx", "Yy", "Zz"],
        {}, {"Fe": 1e30}, {"Fe": "x"}, {"Xx": 1.0}, {"Fe": 0.5, "Cr": 0.5}, {"Fe": math.nan},
        {"Fe": 0.2, "Cr": 0.3, "Ni": 0.5}, {"Fe": -0.5, "Cr": 1.5}, {"Fe": 0.333, "Cr": 0.667},
        {"Al": 0.5}, {"O": 2.0}, [1, 2, 3], {"type": "suggest"}]
SLIDER_TRAITS = ["fractions", "formula", "elements", "fixed", "lower", "upper", "step"]
TERNARY_TRAITS = ["levels", "resolution", "elements", "fixed", "show", "selected"]
PANEL_TRAITS = ["n_suggest"]


def _check_sliders(w: CompositionSliders, *, grid: bool = True) -> None:
    els = list(w.elements)
    assert els and len(set(els)) == len(els)
    fr = w.fractions
    assert set(fr) == set(els), (els, fr)
    assert all(isinstance(v, float) and math.isfinite(v) for v in fr.values()), fr
    assert math.fsum(fr.values()) == pytest.approx(1.0, abs=1e-6), fr
    for e, v in fr.items():
        assert w.lower.get(e, 0.0) - 1e-9 <= v <= w.upper.get(e, 1.0) + 1e-9, (e, v)
    if w.step and grid:
        for v in fr.values():
            assert abs(v / w.step - round(v / w.step)) < 1e-6, (w.step, fr)
    assert 0.0 <= w.step <= 1.0


def _grid_reachable(w: CompositionSliders) -> bool:
    """Whether some point of the step grid sums to 1 within the bounds, locks where they are."""
    if not w.step:
        return True
    n = round(1 / w.step)
    lo_units = hi_units = 0
    for e in w.elements:
        lo, hi = w.lower.get(e, 0.0), w.upper.get(e, 1.0)
        if e in w.fixed:
            lo = hi = w.fractions[e]
        lo_u, hi_u = math.ceil(lo * n - 1e-9), math.floor(hi * n + 1e-9)
        if lo_u > hi_u:
            return False
        lo_units, hi_units = lo_units + lo_u, hi_units + hi_u
    return lo_units <= n <= hi_units


def _check_ternary(w: TernaryMap) -> None:
    assert len(w.elements) == 3 and len(set(w.elements)) == 3
    assert isinstance(w.levels, int) and 0 <= w.levels <= 50
    assert isinstance(w.resolution, int) and 1 <= w.resolution <= 400
    assert w.show in ("mean", "std")


def _check_panel(w: CampaignPanel) -> None:
    assert 1 <= w.n_suggest <= MAX_SUGGEST
    assert not w.busy


def test_ten_thousand_hostile_messages_leave_consistent_widgets(ternary, tmp_path) -> None:
    rng = random.Random(16)
    plain = CompositionSliders(["Fe", "Cr", "Ni"])
    gridded = CompositionSliders(
        CompositionSpace({"Fe": (0.2, 0.9), "Cr": (0.1, 0.5), "Ni": None}, step=0.05))
    camp = Campaign(CompositionSpace({"Fe": (0.5, 0.9), "Cr": (0.1, 0.5)}, step=0.05),
                    path=tmp_path / "c.json", seed=0)
    panel = CampaignPanel(camp, n_suggest=2)
    targets = [(plain, SLIDER_TRAITS, _check_sliders), (gridded, SLIDER_TRAITS, _check_sliders),
               (ternary, TERNARY_TRAITS, _check_ternary), (panel, PANEL_TRAITS, _check_panel)]
    refused = crashed = 0
    off_grid: dict[int, bool] = {}
    for i in range(N_MESSAGES):
        widget, traits, check = targets[i % len(targets)]
        value = rng.choice(JUNK)
        trait = rng.choice(traits)
        before = dict(getattr(widget, "fractions", {}))
        try:
            if rng.random() < 0.7:
                widget.set_state({trait: value})
            else:  # a custom message as the view would send it, or junk instead
                kind = rng.choice(["set_fraction", "add_element", "remove_element", "suggest",
                                   "record", "click", None, 7])
                widget._handle_custom_msg(
                    {"type": kind, "element": rng.choice(JUNK), "value": value, "n": value,
                     "values": value} if rng.random() < 0.9 else value, [])
        except traitlets.TraitError:
            refused += 1  # traitlets' own type refusal: the kernel logs it, state unchanged
        except Exception as exc:  # noqa: BLE001 - anything else is a finding
            crashed += 1
            pytest.fail(f"message {i} to {type(widget).__name__} ({value!r}): "
                        f"{type(exc).__name__}: {exc}")
        try:
            if check is _check_sliders:
                # on the grid after values, bounds or a step from the view, unless the new
                # bounds or step leave no grid point to go to (then feasible suffices)
                if trait in ("lower", "upper", "step"):
                    off_grid[id(widget)] = not _grid_reachable(widget)
                elif trait in ("fractions", "formula") and widget.fractions != before:
                    off_grid[id(widget)] = False  # accepted: must have been put on the grid
                check(widget, grid=not off_grid.get(id(widget), False))
            else:
                check(widget)
        except AssertionError as exc:
            raise AssertionError(f"after message {i} ({trait}={value!r}) to "
                                 f"{type(widget).__name__}: {exc}") from None
    assert crashed == 0
    assert refused < N_MESSAGES // 2  # most refusals are the widgets' own, shown in `error`
    assert camp.n_observations == 0 or Campaign.load(camp.path).n_observations == \
        camp.n_observations
