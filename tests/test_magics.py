"""``%matopt`` through a real IPython ``InteractiveShell`` whose errors raise.

Every command goes through ``shell.run_cell`` exactly as a notebook cell would, and
``result.raise_error()`` turns what the user would see as an error into an exception here.
The whole loop runs on real data: load, train, cv, predict, explain, sliders, ternary,
structure, space, suggest, tell, campaign, screen, status and help.
"""

from __future__ import annotations

import math
import sys

import matplotlib  # noqa: E402
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from IPython.core.error import UsageError  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

import jupyter_matopt as mo  # noqa: E402
from jupyter_matopt._session import Session  # noqa: E402
from jupyter_matopt.widgets import ScreenTable  # noqa: E402

STATE = ("dataset", "model", "cv_report", "space", "campaign", "suggestions", "sliders",
         "screen_result")
FAST = "--n-ensemble 2 --n-estimators 40"
SPACE = "Fe=0.5:0.9 Cr=0.1:0.3 Ni=0:0.2 Mo=0.02 --step 0.01"


def the_session() -> Session:
    return mo.session()


def _new_shell() -> InteractiveShell:
    from traitlets.config import Config

    InteractiveShell.clear_instance()
    cfg = Config()
    cfg.HistoryManager.enabled = False  # no sqlite file in the home folder
    shell = InteractiveShell.instance(config=cfg)
    result = shell.run_cell("%load_ext jupyter_matopt", store_history=False)
    result.raise_error()
    return shell


@pytest.fixture
def shell():
    the_session().reset()
    sh = _new_shell()
    yield sh
    the_session().reset()
    InteractiveShell.clear_instance()


def run(shell: InteractiveShell, line: str):
    """Run ``%matopt <line>`` as a cell; errors raise; returns the cell's value."""
    result = shell.run_cell(f"%matopt {line}", store_history=False)
    result.raise_error()
    return result.result


def usage_error(shell: InteractiveShell, line: str, capsys) -> str:
    """Run a line that must fail; check the user sees one line and no traceback."""
    capsys.readouterr()
    result = shell.run_cell(f"%matopt {line}", store_history=False)
    out = capsys.readouterr()
    assert isinstance(result.error_in_exec, UsageError), (line, result.error_in_exec)
    shown = [ln for ln in (out.out + out.err).splitlines() if ln.strip()]
    assert len(shown) == 1 and shown[0].startswith("UsageError: "), shown
    assert "Traceback" not in out.out + out.err
    with pytest.raises(UsageError) as info:
        result.raise_error()
    message = str(info.value)
    assert "\n" not in message and message == shown[0][len("UsageError: "):]
    return message


def snapshot() -> dict[str, object]:
    st = the_session()
    return {name: getattr(st, name) for name in STATE}


def assert_unchanged(before: dict[str, object]) -> None:
    after = snapshot()
    for name in STATE:
        assert after[name] is before[name], f"session.{name} changed by a failed command"


# ------------------------------------------------------------------ a trained model, once
@pytest.fixture(scope="module")
def steel_run(data_dir):
    """`%matopt load matbench_steels` + `%matopt train` in their own shell (trained once)."""
    the_session().reset()
    sh = _new_shell()
    ds = run(sh, f"load matbench_steels --data-dir {data_dir}")
    result = sh.run_cell(f"%matopt train {FAST}", store_history=False)
    result.raise_error()
    model = result.result
    st = the_session()
    assert st.dataset is ds and st.model is model
    the_session().reset()
    InteractiveShell.clear_instance()
    return ds, model


@pytest.fixture
def steels_shell(shell, steel_run):
    """A fresh shell whose session holds the steels dataset and the trained model."""
    st = the_session()
    st.dataset, st.model = steel_run
    return shell


def formula(fractions: dict[str, float]) -> str:
    return mo.to_formula({e: v for e, v in fractions.items() if v > 0}, decimals=12)


# ------------------------------------------------------------------ extension and session
def test_load_ext_registers_the_magic_and_shares_the_session(shell):
    assert "matopt" in shell.magics_manager.magics["line"]
    from jupyter_matopt import magics

    assert magics.session() is the_session() is mo.session()
    ds = run(shell, "load expt_formation_enthalpy")
    assert mo.session().dataset is ds
    # what the Python API puts in the session is what the magics use
    other = mo.load_dataset("expt_formation_enthalpy", target="formation_enthalpy_per_fu")
    mo.session().dataset = other
    assert run(shell, "status") is None
    assert the_session().dataset is other


def test_loading_twice_keeps_one_magic(shell):
    shell.run_cell("%reload_ext jupyter_matopt").raise_error()
    run(shell, "list")


# ------------------------------------------------------------------ load
def test_load_embedded_dataset_needs_no_data_dir(shell, capsys):
    ds = run(shell, "load expt_formation_enthalpy")
    assert isinstance(ds, mo.Dataset)
    assert len(ds) == 2135 and ds.target == "formation_enthalpy" and ds.units == "eV/atom"
    ds2 = run(shell, "load expt_formation_enthalpy --target formation_enthalpy_per_fu --sample 50")
    assert len(ds2) == 50 and ds2.target == "formation_enthalpy_per_fu"
    assert the_session().dataset is ds2
    frame = run(shell, "list")
    assert "expt_formation_enthalpy" in set(frame["name"])


def test_load_csv_path(shell, tmp_path, data_dir):
    steels = mo.load_dataset("matbench_steels", data_dir=data_dir)
    path = tmp_path / "my alloys.csv"  # a space: the magic line is split like a shell's
    pd.DataFrame({"formula": list(steels.compositions[:40]),
                  "strength": np.asarray(steels.y[:40], float)}).to_csv(path, index=False)
    ds = run(shell, f'load "{path}" --target strength --units MPa')
    assert len(ds) == 40 and ds.target == "strength" and ds.units == "MPa"
    assert list(ds.compositions) == list(steels.compositions[:40])
    assert the_session().dataset is ds


def test_load_registered_dataset_from_a_data_dir(steel_run, data_dir):
    ds, model = steel_run
    assert ds.name == "matbench_steels" and len(ds) == 312 and ds.units == "MPa"
    assert isinstance(model, mo.PropertyModel) and model.target_ == "yield strength"
    assert model.n_ensemble == 2 and model.params == {"n_estimators": 40}


def test_train_prints_what_it_fitted_and_resets_cv(shell, capsys):
    run(shell, "load expt_formation_enthalpy --sample 120")
    the_session().cv_report = "old"
    capsys.readouterr()
    model = run(shell, f"train {FAST} --seed 3")
    out = capsys.readouterr().out
    assert "Trained xgboost on 120 rows of expt_formation_enthalpy" in out
    assert model.seed == 3 and the_session().model is model
    assert the_session().cv_report is None
    run(shell, "load expt_formation_enthalpy")  # new data: the old model does not belong to it
    assert the_session().model is None


# ------------------------------------------------------------------ cv, predict, explain
def test_cv_returns_the_report_and_draws_the_parity_plot(steels_shell, capsys):
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    report = run(steels_shell, "cv")
    st = the_session()
    assert st.cv_report is report
    assert report.protocol == "matbench" and len(report.folds) == 5  # the official folds
    assert len(report.parity) == len(st.dataset)
    assert math.isfinite(report.summary["mae"]) and report.summary["mae"] > 0
    assert "Figure" in capsys.readouterr().out  # displayed once, then closed
    assert set(plt.get_fignums()) == before
    report = run(steels_shell, "cv --protocol random --n-splits 2 --no-plot")
    assert report.protocol == "random" and st.cv_report is report and len(report.folds) == 2


def test_predict_equals_the_model(steels_shell):
    model = the_session().model
    frame = run(steels_shell, "predict Fe0.7Cr0.2Ni0.1 Fe0.62Ni0.18Co0.09Mo0.05Ti0.06")
    assert list(frame.columns) == ["composition", "prediction", "std", "in_domain", "reason"]
    mean, std = model.predict(list(frame["composition"]), return_std=True)
    np.testing.assert_allclose(frame["prediction"], mean, rtol=1e-9)
    np.testing.assert_allclose(frame["std"], std, rtol=1e-9)
    assert frame.attrs["units"] == "MPa"
    assert frame["in_domain"].dtype == bool


def test_a_model_set_from_python_is_the_one_predict_uses(shell, steel_run):
    ds, model = steel_run
    mo.session().model = model
    frame = run(shell, "predict Fe0.8Cr0.2")
    assert frame["prediction"][0] == pytest.approx(float(model.predict(["Fe0.8Cr0.2"])[0]))


def test_explain_adds_up_to_the_prediction(steels_shell, capsys):
    model = the_session().model
    table = run(steels_shell, "explain Fe0.7Cr0.2Ni0.1")
    exp = model.explain("Fe0.7Cr0.2Ni0.1")
    assert "Fe0.7Cr0.2Ni0.1: prediction" in capsys.readouterr().out
    assert set(table.index) >= {"Fe", "Cr", "Ni"}
    assert table["contribution"].sum() == pytest.approx(exp.prediction - exp.base_value,
                                                        abs=1e-6 * abs(exp.prediction))
    by_prop = run(steels_shell, "explain Fe0.7Cr0.2Ni0.1 --by property")
    assert len(by_prop) >= 1 and "Fe" not in by_prop.index


# ------------------------------------------------------------------ widgets
def test_sliders_sum_to_one_and_show_the_model_prediction(steels_shell):
    from jupyter_matopt.widgets import CompositionSliders

    model = the_session().model
    w = run(steels_shell, "sliders Fe Cr=0.05:0.3 Ni Mo Co")
    assert isinstance(w, CompositionSliders) and the_session().sliders is w
    assert w.elements == ["Fe", "Cr", "Ni", "Mo", "Co"]
    for _ in range(2):
        assert math.fsum(w.fractions.values()) == pytest.approx(1.0, abs=1e-12)
        assert 0.05 - 1e-12 <= w.fractions["Cr"] <= 0.3 + 1e-12
        mean, std = model.predict([formula(w.fractions)], return_std=True)
        assert w.prediction["mean"] == pytest.approx(float(mean[0]), rel=1e-6)
        assert w.prediction["std"] == pytest.approx(float(std[0]), rel=1e-6)
        assert w.error == ""
        w.set_fraction("Fe", 0.7)


def test_sliders_follow_the_space(steels_shell):
    space = run(steels_shell, f"space {SPACE}")
    w = run(steels_shell, "sliders")
    assert w.elements == ["Fe", "Cr", "Ni", "Mo"] and w.fixed == ["Mo"]
    assert space.contains(w.fractions)


def test_sliders_stability_flag_adds_the_button(steels_shell):
    w = run(steels_shell, "sliders Fe Cr Ni --stability")
    assert w.stability_status["enabled"] is True
    assert w.stability_status["state"] == "idle"
    plain = run(steels_shell, "sliders Fe Cr Ni")
    assert plain.stability_status["enabled"] is False


def test_ternary_is_linked_to_the_sliders(steels_shell):
    from jupyter_matopt.widgets import TernaryMap

    sliders = run(steels_shell, "sliders Fe Ni Co Mo")
    tm = run(steels_shell, "ternary Fe Ni Co --fixed Mo=0.05 --resolution 10")
    assert isinstance(tm, TernaryMap) and tm.error == ""
    assert len(np.frombuffer(tm.mean, "<f4")) == 66
    assert tm.fixed == {"Mo": 0.05}
    comp = tm.click(0.7, 0.2, 0.1)
    assert sliders.fractions == pytest.approx(comp)


def test_structure_follows_the_sliders(steels_shell):
    pytest.importorskip("nglview", reason="nglview (the `structure` extra) is not installed")
    sliders = run(steels_shell, "sliders Fe Ni")
    viewer = run(steels_shell, "structure fcc")
    assert viewer.fractions == pytest.approx(sliders.fractions)
    sliders.set_fraction("Fe", 0.8)
    assert viewer.fractions == pytest.approx({"Fe": 0.8, "Ni": 0.2})
    assert viewer.error == ""
    alone = run(steels_shell, "structure bcc --no-link")
    sliders.set_fraction("Fe", 0.6)
    assert alone.fractions != pytest.approx(sliders.fractions)


# ------------------------------------------------------------------ campaign
def test_suggest_tell_campaign_on_disk(steels_shell, tmp_path, capsys):
    from jupyter_matopt.optimize import Campaign
    from jupyter_matopt.widgets import CampaignPanel

    path = tmp_path / "steel_campaign.json"
    space = run(steels_shell, f"space {SPACE}")
    batch = run(steels_shell, f"suggest -n 5 --path {path}")
    st = the_session()
    assert len(batch) == 5 and st.suggestions is batch and st.space is space
    comps = batch.compositions
    assert len(set(comps)) == 5
    for c in comps:
        fr = mo.parse_composition(c)
        assert space.contains(fr), c
        assert math.fsum(fr.values()) == pytest.approx(1.0)
        assert fr["Mo"] == pytest.approx(0.02)
    camp = st.campaign
    # the library's default acquisition (one source of truth), and the trained model as prior
    assert camp.path == path and camp.acquisition == Campaign(space, seed=0).acquisition
    assert camp.prior is st.model
    capsys.readouterr()
    run(steels_shell, "tell 0=1210.5 1=1300 Fe0.7Cr0.2Ni0.08Mo0.02=1250")
    assert "Recorded 3 measurement(s)" in capsys.readouterr().out
    hist = camp.history
    assert list(hist["y"]) == [1210.5, 1300.0, 1250.0]
    assert hist.iloc[0]["Fe"] == pytest.approx(mo.parse_composition(comps[0])["Fe"])
    on_disk = Campaign.load(path)  # written before tell returned
    assert on_disk.n_observations == 3 and list(on_disk.history["y"]) == list(hist["y"])
    # the same path continues the same campaign
    again = run(steels_shell, f"suggest -n 2 --path {path}")
    assert the_session().campaign is camp and len(again) == 2
    panel = run(steels_shell, "campaign")
    assert isinstance(panel, CampaignPanel) and panel.campaign is camp
    assert [h["values"]["y"] for h in panel.history] == [1210.5, 1300.0, 1250.0]
    assert len(panel.suggestions) == 2 and panel.error == ""
    # a restart: a fresh session reopens the campaign from its file
    the_session().reset()
    panel = run(steels_shell, f"campaign {path}")
    assert the_session().campaign is panel.campaign
    assert panel.campaign.n_observations == 3 and the_session().space is not None
    run(steels_shell, f"tell {again.compositions[0]}=1400")
    assert Campaign.load(path).n_observations == 4


def test_suggest_in_memory_is_seeded_from_the_dataset(shell, tmp_path, capsys):
    path = tmp_path / "bin.csv"
    pd.DataFrame({"composition": ["Fe0.5Ni0.5", "Fe0.8Ni0.2", "Fe0.2Ni0.8", "Cu"],
                  "y": [1.0, 2.0, 0.5, 9.0]}).to_csv(path, index=False)
    run(shell, f"load {path} --target y")
    run(shell, "space Fe Ni --step 0.05")
    capsys.readouterr()
    batch = run(shell, "suggest -n 3 --objective min --acquisition ucb")
    assert "Seeded the campaign with 3 measured" in capsys.readouterr().out
    camp = the_session().campaign
    assert camp.path is None and camp.n_observations == 3 and camp.directions == ["min"]
    assert camp.acquisition == "ucb"
    assert len(batch) == 3 and batch[["mean", "std"]].notna().all().all()
    run(shell, "space Fe Ni --step 0.05")  # a new space starts a new campaign
    assert the_session().campaign is None
    run(shell, "suggest -n 1 --no-data")
    assert the_session().campaign.n_observations == 0


def test_suggest_seeds_only_rows_inside_the_space_bounds(shell, tmp_path, capsys):
    path = tmp_path / "bin.csv"
    # Fe0.2Ni0.8 is made of the space's elements but outside its Fe bounds; Fe is pure
    pd.DataFrame({"composition": ["Fe0.5Ni0.5", "Fe0.8Ni0.2", "Fe0.2Ni0.8", "Fe", "Cu"],
                  "y": [1.0, 2.0, 0.5, 3.0, 9.0]}).to_csv(path, index=False)
    run(shell, f"load {path} --target y")
    run(shell, "space Fe=0.4:0.9 Ni=0.1:0.6 --step 0.05")
    capsys.readouterr()
    run(shell, "suggest -n 2 --no-model")
    assert "Seeded the campaign with 2 measured" in capsys.readouterr().out
    hist = the_session().campaign.history
    assert sorted(hist["y"]) == [1.0, 2.0]


def test_suggest_uses_the_trained_model_and_shows_units(steels_shell, capsys):
    st = the_session()
    run(steels_shell, f"space {SPACE}")
    batch = run(steels_shell, "suggest -n 3")
    camp = st.campaign
    assert camp.prior is st.model and camp.acquisition == "ucb"
    # the numbers stay full precision; domain flags come from the model
    mean, _ = st.model.predict(batch.compositions, return_std=True)
    dom = st.model.predict_domain(batch.compositions)
    assert list(batch["in_domain"]) == list(dom["in_domain"])
    assert list(batch["reason"]) == list(dom["reason"])
    # with no measurement inside the space the model itself ranks: its mean is the mean shown
    np.testing.assert_allclose(batch["mean"], mean, rtol=1e-9)
    bound = [c for c in batch.columns if c.startswith("optimistic bound")]
    assert bound == ["optimistic bound (mean + 1σ)"]
    np.testing.assert_allclose(batch[bound[0]], batch["mean"] + batch["std"], rtol=1e-9)
    text = repr(batch)
    assert "(MPa)" in text and "±" in text and "UCB" in text
    html = batch._repr_html_()
    assert "±" in html and "<script" not in html
    # display rounded to the std: no six-decimal numbers
    import re

    assert not re.search(r"\d\.\d{5,}", text.split("\n", 1)[1]), text
    # selections are the campaign's plain Suggestions, and tell by row still works
    assert len(batch.compositions) == 3
    run(steels_shell, "tell 0=1500")
    assert camp.n_observations == 1
    st.space = st.campaign = None
    run(steels_shell, f"space {SPACE}")
    run(steels_shell, "suggest -n 1 --no-model")
    assert st.campaign.prior is None


def test_suggest_without_the_model_when_it_needs_conditions(shell, capsys):
    from jupyter_matopt.data import Dataset
    from jupyter_matopt.models import PropertyModel

    rng = np.random.default_rng(0)
    x = rng.uniform(0.1, 0.9, 40)
    temp = rng.choice([300.0, 600.0], 40)
    frame = pd.DataFrame({"composition": [f"Fe{a:.3f}Ni{1 - a:.3f}" for a in x],
                          "y": x + temp / 1000, "temperature": temp})
    ds = Dataset.from_frame(frame, "composition", "y", conditions=["temperature"])
    st = the_session()
    st.dataset = ds
    st.model = PropertyModel(n_ensemble=2, params={"n_estimators": 20}).fit(ds)
    run(shell, "space Fe Ni --step 0.05")
    capsys.readouterr()
    batch = run(shell, "suggest -n 2")
    assert "Not using the trained model as prior: it needs ['temperature']" in \
        capsys.readouterr().out
    assert st.campaign.prior is None and len(batch) == 2


def test_predict_table_displays_rounded_with_units(steels_shell):
    frame = run(steels_shell, "predict Fe0.7Cr0.2Ni0.1")
    text = repr(frame)
    assert "yield strength (MPa)" in text and "±" in text
    value = f"{frame['prediction'][0]:,.0f}"
    assert value in text  # std of ~100 MPa: whole MPa
    assert frame["prediction"][0] != round(frame["prediction"][0])  # full precision kept
    html = frame._repr_html_()
    assert "yield strength (MPa)" in html and frame["reason"][0][:40] in html


def test_parity_plot_is_a_density_for_many_points():
    from jupyter_matopt.widgets.plots import parity_plot

    rng = np.random.default_rng(0)
    y = rng.normal(size=3000)
    frame = pd.DataFrame({"y_true": y, "y_pred": y + 0.3 * rng.normal(size=3000),
                          "y_std": 0.3, "fold": rng.integers(0, 5, 3000)})
    fig = parity_plot(frame)
    assert len(fig.axes) == 2 and fig.axes[0].collections  # hexbin + colour bar
    assert not fig.axes[0].containers  # no error bars
    small = parity_plot(frame.iloc[:200])
    assert len(small.axes) == 1 and small.axes[0].containers
    import matplotlib.pyplot as plt

    plt.close("all")


def test_suggest_without_a_space_searches_the_sliders(steels_shell, capsys):
    w = run(steels_shell, "sliders Fe Cr=0.1:0.3 Ni --step 0.05")
    w.fixed = ["Ni"]
    capsys.readouterr()
    batch = run(steels_shell, "suggest -n 3")
    assert "Searching the sliders' space" in capsys.readouterr().out
    space = the_session().space
    assert space is not None and space.components == ["Fe", "Cr", "Ni"]
    for c in batch.compositions:
        fr = mo.parse_composition(c)
        assert space.contains(fr) and 0.1 - 1e-9 <= fr["Cr"] <= 0.3 + 1e-9
        assert fr.get("Ni", 0.0) == pytest.approx(w.fractions["Ni"])
    # continuous sliders: suggestions on a 1 % grid
    st = the_session()
    st.space = st.campaign = None
    run(steels_shell, "sliders Fe Ni")
    batch = run(steels_shell, "suggest -n 2")
    assert st.space.step == pytest.approx(0.01)
    units = batch[["Fe", "Ni"]].to_numpy() * 100
    np.testing.assert_allclose(units, np.round(units), atol=1e-6)


def test_screen_ranks_the_space(steels_shell):
    run(steels_shell, f"space {SPACE}")
    top = run(steels_shell, "screen --top-k 10 --frame")
    assert len(top) == 10 and the_session().screen_result is top
    # Without --frame: the ranked table, linked to the sliders, which a row click moves.
    sliders = run(steels_shell, "sliders Fe Cr Ni Mo")
    table = run(steels_shell, "screen --top-k 10")
    assert isinstance(table, ScreenTable) and table.sliders is sliders
    assert table.result is the_session().screen_result and len(table.result) == 10
    table.selected = 3
    row = table.result.iloc[3]
    for el in ("Fe", "Cr", "Ni", "Mo"):
        assert sliders.fractions[el] == pytest.approx(float(row[el]), abs=1e-9)
    model = the_session().model
    cols = ["Fe", "Cr", "Ni", "Mo"]
    mean, _ = model.predict_fractions(top[cols].to_numpy(float), cols, return_std=True)
    value = next(c for c in top.columns if c in ("mean", "prediction"))
    np.testing.assert_allclose(top[value], mean, rtol=1e-5)
    assert list(top[value]) == sorted(top[value], reverse=True)


# ------------------------------------------------------------------ status and help
def test_status_says_what_is_loaded(steels_shell, capsys):
    run(steels_shell, "status")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("dataset : matbench_steels (312 rows, target yield strength")
    assert out[1] == "model   : PropertyModel on yield strength"
    assert "`%matopt cv`" in out[2] and "`%matopt space ...`" in out[3]
    assert "`%matopt suggest`" in out[4]
    assert repr(mo.session()).startswith("Session\n  dataset : matbench_steels")


def test_help_documents_every_subcommand(shell, capsys):
    from jupyter_matopt.magics import build_parser

    run(shell, "help")
    text = capsys.readouterr().out
    for cmd in ("load", "train", "cv", "predict", "explain", "sliders", "ternary", "structure",
                "suggest", "tell", "campaign", "screen", "status", "help"):
        assert f"\n    {cmd} " in text or f"\n    {cmd}\n" in text, cmd
    assert "A whole loop, magics only" in text
    run(shell, "")  # a bare %matopt shows the same help
    assert capsys.readouterr().out == text
    run(shell, "help suggest")
    sub = capsys.readouterr().out
    assert "usage: %matopt suggest" in sub and "--path" in sub and "Example:" in sub
    run(shell, "suggest -h")
    assert capsys.readouterr().out == sub
    # every option of every subcommand has a help string
    parser = build_parser()
    for action in parser._subparsers._group_actions[0].choices.values():
        for opt in action._actions:
            assert opt.help, (action.prog, opt.dest)


# ------------------------------------------------------------------ user errors
def test_errors_before_anything_is_loaded(shell, capsys):
    before = snapshot()
    assert "unknown dataset 'no_such_data'" in usage_error(shell, "load no_such_data", capsys)
    msg = usage_error(shell, "frobnicate", capsys)
    assert "unknown subcommand 'frobnicate'" in msg and "suggest" in msg
    assert "no dataset yet" in usage_error(shell, "train", capsys)
    assert "no model yet: run `%matopt train` first" in usage_error(
        shell, "predict Fe2O3", capsys)
    assert "no space yet" in usage_error(shell, "suggest -n 5", capsys)
    assert "no campaign yet" in usage_error(shell, "tell Fe=1", capsys)
    assert "'/nowhere/x.csv'" in usage_error(shell, "load /nowhere/x.csv", capsys)
    assert "'nope'" in usage_error(shell, "help nope", capsys)
    assert "cannot read the command line" in usage_error(shell, 'predict "Fe', capsys)
    assert_unchanged(before)


def test_errors_keep_the_session(steels_shell, tmp_path, capsys):
    run(steels_shell, f"space {SPACE}")
    run(steels_shell, f"suggest -n 3 --path {tmp_path / 'c.json'}")
    run(steels_shell, "tell 0=1000")
    run(steels_shell, "sliders Fe Cr Ni")
    camp = the_session().campaign
    size = camp.path.stat().st_size
    before = snapshot()
    cases = {
        "load no_such_data": "'no_such_data'",
        "predict Fe0.7Qq0.3": "'Qq'",
        "explain Xx2": "'Xx'",
        "sliders Fe Qq": "Qq",
        "ternary Fe Ni Fe": "three different",
        "ternary Fe Ni": "three different elements",
        "ternary Fe Ni Co --fixed Mo": "'Mo'",
        "ternary Fe Ni Co --resolution 1000": "1000",
        "space Fe=a:b Cr": "'Fe=a:b'",
        "suggest -n five": "'five'",
        "suggest -n 0": "0",
        "suggest --acquisition ei": "acquisition 'ucb'",
        "tell 7=1200": "row 7",
        "tell 0=fast": "'0=fast'",
        "tell Fe0.7Qq0.3=5": "Qq",
        "campaign missing.json": "'missing.json'",
        "cv --protocol sideways": "'sideways'",
        "structure no_such_prototype_or_file": "no_such_prototype_or_file",
    }
    for line, needle in cases.items():
        if line.startswith("structure") and "nglview" not in sys.modules:
            try:
                import nglview  # noqa: F401
            except ImportError:
                continue
        message = usage_error(steels_shell, line, capsys)
        assert needle in message, (line, message)
        assert_unchanged(before)
    assert camp.n_observations == 1 and camp.path.stat().st_size == size
