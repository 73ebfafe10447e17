"""Numbers from the browser reaching CampaignPanel are bounded (issue 16, finding 4).

``{"type": "suggest", "n": 1000}`` from the view used to run for minutes; every count is now
checked (1..MAX_SUGGEST, whole numbers) before the campaign is asked, and a refusal shows in
the panel's ``error`` trait.
"""

from __future__ import annotations

import math

import pytest

pytest.importorskip("anywidget")

from jupyter_matopt.core import CompositionSpace  # noqa: E402
from jupyter_matopt.optimize import Campaign  # noqa: E402
from jupyter_matopt.widgets import CampaignPanel  # noqa: E402
from jupyter_matopt.widgets.campaign import MAX_SUGGEST  # noqa: E402

HOSTILE_N = [10**9, 1000, MAX_SUGGEST + 1, 0, -5, 1.5, math.nan, math.inf, -math.inf, True,
             "5", "1e400", [3], {"n": 3}, 10**400]


class _Spy:
    """The campaign, recording the counts it is asked for (a huge one would hang)."""

    def __init__(self, campaign: Campaign) -> None:
        self._campaign = campaign
        self.asked: list[int] = []

    def suggest(self, n: int, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.asked.append(n)
        if n > MAX_SUGGEST:
            raise AssertionError(f"the panel asked for {n} suggestions")
        return self._campaign.suggest(n, *args, **kwargs)

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._campaign, name)


@pytest.fixture
def panel(tmp_path):
    space = CompositionSpace({"Fe": (0.5, 0.9), "Cr": (0.1, 0.5)}, step=0.05)
    spy = _Spy(Campaign(space, seed=0, path=tmp_path / "c.json"))
    return CampaignPanel(spy, n_suggest=2, suggest=False)


@pytest.mark.parametrize("n", HOSTILE_N, ids=repr)
def test_suggest_message_with_a_hostile_count_is_refused(panel, n) -> None:
    panel._on_custom_msg(panel, {"type": "suggest", "n": n})
    assert panel.campaign.asked == []
    assert "number of suggestions" in panel.error
    assert panel.n_suggest == 2 and not panel.busy


def test_a_sane_count_still_suggests(panel) -> None:
    panel._on_custom_msg(panel, {"type": "suggest", "n": 3.0})
    assert panel.campaign.asked == [3] and len(panel.suggestions) == 3
    assert panel.error == "" and panel.n_suggest == 3
    panel._on_custom_msg(panel, {"type": "suggest"})  # no n: the count box's value
    assert panel.campaign.asked == [3, 3]


@pytest.mark.parametrize("n", [10**9, 0, -1, 2.5])
def test_set_state_from_the_browser_is_bounded(panel, n) -> None:
    panel.set_state({"n_suggest": n})
    assert panel.n_suggest == 2
    assert "number of suggestions" in panel.error or "n_suggest" in panel.error
    panel._on_custom_msg(panel, {"type": "suggest"})
    assert panel.campaign.asked == [2]


def test_python_api_refuses_out_of_range_counts(panel) -> None:
    assert panel.suggest(10**6) is None
    assert "number of suggestions" in panel.error and panel.campaign.asked == []
    with pytest.raises(ValueError, match="number of suggestions"):
        CampaignPanel(panel.campaign, n_suggest=10**6, suggest=False)


def test_huge_measured_text_is_refused_without_recording(panel) -> None:
    panel.suggest(1)
    rid = panel.suggestions[0]["id"]
    for value in ["1" * 10**6, "nan", "inf", None, [1.0], {"y": "x" * 500}]:
        panel._on_custom_msg(panel, {"type": "record", "values": {str(rid): value}})
        assert panel.error.startswith("not recorded"), value
    assert len(panel.campaign.history) == 0
