"""Explanations of ``PropertyModel`` predictions: backend attributions turned into per-feature,
per-element and per-property contributions (see :mod:`._explain` for the rules)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..core import parse_composition, to_formula
from ..core.elements import ATOMIC_NUMBER
from ._errors import ModelError
from ._explain import ElementAttributor, Explanation
from ._inputs import as_items

__all__ = ["ExplainMixin"]


class ExplainMixin:
    """``explain``, ``explain_fractions``, importances (uses the façade's backend)."""

    def _contributions(self, F: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        """``(phi (n, p), base, member outputs (m, n))``; phi sums exactly to the prediction.

        The backend's attributions (TreeSHAP for the tree backends) averaged over members;
        regression values are scaled to target units. Attributions over element fractions
        and conditions (``contribution_kind == "fractions"``) are placed on the
        element-fraction and condition feature columns. float32 accumulation makes
        ``base + sum(phi)`` differ from the margin by ~1e-7 relative; that residual is spread
        over the features in proportion to |phi| so that the sum is exact.
        """
        m: Any = self
        n, p = F.shape
        inputs = m._inputs(F)
        c = m.backend_.contributions(inputs, n_jobs=m._jobs())
        if c is None:  # no attributions: everything stays in the base value
            M = m.backend_.predict_members(inputs, n_jobs=m._jobs())
            phi, bias = np.zeros((n, p)), M.mean(axis=0)
        else:
            M, bias = np.asarray(c.margins, dtype=np.float64), np.asarray(c.bias, np.float64)
            phi = np.asarray(c.phi, dtype=np.float64)
            if m.backend_.contribution_kind == "fractions":
                full = np.zeros((n, p))
                full[:, m._fraction_columns()] = phi[:, : len(m.elements_)]
                if m.conditions_:
                    full[:, p - len(m.conditions_):] = phi[:, len(m.elements_):]
                phi = full
        phi, bias = phi.copy(), bias.copy()
        if m.task_ == "regression":
            phi *= m.y_scale_
            bias = m.y_mean_ + m.y_scale_ * bias
            M = m.y_mean_ + m.y_scale_ * M
        base = float(np.median(bias)) if len(bias) else 0.0
        target = M.mean(axis=0)  # ensemble output in explanation space
        resid = target - base - phi.sum(axis=1)
        w = np.abs(phi)
        wsum = w.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(wsum > 0, w / wsum, 1.0 / max(1, p))
        phi = phi + share * resid[:, None]
        return phi, base, M

    @property
    def shap_importance_(self) -> np.ndarray:
        """Mean |SHAP| per feature over up to 300 training rows (computed on first use)."""
        m: Any = self
        imp = m.__dict__.get("_shap_importance")
        if imp is None:
            m._check_fitted()
            X = m.__dict__.get("_importance_X")
            if X is None or len(X) == 0:
                imp = np.zeros(len(m.feature_names_))
            else:
                imp = np.abs(m._contributions(X)[0]).mean(axis=0)
            m.__dict__["_shap_importance"] = imp
        return imp  # type: ignore[no-any-return]

    @shap_importance_.setter
    def shap_importance_(self, value: np.ndarray) -> None:
        self.__dict__["_shap_importance"] = np.asarray(value, dtype=np.float64)

    @property
    def feature_importances_(self) -> np.ndarray:
        """Global importances: :attr:`shap_importance_` normalized to sum to 1."""
        imp = self.shap_importance_
        total = imp.sum()
        return imp / total if total > 0 else imp

    def _used_features(self) -> np.ndarray:
        """Mask of the features some member uses (all when the backend cannot tell)."""
        m: Any = self
        used = m.backend_.used_features()
        if used is None or len(used) != len(m.feature_names_):
            used = np.ones(len(m.feature_names_), dtype=bool)
        return used  # type: ignore[no-any-return]

    def _attributor(self, elements: Sequence[str]) -> ElementAttributor:
        m: Any = self
        key = tuple(elements)
        cache = m.__dict__.setdefault("_attributors", {})
        att = cache.get(key)
        if att is None:
            att = ElementAttributor(
                m.feature_names_, m.feature_means_, m.conditions_, key, m._used_features()
            )
            if len(cache) > 64:
                cache.clear()
            cache[key] = att
        return att  # type: ignore[no-any-return]

    def _explanations(
        self, F: np.ndarray, C: np.ndarray, elements: Sequence[str], formulas: Sequence[str]
    ) -> list[Explanation]:
        m: Any = self
        phi, base, M = m._contributions(F)
        p0: np.ndarray | None = None
        if getattr(m, "zero_inflated_", False):
            mu, sd, p0 = m._zero_inflated_parts(F, M)
            value, std = m._zi_finish(mu, sd, p0)
        else:
            value, std = m._aggregate(M)
        att = m._attributor(elements)
        E = att.per_element(C, phi)
        Pp = att.per_property(phi)
        flags, _, reasons = m.domain_.assess(
            F, [[elements[int(j)] for j in np.flatnonzero(row > 0)] for row in C]
        )
        is_clf = m.task_ == "classification"
        out = []
        for i in range(F.shape[0]):
            if p0 is not None:
                own: dict[str, Any] = {
                    "prediction": float(value[i]),
                    "probability": None,
                    "units": m.units_,
                    "explained_value": float(M[:, i].mean()),
                    "explained": (
                        f"regressor stage: {m.target_} if non-zero "
                        f"(P({m.target_} = 0) = {float(p0[i]):.3g}; {m.zero_mode_} "
                        "combination gives the prediction)"
                    ),
                    "zero_probability": float(p0[i]),
                }
            elif is_clf:
                own = {"prediction": base + float(phi[i].sum()),
                       "probability": float(value[i]), "units": "log-odds"}
            else:
                own = {"prediction": float(M[:, i].mean()), "probability": None,
                       "units": m.units_}
            out.append(
                Explanation(
                    composition=formulas[i],
                    base_value=base,
                    std=float(std[i]),
                    in_domain=bool(flags[i]),
                    domain_reason=reasons[i],
                    feature_names=m.feature_names_,
                    feature_values=F[i],
                    feature_contributions=phi[i],
                    element_names=att.element_names,
                    element_contributions=E[i],
                    property_names=att.property_names,
                    property_contributions=Pp[i],
                    target=m.target_,
                    **own,
                )
            )
        return out

    def explain(self, composition: Any, conditions: Any = None) -> Explanation | list[Explanation]:
        """Explain the prediction for one composition (or a list: one Explanation each).

        See :mod:`jupyter_matopt.models._explain` for the per-element rule. ``per_feature``
        and ``per_element`` each sum to ``prediction - base_value``.
        """
        m: Any = self
        m._check_fitted()
        single = isinstance(composition, (str, Mapping)) or hasattr(composition, "get_el_amt_dict")
        items = as_items(composition)
        if not items:
            return []
        fracs = [parse_composition(x) for x in items]
        elements = sorted({e for f in fracs for e in f}, key=ATOMIC_NUMBER.__getitem__)
        C = np.array([[f.get(e, 0.0) for e in elements] for f in fracs])
        F, C, els = m._fraction_features(C, elements, conditions)
        formulas = [
            x if isinstance(x, str) else to_formula(f) for x, f in zip(items, fracs, strict=True)
        ]
        out = m._explanations(F, C, els, formulas)
        return out[0] if single else out

    def explain_fractions(
        self, X: Any, elements: Sequence[str], conditions: Any = None
    ) -> Explanation | list[Explanation]:
        """Fast explanation from fractions: a ``(k,)`` row gives one Explanation, ``(n, k)`` a list.

        Every listed element gets an entry in ``per_element`` (also at fraction 0).
        """
        m: Any = self
        arr = np.asarray(X, dtype=np.float64)
        F, C, els = m._fraction_features(arr, elements, conditions)
        formulas = [to_formula(dict(zip(els, row, strict=True))) for row in C]
        out = m._explanations(F, C, els, formulas)
        return out[0] if arr.ndim == 1 else out

    def feature_importance(
        self, by: Literal["feature", "element", "property"] = "feature"
    ) -> pd.Series:
        """Global importance: mean |SHAP| over (up to 300) training rows, sorted.

        ``by="property"`` sums the features of each element property; ``by="element"`` sums
        the element-fraction features of each element.
        """
        m: Any = self
        m._check_fitted()
        imp = pd.Series(self.shap_importance_, index=m.feature_names_, name="mean |SHAP|")
        if by == "feature":
            return imp.sort_values(ascending=False)
        if by == "property":
            att = self._attributor(())
            vals = att.per_property(self.shap_importance_[None, :])[0]
            return pd.Series(vals, index=att.property_names, name="mean |SHAP|").sort_values(
                ascending=False
            )
        if by == "element":
            from ..features import feature_labels

            ef = set(feature_labels("element_fraction"))
            sel = imp[[n for n in imp.index if n in ef and n in m.elements_]]
            return sel.sort_values(ascending=False)
        raise ModelError(f"by must be 'feature', 'element' or 'property', got {by!r}")
