"""Magpie features: equal to matminer's ElementProperty on real data, and its exact semantics."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from features_helpers import assert_matches_matminer, matminer_magpie
from pymatgen.core import Composition

from jupyter_matopt.core import CompositionError, parse_composition
from jupyter_matopt.features import (
    MAGPIE_PROPERTIES,
    MAGPIE_STATS,
    MagpieFeaturizer,
    feature_labels,
    featurize,
    featurize_fractions,
)
from jupyter_matopt.features._batch import Batch
from jupyter_matopt.features._kernels import magpie_stats
from jupyter_matopt.features._tables import ELEMENTS, magpie_property, magpie_table


def matminer_labels() -> list[str]:
    from matminer.featurizers.composition import ElementProperty

    return ElementProperty.from_preset("magpie").feature_labels()


def test_labels_are_matminers() -> None:
    assert feature_labels("magpie") == matminer_labels()
    assert MagpieFeaturizer().feature_labels() == matminer_labels()
    assert len(matminer_labels()) == 132 == 22 * 6


def test_tables_equal_matminers_imputed_data() -> None:
    """Every Magpie table, NaNs imputed as matminer's MagpieData(impute_nan=True) does."""
    from matminer.utils.data import MagpieData
    from pymatgen.core import Element

    data = MagpieData(impute_nan=True)
    for prop in MAGPIE_PROPERTIES + ("MiracleRadius", "CovalentRadius"):
        ref = [data.get_elemental_property(Element(s), prop) for s in ELEMENTS]
        np.testing.assert_array_equal(magpie_property(prop), ref, err_msg=prop)


def test_equal_to_matminer_on_real_compositions(
    real_formulas: list[str], matminer_reference: np.ndarray
) -> None:
    """>= 1,000 real formulas (compounds, steels, HEAs), all 132 features, 1e-9 relative."""
    assert len(real_formulas) >= 1000
    ours = featurize(real_formulas)
    assert list(ours.columns) == matminer_labels()
    assert_matches_matminer(ours.to_numpy(), matminer_reference)


def test_real_compositions_agree_far_below_tolerance(
    real_formulas: list[str], matminer_reference: np.ndarray
) -> None:
    """Report-style check: where matminer's value is not ~0, the relative error is ~1e-13."""
    ours = featurize(real_formulas).to_numpy()
    big = np.abs(matminer_reference) > 1e-6
    rel = np.abs(ours - matminer_reference)[big] / np.abs(matminer_reference)[big]
    assert rel.max() < 1e-11


@pytest.mark.parametrize("kind", ["dict", "Composition", "Series"])
def test_other_input_types_match(
    kind: str, real_formulas: list[str], matminer_reference: np.ndarray
) -> None:
    sample = real_formulas[::10]
    ref = matminer_reference[::10]
    items: Any
    if kind == "dict":
        items = [parse_composition(f) for f in sample]
    elif kind == "Composition":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            items = [Composition(f) for f in sample]
    else:
        items = pd.Series(sample, index=[f"r{i}" for i in range(len(sample))])
    out = featurize(items)
    assert_matches_matminer(out.to_numpy(), ref)
    if kind == "Series":
        assert list(out.index) == list(items.index)
    else:
        assert list(out.index) == list(range(len(sample)))


def test_fast_path_equals_string_path_on_real_alloys(real_formulas: list[str]) -> None:
    """Steels/HEAs as a fraction matrix over their union of elements == the string path."""
    alloys = real_formulas[600:]
    parsed = [parse_composition(f) for f in alloys]
    elements = sorted({e for d in parsed for e in d}, key=ELEMENTS.index)
    X = np.array([[d.get(e, 0.0) for e in elements] for d in parsed])
    fast = featurize_fractions(X, elements)
    slow = featurize(alloys).to_numpy()
    np.testing.assert_allclose(fast, slow, rtol=1e-13, atol=1e-13)


def test_shared_and_per_row_kernels_agree(real_formulas: list[str]) -> None:
    """The two batch layouts (see _batch) give the same numbers on the same rows."""
    parsed = [parse_composition(f) for f in real_formulas[:600]]
    elements = sorted({e for d in parsed for e in d}, key=ELEMENTS.index)
    X = np.array([[d.get(e, 0.0) for e in elements] for d in parsed])
    X /= X.sum(axis=1, keepdims=True)
    idx = np.array([ELEMENTS.index(e) for e in elements])
    shared = magpie_stats(Batch(X, idx))
    width = max(map(len, parsed))
    frac = np.zeros((len(parsed), width))
    pidx = np.zeros((len(parsed), width), dtype=np.intp)
    for r, d in enumerate(parsed):
        for j, (e, v) in enumerate(d.items()):
            frac[r, j], pidx[r, j] = v, ELEMENTS.index(e)
    frac /= frac.sum(axis=1, keepdims=True)
    per_row = magpie_stats(Batch(frac, pidx))
    np.testing.assert_allclose(shared, per_row, rtol=1e-13, atol=1e-12)


def test_scale_invariance() -> None:
    a, b = featurize(["Fe0.5O0.5", "Fe2O2"]).to_numpy()
    np.testing.assert_array_equal(a, b)
    rows = featurize(["Fe2O3", "Fe4O6", {"Fe": 0.4, "O": 0.6}, "O3Fe2"]).to_numpy()
    np.testing.assert_allclose(rows, np.broadcast_to(rows[0], rows.shape), rtol=1e-14)
    X = np.array([[0.5, 0.5], [2.0, 2.0], [7.0, 7.0]])
    fast = featurize_fractions(X, ["Fe", "O"])
    np.testing.assert_array_equal(fast[0], fast[1])
    np.testing.assert_array_equal(fast[0], a)


def test_column_order_of_fraction_matrix_does_not_matter() -> None:
    X = np.array([[0.2, 0.3, 0.5], [0.0, 0.1, 0.9]])
    one = featurize_fractions(X, ["Fe", "Cr", "Ni"])
    two = featurize_fractions(X[:, [2, 0, 1]], ["Ni", "Fe", "Cr"])
    np.testing.assert_allclose(one, two, rtol=1e-14)


def test_statistics_by_hand() -> None:
    """Fe0.25Ni0.75: min/max over present elements, weighted mean and avg_dev, mode."""
    row = featurize("Fe1Ni3").iloc[0]
    z = {"Fe": 26.0, "Ni": 28.0}
    assert row["MagpieData minimum Number"] == z["Fe"]
    assert row["MagpieData maximum Number"] == z["Ni"]
    assert row["MagpieData range Number"] == 2.0
    assert row["MagpieData mean Number"] == pytest.approx(0.25 * 26 + 0.75 * 28)
    assert row["MagpieData avg_dev Number"] == pytest.approx(0.25 * 1.5 + 0.75 * 0.5)
    assert row["MagpieData mode Number"] == 28.0  # the majority element's value


def test_zero_columns_are_absent_not_minimum() -> None:
    """A zero fraction must not enter min/max (Fe-Ni matrix with an empty H column)."""
    X = np.array([[0.0, 1.0, 3.0]])
    out = featurize_fractions(X, ["H", "Fe", "Ni"])
    ref = featurize("Fe1Ni3").to_numpy()
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize(
    "formula",
    [
        "FeO",  # exact tie: the smaller value of the two
        "Fe1Ni1.000001",  # within np.isclose's rtol=1e-5: still a tie
        "Fe1Ni1.0001",  # outside: Ni is the mode
        "Fe1Ni1O1",  # three-way tie
        "Al0.25 Co1 Fe1 Ni1",  # tie among the majority, minority excluded
        "Ni3Fe",
    ],
)
def test_mode_ties_like_matminer(formula: str) -> None:
    ours = featurize(formula).to_numpy()
    assert_matches_matminer(ours, matminer_magpie([formula]))
    mode_cols = [i for i, label in enumerate(feature_labels()) if " mode " in label]
    assert mode_cols and len(mode_cols) == 22


@pytest.mark.parametrize(
    "formula",
    [
        "HeNe",  # noble gases: Electronegativity, MeltingT missing (imputed)
        "XeF6",
        "Lr",  # last supported element, several properties missing
        "FrAt",
        "Pm2O3",
        "Rn",
        "Am0.5Cm0.5",
        "NoLrMd",
        "H",
    ],
)
def test_missing_element_data_imputed_like_matminer(formula: str) -> None:
    ours = featurize(formula).to_numpy()
    assert np.isfinite(ours).all()
    assert_matches_matminer(ours, matminer_magpie([formula]))


def test_single_element_has_zero_spread() -> None:
    row = featurize("Fe").iloc[0]
    for prop in MAGPIE_PROPERTIES:
        assert row[f"MagpieData range {prop}"] == 0.0
        assert row[f"MagpieData avg_dev {prop}"] == 0.0
        assert row[f"MagpieData mean {prop}"] == row[f"MagpieData mode {prop}"]


@pytest.mark.parametrize("bad", ["RfO2", "Og", "FeDb0.1", "Xx2O"])
def test_unsupported_elements_raise(bad: str) -> None:
    symbol = bad.rstrip("0123456789.O") if bad != "FeDb0.1" else "Db"
    with pytest.raises(CompositionError, match=symbol):
        featurize([bad])
    with pytest.raises(CompositionError, match=symbol):
        featurize(["Fe2O3", bad, "NiO"])


def test_unsupported_element_in_fraction_matrix() -> None:
    with pytest.raises(CompositionError, match="Rf"):
        featurize_fractions(np.ones((2, 2)), ["Fe", "Rf"])
    with pytest.raises(CompositionError, match="Xy"):
        featurize_fractions(np.ones((2, 2)), ["Fe", "Xy"])


def test_error_names_the_row_and_input() -> None:
    with pytest.raises(CompositionError, match=r"row 'b'.*Qq"):
        featurize(pd.Series(["Fe2O3", "Qq"], index=["a", "b"]))


def test_errors_nan_fills_invalid_rows() -> None:
    out = featurize(["Fe2O3", "RfO2", "nonsense", "Fe2O3"], errors="nan")
    assert out.shape == (4, 132)
    assert out.iloc[[1, 2]].isna().all().all()
    assert out.iloc[[0, 3]].notna().all().all()
    np.testing.assert_array_equal(out.iloc[0], out.iloc[3])


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.array([[1.0, -0.1]]), "negative"),
        (np.array([[1.0, np.nan]]), "NaN"),
        (np.array([[0.5, 0.5], [0.0, 0.0]]), "row 1 has no positive"),
        (np.ones((3, 3)), "shape"),
        (np.array([["a", "b"]]), "numeric"),
    ],
)
def test_fraction_matrix_validation(X: np.ndarray, match: str) -> None:
    with pytest.raises(CompositionError, match=match):
        featurize_fractions(X, ["Fe", "Ni"])


def test_fraction_matrix_needs_unique_elements() -> None:
    with pytest.raises(CompositionError, match="unique"):
        featurize_fractions(np.ones((1, 2)), ["Fe", "Fe"])


def test_fraction_matrix_from_dataframe_columns() -> None:
    df = pd.DataFrame({"Fe": [0.7, 0.5], "Cr": [0.2, 0.5], "Ni": [0.1, 0.0]})
    np.testing.assert_array_equal(
        featurize_fractions(df), featurize_fractions(df.to_numpy(), ["Fe", "Cr", "Ni"])
    )


def test_many_elements_and_chunks() -> None:
    """Many columns (several 8-element lookup groups) and more rows than one chunk."""
    rng = np.random.default_rng(7)
    elements = list(ELEMENTS[:40])
    X = rng.random((5000, 40)) * (rng.random((5000, 40)) < 0.1)
    X[:, 0] += 1e-3  # every row non-empty
    fast = featurize_fractions(X, elements)
    dicts = [{e: v for e, v in zip(elements, row, strict=True) if v > 0} for row in X[:300]]
    np.testing.assert_allclose(fast[:300], featurize(dicts).to_numpy(), rtol=1e-12, atol=1e-12)
    ref = magpie_table()[: len(elements)]
    present = X > 0
    mins = np.where(present[:, :, None], ref[None], np.inf).min(axis=1)
    np.testing.assert_array_equal(fast[:, 0::6], mins)


def test_properties_and_stats_options() -> None:
    f = MagpieFeaturizer(properties=("Number", "MiracleRadius"), stats=("mean", "mode"))
    assert f.feature_labels() == [
        "MagpieData mean Number",
        "MagpieData mode Number",
        "MagpieData mean MiracleRadius",
        "MagpieData mode MiracleRadius",
    ]
    out = f.featurize("Fe1Ni3")
    assert out[0] == pytest.approx(27.5) and out[1] == 28.0
    with pytest.raises(ValueError, match="unknown Magpie property"):
        MagpieFeaturizer(properties=("Nope",)).feature_labels()
    with pytest.raises(CompositionError, match="unknown statistic"):
        MagpieFeaturizer(stats=("median",)).feature_labels()
    assert MAGPIE_STATS == ("minimum", "maximum", "range", "mean", "avg_dev", "mode")
