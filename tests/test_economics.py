"""Price and supply risk against hand computations from pymatgen's own tables."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Element

import jupyter_matopt as mo
from jupyter_matopt.economics import (
    EconomicsError,
    composition_economics,
    cost_fractions,
    economics_fractions,
    supply_risk_fractions,
)

ANALYSIS = Path(next(iter(__import__("pymatgen.analysis", fromlist=["x"]).__path__)))


def _prices() -> dict[str, float]:
    with open(ANALYSIS / "costdb_elements.csv", encoding="utf-8") as fh:
        return {r[0]: float(r[1]) for r in csv.reader(fh, quotechar="|") if r and r[0][0] != "#"}


def _hhi() -> dict[str, tuple[float, float]]:
    out = {}
    for line in (ANALYSIS / "hhi_data.csv").read_text().splitlines():
        if line and not line.startswith("#"):
            el, p, r = line.split(",")
            out[el] = (float(p), float(r))
    return out


def test_cost_matches_hand_computation() -> None:
    prices = _prices()
    x = {"Fe": 0.7, "Cr": 0.2, "Ni": 0.1}
    mass = {el: f * float(Element(el).atomic_mass) for el, f in x.items()}
    total = sum(mass.values())
    per_kg = sum(mass[el] / total * prices[el] for el in x)
    got = mo.cost("Fe0.7Cr0.2Ni0.1")
    assert got["cost_per_kg"] == pytest.approx(per_kg, rel=1e-9)
    # per mole of atoms: (USD/kg) x (kg per mole of atoms)
    assert got["cost_per_mol"] == pytest.approx(per_kg * total / 1000, rel=1e-9)
    assert got["year"] == 2013
    assert "Wolfram Alpha" in got["sources"]["Fe"]


def test_cost_agrees_with_pymatgen_cost_analyzer() -> None:
    from pymatgen.analysis.cost import CostAnalyzer, CostDBElements

    ca = CostAnalyzer(CostDBElements())
    for formula in ("Bi2Te3", "NiAl3", "Fe0.7Cr0.2Ni0.1"):
        assert mo.cost(formula)["cost_per_kg"] == pytest.approx(
            float(ca.get_cost_per_kg(formula)), rel=1e-6
        )


def test_supply_risk_matches_hand_computation_and_pymatgen() -> None:
    from pymatgen.analysis.hhi import HHIModel

    hhi = _hhi()
    x = {"Bi": 0.4, "Te": 0.6}
    mass = {el: f * float(Element(el).atomic_mass) for el, f in x.items()}
    total = sum(mass.values())
    hp = sum(mass[el] / total * hhi[el][0] for el in x)
    hr = sum(mass[el] / total * hhi[el][1] for el in x)
    got = mo.supply_risk("Bi2Te3")
    assert (got["hhi_production"], got["hhi_reserve"]) == pytest.approx((hp, hr), rel=1e-9)
    assert (got["hhi_production"], got["hhi_reserve"]) == pytest.approx(
        HHIModel().get_hhi("Bi2Te3"), rel=1e-9
    )


def test_vectorized_versions_equal_the_scalar_ones() -> None:
    els = ["Fe", "Cr", "Ni"]
    X = np.array([[0.7, 0.2, 0.1], [0.0, 0.5, 0.5], [7, 2, 1]])  # last row not normalized
    c = cost_fractions(X, els)
    r = supply_risk_fractions(X, els)
    for i, row in enumerate(X):
        comp = {el: v for el, v in zip(els, row, strict=True) if v > 0}
        assert c.loc[i, "cost_per_kg"] == pytest.approx(mo.cost(comp)["cost_per_kg"])
        assert c.loc[i, "cost_per_mol"] == pytest.approx(mo.cost(comp)["cost_per_mol"])
        assert r.loc[i, "hhi_reserve"] == pytest.approx(mo.supply_risk(comp)["hhi_reserve"])
    both = economics_fractions(X, els, ["cost_per_kg", "hhi"])
    assert list(both.columns) == ["cost_per_kg", "hhi"]
    assert np.allclose(both["hhi"], r["hhi_production"])


def test_lists_give_tables() -> None:
    df = mo.cost(["Fe", "Bi2Te3"])
    assert isinstance(df, pd.DataFrame) and list(df["composition"]) == ["Fe", "Bi2Te3"]
    assert df.loc[1, "cost_per_kg"] == pytest.approx(mo.cost("Bi2Te3")["cost_per_kg"])
    risk = mo.supply_risk(["Fe", "Cu"])
    assert risk.shape[0] == 2


def test_elements_without_data_get_one_clear_error() -> None:
    with pytest.raises(EconomicsError, match=r"no price data for Pu .*elements with data"):
        mo.cost("PuO2")
    with pytest.raises(EconomicsError, match="no HHI data for Xe"):
        mo.supply_risk("XeF2")
    with pytest.raises(ValueError, match="no price data for Pu"):  # subclass of ValueError
        cost_fractions([[0.5, 0.5]], ["Pu", "O"])
    # An unused column element without data is fine.
    assert cost_fractions([[1.0, 0.0]], ["Fe", "Pu"])["cost_per_kg"][0] > 0
    with pytest.raises(EconomicsError, match="matrix of fractions"):
        cost_fractions([[1.0, 0.0, 0.0]], ["Fe", "Ni"])
    with pytest.raises(EconomicsError, match="cannot estimate"):
        mo.cost("Qq2")


def test_composition_economics_never_raises() -> None:
    ok = composition_economics([0.5, 0.5], ["Bi", "Te"])
    assert ok["error"] is None
    assert ok["cost_per_kg"] == pytest.approx(mo.cost("BiTe")["cost_per_kg"])
    assert "/kg" in ok["label"] and "HHI" in ok["label"]
    bad = composition_economics([0.5, 0.5], ["Pu", "O"])
    assert bad["cost_per_kg"] is None and "Pu" in bad["error"]
    assert math.isfinite(composition_economics("Fe2O3")["hhi_reserve"])


def test_screen_extra_columns_and_economics_filters() -> None:
    from jupyter_matopt.screen import ScreenError

    rng = np.random.default_rng(0)
    els = ["Fe", "Cr", "Ni", "Co"]
    X = rng.dirichlet(np.ones(4), 200)
    model = mo.PropertyModel().fit([dict(zip(els, r, strict=True)) for r in X], X @ [1, 2, 3, 0.5])
    space = mo.CompositionSpace(els, step=0.1)
    plain = mo.screen(space, model, top_k=10)
    got = mo.screen(space, model, top_k=10, extra=["cost_per_kg", "hhi"],
                    filters={"cost_per_kg": ("<", 20)})  # fmt: skip
    assert {"cost_per_kg", "hhi"} <= set(got.columns) and "cost_per_kg" not in plain.columns
    eco = economics_fractions(got[els].to_numpy(), els, ["cost_per_kg", "hhi"])
    assert np.allclose(eco["cost_per_kg"], got["cost_per_kg"])
    assert np.allclose(eco["hhi"], got["hhi"])
    assert (got["cost_per_kg"] < 20).all()
    # The filter removed expensive (Co/Ni-rich) candidates the plain ranking kept.
    assert got.attrs["n_passed"] < plain.attrs["n_passed"]
    with pytest.raises(ScreenError, match="unknown extra column"):
        mo.screen(space, model, extra=["price"])
    with pytest.raises(ScreenError, match=r"\(op, number\)"):
        mo.screen(space, model, filters={"hhi": "<3"})


def test_campaign_cost_objective_is_computed_from_the_composition() -> None:
    space = mo.CompositionSpace({"Fe": (0.5, 0.9), "Cr": (0.1, 0.3), "Ni": (0, 0.2)}, step=0.05)
    camp = mo.Campaign(space, objective=["zT", "cost"], senses=["max", "min"], seed=0)
    assert (camp.objectives, camp.directions) == (["zT", "cost"], ["max", "min"])
    comps = ["Fe0.7Cr0.2Ni0.1", "Fe0.8Cr0.2", "Fe0.6Cr0.3Ni0.1"]
    camp.tell(comps, [1.0, 2.0, 1.5])  # only the measured objective
    h = camp.history
    assert list(h["zT"]) == [1.0, 2.0, 1.5]
    assert np.allclose(h["cost"], [mo.cost(c)["cost_per_kg"] for c in comps])
    camp.tell(["Fe0.9Cr0.1"], [[1.2, 99.0]])  # a told cost wins
    assert camp.history["cost"].iloc[-1] == 99.0
    assert len(camp.suggest(2)) == 2
    with pytest.raises(ValueError, match="senses="):
        mo.Campaign(space, objective="max", senses=["max"])
