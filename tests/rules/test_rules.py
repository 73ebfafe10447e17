"""Plausibility rules against hand-checked examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jupyter_matopt.rules import (
    RulesError,
    alloy_rules,
    compound_rules,
    compound_validity,
    integer_formulas,
    oxidation_states,
    plausibility,
)


def test_nacl_is_neutral_and_balanced() -> None:
    row = compound_rules(["NaCl"]).iloc[0]
    assert row.integer_formula == "NaCl"
    assert row.charge_neutral and row.electronegativity_balanced


def test_fe3o4_needs_mixed_valence() -> None:
    # Fe3O4 = Fe(2+) 2Fe(3+) 4O(2-): no single Fe state gives 3 q = 8
    single = compound_rules(["Fe3O4"]).iloc[0]
    assert single.integer_formula == "Fe3O4"
    assert not single.charge_neutral
    mixed = compound_rules(["Fe3O4"], mixed_valence=True).iloc[0]
    assert mixed.charge_neutral and mixed.electronegativity_balanced


def test_fractional_formula_becomes_smallest_integer_formula() -> None:
    # Li0.5CoO2 -> LiCo2O4; Co must be 3.5+ on average, so it needs mixed valence
    row = compound_rules(["Li0.5CoO2"]).iloc[0]
    assert row.integer_formula == "LiCo2O4"
    assert not row.charge_neutral
    assert compound_rules(["Li0.5CoO2"], mixed_valence=True).iloc[0].charge_neutral


def test_no_integer_formula_is_reported() -> None:
    row = compound_rules(["Fe0.5O0.4993S0.0007"], tol=1e-4).iloc[0]
    assert row.integer_formula is None
    assert not row.charge_neutral
    assert "no integer formula" in row.reason


def test_balance_fails_when_cation_is_not_less_electronegative() -> None:
    # CSe2 is neutral as C(4+) 2Se(2-), but C and Se share Pauling's 2.55: SMACT's test wants
    # every cation strictly less electronegative than every anion
    row = compound_rules(["CSe2"]).iloc[0]
    assert row.charge_neutral and not row.electronegativity_balanced
    assert "electronegative" in row.reason


def test_agrees_with_smact_validity() -> None:
    from smact.screening import smact_validity

    formulas = ["NaCl", "Fe2O3", "Fe3O4", "LiCo2O4", "CSe2", "MgO2", "Na2I", "SiC", "Cs2Te3",
                "BaTiO3", "LiFePO4", "Li2Fe3P4O13", "CaF3", "KMnO4", "Ni3S2"]
    for mixed in (False, True):
        ours = compound_rules(formulas, mixed_valence=mixed)
        for f, row in zip(formulas, ours.itertuples(), strict=True):
            assert row.electronegativity_balanced == smact_validity(f, mixed_valence=mixed), f
            assert row.charge_neutral == smact_validity(
                f, use_pauling_test=False, mixed_valence=mixed), f


def test_noble_gas_has_no_states() -> None:
    row = compound_rules(["NeO"]).iloc[0]
    assert not row.charge_neutral
    assert "Ne" in row.reason
    assert oxidation_states("Ne") == ()
    assert 3 in oxidation_states("Fe")


def test_integer_formulas_vectorized() -> None:
    X = np.array([[0.5, 0.5, 0.0], [1 / 7, 2 / 7, 4 / 7], [0.4, 0.6, 0.0]])
    counts, ok = integer_formulas(X)
    assert ok.all()
    assert counts.tolist() == [[1, 1, 0], [1, 2, 4], [2, 3, 0]]


def test_hea_within_solid_solution_thresholds() -> None:
    row = alloy_rules(["CoCrFeMnNi"]).iloc[0]
    assert math.isclose(row.mixing_entropy, 8.314462618 * math.log(5), rel_tol=1e-9)
    assert row.delta < 6.6
    assert row.omega >= 1.1
    # Takeuchi-Inoue pair enthalpies of the Cantor alloy give -4.16 kJ/mol
    assert math.isclose(row.mixing_enthalpy, -4.16, abs_tol=0.01)
    assert row.vec == pytest.approx(8.0)
    assert row.vec_phase == "fcc"
    assert row.yang_solid_solution and row.guo_solid_solution and row.solid_solution


def test_large_mismatch_alloy_fails_yang() -> None:
    # Zr-Cu-Al glass former: large size mismatch and strongly negative enthalpy
    row = alloy_rules(["Zr50Cu40Al10"]).iloc[0]
    assert row.delta > 6.6
    assert not row.yang_solid_solution


def test_plausibility_kinds_and_array_input() -> None:
    out = plausibility(["NaCl", "Fe3O4", "CoCrFeMnNi", "Cu"])
    assert out["kind"].tolist() == ["compound", "compound", "alloy", "alloy"]
    assert out["plausible"].tolist() == [True, False, True, True]
    X = np.array([[0.5, 0.5], [0.25, 0.75]])
    arr = plausibility(X, ["Na", "Cl"])
    assert arr["integer_formula"].tolist() == ["NaCl", "NaCl3"]
    assert arr["charge_neutral"].tolist() == [True, False]


def test_bad_input_raises_rules_error() -> None:
    with pytest.raises(RulesError, match="elements"):
        plausibility(np.ones((2, 2)))
    with pytest.raises(RulesError, match="shape"):
        plausibility(np.ones((2, 3)), ["Na", "Cl"])
    with pytest.raises(RulesError, match="non-negative"):
        plausibility(np.array([[-0.5, 1.5]]), ["Na", "Cl"])
    with pytest.raises(RulesError, match="tol"):
        compound_rules(["NaCl"], tol=2)
    with pytest.raises(ValueError):
        compound_rules(["Xx2O"])


@pytest.mark.parametrize("mixed_valence", [False, True])
def test_compound_validity_masks_agree_with_compound_rules(mixed_valence) -> None:  # type: ignore[no-untyped-def]
    # random rows over cations, anions, metals and metalloids, half with integer amounts
    rng = np.random.default_rng(0)
    els = ["Li", "Na", "Fe", "Co", "Mn", "Cu", "Al", "Si", "O", "S", "Cl", "N", "C", "Te"]
    X = np.zeros((600, len(els)))
    for i in range(len(X)):
        j = rng.choice(len(els), rng.integers(1, 5), replace=False)
        X[i, j] = rng.integers(1, 6, len(j)) if i % 2 else rng.random(len(j))
    X /= X.sum(axis=1, keepdims=True)
    ref = compound_rules(X, els, mixed_valence=mixed_valence)
    neutral, balanced = compound_validity(X, els, mixed_valence=mixed_valence)
    assert np.array_equal(neutral, ref["charge_neutral"].to_numpy())
    assert np.array_equal(balanced, ref["electronegativity_balanced"].to_numpy())
    # both verdicts occur, so the comparison is not between two constant columns
    assert 0.1 < balanced.mean() < 0.9
    fe3o4 = np.array([[0.0, 0.0, 0.75, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0, 0, 0, 0, 0]]) / 1.75
    assert compound_validity(fe3o4, els, mixed_valence=mixed_valence)[0][0] == mixed_valence
