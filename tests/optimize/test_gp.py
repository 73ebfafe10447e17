"""The GP: same likelihood as scikit-learn, correct gradient, sensible posterior."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.optimize import check_grad

from jupyter_matopt.optimize import GaussianProcess


@pytest.mark.parametrize("ard", [True, False])
def test_log_marginal_likelihood_matches_sklearn(ard: bool) -> None:
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    rng = np.random.default_rng(0)
    X = rng.random((25, 3))
    y = rng.normal(size=25)
    ls = [0.3, 0.5, 0.8] if ard else 0.4
    theta = np.log(np.r_[ls, 1.7, 0.01])
    kernel = ConstantKernel(1.7) * Matern(ls, nu=2.5) + WhiteKernel(0.01 + 1e-8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = GaussianProcessRegressor(kernel, optimizer=None).fit(X, y)
    ours = GaussianProcess(ard=ard).log_marginal_likelihood(theta, X, y)
    assert ours == pytest.approx(sk.log_marginal_likelihood_value_, rel=1e-7)


@pytest.mark.parametrize("ard", [True, False])
def test_gradient(ard: bool) -> None:
    rng = np.random.default_rng(1)
    X = rng.random((20, 4))
    y = np.sin(4 * X[:, 0]) + rng.normal(scale=0.1, size=20)
    gp = GaussianProcess(ard=ard)
    theta = np.log(np.r_[[0.3, 0.6, 1.0, 2.0] if ard else [0.5], 1.3, 0.02])
    err = check_grad(lambda t: gp._objective(t, X, y)[0], lambda t: gp._objective(t, X, y)[1],
                     theta)
    assert err < 1e-4 * max(1.0, np.linalg.norm(gp._objective(theta, X, y)[1]))


def test_fit_predict_and_fantasize() -> None:
    rng = np.random.default_rng(2)
    X = rng.random((40, 2))
    f = lambda A: np.sin(3 * A[:, 0]) + A[:, 1] ** 2  # noqa: E731
    gp = GaussianProcess().fit(X, f(X))
    Xt = rng.random((200, 2))
    mean, std = gp.predict(Xt)
    assert np.sqrt(np.mean((mean - f(Xt)) ** 2)) < 0.05
    assert np.all(std > 0)
    # the length scale of the irrelevant-looking inputs is learned per dimension
    assert gp.theta_ is not None and len(gp.theta_) == 4
    x_new = np.array([[0.5, 0.5]])
    fant = gp.fantasize(x_new)
    m2, s2 = fant.predict(Xt)
    np.testing.assert_allclose(m2, mean, atol=1e-6)  # believer keeps the mean
    assert fant.predict(x_new)[1][0] < 0.2 * gp.predict(x_new)[1][0]
    assert np.all(s2 <= std + 1e-9)


def test_constant_targets_do_not_break() -> None:
    X = np.random.default_rng(3).random((5, 2))
    gp = GaussianProcess().fit(X, np.ones(5))
    mean, std = gp.predict(X)
    np.testing.assert_allclose(mean, 1.0, atol=1e-6)
    assert np.all(np.isfinite(std))
