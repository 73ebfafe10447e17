"""Dataset.from_frame / from_csv: column detection, validation, bad rows, derived datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_matopt.core import CompositionError
from jupyter_matopt.data import Dataset, DatasetError, InvalidRowsError


def _frame(**cols: object) -> pd.DataFrame:
    return pd.DataFrame(cols)


# ------------------------------------------------------------ composition column


@pytest.mark.parametrize(
    "col", ["composition", "formula", "FORMULA", "Pymatgen Composition", "pretty_formula"]
)
def test_composition_column_detected_by_name(col: str) -> None:
    df = pd.DataFrame({"note": ["x", "y"], col: ["Fe2O3", "NaCl"], "prop": [1.0, 2.0]})
    ds = Dataset.from_frame(df)
    assert ds.composition_col == col
    assert ds.target == "prop"


def test_composition_column_detected_by_values() -> None:
    df = _frame(label=["first", "second"], stuff=["Fe2O3", "Al0.25 Co1 Fe1 Ni1"], y=[1.0, 2.0])
    assert Dataset.from_frame(df).composition_col == "stuff"


def test_ambiguous_composition_columns_ask_for_a_choice() -> None:
    df = _frame(a=["Fe2O3", "NaCl"], b=["CuO", "ZnO"], y=[1.0, 2.0])
    with pytest.raises(DatasetError, match="composition_col"):
        Dataset.from_frame(df)
    assert Dataset.from_frame(df, "b").composition_col == "b"


def test_no_composition_column_names_the_columns() -> None:
    df = _frame(label=["first", "second"], y=[1.0, 2.0])
    with pytest.raises(DatasetError, match=r"label.*composition_col"):
        Dataset.from_frame(df)


# ------------------------------------------------------------------------ target


def test_missing_target_names_available_columns() -> None:
    df = _frame(composition=["Fe2O3"], hardness=[3.0])
    with pytest.raises(DatasetError, match=r"'strength'.*available columns.*'hardness'"):
        Dataset.from_frame(df, target="strength")


def test_several_numeric_columns_need_a_target() -> None:
    df = _frame(composition=["Fe2O3"], a=[1.0], b=[2.0])
    with pytest.raises(DatasetError, match="target="):
        Dataset.from_frame(df)


def test_non_numeric_target_is_an_error() -> None:
    df = _frame(composition=["Fe2O3", "NaCl"], y=["1.5", "high"])
    with pytest.raises(DatasetError, match=r"'high'"):
        Dataset.from_frame(df, target="y")


@pytest.mark.parametrize(
    ("values", "task"),
    [
        ([0, 1, 1], "classification"),
        ([True, False, True], "classification"),
        ([0.5, 1, 2], "regression"),
    ],
)
def test_task_auto(values: list[object], task: str) -> None:
    ds = Dataset.from_frame(_frame(composition=["Fe", "Cu", "Ni"], y=values))
    assert ds.task == task
    if task == "classification":
        assert ds.y.dtype.kind == "i" and set(ds.y) <= {0, 1}


def test_explicit_task_wins() -> None:
    ds = Dataset.from_frame(_frame(composition=["Fe", "Cu"], y=[0, 1]), task="regression")
    assert ds.task == "regression" and ds.y.dtype == float


# ---------------------------------------------------------------------- bad rows


BAD = _frame(
    formula=["Fe2O3", "Xx2O", "NaCl", "", None, "Fe-1O"],
    y=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
)


def test_bad_rows_raise_naming_rows_and_reasons() -> None:
    with pytest.raises(InvalidRowsError) as info:
        Dataset.from_frame(BAD, target="y")
    err = info.value
    assert isinstance(err, DatasetError) and isinstance(err, CompositionError)
    assert isinstance(err, ValueError)
    text = str(err)
    assert "4 of 6 rows" in text
    assert "row 1 'Xx2O'" in text and "Xx" in text
    assert "row 3" in text and "row 4" in text and "row 5" in text
    assert "bad_rows='skip'" in text
    assert list(err.report["index"]) == [1, 3, 4, 5]


def test_bad_rows_skip_keeps_a_report() -> None:
    ds = Dataset.from_frame(BAD, target="y", bad_rows="skip")
    assert ds.compositions == ["Fe2O3", "NaCl"]
    assert list(ds.bad_rows.columns) == ["index", "input", "reason"]
    assert list(ds.bad_rows["index"]) == [1, 3, 4, 5]
    assert "unknown element" in ds.bad_rows["reason"].iloc[0]
    assert "skipped" in repr(ds)


def test_bad_rows_option_is_checked() -> None:
    with pytest.raises(DatasetError, match="bad_rows"):
        Dataset.from_frame(BAD, target="y", bad_rows="ignore")  # type: ignore[arg-type]


# -------------------------------------------------------------- groups & frames


def test_groups_are_reduced_compositions() -> None:
    ds = Dataset.from_frame(_frame(composition=["Fe2O3", "Fe4O6", "FeO", "O3Fe2"], y=[1.0] * 4))
    g = ds.groups
    assert g[0] == g[1] == g[3] != g[2]


def test_input_frame_is_not_modified() -> None:
    df = _frame(composition=["Fe2O3"], y=[True])
    before = df.copy()
    Dataset.from_frame(df)
    pd.testing.assert_frame_equal(df, before)


def test_mappings_and_pymatgen_compositions_become_text() -> None:
    from pymatgen.core import Composition

    df = pd.DataFrame({"composition": [{"Fe": 2, "O": 3}, Composition("NaCl")], "y": [1.0, 2.0]})
    ds = Dataset.from_frame(df)
    assert all(isinstance(c, str) for c in ds.compositions)
    assert ds.groups[0] == Dataset.from_frame(_frame(composition=["Fe2O3"], y=[1.0])).groups[0]


def test_existing_group_column_is_used() -> None:
    df = _frame(composition=["Fe2O3", "CuO"], y=[1.0, 2.0], batch=["a", "a"])
    ds = Dataset.from_frame(df, group_col="batch")
    assert list(ds.groups) == ["a", "a"]


# ---------------------------------------------------------------------- from_csv


def test_from_csv_keeps_formula_text_and_detects_columns(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    # pandas would read "NaN" (sodium nitride) as a missing value.
    path.write_text("Formula,note,hardness\nNaN,sodium nitride,1.5\nFe2O3,hematite,2\n")
    ds = Dataset.from_csv(path)
    assert ds.compositions == ["NaN", "Fe2O3"]
    assert ds.composition_col == "Formula" and ds.target == "hardness"
    assert ds.name == "mine" and ds.source == str(path)


def test_from_csv_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("composition,y\nFe2O3,1\nQq,2\n,3\n")
    with pytest.raises(InvalidRowsError, match=r"2 of 3 rows.*row 1 'Qq'"):
        Dataset.from_csv(path)
    ds = Dataset.from_csv(path, bad_rows="skip")
    assert len(ds) == 1 and len(ds.bad_rows) == 2


def test_from_csv_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="nothere.csv"):
        Dataset.from_csv(tmp_path / "nothere.csv")


# -------------------------------------------------------------- derived datasets


@pytest.fixture
def small() -> Dataset:
    df = _frame(
        composition=["Fe2O3", "CuO", "NaCl", "ZnO"],
        y=[1.0, np.nan, 3.0, 4.0],
        s=[10.0, 20.0, 30.0, 40.0],
        temperature=[300.0, 400.0, np.nan, 600.0],
    )
    return Dataset.from_frame(
        df,
        target="y",
        units="eV",
        conditions=["temperature"],
        name="small",
        citation="Someone et al. 2024",
        column_units={"s": "MPa"},
        target_aliases={"strength": "s"},
    )


def test_accessors(small: Dataset) -> None:
    assert len(small) == 4
    assert small.compositions[0] == "Fe2O3"
    assert small.y.shape == (4,) and np.isnan(small.y[1])
    assert list(small.X_conditions.columns) == ["temperature"]
    assert small.head(2).shape[0] == 2


def test_with_target_and_aliases(small: Dataset) -> None:
    other = small.with_target("strength")
    assert other.target == "s" and other.units == "MPa" and small.target == "y"
    assert small.with_target("s", units="GPa").units == "GPa"
    with pytest.raises(DatasetError, match=r"'nope'.*available columns"):
        small.with_target("nope")


def test_subset_mask_and_positions(small: Dataset) -> None:
    assert small.subset(small.frame["s"] > 15).compositions == ["CuO", "NaCl", "ZnO"]
    assert small.subset([3, 0]).compositions == ["ZnO", "Fe2O3"]
    with pytest.raises(DatasetError, match="mask"):
        small.subset(np.array([True, False]))


def test_dropna_uses_target_and_conditions(small: Dataset) -> None:
    assert small.dropna().compositions == ["Fe2O3", "ZnO"]


def test_repr_shows_summary(small: Dataset) -> None:
    text = repr(small)
    for part in ("small", "4", "'y'", "eV", "Someone et al. 2024", "temperature"):
        assert part in text
    html = small._repr_html_()
    assert "small" in html and "eV" in html and "Someone et al. 2024" in html


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["Fe", "Ni", "Co", "Cr", "Al", "O", "Te", "Bi"]),
        st.integers(min_value=1, max_value=9),
        min_size=1,
        max_size=4,
    ),
    st.integers(min_value=2, max_value=5),
)
def test_scaled_formulas_share_a_group(amounts: dict[str, int], factor: int) -> None:
    one = "".join(f"{el}{n}" for el, n in amounts.items())
    many = " ".join(f"{el}{n * factor}" for el, n in reversed(list(amounts.items())))
    ds = Dataset.from_frame(_frame(composition=[one, many], y=[1.0, 2.0]))
    assert ds.groups[0] == ds.groups[1]
