"""The generator's plausibility filter (rules=...) and its early stopping."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_matopt.generate import CompositionGenerator, GenerateError
from jupyter_matopt.generate._nn import EarlyStopping
from jupyter_matopt.rules import plausibility

SALTS = ["NaCl", "KCl", "MgO", "CaO", "Na2O", "K2O", "MgCl2", "CaCl2", "LiCl", "Li2O",
         "NaBr", "KBr", "MgBr2", "LiBr", "CaBr2", "Fe2O3", "FeO", "CuO", "Cu2O", "ZnS"]


@pytest.fixture(scope="module")
def salts_unfiltered() -> CompositionGenerator:
    return CompositionGenerator(n_steps=150, seed=0, rules=None).fit(SALTS)


def test_compound_data_is_filtered_by_the_compound_rules() -> None:
    g = CompositionGenerator(n_steps=150, seed=0).fit(SALTS)
    assert g.rules_ == "compound"  # "auto" on compounds
    assert g.training_validity_["charge_neutral_and_balanced"] == 1.0
    df = g.sample(60, seed=0)
    assert len(df) > 0
    X = df[list(g.elements)].to_numpy()
    # judged the way generation_report judges them
    assert plausibility(X, list(g.elements))["electronegativity_balanced"].all()
    d = df.attrs
    assert d["rules"] == "compound"
    assert 0.0 <= d["rejection_rate"] <= 1.0
    assert d["drawn"] >= d["returned"] == len(df)


def test_without_the_filter_invalid_candidates_come_through(salts_unfiltered) -> None:  # type: ignore[no-untyped-def]
    g = salts_unfiltered
    assert g.rules_ is None
    df = g.sample(300, seed=0)
    assert df.attrs["rejected_by_rules"] == 0
    X = df[list(g.elements)].to_numpy()
    ok = plausibility(X, list(g.elements))["electronegativity_balanced"].to_numpy()
    # the filter has something to remove on this data: a test of it is not vacuous
    assert not ok.all()


def test_alloy_data_is_not_filtered_by_default(gen) -> None:  # type: ignore[no-untyped-def]
    assert gen.rules_ is None
    assert gen.training_validity_["alloy_share"] > 0.9


def test_alloy_rules_keep_only_plausible_alloys(mpea) -> None:  # type: ignore[no-untyped-def]
    g = CompositionGenerator(n_steps=60, seed=0, rules="alloy").fit(mpea)
    df = g.sample(100, seed=0)
    assert len(df) > 0
    X = df[list(g.elements)].to_numpy()
    assert plausibility(X, list(g.elements))["plausible"].all()
    assert df.attrs["rules"] == "alloy"


def test_bad_rules_value() -> None:
    with pytest.raises(GenerateError, match="rules"):
        CompositionGenerator(rules="strict")


def test_early_stopping_keeps_the_best_parameters() -> None:
    p = [np.zeros(3)]
    stop = EarlyStopping(patience=2)
    assert not stop.update(1.0, p)
    p[0][:] = 5.0
    assert not stop.update(2.0, p)  # worse: one bad check
    assert stop.update(1.5, p)       # second bad check: stop
    stop.restore(p)
    assert np.array_equal(p[0], np.zeros(3))  # restored in place


def test_default_fit_records_the_steps_taken(mpea) -> None:  # type: ignore[no-untyped-def]
    g = CompositionGenerator(hidden=(12, 8), latent_dim=3, seed=0).fit(mpea)
    # early stopping (530 rows >= 200) checks every 100 steps from step 100
    assert g.n_steps_ == len(g.history_)
    assert 500 <= g.n_steps_ <= 1500


def test_formula_text_integer_and_fractional() -> None:
    from jupyter_matopt.generate import formulas

    X = np.array([[3 / 7, 0.0, 4 / 7], [0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.7, 0.3, 0.0]])
    els = ["Fe", "Ni", "O"]
    # cations first, a count of 1 not written (7:3 is an integer formula too)
    assert formulas(X, els, integer=True) == ["Fe3O4", "FeNi", "Ni", "Fe7Ni3"]
    assert formulas(X, els) == ["Fe0.4286O0.5714", "Fe0.5Ni0.5", "Ni1", "Fe0.7Ni0.3"]
    Y = np.array([[0.123456, 0.876544, 0.0]])  # no integer formula with <= 30 atoms
    assert formulas(Y, els, integer=True) == ["Fe0.1235Ni0.8765"]
