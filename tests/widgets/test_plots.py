"""Model insight figures and the progress-bar wrapper."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from jupyter_matopt.core import SYMBOLS, CompositionError  # noqa: E402
from jupyter_matopt.widgets import (  # noqa: E402
    convergence_plot,
    element_coverage,
    pareto_plot,
    parity_plot,
    periodic_table_heatmap,
    tqdm_callback,
)
from jupyter_matopt.widgets.plots import best_so_far, table_position  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _parity_frame(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.normal(1400, 200, n)
    return pd.DataFrame({"y_true": y, "y_pred": y + rng.normal(0, 50, n),
                         "y_std": np.abs(rng.normal(50, 10, n)), "fold": np.arange(n) % 5})


def test_parity_plot_draws_points_error_bars_and_metrics():
    frame = _parity_frame()
    fig = parity_plot(frame, units="MPa", target="yield strength")
    ax = fig.axes[0]
    assert "MAE" in ax.get_title() and "R²" in ax.get_title()
    assert ax.get_xlabel() == "measured yield strength (MPa)"
    # one errorbar container per fold, each with its vertical bars
    containers = [c for c in ax.containers if c.has_yerr]
    assert len(containers) == 5
    n_points = sum(len(c.lines[0].get_xdata()) for c in containers)
    assert n_points == len(frame)


def test_parity_plot_draws_on_a_given_axes_and_accepts_a_report_object():
    class Report:
        parity = _parity_frame(20)
        units = "eV"
        target = "gap"

    fig, ax = plt.subplots()
    assert parity_plot(Report(), ax=ax, show_std=False) is fig
    assert ax.get_ylabel() == "predicted gap (eV)"


def test_parity_plot_rejects_wrong_input():
    with pytest.raises(TypeError, match="CVReport"):
        parity_plot([1, 2, 3])
    with pytest.raises(ValueError, match="y_pred"):
        parity_plot(pd.DataFrame({"y_true": [1.0]}))


def test_periodic_table_positions_are_unique_and_standard():
    pos = {s: table_position(s) for s in SYMBOLS}
    assert len(set(pos.values())) == 118
    assert pos["H"] == (0, 0) and pos["He"] == (0, 17) and pos["Fe"] == (3, 7)
    assert pos["Hf"] == (5, 3) and pos["La"] == (8, 2) and pos["Lr"] == (9, 16)
    assert pos["Og"] == (6, 17)


def test_periodic_table_heatmap_colours_given_elements():
    fig = periodic_table_heatmap({"Fe": 10.0, "Cr": 3.0, "Ni": 1.0}, title="importance",
                                 colorbar_label="mean |SHAP|")
    ax = fig.axes[0]
    assert ax.get_title() == "importance"
    assert len(ax.patches) == 118
    texts = [t.get_text() for t in ax.texts]
    assert "Fe" in texts and "10" in texts
    fig = periodic_table_heatmap({"Fe": 10.0, "O": 1000.0}, log=True)
    with pytest.raises(CompositionError, match="not element symbols"):
        periodic_table_heatmap({"Xx": 1.0})


def test_element_coverage_counts_compositions(data_dir):
    from jupyter_matopt.data import load_dataset

    ds = load_dataset("matbench_steels", data_dir=data_dir)
    cov = element_coverage(ds)
    assert cov["Fe"] == len(ds)
    assert set(cov) <= {"Al", "C", "Co", "Cr", "Fe", "Mn", "Mo", "N", "Nb", "Ni", "Si", "Ti",
                        "V", "W"}
    assert list(cov) == sorted(cov, key=lambda e: SYMBOLS.index(e))
    assert element_coverage(["Fe2O3", "FeO", {"Cu": 1.0}]) == {"O": 2, "Fe": 2, "Cu": 1}
    fig = periodic_table_heatmap(cov, title="coverage")
    assert fig.axes


def test_convergence_and_pareto_plots():
    assert best_so_far([3, 1, 4, 1, 5]).tolist() == [3, 3, 4, 4, 5]
    assert best_so_far([3, 1, 4], maximize=False).tolist() == [3, 1, 1]
    assert np.isnan(best_so_far([np.nan, 2.0])[0])
    fig = convergence_plot([3, 1, 4, 1, 5], label="strength")
    assert fig.axes[0].get_ylabel() == "strength"
    pts = pd.DataFrame({"a": [1, 2, 3], "b": [3, 1, 2]})
    fig = pareto_plot(pts, pts.iloc[[0, 1]], x="a", y="b")
    assert fig.axes[0].get_xlabel() == "a"


def test_tqdm_callback_follows_backend_progress(monkeypatch):
    import tqdm.auto

    seen = []

    class FakeBar:
        def __init__(self, total=None, desc="", leave=False, **kw):
            self.total, self.n, self.closed, self.post = total, 0, False, ""
            seen.append(self)

        def set_postfix_str(self, s, refresh=True):
            self.post = s

        def refresh(self):
            pass

        def close(self):
            self.closed = True

    monkeypatch.setattr(tqdm.auto, "tqdm", FakeBar)
    with tqdm_callback("cv") as cb:
        for i in range(1, 6):
            cb(i, 5, f"fold {i}")
    (bar,) = seen
    assert bar.n == 5 and bar.total == 5 and bar.post == "fold 5" and bar.closed
