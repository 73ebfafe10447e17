"""The one code path from slider fractions to what the widgets show about a model.

``Evaluator.evaluate`` is what :class:`CompositionSliders` runs on every settled slider
change, and what ``bench/ui_latency.py`` times.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["Evaluator", "predict_grid"]


def _finite_or_none(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


class Evaluator:
    """Prediction, uncertainty, domain flag and per-element contributions for one composition.

    Results are cached per (elements, fractions) so that returning to a composition (undo,
    a slider released where it started) costs nothing.

    Args:
        model: A fitted ``PropertyModel``.
        cache_size: Number of compositions remembered.
    """

    def __init__(self, model: Any, *, cache_size: int = 256) -> None:
        self.model = model
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()

    @property
    def target(self) -> str:
        return str(getattr(self.model, "target_", None) or "prediction")

    @property
    def units(self) -> str:
        return str(getattr(self.model, "units_", None) or "")

    def evaluate(self, x: np.ndarray, elements: Sequence[str]) -> dict[str, Any]:
        """Everything the sliders show for fractions ``x`` over ``elements``."""
        key = (tuple(elements), tuple(np.round(np.asarray(x, dtype=float), 12).tolist()))
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return dict(hit)
        X = np.asarray(x, dtype=float).reshape(1, -1)
        els = list(elements)
        mean, std, in_domain, reason = self._predict(X, els)
        contributions = self._explain(X, els)
        result = {
            "mean": _finite_or_none(mean[0]),
            "std": _finite_or_none(std[0]) if std is not None else None,
            "units": self.units,
            "target": self.target,
            "in_domain": None if in_domain is None else bool(in_domain[0]),
            "reason": "" if reason is None else str(reason[0] or ""),
            "contributions": contributions,
        }
        self._cache[key] = result
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return dict(result)

    def _predict(
        self, X: np.ndarray, elements: list[str]
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
        out = self.model.predict_fractions(X, elements, return_std=True, return_domain=True)
        mean, std, domain = out
        in_domain = np.asarray(domain.in_domain, dtype=bool)
        reason = np.asarray(domain.reason, dtype=object)
        return np.asarray(mean, float), np.asarray(std, float), in_domain, reason

    def _explain(self, X: np.ndarray, elements: list[str]) -> dict[str, float]:
        expl = self.model.explain_fractions(X, elements)
        per = getattr(expl, "per_element", None)
        if per is None:
            return {}
        if hasattr(per, "ndim") and getattr(per, "ndim", 1) == 2:  # DataFrame: one row
            per = per.iloc[0]
        return {str(k): float(v) for k, v in per.items() if np.isfinite(float(v))}


def predict_grid(
    model: Any, X: np.ndarray, elements: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorized mean and std over the rows of ``X`` (one backend call)."""
    mean, std = model.predict_fractions(np.asarray(X, float), list(elements), return_std=True)
    return np.asarray(mean, float), np.asarray(std, float)
