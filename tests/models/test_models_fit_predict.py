"""Fitting, prediction, uncertainty, conditions, classification, determinism, conventions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from jupyter_matopt.models import ModelError, NotFittedError, PropertyModel

FAST = {"n_estimators": 40, "max_depth": 3}


def test_fit_predict_steels(steels, steels_model) -> None:
    m = steels_model
    assert m.target_ == "yield strength" and m.units_ == "MPa" and m.task_ == "regression"
    assert m.conditions_ == [] and m.n_train_ == len(steels)
    assert {"Fe", "Cr", "Ni", "Co", "Mo"} <= set(m.elements_) and "Pu" not in m.elements_
    assert len(m.feature_names_) == m.n_features_in_ and m.feature_names_[0].startswith(
        "MagpieData"
    )
    mean, std = m.predict(["Fe0.7Cr0.2Ni0.1"], return_std=True)
    assert mean.shape == std.shape == (1,)
    assert 500 < mean[0] < 3000 and std[0] > 0
    # a Dataset, a Series and dicts are accepted and agree
    a = m.predict(steels.subset(range(5)))
    b = m.predict(pd.Series(steels.compositions[:5]))
    c = m.predict([{"Fe": 0.7, "Cr": 0.2, "Ni": 0.1}])
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(c, mean)
    assert m.std_scale_ > 0 and m.std_floor_ >= 0 and "coverage_68" in m.calibration_


def test_predict_fractions_matches_strings(steels_model) -> None:
    els = ["Fe", "Cr", "Ni", "Mo"]
    X = np.array([[0.7, 0.2, 0.08, 0.02], [0.5, 0.3, 0.2, 0.0]])
    mean, std = steels_model.predict_fractions(X, els)
    m2, s2 = steels_model.predict(["Fe0.7Cr0.2Ni0.08Mo0.02", "Fe0.5Cr0.3Ni0.2"], return_std=True)
    np.testing.assert_allclose(mean, m2, rtol=1e-12)
    np.testing.assert_allclose(std, s2, rtol=1e-12)
    one = steels_model.predict_fractions(X[0], els, return_std=False)
    np.testing.assert_allclose(one, mean[:1])
    with pytest.raises(ModelError, match="shape"):
        steels_model.predict_fractions(X, ["Fe", "Cr"])


def test_return_domain_tuple(steels_model) -> None:
    mean, std, dom = steels_model.predict(
        ["Fe0.7Cr0.2Ni0.1", "Fe0.7Pu0.3"], return_std=True, return_domain=True
    )
    assert list(dom.columns) == ["in_domain", "reason", "distance"]
    assert dom["in_domain"].dtype == bool and not dom["in_domain"].iloc[1]
    _, dom2 = steels_model.predict_fractions(
        [[0.7, 0.3]], ["Fe", "Pu"], return_std=False, return_domain=True
    )
    assert "Pu" in dom2["reason"].iloc[0]


def test_seed_determinism(steels) -> None:
    small = steels.subset(range(120))
    p1 = (
        PropertyModel(n_ensemble=2, params=FAST, seed=3)
        .fit(small)
        .predict(steels.compositions[:20], return_std=True)
    )
    p2 = (
        PropertyModel(n_ensemble=2, params=FAST, seed=3)
        .fit(small)
        .predict(steels.compositions[:20], return_std=True)
    )
    p3 = (
        PropertyModel(n_ensemble=2, params=FAST, seed=4)
        .fit(small)
        .predict(steels.compositions[:20])
    )
    np.testing.assert_array_equal(p1[0], p2[0])
    np.testing.assert_array_equal(p1[1], p2[1])
    assert not np.array_equal(p1[0], p3)


def test_classification_probabilities(metal, metal_model) -> None:
    m = metal_model
    assert m.task_ == "classification" and list(m.classes_) == [0, 1]
    proba, std = m.predict_proba(metal.compositions[:50], return_std=True)
    assert proba.shape == (50, 2) and np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all(std >= 0)
    labels = m.predict(metal.compositions[:50])
    assert set(np.unique(labels)) <= {0, 1}
    np.testing.assert_array_equal(labels, (proba[:, 1] >= m.threshold_).astype(int))
    p, s = m.predict_fractions([[0.5, 0.5]], ["Na", "Cl"])
    assert 0 <= p[0] <= 1
    with pytest.raises(ModelError, match="classification"):
        PropertyModel(n_ensemble=1, params=FAST).fit(
            ["Fe", "Cu", "Ni"], [1.0, 2.0, 3.5]
        ).predict_proba(["Fe"])


def test_string_labels_and_threshold() -> None:
    comps = ["NaCl", "Cu", "Fe", "KBr", "Al", "MgO", "Ni", "LiF"] * 4
    y = ["insulator", "metal", "metal", "insulator", "metal", "insulator", "metal", "insulator"] * 4
    m = PropertyModel(n_ensemble=1, params=FAST, decision_threshold=0.5).fit(comps, y)
    assert m.task_ == "classification" and list(m.classes_) == ["insulator", "metal"]
    assert set(m.predict(["Co", "CsI"])) <= {"insulator", "metal"}
    assert m.threshold_ == 0.5


def test_conditions(enthalpy) -> None:
    rng = np.random.default_rng(0)
    comps = enthalpy.compositions[:200]
    T = rng.uniform(300, 900, size=200)
    y = enthalpy.y[:200] + 1e-3 * T
    m = PropertyModel(n_ensemble=2, params=FAST, calibrate=False).fit(
        comps, y, conditions=pd.DataFrame({"T": T})
    )
    assert m.conditions_ == ["T"] and m.feature_names_[-1] == "T"
    with pytest.raises(ModelError, match=r"condition column\(s\) \['T'\]"):
        m.predict(["NaCl"])
    a = m.predict(["NaCl", "MgO"], conditions={"T": 500.0})
    b = m.predict(["NaCl", "MgO"], conditions=pd.DataFrame({"T": [500.0, 500.0]}))
    c, _ = m.predict_fractions([[0.5, 0.5], [0.5, 0.5]], ["Na", "Cl"], conditions=500.0)
    np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(c[0], a[0], rtol=1e-12)
    e = m.explain("NaCl", conditions={"T": 500.0})
    assert "T" in e.per_element.index and "T" in e.per_property.index
    assert e.per_element.sum() + e.base_value == pytest.approx(e.prediction, abs=1e-9)


def test_dataset_conditions_picked_up(data_path) -> None:
    from jupyter_matopt.data import load_dataset

    ds = load_dataset("thermoelectric_sysTEm", data_dir=data_path)
    small = ds.subset(range(0, len(ds), 20))
    m = PropertyModel(n_ensemble=2, params=FAST, calibrate=False).fit(small)
    assert m.conditions_ == ["temperature"] and m.target_ == "zT"
    hot = m.predict(["Bi2Te3"], conditions={"temperature": 400.0}, return_std=True)
    assert np.isfinite(hot[0]).all()
    np.testing.assert_allclose(
        m.predict(small.subset(range(3))),
        m.predict(small.compositions[:3], conditions=small.X_conditions.iloc[:3]),
    )


def test_sklearn_conventions(steels) -> None:
    m = PropertyModel(n_ensemble=2, params=FAST, seed=1)
    assert m.get_params()["seed"] == 1 and m.set_params(seed=2) is m and m.seed == 2
    c = clone(m)
    assert c.get_params() == m.get_params() and not hasattr(c, "members_")
    with pytest.raises(NotFittedError):
        m.predict(["Fe"])
    assert m.fit(steels.subset(range(60))) is m
    assert hasattr(m, "members_") and len(m.members_) == 2
    assert "fitted" in repr(m)
    r2 = m.score(steels.subset(range(60)))
    assert r2 > 0


def test_bad_inputs(steels_model) -> None:
    from jupyter_matopt.core import CompositionError

    with pytest.raises(ModelError, match="estimator"):
        PropertyModel("svm").fit(["Fe"], [1.0])
    with pytest.raises(ModelError, match="missing"):
        PropertyModel(params=FAST).fit(["Fe", "Cu", "Ni"], [1.0, np.nan, 2.0])
    with pytest.raises(ModelError, match="one value per composition"):
        PropertyModel(params=FAST).fit(["Fe", "Cu"], [1.0])
    with pytest.raises(CompositionError):
        steels_model.predict(["Xx2O"])
    with pytest.raises(ModelError, match="binary"):
        PropertyModel(params=FAST, task="classification").fit(["Fe", "Cu", "Ni"], ["a", "b", "c"])


def test_callback_and_data_free_model(enthalpy) -> None:
    calls: list[tuple[int, int, str]] = []
    m = PropertyModel(n_ensemble=2, params=FAST, calibrate=False)
    m.fit(enthalpy.subset(range(300)), callback=lambda d, t, msg: calls.append((d, t, msg)))
    assert calls[-1][:2] == (2, 2) and m.units_ == "eV/atom"


def test_rf_estimator(steels) -> None:
    m = PropertyModel(
        "rf", n_ensemble=2, params={"n_estimators": 20, "max_depth": 6}, calibrate=False
    )
    m.fit(steels.subset(range(150)))
    mean, std = m.predict(steels.compositions[:5], return_std=True)
    assert np.all(np.isfinite(mean)) and np.all(std >= 0)
    e = m.explain(steels.compositions[0])
    assert e.per_feature.sum() + e.base_value == pytest.approx(e.prediction, rel=1e-9)


def test_tune_bounded(steels) -> None:
    small = steels.subset(range(120))
    m = PropertyModel(n_ensemble=1, params=FAST, calibrate=False)
    m.tune(small, n_iter=2, cv=2)
    assert m.best_params_ is not None and len(m.tune_results_) == 2
    assert m.tune_results_["chosen"].sum() == 1 and hasattr(m, "members_")
    auto = PropertyModel(
        n_ensemble=1, params=FAST, calibrate=False, tune=True, tune_iter=2, tune_cv=2
    ).fit(small)
    assert auto.best_params_ == m.best_params_
