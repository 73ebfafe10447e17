"""A model that implements only the FractionModel contract works through every entry point.

The model is scikit-learn's k-nearest-neighbours regressor wrapped in a few lines (no
jupyter_matopt base class): screening, inverse design, a campaign surrogate, the composition
sliders (their Python side, headless) and cross-validation (as a factory).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.neighbors import KNeighborsRegressor

from jupyter_matopt import CompositionSpace
from jupyter_matopt.models import FractionModel, FractionModelFactory, cross_validate
from jupyter_matopt.models.protocol import domain_frame, explanation_from_contributions

ELEMENTS = ["Fe", "Cr", "Ni"]


class KNNModel:
    """k-NN on fractions over its training elements; std is the neighbours' spread."""

    conditions_: list[str] = []
    target_, units_, task_ = "y", None, "regression"

    def __init__(self, X, elements, y, conditions=None, *, k: int = 4) -> None:
        self.elements_ = list(elements)
        self._y = np.asarray(y, dtype=float)
        self._knn = KNeighborsRegressor(k).fit(self._rows(X, elements), self._y)
        self._radius = np.quantile(self._knn.kneighbors(self._rows(X, elements))[0][:, -1], 0.95)

    def _rows(self, X, elements):
        X = np.atleast_2d(np.asarray(X, dtype=float))
        out = np.zeros((len(X), len(self.elements_)))
        for j, e in enumerate(elements):
            out[:, self.elements_.index(e)] = X[:, j]
        return out / out.sum(axis=1, keepdims=True)

    def predict_fractions(self, X, elements, conditions=None, *, return_std=True,
                          return_domain=False):
        dist, idx = self._knn.kneighbors(self._rows(X, elements))
        mean, std = self._y[idx].mean(axis=1), self._y[idx].std(axis=1)
        out = [mean] + ([std] if return_std else [])
        if return_domain:
            out.append(self.predict_domain_fractions(X, elements))
        return out[0] if len(out) == 1 else tuple(out)

    def predict_domain_fractions(self, X, elements, conditions=None):
        d = self._knn.kneighbors(self._rows(X, elements))[0].mean(axis=1)
        return domain_frame(d <= self._radius, distance=d)

    def explain_fractions(self, X, elements, conditions=None):
        # share (prediction - training mean) over the elements in proportion to fraction
        mean, std = self.predict_fractions(X, elements)
        R = np.atleast_2d(np.asarray(X, dtype=float))
        R = R / R.sum(axis=1, keepdims=True)
        base = float(self._y.mean())
        phi = (mean - base)[:, None] * R
        return explanation_from_contributions(X, elements, phi, base, std=std,
                                              target=self.target_)


def _truth(X: np.ndarray) -> np.ndarray:
    return 3.0 * X[:, 0] - 2.0 * X[:, 1] + np.sin(6.0 * X[:, 2])


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    X = np.random.default_rng(0).dirichlet(np.ones(3), size=120)
    return X, _truth(X)


@pytest.fixture(scope="module")
def knn(data) -> KNNModel:
    return KNNModel(data[0], ELEMENTS, data[1])


@pytest.fixture(scope="module")
def grid() -> CompositionSpace:
    return CompositionSpace({"Fe": (0.1, 0.8), "Cr": (0.1, 0.6), "Ni": (0.0, 0.5)}, step=0.05)


def test_the_wrapper_is_a_fraction_model_and_a_factory(knn) -> None:
    assert isinstance(knn, FractionModel)
    assert isinstance(KNNModel, FractionModelFactory)


def test_screen(knn, grid) -> None:
    from jupyter_matopt.screen import screen

    res = screen(grid, knn, top_k=5)
    X = grid.enumerate_grid()
    mean = knn.predict_fractions(X, ELEMENTS, return_std=False)
    best = np.sort(mean)[::-1][:5]
    np.testing.assert_allclose(np.sort(res["mean"].to_numpy())[::-1], best)


def test_inverse_design(knn, grid) -> None:
    from jupyter_matopt.optimize import inverse_design

    target = 0.5
    res = inverse_design(knn, grid, target, n=3)
    X = res[ELEMENTS].to_numpy()
    assert bool(np.all(grid.contains(X)))
    mean, std = knn.predict_fractions(X, ELEMENTS)
    np.testing.assert_allclose(res["mean"], mean)
    # the grid is enumerated, so the best row is the best expected deviation of the grid
    G = grid.enumerate_grid()
    gm, gs = knn.predict_fractions(G, ELEMENTS)
    assert res["expected_deviation"].iloc[0] == pytest.approx(
        np.sqrt((gm - target) ** 2 + gs**2).min())


def test_campaign_surrogate(knn, grid) -> None:
    from jupyter_matopt.optimize import Campaign

    camp = Campaign(grid, seed=0, prior=knn, surrogate="model")
    X = grid.sample(6, seed=1)
    camp.tell(X, _truth(X))
    batch = camp.suggest(3)
    Xs = batch[ELEMENTS].to_numpy()
    assert bool(np.all(grid.contains(Xs)))
    # the campaign ranks by the plugged-in model: its means are the model's predictions
    np.testing.assert_allclose(batch["mean"], knn.predict_fractions(Xs, ELEMENTS)[0])
    # and the GP on the model's residuals works with it too
    resid = Campaign(grid, seed=0, prior=knn, surrogate="gp")
    resid.tell(X, _truth(X))
    assert np.all(np.isfinite(resid.suggest(2)["mean"]))


def test_sliders(knn) -> None:
    pytest.importorskip("anywidget")
    from jupyter_matopt.widgets import CompositionSliders

    w = CompositionSliders(ELEMENTS, model=knn)
    w.set_fraction("Fe", 0.6)
    x = np.array([w.fractions[e] for e in ELEMENTS])
    mean, std = knn.predict_fractions(x[None, :], ELEMENTS)
    assert w.prediction["mean"] == pytest.approx(float(mean[0]))
    assert w.prediction["std"] == pytest.approx(float(std[0]))
    contributions = w.prediction["contributions"]
    base = float(knn._y.mean())
    assert sum(contributions.values()) == pytest.approx(float(mean[0]) - base)


def test_cross_validate(data) -> None:
    X, y = data
    formulas = [f"Fe{a:.6f}Cr{b:.6f}Ni{c:.6f}" for a, b, c in X]
    report = cross_validate(KNNModel, (formulas, y), protocol="random", n_splits=3)
    parity = report.parity
    assert len(parity) == len(y) and sorted(parity["row"]) == list(range(len(y)))
    # every held-out prediction is what a k-NN fitted on the other folds predicts
    f0 = parity[parity["fold"] == 0]
    test_rows = f0["row"].to_numpy()
    train = np.setdiff1d(np.arange(len(y)), test_rows)
    parsed = np.array([[a, b, c] for a, b, c in np.round(X, 6)])
    own = KNNModel(parsed[train], ELEMENTS, y[train])
    np.testing.assert_allclose(f0["y_pred"], own.predict_fractions(parsed[test_rows],
                                                                   ELEMENTS)[0], rtol=1e-9)
    assert report.summary["mae"] == pytest.approx(
        report.folds["mae"].mean())
    assert pd.api.types.is_bool_dtype(parity["in_domain"])
