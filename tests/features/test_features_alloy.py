"""Alloy descriptors: known values and agreement with matminer's alloy featurizers."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from jupyter_matopt.features import ALLOY_UNITS, AlloyFeaturizer, featurize, featurize_fractions
from jupyter_matopt.features._kernels import ALLOY_LABELS, GAS_CONSTANT

CANTOR = "CoCrFeMnNi"


def _row(comp: object) -> dict[str, float]:
    return dict(zip(ALLOY_LABELS, AlloyFeaturizer().featurize(comp), strict=True))


def test_labels_and_units() -> None:
    assert AlloyFeaturizer().feature_labels() == list(ALLOY_LABELS)
    assert set(ALLOY_UNITS) == set(ALLOY_LABELS)
    assert ALLOY_UNITS["alloy mixing entropy"] == "J/(mol K)"
    assert ALLOY_UNITS["alloy mixing enthalpy"] == "kJ/mol"
    assert len(AlloyFeaturizer().citations()) >= 4


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_equiatomic_mixing_entropy_is_R_ln_n(n: int) -> None:
    comp = {e: 1.0 for e in ["Co", "Cr", "Fe", "Mn", "Ni", "Cu"][:n]}
    assert _row(comp)["alloy mixing entropy"] == pytest.approx(GAS_CONSTANT * math.log(n))


def test_cantor_alloy_known_values() -> None:
    row = _row(CANTOR)
    assert row["alloy mixing entropy"] == pytest.approx(13.38, abs=0.005)  # R ln 5
    assert row["alloy VEC"] == pytest.approx(8.0)  # (9 + 6 + 8 + 7 + 10) / 5
    # Takeuchi & Inoue pairs: 4 * sum_{i<j} dH_ij / 25 = -4.16 kJ/mol, the literature value
    assert row["alloy mixing enthalpy"] == pytest.approx(-4.16)
    assert row["alloy mean melting T"] == pytest.approx((1768 + 2180 + 1811 + 1519 + 1728) / 5)
    assert 0 < row["alloy size mismatch delta"] < 5
    assert row["alloy Yang omega"] == pytest.approx(
        row["alloy mean melting T"] * row["alloy mixing entropy"] / 1000 / 4.16
    )


def test_pure_element_is_all_zero_spread() -> None:
    row = _row("Fe")
    for label in (
        "alloy mixing entropy",
        "alloy size mismatch delta",
        "alloy electronegativity delta",
        "alloy mixing enthalpy",
        "alloy Yang omega",
    ):
        assert row[label] == 0.0, label
    assert math.copysign(1.0, row["alloy mixing entropy"]) == 1.0  # not -0.0
    assert row["alloy VEC"] == 8.0


def test_binary_by_hand() -> None:
    """Ni0.75Al0.25: every descriptor from the element data directly."""
    from jupyter_matopt.features._tables import magpie_property, miedema_enthalpy_matrix

    ni, al = 27, 12  # row = Z - 1
    c = np.array([0.75, 0.25])
    idx = [ni, al]
    row = _row("Ni3Al")
    r = magpie_property("MiracleRadius")[idx]
    chi = magpie_property("Electronegativity")[idx]
    assert row["alloy size mismatch delta"] == pytest.approx(
        100 * np.sqrt(np.sum(c * (1 - r / (c @ r)) ** 2))
    )
    assert row["alloy electronegativity delta"] == pytest.approx(
        np.sqrt(np.sum(c * (chi - c @ chi) ** 2))
    )
    h = miedema_enthalpy_matrix()[ni, al]
    assert h == -22.0  # Takeuchi & Inoue (2005), Al-Ni
    assert row["alloy mixing enthalpy"] == pytest.approx(4 * h * 0.75 * 0.25)
    assert row["alloy mixing entropy"] == pytest.approx(
        -GAS_CONSTANT * (0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    )


def test_matches_matminer_yang_solid_solution() -> None:
    from matminer.featurizers.composition import YangSolidSolution
    from pymatgen.core import Composition

    comps = [CANTOR, "Al0.5CoCrCuFeNi", "Ni3Al", "TiZrHfNbTa", "Fe0.7Cr0.2Ni0.1", "Cu50Zr50"]
    yss = YangSolidSolution()
    ours = featurize(comps, preset="alloy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = np.array([yss.featurize(Composition(c)) for c in comps])
    # delta: same radii (MiracleRadius), ours in percent
    np.testing.assert_allclose(ours["alloy size mismatch delta"], 100 * ref[:, 1], rtol=1e-12)
    # omega: matminer uses R = 8.314
    np.testing.assert_allclose(
        ours["alloy Yang omega"], ref[:, 0] * GAS_CONSTANT / 8.314, rtol=1e-12
    )


def test_missing_miedema_pair_is_nan() -> None:
    from jupyter_matopt.features._tables import ELEMENTS, miedema_enthalpy_matrix

    H = miedema_enthalpy_matrix()
    i, j = map(int, np.argwhere(np.isnan(H))[0])
    comp = {ELEMENTS[i]: 1.0, ELEMENTS[j]: 1.0}
    row = _row(comp)
    assert math.isnan(row["alloy mixing enthalpy"]) and math.isnan(row["alloy Yang omega"])
    assert math.isfinite(row["alloy mixing entropy"])
    # the same pair with a zero column is fine: absent elements do not count
    X = np.array([[1.0, 0.0, 1.0]])
    out = featurize_fractions(X, ["Fe", ELEMENTS[j], "Ni"], preset="alloy")
    assert np.isfinite(out).all()


def test_fast_path_equals_string_path() -> None:
    rng = np.random.default_rng(3)
    elements = ["Al", "Co", "Cr", "Cu", "Fe", "Mn", "Ni", "Ti", "V", "Zr"]
    X = rng.random((400, len(elements))) * (rng.random((400, len(elements))) < 0.5)
    X[:, 1] += 0.01
    fast = featurize_fractions(X, elements, preset="alloy")
    dicts = [dict(zip(elements, row, strict=True)) for row in X]
    # equal up to the last bit of the row normalization (core normalizes dicts itself)
    np.testing.assert_allclose(fast, featurize(dicts, preset="alloy").to_numpy(), rtol=1e-13)


def test_radius_option() -> None:
    a = _row("Ni3Al")["alloy size mismatch delta"]
    b = dict(
        zip(
            ALLOY_LABELS,
            AlloyFeaturizer(radius_property="CovalentRadius").featurize("Ni3Al"),
            strict=True,
        )
    )["alloy size mismatch delta"]
    assert a != b and b > 0
    with pytest.raises(ValueError, match="unknown Magpie property"):
        AlloyFeaturizer(radius_property="Nope").featurize("Fe")
