"""The attention backend through PropertyModel: predictions, std, explanations, errors."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_matopt.models import Explanation, ModelError, PropertyModel

from .conftest import TINY


def test_fit_predict_shapes_and_std(attention_model, small_steels):
    comps = small_steels.compositions[:7]
    mean, std = attention_model.predict(comps, return_std=True)
    assert mean.shape == (7,) and std.shape == (7,)
    assert np.all(np.isfinite(mean)) and np.all(std > 0)
    # members differ (seeded separately), so the raw spread is not zero
    M = attention_model.backend_.predict_members(attention_model._inputs(
        attention_model._features(comps, None)[0]))
    assert M.shape == (2, 7) and np.ptp(M, axis=0).max() > 0
    assert attention_model.backend_name_ == "attention"
    # the training target scale: predictions land in the range of yield strengths (MPa)
    assert 0 < np.median(mean) < 5000


def test_predict_fractions_matches_predict(attention_model):
    mean, std = attention_model.predict_fractions(
        np.array([[0.7, 0.2, 0.1], [0.5, 0.25, 0.25]]), ["Fe", "Cr", "Ni"]
    )
    m2, s2 = attention_model.predict(["Fe0.7Cr0.2Ni0.1", "Fe0.5Cr0.25Ni0.25"], return_std=True)
    np.testing.assert_allclose(mean, m2, rtol=1e-6)
    np.testing.assert_allclose(std, s2, rtol=1e-6)


def test_explanations_sum_to_prediction_minus_base(attention_model):
    exp = attention_model.explain("Fe0.7Cr0.2Ni0.1")
    assert isinstance(exp, Explanation)
    assert exp.per_element.sum() == pytest.approx(exp.prediction - exp.base_value, abs=1e-6)
    assert exp.per_element["Fe"] != 0 and exp.per_element["Cr"] != 0
    # the base is the mean prediction over the training rows (the value of "no elements")
    pred = attention_model.predict(["Fe0.7Cr0.2Ni0.1"])[0]
    assert exp.prediction == pytest.approx(pred, rel=1e-9)
    # fractions path: every listed element gets an entry; absent ones contribute nothing
    e2 = attention_model.explain_fractions(np.array([0.6, 0.4, 0.0]), ["Fe", "Ni", "Cr"])
    assert e2.per_element["Cr"] == 0.0
    assert e2.per_element.sum() == pytest.approx(e2.prediction - e2.base_value, abs=1e-6)


def test_shapley_values_are_the_exact_ones(attention_model):
    """Against a brute-force Shapley computation over the three elements, from predictions
    of the renormalized sub-compositions (the stated value function)."""
    from itertools import combinations
    from math import factorial

    els = {"Fe": 0.6, "Cr": 0.3, "Ni": 0.1}
    exp = attention_model.explain("Fe0.6Cr0.3Ni0.1")
    base = exp.base_value

    def v(coal: tuple[str, ...]) -> float:
        if not coal:
            return base
        tot = sum(els[e] for e in coal)
        formula = "".join(f"{e}{els[e] / tot:.12f}" for e in coal)
        return float(attention_model.predict([formula])[0])

    names = list(els)
    for e in names:
        others = [o for o in names if o != e]
        phi = 0.0
        for r in range(len(others) + 1):
            for s in combinations(others, r):
                w = factorial(r) * factorial(len(names) - r - 1) / factorial(len(names))
                phi += w * (v(tuple(sorted((*s, e), key=names.index))) - v(s))
        assert exp.per_element[e] == pytest.approx(phi, rel=1e-5, abs=1e-6)


def test_many_elements_use_permutations_and_still_sum_exactly(attention_model, small_steels):
    # steels rows hold up to a dozen elements: beyond 8 players the values are sampled
    n_el = [len(c) for c in small_steels.frame[small_steels.composition_col]]
    exp = attention_model.explain(small_steels.compositions[int(np.argmax(n_el))])
    assert exp.per_element.sum() == pytest.approx(exp.prediction - exp.base_value, abs=1e-5)


def test_conditions_enter_the_head_and_the_explanation():
    rng = np.random.default_rng(1)
    comps = [f"Fe{a:.3f}Ni{1 - a:.3f}" for a in rng.uniform(0.2, 0.8, 40)]
    temp = rng.uniform(300, 900, 40)
    y = np.array([float(c[2:7]) for c in comps]) + temp / 300
    m = PropertyModel(backend="attention", n_ensemble=2, params={"epochs": 5},
                      calibrate=False).fit(comps, y, conditions={"T": temp})
    assert m.conditions_ == ["T"]
    e = m.explain("Fe0.5Ni0.5", conditions={"T": [800.0]})
    assert "T" in e.per_element.index and e.per_element["T"] != 0
    assert e.per_element.sum() == pytest.approx(e.prediction - e.base_value, abs=1e-6)
    lo, hi = m.predict(["Fe0.5Ni0.5"] * 2, conditions={"T": [300.0, 900.0]})
    assert lo != hi


def test_classification_gives_probabilities():
    rng = np.random.default_rng(2)
    a = rng.uniform(0.05, 0.95, 60)
    comps = [f"Cu{x:.3f}Zn{1 - x:.3f}" for x in a]
    y = (a > 0.5).astype(int)
    m = PropertyModel(backend="attention", n_ensemble=2, params={"epochs": 8}).fit(comps, y)
    assert m.task_ == "classification"
    p = m.predict_proba(["Cu0.9Zn0.1", "Cu0.1Zn0.9"])
    p1 = np.asarray(p)[:, -1] if np.ndim(p) == 2 else np.asarray(p)
    assert np.all((p1 >= 0) & (p1 <= 1))
    exp = m.explain("Cu0.9Zn0.1")
    assert exp.probability is not None
    assert exp.per_element.sum() == pytest.approx(exp.prediction - exp.base_value, abs=1e-6)


def test_calibrated_std_reports_coverage(small_steels):
    m = PropertyModel(backend="attention", n_ensemble=2, params={"epochs": 1}, seed=3)
    m.fit(small_steels.subset(np.arange(40)))
    cal = m.calibration_
    assert {"coverage_68", "coverage_95", "raw_coverage_68", "raw_coverage_95"} <= set(cal)
    assert cal["n"] == 40 and 0.0 <= cal["coverage_95"] <= 1.0
    assert m.std_scale_ > 0


def test_bad_parameters_raise_one_clear_error(small_steels):
    with pytest.raises(ModelError, match="unknown attention-backend parameter"):
        PropertyModel(backend="attention", params={"epoch": 3}).fit(small_steels)
    with pytest.raises(ModelError, match="pretrained='nope' is not a shipped network"):
        PropertyModel(backend="attention", params={"pretrained": "nope"}).fit(small_steels)


def test_equal_seeds_give_identical_models(small_steels):
    sub = small_steels.subset(np.arange(30))
    a = PropertyModel(backend="attention", n_ensemble=1, params=TINY, calibrate=False).fit(sub)
    b = PropertyModel(backend="attention", n_ensemble=1, params=TINY, calibrate=False).fit(sub)
    np.testing.assert_array_equal(a.predict(sub.compositions[:5]), b.predict(sub.compositions[:5]))


def test_compositions_of_unseen_elements_get_the_base_value_and_are_out_of_domain(
        attention_model):
    # none of these elements is among the training elements of the steels model
    mean, std, dom = attention_model.predict(["Au0.5Pt0.5", "Fe0.7Au0.3"], return_std=True,
                                             return_domain=True)
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(std))
    assert mean[0] == pytest.approx(attention_model.explain("Au0.5Pt0.5").base_value)
    assert not dom["in_domain"].iloc[0]
