"""Helpers of the screening tests: a stand-in model and brute-force references."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

# Small but real PropertyModels: a few members and trees keep the fit fast; the prediction
# path (fraction featurizer, XGBoost inplace_predict, std) is the one of the default model.
FAST: dict[str, Any] = {"n_ensemble": 3, "params": {"n_estimators": 60}, "calibrate": False}


class LinearModel:
    """A stand-in with the PropertyModel prediction API (merge logic only, local runs).

    ``mean`` is a weighted sum of the normalized fractions rounded to ``decimals`` (so many
    candidates tie), ``std`` another; the domain is "first element at least ``dom_min``".
    Sums run column by column so a row's value never depends on its chunk.
    """

    def __init__(self, weights: dict[str, float], std_weights: dict[str, float] | None = None,
                 *, decimals: int | None = 2, dom_min: float = 0.0,
                 conditions: Sequence[str] = ()) -> None:
        self.weights = weights
        self.std_weights = std_weights or {e: 1.0 for e in weights}
        self.decimals = decimals
        self.dom_min = dom_min
        self.elements_ = sorted(weights)
        self.conditions_ = list(conditions)
        self.calls = 0

    def _dot(self, X: np.ndarray, elements: Sequence[str], w: dict[str, float]) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        X = X / X.sum(axis=1, keepdims=True)
        out = np.zeros(len(X))
        for j, e in enumerate(elements):
            out = out + X[:, j] * w[e]
        return out

    def predict_fractions(self, X: Any, elements: Sequence[str], conditions: Any = None, *,
                          return_std: bool = True, return_domain: bool = False) -> Any:
        self.calls += 1
        if self.conditions_:
            assert conditions is not None and set(conditions) == set(self.conditions_)
        mean = self._dot(X, elements, self.weights)
        if self.conditions_:
            mean = mean + sum(float(conditions[c]) for c in self.conditions_)
        if self.decimals is not None:
            mean = np.round(mean, self.decimals)
        std = np.round(self._dot(X, elements, self.std_weights), 3)
        out: list[Any] = [mean, std] if return_std else [mean]
        if return_domain:
            X = np.asarray(X, dtype=float)
            X = X / X.sum(axis=1, keepdims=True)
            out.append(pd.DataFrame({"in_domain": X[:, 0] >= self.dom_min}))
        return out[0] if len(out) == 1 else tuple(out)


def brute_top(mean: np.ndarray, keep: np.ndarray, k: int, objective: str = "max") -> np.ndarray:
    """Stream positions of the k best kept rows (ties by position), by a full sort."""
    idx = np.flatnonzero(keep & np.isfinite(mean))
    score = mean[idx] if objective == "max" else -mean[idx]
    return idx[np.lexsort((idx, -score))][:k]


def brute_front(Y: np.ndarray) -> np.ndarray:
    """Positions of the non-dominated rows of Y (all maximized): every pair compared."""
    dominated = np.zeros(len(Y), dtype=bool)
    for s in range(0, len(Y), 256):
        B = Y[s:s + 256]
        ge = (Y[:, None, :] >= B[None, :, :]).all(axis=2)
        gt = (Y[:, None, :] > B[None, :, :]).any(axis=2)
        dominated[s:s + 256] = (ge & gt).any(axis=0)
    return np.flatnonzero(~dominated)
