"""The matminer-shaped featurizer API and the scikit-learn transformer protocol."""

from __future__ import annotations

import copy
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline

from jupyter_matopt.core import CompositionError
from jupyter_matopt.features import (
    AlloyFeaturizer,
    BaseFeaturizer,
    ElementFractionFeaturizer,
    MagpieFeaturizer,
    MultipleFeaturizer,
    featurize,
)

FEATURIZERS = [
    MagpieFeaturizer(),
    ElementFractionFeaturizer(),
    AlloyFeaturizer(),
    MultipleFeaturizer([MagpieFeaturizer(), AlloyFeaturizer()]),
]
COMPS = ["Fe2O3", "Al0.5 Co1 Fe1 Ni1", "NaCl", "Fe0.7Cr0.2Ni0.1", "CoCrFeMnNi", "SiO2"]


def _state(f: BaseFeaturizer) -> str:
    return repr(sorted((k, repr(v)) for k, v in vars(f).items()))


@pytest.mark.parametrize("f", FEATURIZERS, ids=lambda f: type(f).__name__)
def test_api_shape(f: BaseFeaturizer) -> None:
    labels = f.feature_labels()
    assert labels and len(labels) == len(set(labels)) == f.n_features
    one = f.featurize("Fe2O3")
    assert isinstance(one, list) and len(one) == len(labels)
    assert all(isinstance(v, float) for v in one)
    many = f.featurize_many(COMPS)
    assert many.shape == (len(COMPS), len(labels)) and many.dtype == np.float64
    np.testing.assert_array_equal(many[0], one)
    assert isinstance(f.citations(), list) and isinstance(f.implementors(), list)
    assert f.implementors()
    assert list(f.get_feature_names_out()) == labels


@pytest.mark.parametrize("f", FEATURIZERS, ids=lambda f: type(f).__name__)
def test_no_method_changes_state(f: BaseFeaturizer) -> None:
    before = _state(f)
    params = copy.deepcopy(f.get_params())
    f.featurize("Fe2O3")
    f.featurize_many(COMPS, ignore_errors=True)
    f.fit(COMPS).transform(COMPS)
    f.fit_transform(COMPS)
    f.featurize_dataframe(pd.DataFrame({"c": COMPS}), "c")
    f.featurize_fractions(np.array([[1.0, 2.0]]), ["Fe", "O"])
    f.feature_labels(), f.citations(), f.implementors(), f.get_feature_names_out()
    assert _state(f) == before
    assert repr(f.get_params()) == repr(params)


def test_fit_returns_self_and_needs_no_fit() -> None:
    f = MagpieFeaturizer()
    assert f.fit(COMPS) is f
    np.testing.assert_array_equal(f.transform(COMPS), MagpieFeaturizer().transform(COMPS))


def test_from_preset() -> None:
    assert MagpieFeaturizer.from_preset("magpie").get_params() == MagpieFeaturizer().get_params()
    assert isinstance(
        ElementFractionFeaturizer.from_preset("element_fraction"), ElementFractionFeaturizer
    )
    assert isinstance(AlloyFeaturizer.from_preset("alloy"), AlloyFeaturizer)
    combo = MultipleFeaturizer.from_preset("magpie+alloy")
    assert (
        combo.feature_labels()
        == MagpieFeaturizer().feature_labels() + AlloyFeaturizer().feature_labels()
    )
    with pytest.raises(CompositionError, match="presets"):
        MagpieFeaturizer.from_preset("deml")


def test_every_option_is_an_init_keyword_and_clone_works() -> None:
    f = MagpieFeaturizer(properties=("Number",), stats=("mean",))
    assert f.get_params() == {"properties": ("Number",), "stats": ("mean",)}
    g = clone(f)
    assert g is not f and g.get_params() == f.get_params()
    assert AlloyFeaturizer(radius_property="CovalentRadius").get_params() == {
        "radius_property": "CovalentRadius"
    }
    combo = clone(MultipleFeaturizer([MagpieFeaturizer(), AlloyFeaturizer()]))
    assert combo.n_features == 139


def test_sklearn_pipeline_fits_and_predicts() -> None:
    rng = np.random.default_rng(0)
    elements = ["Fe", "Ni", "Cr", "Co", "Mn"]
    X = rng.random((60, 5))
    comps = [dict(zip(elements, row, strict=True)) for row in X]
    y = X @ np.arange(5.0)
    pipe = make_pipeline(MagpieFeaturizer(), Ridge(alpha=1e-3))
    pipe.fit(comps, y)
    pred = pipe.predict(comps[:5])
    assert pred.shape == (5,) and np.isfinite(pred).all()
    scores = cross_val_score(
        Pipeline([("feat", AlloyFeaturizer()), ("reg", Ridge())]), pd.Series(comps), y, cv=3
    )
    assert np.isfinite(scores).all()


def test_set_output_pandas_uses_labels() -> None:
    f = MagpieFeaturizer().set_output(transform="pandas")
    out = f.fit_transform(pd.Series(COMPS, index=list("abcdef")))
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == MagpieFeaturizer().feature_labels()
    assert list(out.index) == list("abcdef")


def test_transform_accepts_one_column_frame_and_2d_array() -> None:
    f = AlloyFeaturizer()
    ref = f.transform(COMPS)
    np.testing.assert_array_equal(f.transform(pd.DataFrame({"c": COMPS})), ref)
    np.testing.assert_array_equal(f.transform(np.array(COMPS, dtype=object)[:, None]), ref)
    with pytest.raises(CompositionError, match="one column"):
        f.transform(pd.DataFrame({"a": COMPS, "b": COMPS}))


def test_featurize_dataframe() -> None:
    df = pd.DataFrame({"comp": COMPS, "y": np.arange(6.0)}, index=list("uvwxyz"))
    out = AlloyFeaturizer().featurize_dataframe(df, "comp")
    assert out is not None
    assert list(out.columns) == ["comp", "y", *AlloyFeaturizer().feature_labels()]
    assert list(out.index) == list(df.index)
    assert list(df.columns) == ["comp", "y"]  # input untouched
    with pytest.raises(ValueError, match="already a column"):
        AlloyFeaturizer().featurize_dataframe(out, "comp")
    assert AlloyFeaturizer().featurize_dataframe(df, "comp", inplace=True) is None
    assert df.shape == (6, 2 + 7)


def test_featurize_many_errors() -> None:
    f = MagpieFeaturizer()
    with pytest.raises(CompositionError, match="Zz"):
        f.featurize_many(["Fe", "Zz"])
    out = f.featurize_many(["Fe", "Zz", None, 3.5], ignore_errors=True)
    assert np.isfinite(out[0]).all() and np.isnan(out[1:]).all()
    with pytest.raises(CompositionError):
        f.featurize("")


def test_no_warnings_from_our_code() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        featurize(COMPS + ["Fe", "He"], preset="magpie+alloy+element_fraction")


def test_importing_features_loads_no_tables_or_matminer() -> None:
    code = (
        "import sys; import jupyter_matopt.features as f; "
        "from jupyter_matopt.features import _tables as t; "
        "assert 'matminer' not in sys.modules, 'matminer imported'; "
        "assert t.magpie_property.cache_info().currsize == 0, 'tables read at import'; "
        "f.featurize('Fe2O3'); assert 'matminer' not in sys.modules, 'matminer at run time'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
