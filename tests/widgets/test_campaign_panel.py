"""CampaignPanel: suggestions, recording values into the campaign file, plots' data, restart."""

from __future__ import annotations

import json

import pytest

from jupyter_matopt.core import CompositionSpace
from jupyter_matopt.optimize import Campaign
from jupyter_matopt.widgets import CampaignPanel

SPACE = {"Fe": (0.5, 0.9), "Cr": (0.1, 0.3), "Ni": (0, 0.2), "Mo": 0.02}


@pytest.fixture
def campaign(tmp_path):
    space = CompositionSpace(SPACE, step=0.01)
    return Campaign(space, objective="max", seed=0, path=tmp_path / "steel.json")


def _log_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_panel_shows_suggestions_as_rows(campaign):
    panel = CampaignPanel(campaign, n_suggest=3)
    assert panel.components == ["Fe", "Cr", "Ni", "Mo"]
    assert panel.objectives == ["y"]
    assert [r["id"] for r in panel.suggestions] == [1, 2, 3]
    for row in panel.suggestions:
        assert set(row) == {"id", "formula", "inputs", "mean", "std", "acquisition"}
        assert sum(row["inputs"].values()) == pytest.approx(1.0)
        assert campaign.space.contains(row["inputs"])
    assert panel.error == "" and panel.path == str(campaign.path)
    state = panel.get_state()
    assert state["suggestions"] == panel.suggestions


def test_record_tells_the_campaign_and_writes_the_file(campaign):
    panel = CampaignPanel(campaign, n_suggest=3)
    first = panel.suggestions[0]
    # what the view sends when "Record" is pressed: typed text per row
    panel._on_custom_msg(panel, {"type": "record", "values": {"1": {"y": "1210.5"},
                                                              "2": {"y": "1300"}}})
    assert panel.error == "", panel.error
    assert campaign.n_observations == 2
    assert [r["id"] for r in panel.suggestions] == [3]
    records = [r for r in _log_lines(campaign.path) if r.get("kind") == "tell"]
    assert len(records) == 1 and len(records[0]["x"]) == 2
    assert campaign.history.iloc[0]["y"] == 1210.5
    assert campaign.history.iloc[0]["Fe"] == pytest.approx(first["inputs"]["Fe"])
    assert [h["values"]["y"] for h in panel.history] == [1210.5, 1300.0]
    assert panel.best_so_far == [1210.5, 1300.0]
    assert "recorded 2 measurements" in panel.status


def test_bad_input_is_reported_in_the_panel_and_changes_nothing(campaign):
    panel = CampaignPanel(campaign, n_suggest=2)
    size = campaign.path.stat().st_size
    panel.record({"1": "12o0"})
    assert "not a number" in panel.error
    panel.record({"9": "1"})
    assert "not a pending suggestion" in panel.error
    panel.record({})
    assert "at least one row" in panel.error
    panel._on_custom_msg(panel, {"type": "record", "values": {"1": {"y": "nan"}}})
    assert "not a number" in panel.error
    assert campaign.n_observations == 0 and campaign.path.stat().st_size == size
    assert len(panel.suggestions) == 2


def test_suggest_message_and_convergence(campaign):
    panel = CampaignPanel(campaign, n_suggest=2)
    panel.record({1: 1200.0, 2: 1100.0})
    panel._on_custom_msg(panel, {"type": "suggest", "n": 3})
    assert panel.n_suggest == 3 and len(panel.suggestions) == 3
    assert all(r["mean"]["y"] is not None and r["std"]["y"] is not None
               for r in panel.suggestions)
    ids = [r["id"] for r in panel.suggestions]
    panel.record({ids[0]: 1250.0})
    assert panel.best_so_far == [1200.0, 1200.0, 1250.0]


def test_panel_survives_a_restart_through_the_campaign_file(campaign):
    panel = CampaignPanel(campaign, n_suggest=2)
    panel.record({1: 1200.0, 2: 1300.0})
    panel.suggest(3)
    again = CampaignPanel.from_path(campaign.path, n_suggest=3)
    assert again.history == panel.history
    assert again.best_so_far == panel.best_so_far
    assert [r["formula"] for r in again.suggestions] == [r["formula"] for r in panel.suggestions]
    again.record({again.suggestions[0]["id"]: 1500.0})
    assert Campaign.load(campaign.path).n_observations == 3


def test_multi_objective_panel_has_a_pareto_front(tmp_path):
    space = CompositionSpace(SPACE, step=0.01)
    camp = Campaign(space, objective={"strength": "max", "cost": "min"}, seed=1,
                    path=tmp_path / "multi.json")
    panel = CampaignPanel(camp, n_suggest=4)
    assert panel.objectives == ["strength", "cost"]
    values = {1: {"strength": "1200", "cost": "5"}, 2: {"strength": "1300", "cost": "7"},
              3: {"strength": "1100", "cost": "8"}, 4: {"strength": "1250", "cost": "4"}}
    assert panel.record(values) == 4, panel.error
    front = sorted(map(tuple, panel.pareto))
    assert front == [(1250.0, 4.0), (1300.0, 7.0)]
    panel.record({})
    assert panel.error
    # a missing second objective is refused, naming it
    panel.suggest(1)
    rid = panel.suggestions[0]["id"]
    panel.record({rid: {"strength": "1"}})
    assert "cost is missing" in panel.error


def _own_state(widget) -> dict:
    import anywidget

    base = set(anywidget.AnyWidget.class_trait_names(sync=True))
    return {k: v for k, v in widget.get_state().items()
            if k not in base and not k.startswith("_")}


def test_get_state_set_state_round_trip(campaign):
    panel = CampaignPanel(campaign, n_suggest=3)
    panel.record({1: 1200.0})
    state = _own_state(panel)
    assert set(state) == {"components", "objectives", "suggestions", "history", "best_so_far",
                          "pareto", "n_suggest", "path", "status", "error", "busy"}
    panel.set_state(state)
    assert _own_state(panel) == state and panel.error == ""
    # the pending rows still record after the round trip
    assert panel.record({state["suggestions"][0]["id"]: "1250"}) == 1
    assert campaign.n_observations == 2


def test_reconstructed_panel_has_the_same_state(campaign):
    panel = CampaignPanel(campaign, n_suggest=2)
    panel.record({1: 1200.0, 2: 1300.0})
    panel.suggest(3)
    again = CampaignPanel.from_path(campaign.path, n_suggest=3)
    a, b = _own_state(panel), _own_state(again)
    # row ids count per panel; everything else comes from the campaign file
    strip = [{k: v for k, v in r.items() if k != "id"} for r in a.pop("suggestions")]
    assert strip == [{k: v for k, v in r.items() if k != "id"} for r in b.pop("suggestions")]
    assert a == b
