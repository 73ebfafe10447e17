"""The fast paths must give exactly what the plain paths give: merged ensemble, member
threads, lazy importances, the slider's single-row explanation."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_matopt.models import ModelError, PropertyModel
from jupyter_matopt.models._merge import merge_members

FAST = {"n_estimators": 40, "max_depth": 3}
ELS = ["Fe", "Cr", "Ni", "Mo", "Co", "Mn", "Si", "Ti", "Al", "C"]


def _rows(n: int, seed: int = 0) -> np.ndarray:
    X = np.random.default_rng(seed).dirichlet(np.ones(len(ELS)), n)
    X[:, 0] += 2.0  # steel-like: mostly Fe
    return X / X.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("which", ["steels_model", "metal_model"])
def test_merged_booster_is_bitwise_the_members(which, request) -> None:
    import xgboost as xgb

    model = request.getfixturevalue(which)
    merged = model._merged()
    assert merged is not None
    F = model.check_X_
    dm = xgb.DMatrix(F)
    margins = merged.predict(dm, output_margin=True)
    contribs = merged.predict(dm, pred_contribs=True)
    for j, b in enumerate(model.members_):
        np.testing.assert_array_equal(margins[:, j], b.inplace_predict(F, predict_type="margin"))
        np.testing.assert_array_equal(contribs[:, j], b.predict(dm, pred_contribs=True))


def test_merge_refuses_what_it_cannot_reproduce(steels_model) -> None:
    assert merge_members(steels_model.members_[:1], steels_model.check_X_) is None
    assert merge_members(steels_model.members_, np.zeros((0, 5))) is None


def test_small_and_large_batches_agree(steels_model) -> None:
    X = _rows(2100)  # >= 2048 rows: members on threads; below: the merged booster
    big_mean, big_std = steels_model.predict_fractions(X, ELS)
    small_mean, small_std = steels_model.predict_fractions(X[:40], ELS)
    np.testing.assert_array_equal(big_mean[:40], small_mean)
    np.testing.assert_array_equal(big_std[:40], small_std)


def test_single_row_explanation_matches_the_batch_path(steels_model) -> None:
    X = _rows(20, seed=1)  # 20 rows: per-member threads; single rows: merged booster
    many = steels_model.explain_fractions(X, ELS)
    for i in (0, 7, 19):
        one = steels_model.explain_fractions(X[i], ELS)
        assert one.prediction == many[i].prediction and one.std == many[i].std
        np.testing.assert_allclose(one.feature_contributions, many[i].feature_contributions,
                                   rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(one.element_contributions, many[i].element_contributions,
                                   rtol=1e-12, atol=1e-12)


def test_n_jobs_does_not_change_the_model(steels) -> None:
    small = steels.subset(range(150))
    probe = steels.compositions[150:170]
    a = PropertyModel(n_ensemble=3, params=FAST, n_jobs=1, seed=5).fit(small)
    b = PropertyModel(n_ensemble=3, params=FAST, n_jobs=2, seed=5).fit(small)
    for x, y in zip(a.predict(probe, return_std=True), b.predict(probe, return_std=True),
                    strict=True):
        np.testing.assert_array_equal(x, y)
    assert a.calibration_ == b.calibration_
    with pytest.raises(ModelError, match="n_jobs"):
        PropertyModel(n_jobs=0).fit(["Fe", "Cu"], [1.0, 2.0])


def test_callback_counts_members_with_threads(steels) -> None:
    calls: list[tuple[int, int]] = []
    PropertyModel(n_ensemble=4, params=FAST, calibrate=False, n_jobs=2).fit(
        steels.subset(range(80)), callback=lambda d, t, msg: calls.append((d, t))
    )
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_importances_are_lazy_and_exact(steels) -> None:
    m = PropertyModel(n_ensemble=2, params=FAST, calibrate=False).fit(steels)
    assert "_shap_importance" not in m.__dict__  # not paid for during fit
    imp = m.feature_importances_
    np.testing.assert_allclose(imp.sum(), 1.0)
    phi = m._contributions(m._importance_X)[0]
    np.testing.assert_allclose(m.shap_importance_, np.abs(phi).mean(axis=0))
    assert len(m._importance_X) == 300
    assert m.feature_importance("element").index[0] in m.elements_
    assert not hasattr(PropertyModel(), "feature_importances_")  # unfitted


def test_objective_option(steels) -> None:
    small = steels.subset(range(120))
    m = PropertyModel(n_ensemble=1, params={**FAST, "objective": "reg:absoluteerror"},
                      calibrate=False).fit(small)
    assert np.isfinite(m.predict(steels.compositions[:3])).all()
    with pytest.raises(ModelError, match="objective"):
        PropertyModel(params={"objective": "multi:softmax"}).fit(["Fe", "Cu"], [1.0, 2.0])


def test_evaluator_equals_public_api(steels_model) -> None:
    from jupyter_matopt.core import to_formula
    from jupyter_matopt.widgets._model import Evaluator

    ev = Evaluator(steels_model, cache_size=0)
    for x in _rows(5, seed=2):
        out = ev.evaluate(x, ELS)
        formula = to_formula(dict(zip(ELS, x, strict=True)), decimals=12)
        mean, std, dom = steels_model.predict([formula], return_std=True, return_domain=True)
        exp = steels_model.explain(formula)
        assert out["mean"] == pytest.approx(mean[0], rel=1e-9)
        assert out["std"] == pytest.approx(std[0], rel=1e-9)
        assert out["in_domain"] is bool(dom["in_domain"][0])
        for e in ELS:
            assert out["contributions"][e] == pytest.approx(float(exp.per_element[e]), abs=1e-6)
