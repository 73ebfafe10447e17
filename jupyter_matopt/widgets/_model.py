"""The one code path from slider fractions to what the widgets show about a model.

``Evaluator.evaluate`` is what :class:`CompositionSliders` runs on every settled slider
change, and what ``bench/ui_latency.py`` times.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["ABSENT", "Evaluator", "predict_grid"]

#: The explanations' entry for elements absent from the composition (models/_explain.py).
ABSENT = "(absent elements)"


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

    def quick(self, x: np.ndarray, elements: Sequence[str]) -> dict[str, Any] | None:
        """What the sliders show first: mean, std and domain, without the explanation.

        The full result when the composition is cached; ``None`` for classifiers (their
        shown value comes from the explanation's probability). TreeSHAP costs two to three
        times a prediction, so the view shows this at once and the contributions follow
        (``"explaining": True`` marks them as pending).
        """
        key = (tuple(elements), tuple(np.round(np.asarray(x, dtype=float), 12).tolist()))
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return dict(hit)
        if str(getattr(self.model, "task_", "regression")) != "regression":
            return None
        X = np.asarray(x, dtype=float)[None, :]
        mean, std, dom = self.model.predict_fractions(
            X, list(elements), return_std=True, return_domain=True
        )
        row = dom.iloc[0]
        reason = row.get("reason") if hasattr(row, "get") else None
        if reason is None or (isinstance(reason, float) and not np.isfinite(reason)):
            reason = ""
        return {
            "mean": _finite_or_none(np.asarray(mean, float).ravel()[0]),
            "std": _finite_or_none(np.asarray(std, float).ravel()[0]),
            "units": self.units,
            "target": self.target,
            "in_domain": bool(row["in_domain"]),
            "reason": str(reason),
            "explaining": True,
        }

    def evaluate(self, x: np.ndarray, elements: Sequence[str]) -> dict[str, Any]:
        """Everything the sliders show for fractions ``x`` over ``elements``."""
        key = (tuple(elements), tuple(np.round(np.asarray(x, dtype=float), 12).tolist()))
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return dict(hit)
        exp = self.model.explain_fractions(np.asarray(x, dtype=float), list(elements))
        # one explanation carries everything: TreeSHAP needs the member outputs anyway, so
        # prediction, calibrated std and the domain verdict come with it at no extra cost
        classification = exp.probability is not None
        # the plain arrays, not the per_element Series: a pandas Series costs as much as the
        # rest of this method
        names = getattr(exp, "element_names", None)
        values = getattr(exp, "element_contributions", None)
        if names is None or values is None:
            per = exp.per_element
            names, values = list(per.index), per.to_numpy()
        contributions, absent = _fold_absent(
            names, np.asarray(values, dtype=float).tolist(), elements, np.asarray(x, float)
        )
        base = _finite_or_none(getattr(exp, "base_value", None))
        explained = getattr(exp, "explained_value", None)
        if explained is None and base is not None:
            explained = base + float(np.sum(list(contributions.values())))
        result = {
            "mean": _finite_or_none(exp.probability if classification else exp.prediction),
            "std": _finite_or_none(exp.std),
            "units": "probability" if classification else self.units,
            "target": self.target,
            "in_domain": bool(exp.in_domain),
            "reason": str(exp.domain_reason or ""),
            "contributions": contributions,
            # the waterfall runs from the base value (the average prediction over the
            # training data) through the contributions to the explained value
            "base_value": base,
            "explained_value": _finite_or_none(explained),
            "explained": str(getattr(exp, "explained", "") or ""),
            "absent": absent,
        }
        if classification:
            result["contributions_units"] = "log-odds"
        self._cache[key] = result
        if self.cache_size and len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        elif not self.cache_size:
            self._cache.clear()
        return dict(result)


def _fold_absent(
    names: Sequence[str], values: Sequence[float], elements: Sequence[str], x: np.ndarray
) -> tuple[dict[str, float], list[str]]:
    """Contributions with every element at 0 % pooled into the absent-elements entry.

    An element at 0 % still has a TreeSHAP contribution (the effect of *not* containing
    it), but a bar labelled with it reads as if it were in the composition. Pooling it with
    the model's other absent elements keeps the sum (the waterfall still ends at the
    prediction) and says what it is.

    Returns:
        The contributions (finite ones, in the given order, the pooled entry last) and the
        slider elements at 0 % that were pooled.
    """
    zero = {e for e, v in zip(elements, np.asarray(x, float).tolist(), strict=True) if v <= 0}
    out: dict[str, float] = {}
    pooled = 0.0
    has_pool = False
    for k, v in zip(names, values, strict=True):
        if not np.isfinite(v):
            continue
        k = str(k)
        if k == ABSENT or k in zero:
            pooled += float(v)
            has_pool = True
        else:
            out[k] = float(v)
    if has_pool:
        out[ABSENT] = pooled
    return out, [e for e in elements if e in zero]


def predict_grid(
    model: Any, X: np.ndarray, elements: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorized mean and std over the rows of ``X`` (one backend call)."""
    mean, std = model.predict_fractions(np.asarray(X, float), list(elements), return_std=True)
    return np.asarray(mean, float), np.asarray(std, float)
