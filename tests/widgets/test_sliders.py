"""CompositionSliders without a model: state round trips, invariants, formula box, elements."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_matopt.core import CompositionSpace
from jupyter_matopt.widgets import CompositionSliders
from jupyter_matopt.widgets.rebalance import RebalanceError


def assert_valid(w: CompositionSliders, tol: float = 1e-9) -> None:
    fr = w.fractions
    assert list(fr) == list(w.elements)
    assert abs(math.fsum(fr.values()) - 1.0) <= tol, fr
    for e, v in fr.items():
        assert w.lower[e] - tol <= v <= w.upper[e] + tol, (e, v)


def test_initial_state_is_the_centre_and_valid():
    w = CompositionSliders(["Fe", "Cr", "Ni"])
    assert w.fractions == pytest.approx({"Fe": 1 / 3, "Cr": 1 / 3, "Ni": 1 / 3})
    assert w.formula == "Fe0.3333Cr0.3333Ni0.3333"
    assert w.error == "" and w.busy is False and w.prediction == {}
    assert_valid(w)


def test_space_gives_bounds_locks_and_step():
    space = CompositionSpace({"Fe": (0.5, 0.9), "Cr": (0.1, 0.3), "Ni": (0, 0.2), "Mo": 0.02},
                             step=0.01)
    w = CompositionSliders(space)
    assert w.elements == ["Fe", "Cr", "Ni", "Mo"]
    assert w.fixed == ["Mo"] and w.step == pytest.approx(0.01)
    assert w.lower["Fe"] == 0.5 and w.upper["Cr"] == 0.3
    assert_valid(w)
    assert space.contains(w.fractions)
    w.set_fraction("Fe", 0.9)
    assert w.fractions["Mo"] == 0.02 and space.contains(w.fractions)


def test_get_state_set_state_round_trip():
    a = CompositionSliders(["Fe", "Cr", "Ni"], step=0.0)
    a.set_fraction("Fe", 0.6)
    a.fixed = ["Ni"]
    state = a.get_state()
    for key in ("elements", "fractions", "lower", "upper", "fixed", "step", "formula",
                "prediction", "error", "busy"):
        assert key in state
    b = CompositionSliders(["Fe", "Cr", "Ni"])
    b.set_state({k: state[k] for k in ("fixed", "fractions")})
    assert b.fractions == pytest.approx(a.fractions)
    assert b.formula == a.formula and b.fixed == ["Ni"]
    assert b.get_state()["fractions"] == pytest.approx(state["fractions"])


def test_front_end_fraction_messages_are_repaired_not_trusted():
    w = CompositionSliders(["Fe", "Cr", "Ni"])
    w.set_state({"fractions": {"Fe": 0.9, "Cr": 0.9, "Ni": 0.5}})
    assert_valid(w)
    w.set_state({"fractions": {"Fe": "x", "Cr": 0.5, "Ni": 0.5}})
    assert "not a number" in w.error
    assert_valid(w)
    w.set_state({"fractions": {"Fe": 0.5, "Xx": 0.5}})
    assert "not among the sliders" in w.error
    assert_valid(w)


@st.composite
def slider_moves(draw):
    return draw(st.lists(st.tuples(st.integers(0, 5), st.floats(-0.2, 1.2, allow_nan=False)),
                         min_size=1, max_size=25))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(slider_moves(), st.sampled_from([0.0, 0.01, 0.05]), st.booleans())
def test_any_sequence_of_moves_keeps_sum_and_bounds(moves, step, lock):
    space = CompositionSpace({"Fe": (0.3, 0.9), "Cr": (0.05, 0.3), "Ni": (0, 0.25),
                              "Mo": (0, 0.1), "Mn": None})
    w = CompositionSliders(space, step=step)
    if lock:
        w.fixed = ["Mo"]
    locked = dict(w.fractions)
    for idx, value in moves:
        el = w.elements[idx % len(w.elements)]
        if idx % 2 == 0:  # python API
            try:
                w.set_fraction(el, value)
            except RebalanceError:
                assert el in w.fixed
                continue
        else:  # what the view sends: fractions computed by the TS twin of rebalance
            from jupyter_matopt.widgets.rebalance import rebalance

            try:
                new = rebalance(w.fractions, el, value, w.lower, w.upper, w.fixed, step=w.step)
            except RebalanceError:
                continue
            w.set_state({"fractions": new})
        assert_valid(w)
        if lock:
            assert w.fractions["Mo"] == locked["Mo"]
        if step:
            for v in w.fractions.values():
                assert abs(v / step - round(v / step)) < 1e-6


def test_formula_box_both_ways():
    w = CompositionSliders(["Fe", "Cr", "Ni"])
    w.formula = "Fe70Cr20Ni10"
    assert w.fractions == pytest.approx({"Fe": 0.7, "Cr": 0.2, "Ni": 0.1})
    assert w.error == ""
    w.set_fraction("Cr", 0.3)
    assert w.formula == "Fe0.6125Cr0.3Ni0.0875"
    w.set_state({"formula": "Fe50Cr50"})
    assert w.fractions == pytest.approx({"Fe": 0.5, "Cr": 0.5, "Ni": 0.0})


def test_invalid_formula_shows_error_and_keeps_sliders():
    w = CompositionSliders(["Fe", "Cr", "Ni"])
    before = dict(w.fractions)
    w.formula = "Fe70Qq30"
    assert "unknown element 'Qq'" in w.error
    assert w.fractions == before
    w.formula = "Fe70Cr30"
    assert w.error == ""


def test_formula_outside_bounds_is_projected_with_a_note():
    w = CompositionSliders(CompositionSpace({"Fe": (0.5, 0.9), "Cr": (0.1, 0.5)}))
    w.formula = "Fe95Cr5"
    assert w.fractions == pytest.approx({"Fe": 0.9, "Cr": 0.1})
    assert "outside the slider bounds" in w.error


def test_formula_with_new_elements_adds_sliders():
    w = CompositionSliders(["Fe", "Cr"])
    w.formula = "Fe70Cr20Ni10"
    assert w.elements == ["Fe", "Cr", "Ni"]
    assert w.fractions["Ni"] == pytest.approx(0.1)


def test_add_and_remove_elements():
    w = CompositionSliders("Fe70Cr20Ni10")
    w.add_element("Mo", 0.1)
    assert w.elements == ["Fe", "Cr", "Ni", "Mo"]
    assert w.fractions == pytest.approx({"Fe": 0.63, "Cr": 0.18, "Ni": 0.09, "Mo": 0.1})
    w.remove_element("Fe")
    assert w.elements == ["Cr", "Ni", "Mo"]
    assert w.fractions == pytest.approx({"Cr": 0.18 / 0.37, "Ni": 0.09 / 0.37, "Mo": 0.1 / 0.37})
    assert_valid(w)
    with pytest.raises(ValueError):
        w.add_element("Qq")
    assert "not a chemical element" in w.error


def test_view_messages_add_remove_and_report_errors():
    w = CompositionSliders(["Fe", "Cr"])
    w._on_custom_msg(w, {"type": "add_element", "element": "Ni"})
    assert w.elements == ["Fe", "Cr", "Ni"] and w.error == ""
    w._on_custom_msg(w, {"type": "add_element", "element": "Ni"})
    assert "already" in w.error
    w._on_custom_msg(w, {"type": "remove_element", "element": "Cr"})
    assert w.elements == ["Fe", "Ni"]
    assert_valid(w)
    w._on_custom_msg(w, {"type": "remove_element", "element": "Ni"})
    w._on_custom_msg(w, {"type": "remove_element", "element": "Fe"})
    assert "only element" in w.error and w.elements == ["Fe"]
    assert w.fractions == {"Fe": 1.0}


def test_elements_trait_from_the_view_adds_and_removes():
    w = CompositionSliders(["Fe", "Cr"])
    w.set_state({"elements": ["Fe", "Ni"]})
    assert w.elements == ["Fe", "Ni"]
    assert_valid(w)


def test_locked_element_cannot_move():
    w = CompositionSliders(["Fe", "Cr", "Ni"])
    w.set_state({"fixed": ["Ni"]})
    with pytest.raises(RebalanceError):
        w.set_fraction("Ni", 0.5)
    assert "locked" in w.error
    w.set_state({"fixed": ["Ni", "Zz"]})
    assert w.fixed == ["Ni"] and "cannot lock" in w.error


def test_bad_bounds_from_the_view_are_refused():
    w = CompositionSliders(["Fe", "Cr"])
    w.set_state({"lower": {"Fe": 0.8, "Cr": 0.5}})
    assert "no composition fits" in w.error
    assert w.lower == {"Fe": 0.0, "Cr": 0.0}
    w.set_state({"lower": {"Fe": 0.6, "Cr": 0.0}})
    assert w.fractions["Fe"] >= 0.6 and w.error == ""


def test_changes_reach_the_front_end_as_comm_messages(monkeypatch):
    w = CompositionSliders(["Fe", "Cr", "Ni"])
    sent = []
    monkeypatch.setattr(w.comm, "send", lambda data=None, buffers=None, **kw: sent.append(data))
    w.set_fraction("Fe", 0.5)
    states = [m["state"] for m in sent if m and m.get("method") == "update"]
    merged = {k: v for s in states for k, v in s.items()}
    assert merged["fractions"] == pytest.approx(w.fractions)
    assert merged["formula"] == w.formula


def test_removing_an_element_spreads_its_share_without_lifting_zeros():
    # the reported case: removing Se at 41 % on a 1 % grid raised Pb and Bi from 0 to 10 %
    space = CompositionSpace({"Bi": (0, 0.45), "Sb": (0, 0.45), "Te": (0.2, 0.65),
                              "Se": (0, 0.5), "Pb": (0, 0.2)}, step=0.01)
    w = CompositionSliders(space)
    w.formula = "Bi0.2Sb0.1Te0.29Se0.41"
    assert w.fractions["Pb"] == 0.0 and w.fractions["Se"] == pytest.approx(0.41)
    w.remove_element("Se")
    assert w.elements == ["Bi", "Sb", "Te", "Pb"]
    assert w.fractions["Pb"] == 0.0
    units = {e: round(v * 100) for e, v in w.fractions.items()}
    assert units == {"Bi": 34, "Sb": 17, "Te": 49, "Pb": 0}
    assert all(abs(v * 100 - round(v * 100)) < 1e-9 for v in w.fractions.values())
    assert sum(units.values()) == 100
    assert_valid(w)


def test_hostile_fraction_values_are_refused_and_nothing_is_lost():
    w = CompositionSliders(["Fe", "Cr", "Ni"], step=0.01)
    w.set_fraction("Fe", 0.5)
    before = dict(w.fractions)
    for bad in ({"Fe": 1e30}, {"Fe": 1e308, "Cr": 1e308}, {"Fe": -3.0}, {"Fe": float("inf")}):
        w.error = ""
        w.set_state({"fractions": bad})
        assert w.error, bad
        assert w.fractions == before
    w.fractions = {"Fe": 1e30}
    assert "between 0 and 1" in w.error and w.fractions == before
    assert math.fsum(w.fractions.values()) == pytest.approx(1.0, abs=1e-12)


def test_off_grid_values_are_put_on_the_grid():
    w = CompositionSliders(["Fe", "Cr", "Ni"], step=0.01)
    w.set_state({"fractions": {"Fe": 0.3333, "Cr": 0.3333, "Ni": 0.3334}})
    assert_valid(w)
    assert all(abs(v * 100 - round(v * 100)) < 1e-9 for v in w.fractions.values())
    assert sum(round(v * 100) for v in w.fractions.values()) == 100
    w.formula = "Fe0.333Cr0.333Ni0.334"
    assert all(abs(v * 100 - round(v * 100)) < 1e-9 for v in w.fractions.values())
    assert w.formula != "Fe0.333Cr0.333Ni0.334"  # the box shows what the sliders hold


def test_set_ratio_moves_only_the_named_elements():
    space = CompositionSpace({"Bi": (0, 0.45), "Sb": (0, 0.45), "Te": (0.55, 0.65),
                              "Pb": (0, 0.1), "Pu": (0, 0.1)}, step=0.01)
    w = CompositionSliders(space)
    w.formula = "Bi0.2Sb0.1Te0.6Pb0.05Pu0.05"
    w.set_ratio({"Bi": 0.3, "Sb": 0.0, "Te": 0.7})
    assert w.fractions["Pb"] == 0.05 and w.fractions["Pu"] == 0.05
    assert w.fractions["Bi"] == pytest.approx(0.27) and w.fractions["Te"] == pytest.approx(0.63)
    assert w.fractions["Sb"] == 0.0
    assert_valid(w)


def test_price_and_supply_risk_follow_the_sliders():
    pytest.importorskip("jupyter_matopt.economics", reason="economics module not present")
    w = CompositionSliders(["Bi", "Sb", "Te"], step=0.01)
    first = dict(w.economics)
    assert first["label"].startswith("$") and "/kg" in first["label"] and "HHI" in first["label"]
    w.set_fraction("Te", 0.9)
    assert w.economics["cost_per_kg"] != first["cost_per_kg"]
    assert "economics" in w.get_state()
    # an element without price data is named, the sliders keep working
    w.add_element("Pu", 0.1)
    assert "Pu" in (w.economics.get("error") or "") and w.error == ""


@pytest.mark.parametrize("step", [0.333, -0.1, 1.5, math.nan])
def test_a_bad_step_is_refused_in_the_constructor(step):
    from jupyter_matopt.core import CompositionError

    with pytest.raises(CompositionError, match="step"):
        CompositionSliders(["Fe", "Cr", "Ni"], step=step)
    assert issubclass(CompositionError, ValueError)


def test_a_step_change_snaps_and_a_refused_one_keeps_everything():
    w = CompositionSliders(["Fe", "Cr", "Ni"], fractions={"Fe": 0.62, "Cr": 0.27, "Ni": 0.11},
                           step=0.01)
    w.set_state({"step": 0.1})
    assert w.step == 0.1 and not w.error
    assert_valid(w)
    assert all(abs(v * 10 - round(v * 10)) < 1e-9 for v in w.fractions.values()), w.fractions
    before = dict(w.fractions)
    w.set_state({"step": 0.3})
    assert w.step == 0.1 and "1/step" in w.error and "0.3" in w.error
    assert w.fractions == before


def test_a_grid_without_a_point_inside_the_bounds_keeps_the_fractions_feasible():
    # step 1 puts everything on one element, which lower bounds of 0.2 and 0.1 forbid
    w = CompositionSliders(CompositionSpace({"Fe": (0.2, 0.9), "Cr": (0.1, 0.5), "Ni": None},
                                            step=0.05))
    w.set_state({"step": 1.0})
    assert w.step == 1.0
    assert_valid(w)
    w.remove_element("Ni")
    assert_valid(w)
