"""ScreenTable without a browser: a real screen of a real model, selection -> sliders,
sliders -> selection, errors in the ``error`` trait, get_state/set_state, comm messages."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from jupyter_matopt import CompositionSpace
from jupyter_matopt.screen import ScreenError, screen
from jupyter_matopt.widgets.screen_view import _ESM, TRAIT_KEYS, ScreenTable
from jupyter_matopt.widgets.sliders import CompositionSliders

SPACE = {"Fe": (0.6, 0.9), "Cr": (0.0, 0.25), "Ni": (0.0, 0.15), "Mo": (0.0, 0.05)}


@pytest.fixture(scope="module")
def space() -> CompositionSpace:
    return CompositionSpace(SPACE, step=0.01)


@pytest.fixture(scope="module")
def result(steel_model, space) -> pd.DataFrame:
    return screen(space, steel_model, top_k=12)


def _fractions(result: pd.DataFrame, i: int, elements: list[str]) -> dict[str, float]:
    return {e: float(result[e].iloc[i]) for e in elements}


def test_rows_mirror_the_result(result, space):
    t = ScreenTable(result)
    assert len(t.rows) == len(result) == 12 and t.selected == -1 and t.error == ""
    for row, (_, r) in zip(t.rows, result.iterrows(), strict=True):
        assert row["rank"] == r["rank"] and row["formula"] == r["formula"]
        assert row["mean"] == r["mean"] and row["std"] == r["std"]
        assert row["candidate"] == r["candidate"] and "in_domain" not in row
        assert row["fractions"] == pytest.approx({e: r[e] for e in space.components})
    assert t.summary.startswith("top 12 of ") and "screened" in t.summary
    assert t.elements == space.components


def test_selecting_a_row_sets_the_sliders(result, space, steel_model):
    sliders = CompositionSliders(space, steel_model)
    t = ScreenTable(result, sliders=sliders)
    for i in (0, 5, 11):
        t.selected = i
        assert t.error == ""
        assert sliders.fractions == pytest.approx(_fractions(result, i, space.components),
                                                  abs=1e-12)
        # the sliders' own model shows the same prediction as the screen
        assert sliders.prediction["mean"] == pytest.approx(result["mean"].iloc[i], rel=1e-9)
        assert t.selected_row["rank"] == i + 1
    assert t.select(3)["rank"] == 3 and t.selected == 2


def test_sliders_moving_update_the_selection(result, space):
    sliders = CompositionSliders(space)
    t = ScreenTable(result, sliders=sliders)
    t.selected = 4
    sliders.set_fraction("Fe", 0.75)  # off the listed compositions
    assert t.selected == -1 and t.error == ""
    sliders.fractions = _fractions(result, 7, space.components)
    assert t.selected == 7
    # without a selection, linking sliders that show a listed composition selects it
    t.selected = -1
    other = CompositionSliders(space, fractions=_fractions(result, 2, space.components))
    t.sliders = other
    assert t.selected == 2
    # with a selection, linking sliders moves them to it
    third = CompositionSliders(space)
    t.sliders = third
    assert third.fractions == pytest.approx(_fractions(result, 2, space.components))
    t.sliders = other
    sliders.set_fraction("Fe", 0.7)  # the old sliders are no longer linked
    assert t.selected == 2


def test_bad_selection_goes_to_error_not_raised(result, space):
    sliders = CompositionSliders(space)
    before = dict(sliders.fractions)
    t = ScreenTable(result, sliders=sliders)
    t.selected = 99
    assert t.selected == -1 and "row 99 does not exist" in t.error
    assert sliders.fractions == before
    t.selected = -7
    assert "row -7 does not exist" in t.error
    assert t.select(50) is None and "no row has rank 50" in t.error
    t.selected = 1  # a good selection clears the message
    assert t.error == "" and t.selected == 1


def test_rows_the_sliders_cannot_show(result):
    narrow = CompositionSliders(["Fe", "Cr", "Ni"])  # no Mo
    t = ScreenTable(result, sliders=narrow)
    with_mo = int(np.flatnonzero(result["Mo"].to_numpy() > 0)[0])
    before = dict(narrow.fractions)
    t.selected = with_mo
    assert "contains Mo, which the sliders (Fe, Cr, Ni) lack" in t.error
    assert narrow.fractions == before
    tight = CompositionSliders(CompositionSpace({"Fe": (0.95, 1.0), "Cr": (0, 0.05),
                                                 "Ni": (0, 0.05), "Mo": (0, 0.05)}))
    t.sliders = tight
    t.selected = 0
    assert "outside the sliders' bounds" in t.error
    assert tight.fractions["Fe"] >= 0.95


def test_get_state_set_state_round_trip(result, space):
    a = ScreenTable(result, sliders=CompositionSliders(space))
    a.selected = 3
    state = a.get_state()
    assert set(TRAIT_KEYS) <= set(state)
    sliders = CompositionSliders(space)
    b = ScreenTable(result, sliders=sliders)
    b.set_state({"selected": state["selected"]})  # as a click in the view arrives
    assert {k: b.get_state()[k] for k in TRAIT_KEYS} == {k: state[k] for k in TRAIT_KEYS}
    assert sliders.fractions == pytest.approx(_fractions(result, 3, space.components))
    b.set_state({"selected": 40})
    assert b.selected == 3 and "row 40 does not exist" in b.error


def test_changes_reach_the_front_end_as_comm_messages(result, monkeypatch):
    t = ScreenTable(result)
    sent = []
    monkeypatch.setattr(t.comm, "send", lambda data=None, buffers=None, **kw: sent.append(data))
    t.selected = 2
    t.selected = 100
    states = [m["state"] for m in sent if m and m.get("method") == "update"]
    merged = {k: v for s in states for k, v in s.items()}
    assert merged["selected"] == 2 and "row 100" in merged["error"]


def test_interrupted_and_empty_results(steel_model, space):
    calls = []

    def stop(done, total, message):
        calls.append(done)
        raise KeyboardInterrupt

    part = screen(space, steel_model, top_k=5, chunk_size=50, n_jobs=1, callback=stop)
    t = ScreenTable(part)
    assert "interrupted, partial result" in t.summary
    assert f"of {calls[0]:,} screened" in t.summary and calls[0] < space.grid_size()
    empty = screen(space, steel_model, top_k=5, filters={"max_std": 0.0})
    e = ScreenTable(empty)
    assert e.rows == [] and e.summary.startswith("no candidate passed")
    e.selected = 0
    assert "the table is empty" in e.error


def test_pareto_set_and_plain_frames(result, space):
    frame = pd.DataFrame({"Fe": [3.0, 1.0], "Cr": [1.0, 1.0], "mean": [2.0, np.nan],
                          "std": [0.1, 0.2], "in_domain": [True, False],
                          "objective_1": [5.0, 6.0]})
    t = ScreenTable(frame)
    assert [r["rank"] for r in t.rows] == [1, 2]
    assert [r["in_domain"] for r in t.rows] == [True, False]
    assert [r["objective_1"] for r in t.rows] == [5.0, 6.0] and t.elements == ["Fe", "Cr"]
    assert t.rows[0]["fractions"] == {"Fe": 0.75, "Cr": 0.25}
    assert t.rows[1]["mean"] is None  # NaN is not valid JSON
    assert t.summary == "top 2"
    short = ScreenTable(result, max_rows=4)
    assert len(short.rows) == 4 and "(of 12 kept)" in short.summary


@pytest.mark.parametrize("bad, message", [
    ("Fe0.5Cr0.5", "needs the DataFrame returned by screen"),
    (pd.DataFrame({"mean": [1.0], "std": [0.1]}), "no element columns"),
])
def test_bad_input(bad, message):
    with pytest.raises(ScreenError, match=message):
        ScreenTable(bad)


def test_bad_options(result):
    with pytest.raises(ScreenError, match="max_rows must be a positive integer"):
        ScreenTable(result, max_rows=0)
    with pytest.raises(ScreenError, match="sliders must be a CompositionSliders"):
        ScreenTable(result, sliders="Fe")


def test_view_uses_the_synced_traits():
    # the inline ESM reads and writes exactly these traits (Python/JS parity)
    used = set(re.findall(r"model\.(?:get|set)\(\"(\w+)\"", _ESM))
    used |= set(re.findall(r"\"(\w+)\"", _ESM.split("for (const name of [")[-1].split("]")[0]))
    assert used == set(TRAIT_KEYS)
    assert set(TRAIT_KEYS) <= set(ScreenTable.class_trait_names(sync=True))
    assert "export default" in _ESM and "innerHTML" not in _ESM
