"""Widgets over a real fitted model: live prediction, errors, ternary map, parity plot."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jupyter_matopt.core import CompositionSpace, to_formula
from jupyter_matopt.widgets import CompositionSliders, TernaryMap
from jupyter_matopt.widgets.rebalance import rebalance
from jupyter_matopt.widgets.ternary import ternary_grid

ELEMENTS = ["Fe", "Cr", "Ni", "Mo", "Co", "Mn", "Si", "Ti", "Al", "C"]
START = {"Fe": 0.7, "Cr": 0.08, "Ni": 0.1, "Mo": 0.03, "Co": 0.06, "Mn": 0.005, "Si": 0.005,
         "Ti": 0.01, "Al": 0.005, "C": 0.005}


def _expected(model, fractions):
    """What the sliders must show, from the public model API on the formula."""
    formula = to_formula({e: v for e, v in fractions.items() if v > 0}, decimals=12)
    mean, std, dom = model.predict([formula], return_std=True, return_domain=True)
    exp = model.explain(formula)
    return float(mean[0]), float(std[0]), bool(dom["in_domain"][0]), exp


def test_prediction_follows_the_sliders(steel_model):
    w = CompositionSliders(ELEMENTS, model=steel_model, fractions=START)
    p = w.prediction
    assert set(p) >= {"mean", "std", "units", "target", "in_domain", "reason", "contributions"}
    assert p["units"] == "MPa" and p["target"] == "yield strength"
    mean, std, in_domain, exp = _expected(steel_model, w.fractions)
    assert p["mean"] == pytest.approx(mean, rel=1e-6)
    assert p["std"] == pytest.approx(std, rel=1e-6)
    assert p["in_domain"] is in_domain
    contrib = p["contributions"]
    assert set(ELEMENTS) <= set(contrib)
    assert sum(contrib.values()) == pytest.approx(p["mean"] - exp.base_value, abs=1e-6 * 2000)
    assert w.busy is False and w.error == ""


def test_prediction_equals_predict_after_1000_rapid_updates(steel_model):
    w = CompositionSliders(ELEMENTS, model=steel_model, fractions=START)
    rng = np.random.default_rng(3)
    fr = dict(w.fractions)
    for _ in range(1000):
        el = ELEMENTS[int(rng.integers(1, len(ELEMENTS)))]
        fr = rebalance(fr, el, float(rng.uniform(0, 0.12)), w.lower, w.upper, w.fixed)
        w.set_state({"fractions": fr})  # what the view sends, as fast as it comes
    assert w.fractions == pytest.approx(fr, abs=1e-15)
    mean, std, in_domain, exp = _expected(steel_model, w.fractions)
    assert w.prediction["mean"] == pytest.approx(mean, rel=1e-6)
    assert w.prediction["std"] == pytest.approx(std, rel=1e-6)
    assert w.prediction["in_domain"] is in_domain
    per = exp.per_element
    for e in ELEMENTS:
        assert w.prediction["contributions"][e] == pytest.approx(float(per[e]), abs=1e-6)
    assert w.busy is False


def test_out_of_domain_flag_and_reason(steel_model):
    w = CompositionSliders(["Fe", "Cr", "Ni"], model=steel_model)
    w.formula = "Fe30Cr40Ni30"  # far from any steel in the data
    assert w.prediction["in_domain"] is False
    assert "far from the training data" in w.prediction["reason"]
    w.formula = "Fe0.62Ni0.18Co0.09Mo0.05Ti0.015Cr0.003Al0.002"
    assert w.prediction["mean"] is not None


def test_model_errors_land_in_the_error_trait(steel_model, monkeypatch):
    w = CompositionSliders(["Fe", "Cr", "Ni"], model=steel_model)

    def broken(*args, **kwargs):
        raise RuntimeError("booster exploded")

    monkeypatch.setattr(steel_model, "explain_fractions", broken)
    w.set_fraction("Fe", 0.8)  # no exception escapes the observer
    assert w.error == "prediction failed: booster exploded"
    assert w.prediction["mean"] is None and w.busy is False
    monkeypatch.undo()
    w.set_fraction("Fe", 0.7)
    assert w.error == "" and w.prediction["mean"] is not None


def test_sliders_on_a_space_with_a_model(steel_model):
    space = CompositionSpace({"Fe": (0.6, 0.8), "Ni": (0.05, 0.2), "Co": (0, 0.15),
                              "Mo": 0.04, "Ti": (0, 0.02)}, step=0.005)
    w = CompositionSliders(space, model=steel_model)
    for v in (0.62, 0.8, 0.7):
        w.set_fraction("Fe", v)
        assert space.contains(w.fractions)
        assert w.prediction["mean"] == pytest.approx(_expected(steel_model, w.fractions)[0],
                                                     rel=1e-6)


# ------------------------------------------------------------------ ternary
def test_ternary_compute_sizes_and_values(steel_model):
    tm = TernaryMap(steel_model, elements=("Fe", "Ni", "Co"), fixed={"Mo": 0.05, "Ti": 0.01},
                    resolution=100)
    grid = tm.compute()
    assert len(grid) == 5151 and grid.X.shape == (5151, 5)
    assert grid.elements == ["Fe", "Ni", "Co", "Mo", "Ti"]
    np.testing.assert_allclose(grid.X.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(grid.X[:, 3], 0.05)
    np.testing.assert_allclose(grid.bary, ternary_grid(100))
    mean, std = steel_model.predict_fractions(grid.X, grid.elements, return_std=True)
    np.testing.assert_array_equal(grid.mean, mean)
    np.testing.assert_array_equal(grid.std, std)
    # what the view receives: float32 little-endian buffers of the same values
    state = tm.get_state()
    np.testing.assert_allclose(np.frombuffer(state["mean"], "<f4"), mean, rtol=1e-6)
    np.testing.assert_allclose(np.frombuffer(state["std"], "<f4"), std, rtol=1e-6)
    assert state["resolution"] == 100 and state["error"] == ""
    # spot check a few grid points against the formula path
    for i in (0, 777, 5150):
        f = to_formula({e: v for e, v in zip(grid.elements, grid.X[i], strict=True) if v > 0},
                       decimals=12)
        assert steel_model.predict([f])[0] == pytest.approx(mean[i], rel=1e-6)


def test_ternary_training_points_and_resolution_change(steel_model, steels):
    tm = TernaryMap(steel_model, elements=("Fe", "Ni", "Co"), resolution=20, dataset=steels,
                    tolerance=0.25)
    assert len(tm.mean) == 4 * 231
    pts = tm.points
    assert pts and all(len(p) == 4 and abs(sum(p[:3]) - 1) < 1e-9 for p in pts)
    assert min(p[3] for p in pts) >= steels.y.min()
    tm.resolution = 10
    assert len(np.frombuffer(tm.mean, "<f4")) == 66


def test_ternary_click_sets_linked_sliders_and_marks_them(steel_model):
    sliders = CompositionSliders(["Fe", "Ni", "Co"], model=steel_model)
    tm = TernaryMap(steel_model, elements=("Fe", "Ni", "Co"), fixed={"Mo": 0.05},
                    resolution=10, sliders=sliders)
    assert tm.marker == pytest.approx([1 / 3, 1 / 3, 1 / 3])
    comp = tm.click(0.7, 0.2, 0.1)
    assert comp == pytest.approx({"Fe": 0.665, "Ni": 0.19, "Co": 0.095, "Mo": 0.05})
    assert sliders.elements == ["Fe", "Ni", "Co", "Mo"]
    assert sliders.fractions == pytest.approx(comp)
    assert tm.marker == pytest.approx([0.7, 0.2, 0.1])
    # what the view sends on a click
    tm.set_state({"selected": {"Fe": 0.475, "Ni": 0.475, "Co": 0.0, "Mo": 0.05}})
    assert sliders.fractions["Co"] == 0.0 and sliders.fractions["Fe"] == pytest.approx(0.475)
    assert sliders.prediction["mean"] == pytest.approx(
        float(steel_model.predict(["Fe0.475Ni0.475Mo0.05"])[0]), rel=1e-6)


def test_ternary_link_method_and_bad_input(steel_model):
    from jupyter_matopt.core import CompositionError

    tm = TernaryMap(steel_model, elements=("Fe", "Ni", "Co"), resolution=5)
    sliders = CompositionSliders("Fe80Ni20")
    assert tm.link(sliders) is tm
    assert tm.marker == pytest.approx([0.8, 0.2, 0.0])
    with pytest.raises(CompositionError, match="three different"):
        TernaryMap(steel_model, elements=("Fe", "Fe", "Co"))
    with pytest.raises(CompositionError, match="less than 1"):
        TernaryMap(steel_model, elements=("Fe", "Ni", "Co"), fixed={"Mo": 1.0})
    with pytest.raises(CompositionError, match="both a corner and fixed"):
        TernaryMap(steel_model, elements=("Fe", "Ni", "Co"), fixed={"Fe": 0.1})


def test_ternary_model_failure_is_shown(steel_model, monkeypatch):
    tm = TernaryMap(steel_model, elements=("Fe", "Ni", "Co"), resolution=5)

    def broken(*a, **k):
        raise ValueError("no features for Zz")

    monkeypatch.setattr(steel_model, "predict_fractions", broken)
    tm.refresh()
    assert tm.error == "could not compute the map: no features for Zz" and tm.busy is False


# ------------------------------------------------------------------ parity plot
def test_parity_plot_from_a_real_cross_validation(steel_model, steels):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from jupyter_matopt.models import PropertyModel
    from jupyter_matopt.widgets import parity_plot

    sub = steels.subset(np.arange(90))
    model = PropertyModel(n_ensemble=2, seed=0, params={"n_estimators": 20}, calibrate=False)
    report = model.cross_validate(sub, protocol="random", n_splits=3)
    fig = parity_plot(report)
    ax = fig.axes[0]
    assert "MPa" in ax.get_xlabel()
    n = sum(len(c.lines[0].get_xdata()) for c in ax.containers)
    assert n == len(report.parity) == 90
    plt.close(fig)


def test_ternary_overlays_the_session_dataset_by_default(steel_model, steels):
    from jupyter_matopt import session

    st = session()
    old = st.dataset
    try:
        st.dataset = None
        assert TernaryMap(steel_model, elements=("Fe", "Ni", "Co"), resolution=4,
                          tolerance=0.25).points == []
        st.dataset = steels
        tm = TernaryMap(steel_model, elements=("Fe", "Ni", "Co"), resolution=4, tolerance=0.25)
        assert len(tm.points) > 0
    finally:
        st.dataset = old


def test_a_non_finite_prediction_is_explained(steel_model):
    w = CompositionSliders(["Fe", "Ni"], model=steel_model)
    w.add_element("Og", 0.1)  # no Magpie data for oganesson
    assert w.prediction["mean"] is None
    assert w.error.startswith("prediction failed: ") and "Og" in w.error
    w.remove_element("Og")
    assert w.error == "" and w.prediction["mean"] is not None


def _own_state(widget) -> dict:
    """The widget's own synced state (what its TS module lists in TRAITS)."""
    import anywidget

    base = set(anywidget.AnyWidget.class_trait_names(sync=True))
    state = widget.get_state()
    return {k: v for k, v in state.items() if k not in base and not k.startswith("_")}


def test_ternary_get_state_set_state_round_trip(steel_model):
    a = TernaryMap(steel_model, elements=("Fe", "Ni", "Co"), fixed={"Mo": 0.05}, resolution=8,
                   show="std", levels=5)
    state = _own_state(a)
    assert set(state) == {"elements", "fixed", "resolution", "mean", "std", "show", "levels",
                          "points", "marker", "selected", "target", "units", "error", "busy",
                          "region"}
    assert len(np.frombuffer(state["mean"], "<f4")) == 45
    # a view (or a restored notebook) sending this state gives the same map
    b = TernaryMap(steel_model, elements=("Fe", "Cr", "Ni"), resolution=4)
    b.set_state(state)
    assert _own_state(b) == state
    assert b.grid is not None and b.grid.elements == ["Fe", "Ni", "Co", "Mo"]
    # and setting a widget's own state on it changes nothing
    a.set_state(state)
    assert _own_state(a) == state
    # what the view writes: `show` and `selected`; a bad value is refused, not applied
    b.set_state({"show": "mean"})
    assert b.show == "mean"
    import traitlets

    with pytest.raises(traitlets.TraitError):
        b.set_state({"show": "median"})
    assert b.show == "mean"


def test_sliders_refuse_non_element_names():
    from jupyter_matopt.core import CompositionError

    with pytest.raises(CompositionError, match="'Qq' is not a chemical element"):
        CompositionSliders(["Fe", "Qq"])
    with pytest.raises(CompositionError, match="not chemical elements"):
        CompositionSliders(CompositionSpace({"Fe": None, "Foo": None, "Bar": None}))


def test_ternary_click_sets_only_its_own_elements(steel_model):
    # sliders holding elements the map does not show: a click must not lift them
    sliders = CompositionSliders(
        CompositionSpace({"Fe": (0, 1), "Ni": (0, 0.6), "Co": (0, 1), "Cr": (0, 0.3),
                          "Mn": (0, 0.3)}, step=0.01), model=steel_model)
    sliders.formula = "Fe0.6Ni0.1Co0.1Cr0.2"
    tm = TernaryMap(steel_model, elements=("Fe", "Ni", "Co"), resolution=5, sliders=sliders)
    tm.set_state({"selected": {"Fe": 0.05, "Ni": 0.9, "Co": 0.05}})
    fr = sliders.fractions
    assert fr["Mn"] == 0.0 and fr["Cr"] == pytest.approx(0.2)
    assert fr["Ni"] == pytest.approx(0.6)  # its upper bound: the rest goes to Fe and Co
    assert set(sliders.elements) == {"Fe", "Ni", "Co", "Cr", "Mn"}
    assert all(abs(v * 100 - round(v * 100)) < 1e-9 for v in fr.values())
    assert sum(round(v * 100) for v in fr.values()) == 100
    assert tm.error == ""
    # a selection naming an element the map does not hold is refused, sliders unchanged
    before = dict(sliders.fractions)
    tm.set_state({"selected": {"Pu": 1.0}})
    assert "neither corners" in tm.error and sliders.fractions == before


def test_ternary_refuses_repeated_corners_and_bad_levels(steel_model):
    from jupyter_matopt.core import CompositionError
    from jupyter_matopt.widgets.ternary import TernaryMapError

    with pytest.raises(CompositionError, match="three different"):
        TernaryMap(steel_model, elements=["Fe", "Fe", "Fe"])
    with pytest.raises(CompositionError, match="levels must be a whole number from 0 to 50"):
        TernaryMap(steel_model, elements=("Fe", "Ni", "Co"), levels=-5)
    tm = TernaryMap(steel_model, elements=("Fe", "Ni", "Co"), resolution=5)
    with pytest.raises(TernaryMapError):
        tm.levels = -5
    assert tm.levels == 8 and "levels" in tm.error
    # from the view: refused, reverted, explained; no exception escapes
    tm.set_state({"elements": ["Fe", "Fe", "Fe"], "levels": 3})
    assert tm.elements == ["Fe", "Ni", "Co"] and tm.levels == 8
    assert "three different" in tm.error
    tm.set_state({"fixed": {"Mo": 2.0}})
    assert tm.fixed == {} and "less than 1" in tm.error
    tm.set_state({"levels": 4})
    assert tm.levels == 4


def test_contributions_form_a_waterfall_without_elements_at_zero(steel_model):
    from jupyter_matopt.widgets._model import ABSENT

    w = CompositionSliders(["Fe", "Cr", "Ni", "Co"], model=steel_model)
    w.formula = "Fe0.7Cr0.2Ni0.1"
    p = w.prediction
    assert w.fractions["Co"] == 0.0
    assert "Co" not in p["contributions"] and p["absent"] == ["Co"]
    assert ABSENT in p["contributions"]
    assert set(p["contributions"]) == {"Fe", "Cr", "Ni", ABSENT}
    # from the stated base value, the bars end exactly at the prediction
    total = p["base_value"] + math.fsum(p["contributions"].values())
    assert total == pytest.approx(p["explained_value"], rel=1e-9, abs=1e-9)
    assert p["explained_value"] == pytest.approx(p["mean"], rel=1e-9)
    exp = steel_model.explain_fractions(np.array([0.7, 0.2, 0.1, 0.0]), ["Fe", "Cr", "Ni", "Co"])
    assert p["base_value"] == pytest.approx(exp.base_value)


def test_ternary_region_follows_the_bounds(steel_model):
    space = CompositionSpace({"Fe": (0.5, 0.9), "Ni": (0, 0.3), "Co": (0, 1)}, step=0.01)
    sliders = CompositionSliders(space)
    tm = TernaryMap(steel_model, elements=("Fe", "Ni", "Co"), resolution=5, sliders=sliders)
    assert tm.region == {"Fe": [0.5, 0.9], "Ni": [0.0, 0.3]}
    sliders.set_state({"upper": {"Fe": 0.8, "Ni": 0.3, "Co": 1.0}})
    assert tm.region["Fe"] == [0.5, 0.8]
    # with fixed section elements the bounds are in units of the corners' share
    tm2 = TernaryMap(steel_model, elements=("Fe", "Ni", "Co"), fixed={"Mo": 0.2},
                     resolution=5, bounds={"Fe": (0.4, 0.6)})
    assert tm2.region == {"Fe": [pytest.approx(0.5), pytest.approx(0.75)]}
    assert "region" in tm2.get_state()
    assert TernaryMap(steel_model, elements=("Fe", "Ni", "Co"), resolution=5).region == {}


def test_prediction_first_then_contributions_once_the_drag_settles(steel_model):
    import asyncio

    w = CompositionSliders(["Fe", "Cr", "Ni"], model=steel_model)
    calls = []
    real = w._evaluator.evaluate
    w._evaluator.evaluate = lambda x, els: (calls.append(list(x)), real(x, els))[1]

    async def drag() -> None:
        w.set_fraction("Fe", 0.61)
        w.set_fraction("Fe", 0.63)  # a newer composition before the explanation ran
        # the prediction is there at once, the contributions are pending
        assert w.prediction["explaining"] is True and "contributions" not in w.prediction
        assert w.prediction["mean"] == pytest.approx(
            float(steel_model.predict([to_formula(w.fractions)])[0]), rel=1e-6)
        assert w.busy is False
        for _ in range(100):
            await asyncio.sleep(0.01)
            if "contributions" in w.prediction:
                break

    asyncio.run(drag())
    assert "contributions" in w.prediction and not w.prediction.get("explaining")
    assert len(calls) == 1 and calls[0][0] == pytest.approx(0.63)  # the stale one skipped
    total = w.prediction["base_value"] + math.fsum(w.prediction["contributions"].values())
    assert total == pytest.approx(w.prediction["mean"], rel=1e-9)
