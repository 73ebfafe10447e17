"""Model backends: the registry, backend= beside estimator=, a backend of one's own, files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from models_helpers import rehash

from jupyter_matopt.models import (
    ModelError,
    ModelFileError,
    PropertyModel,
    available_backends,
    get_backend,
    register_backend,
)
from jupyter_matopt.models.backends import BackendState, Contributions, ModelBackend

FAST = {"n_estimators": 40, "max_depth": 3}


class RidgeBackend(ModelBackend):
    """Bootstrap ridge regressions on the element fractions and conditions (no descriptors)."""

    name = "ridge-test"
    contribution_kind = "fractions"

    def fit(self, inputs, target, *, classification, seeds, n_jobs=1, progress=None):
        A = inputs.fraction_matrix
        self.members = []
        for i, seed in enumerate(seeds):
            idx = np.random.default_rng(seed).integers(0, len(A), len(A))
            X = np.hstack([A[idx], np.ones((len(idx), 1))])
            w = np.linalg.solve(X.T @ X + 1e-3 * np.eye(X.shape[1]), X.T @ target[idx])
            self.members.append(w)
            if progress is not None:
                progress(i + 1, len(seeds), "ridge")
        return self

    def predict_members(self, inputs, *, n_jobs=1):
        A = inputs.fraction_matrix
        return np.array([A @ w[:-1] + w[-1] for w in self.members])

    def contributions(self, inputs, *, n_jobs=1):
        A = inputs.fraction_matrix
        W = np.array(self.members)
        phi = A * W[:, :-1].mean(axis=0)
        return Contributions(phi, np.full(len(A), W[:, -1].mean()), self.predict_members(inputs))

    def get_state(self):
        return BackendState({"n": len(self.members)},
                            {f"w{i}": w for i, w in enumerate(self.members)})

    @classmethod
    def from_state(cls, state):
        b = cls()
        b.members = [state.arrays[f"w{i}"] for i in range(state.meta["n"])]
        return b


def test_registry_lists_the_tree_backends_and_refuses_unknown_names() -> None:
    assert available_backends()[0] == "xgboost" and "rf" in available_backends()
    assert get_backend("rf").name == "rf"
    with pytest.raises(ModelError, match="unknown model backend 'nope'"):
        get_backend("nope")
    with pytest.raises(ModelError, match="backend must be one of"):
        PropertyModel(backend="nope").fit(["Fe", "Ni"], [1.0, 2.0])


def test_backend_name_equals_the_estimator_alias(steels) -> None:
    small = steels.subset(range(120))
    a = PropertyModel("rf", n_ensemble=2, params=FAST, calibrate=False).fit(small)
    b = PropertyModel(backend="rf", n_ensemble=2, params=FAST, calibrate=False).fit(small)
    probe = steels.compositions[120:130]
    np.testing.assert_array_equal(a.predict(probe), b.predict(probe))
    assert b.backend_name_ == "rf" and type(b.backend_).__name__ == "RandomForestBackend"


def test_a_backend_of_ones_own(steels) -> None:
    register_backend("ridge-test", RidgeBackend)
    small = steels.subset(range(150))
    m = PropertyModel(backend="ridge-test", n_ensemble=3, calibrate=False).fit(small)
    assert len(m.members_) == 3 and m.backend_name_ == "ridge-test"
    mean, std = m.predict(steels.compositions[150:160], return_std=True)
    assert np.all(np.isfinite(mean)) and np.all(std > 0)
    # the facade passes fractions over the training elements: a pure-iron row predicts the
    # members' Fe weight plus intercept, in target units
    fe = m.elements_.index("Fe")
    X = np.zeros(len(m.elements_))
    X[fe] = 1.0
    W = np.array(m.members_)
    expect = m.y_mean_ + m.y_scale_ * (W[:, fe] + W[:, -1]).mean()
    assert m.predict_fractions(X, m.elements_)[0][0] == pytest.approx(expect, rel=1e-10)
    # explanations: per-element contributions sum to the prediction minus the base value
    e = m.explain(steels.compositions[151])
    assert e.per_element.sum() + e.base_value == pytest.approx(e.prediction, rel=1e-9)
    assert set(e.per_element[e.per_element != 0].index) <= set(m.elements_)
    # a backend object works as a template too
    obj = PropertyModel(backend=RidgeBackend(), n_ensemble=2, calibrate=False).fit(small)
    assert obj.backend_name_ == "ridge-test" and len(obj.members_) == 2


def test_model_file_names_the_backend_and_refuses_unknown_ones(steels, tmp_path) -> None:
    m = PropertyModel(backend="rf", n_ensemble=2, params=FAST, calibrate=False)
    m.fit(steels.subset(range(100)))
    path = tmp_path / "rf_model"
    m.save(path)
    meta = json.loads((path / "metadata.json").read_text())
    assert meta["init_params"]["backend"] == "rf"
    assert PropertyModel.load(path).backend_name_ == "rf"
    rehash(path, lambda meta: meta["init_params"].update(backend="no-such-backend"))
    with pytest.raises(ModelFileError, match="no-such-backend"):
        PropertyModel.load(path)
