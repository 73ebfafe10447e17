"""Inputs of the ensemble surrogate: elemental compositions where the components allow it.

* Components that are all chemical formulas (``Fe``, ``CsPbI3``): each row of fractions is
  turned into an elemental composition, ``sum_i x_i * atomic_fractions(component_i)``, and
  the :class:`~jupyter_matopt.models.PropertyModel` ensemble (Magpie, alloy and element
  fraction descriptors, XGBoost members, calibrated spread) is fitted on those.
* Anything else (``P3HT``, ``D1``, pool parameters such as ``theta``): a bootstrap
  ensemble of small XGBoost regressors on the campaign's scaled inputs, because
  PropertyModel only takes compositions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..core import CompositionError, parse_composition

if TYPE_CHECKING:
    from .campaign import Campaign

__all__ = ["element_matrix", "encode_rows", "fit_ensemble", "predict_ensemble"]

#: Members of the raw-input bootstrap ensemble.
_RAW_MEMBERS = 8


def element_matrix(components: list[str]) -> tuple[np.ndarray, list[str]] | None:
    """``(A, elements)`` with ``A[i]`` the atomic fractions of component ``i``, or None when
    some component is not a chemical formula."""
    parsed = []
    for c in components:
        try:
            parsed.append(parse_composition(c))
        except (CompositionError, ValueError):
            return None
    elements: list[str] = []
    for p in parsed:
        for e in p:
            if e not in elements:
                elements.append(e)
    A = np.zeros((len(components), len(elements)))
    for i, p in enumerate(parsed):
        for e, v in p.items():
            A[i, elements.index(e)] = v
    return A, elements


def _composition_mode(camp: Campaign) -> tuple[np.ndarray, list[str]] | None:
    return camp.domain.element_matrix()


def encode_rows(camp: Campaign, Z: np.ndarray) -> tuple[Any, Any]:
    """``(elemental fractions, conditions)`` or ``(None, None)`` for raw inputs."""
    mode = _composition_mode(camp)
    if mode is None:
        return None, None
    A, _ = mode
    k = camp.n_components
    X = Z[:, :k] @ A
    tot = X.sum(axis=1, keepdims=True)
    X = np.divide(X, tot, out=np.zeros_like(X), where=tot > 0)
    C = Z[:, k:]
    return X, C


class _RawEnsemble:
    """Bootstrap ensemble of XGBoost regressors on scaled numeric inputs."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.members: list[Any] = []

    def fit(self, F: np.ndarray, y: np.ndarray) -> _RawEnsemble:
        import xgboost as xgb

        rng = np.random.default_rng(self.seed)
        self._mu, sd = float(y.mean()), float(y.std())
        self._sd = sd if sd > 0 else 1.0
        ys = (y - self._mu) / self._sd
        n = len(y)
        for m in range(_RAW_MEMBERS):
            idx = rng.integers(0, n, n)
            model = xgb.XGBRegressor(n_estimators=200, max_depth=4, learning_rate=0.1,
                                     subsample=0.9, colsample_bytree=0.9, n_jobs=1,
                                     random_state=int(self.seed * 100 + m), verbosity=0)
            model.fit(F[idx], ys[idx])
            self.members.append(model)
        return self

    def predict(self, F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        P = np.column_stack([m.predict(F) for m in self.members]).astype(float)
        return P.mean(axis=1) * self._sd + self._mu, P.std(axis=1, ddof=1) * self._sd


def fit_ensemble(camp: Campaign, Z: np.ndarray, y: np.ndarray, *, seed: int = 0) -> Any:
    """Fit the ensemble surrogate on rows ``Z`` (fractions, conditions) and targets ``y``."""
    X, C = encode_rows(camp, Z)
    if X is None:
        return ("raw", _RawEnsemble(seed).fit(camp.features(Z), y))
    from ..models import PropertyModel

    _, elements = _composition_mode(camp)  # type: ignore[misc]
    comps = [{e: float(v) for e, v in zip(elements, row, strict=False) if v > 0} for row in X]
    cond = {name: C[:, j] for j, name in enumerate(camp.conditions)} if camp.conditions else None
    model = PropertyModel(n_ensemble=5, seed=seed, n_jobs=1)
    model.fit(comps, y, conditions=cond)
    return ("property", model)


def predict_ensemble(camp: Campaign, fitted: Any, Z: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the fitted ensemble at rows ``Z``."""
    kind, model = fitted
    if kind == "raw":
        return model.predict(camp.features(Z))  # type: ignore[no-any-return]
    X, C = encode_rows(camp, Z)
    _, elements = _composition_mode(camp)  # type: ignore[misc]
    cond = {name: C[:, j] for j, name in enumerate(camp.conditions)} if camp.conditions else None
    mean, std = model.predict_fractions(X, elements, conditions=cond, return_std=True)
    return np.asarray(mean, float), np.asarray(std, float)
