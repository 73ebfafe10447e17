"""Explanations (sums, aggregation) and the applicability domain."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_matopt.models import Explanation

FAST = {"n_estimators": 40, "max_depth": 3}


def _check_sums(e: Explanation) -> None:
    total = e.prediction - e.base_value
    assert e.per_feature.sum() == pytest.approx(total, abs=1e-4)
    assert e.per_element.sum() == pytest.approx(total, abs=1e-4)
    assert e.per_property.sum() == pytest.approx(total, abs=1e-4)
    assert e.per_feature.sum() + e.base_value == pytest.approx(e.prediction, abs=1e-4)


def test_explain_sums_to_prediction(steels, steels_model) -> None:
    for comp in [steels.compositions[0], "Fe0.7Cr0.2Ni0.1", {"Fe": 0.8, "Co": 0.1, "Mo": 0.1}]:
        e = steels_model.explain(comp)
        _check_sums(e)
        assert e.prediction == pytest.approx(float(steels_model.predict([comp])[0]), abs=1e-4)
    e = steels_model.explain("Fe0.7Cr0.2Ni0.1")
    assert set(e.per_element.index) >= {"Fe", "Cr", "Ni"}
    assert len(e.per_feature) == len(steels_model.feature_names_)
    assert (
        "Electronegativity" in e.per_property.index and "element fractions" in e.per_property.index
    )
    frame = e.to_frame()
    assert list(frame.columns) == ["value", "contribution"]
    assert abs(frame["contribution"].iloc[0]) >= abs(frame["contribution"].iloc[-1])
    assert "Fe0.7Cr0.2Ni0.1" in repr(e) and "<table>" in e._repr_html_()


def test_explain_fractions_fast_path(steels_model) -> None:
    els = ["Fe", "Cr", "Ni", "Mo", "Co"]
    x = np.array([0.7, 0.15, 0.1, 0.0, 0.05])
    e = steels_model.explain_fractions(x, els)
    _check_sums(e)
    assert list(e.per_element.index[:5]) == els  # listed elements keep entries, also at 0
    mean, std = steels_model.predict_fractions(x, els)
    assert e.prediction == pytest.approx(mean[0], abs=1e-9) and e.std == pytest.approx(std[0])
    many = steels_model.explain_fractions(np.vstack([x, x[::-1]]), els)
    assert isinstance(many, list) and len(many) == 2
    for item in many:
        _check_sums(item)


def test_explain_classification_in_log_odds(metal_model) -> None:
    e = metal_model.explain("NaCl")
    _check_sums(e)
    p = metal_model.predict_proba(["NaCl"])[0, 1]
    assert e.probability == pytest.approx(p) and e.probability == pytest.approx(
        1 / (1 + np.exp(-e.prediction))
    )


def test_explain_many_and_importance(enthalpy, enthalpy_model) -> None:
    out = enthalpy_model.explain(enthalpy.compositions[:4])
    assert isinstance(out, list) and len(out) == 4
    for e in out:
        _check_sums(e)
    imp = enthalpy_model.feature_importance()
    assert imp.iloc[0] >= imp.iloc[-1] and len(imp) == len(enthalpy_model.feature_names_)
    np.testing.assert_allclose(enthalpy_model.feature_importances_.sum(), 1.0)
    prop = enthalpy_model.feature_importance("property")
    assert "Electronegativity" in prop.index
    assert len(enthalpy_model.feature_importance("element")) > 0


def test_domain_unseen_element(steels, steels_model) -> None:
    d = steels_model.predict_domain(["Fe0.7Pu0.3", steels.compositions[3]])
    assert list(d.columns) == ["composition", "in_domain", "reason", "distance"]
    assert not d["in_domain"].iloc[0]
    assert d["reason"].iloc[0] == "contains Pu, which is absent from the training data"
    assert d["in_domain"].iloc[1] and "inside" in d["reason"].iloc[1]
    d2 = steels_model.predict_domain(["Fe0.6Pu0.2U0.2"])
    assert d2["reason"].iloc[0] == "contains U and Pu, which are absent from the training data"


def test_domain_far_in_feature_space(steels_model) -> None:
    d = steels_model.predict_domain(["NaCl0.5", "Fe"])
    # Na and Cl are unseen; pure Fe uses known elements but lies far from every steel
    far = d.iloc[1]
    assert not far["in_domain"]
    assert "exceeds the threshold" in far["reason"] and f"{far['distance']:.3g}" in far["reason"]
    thr = steels_model.domain_.threshold
    assert f"{thr:.3g}" in far["reason"] and far["distance"] > thr


def test_domain_threshold_flags_about_five_percent_of_training(steels, steels_model) -> None:
    d = steels_model.predict_domain(steels)
    # training rows sit at distance 0 from themselves, so at most ~5 % are flagged
    assert d["in_domain"].mean() >= 0.9
