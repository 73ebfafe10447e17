"""Explanations: TreeSHAP per feature, aggregated per element and per element property.

Per-feature contributions are XGBoost's own TreeSHAP values (``pred_contribs=True``),
averaged over the ensemble members (SHAP values are linear in the model, so the average is
the SHAP value of the averaged model). They sum to ``prediction - base_value``.

Per-element rule (exact: every feature's contribution is split over elements with weights
that sum to one, so per-element contributions also sum to ``prediction - base_value``):

* **Element-fraction feature** ``"Fe"``: all of it to Fe, also when Fe is absent (the effect of
  *not* containing Fe). Absent elements that are not among the listed elements are pooled in
  one entry, ``"(absent elements)"``.
* **Additive features** ``f = sum_e t_e`` (Magpie ``mean`` with ``t_e = c_e p_e``, ``avg_dev``
  with ``t_e = c_e |p_e - mean|``, alloy ``VEC``, ``mean melting T`` and ``mixing entropy``):
  the deviation from the training mean splits exactly into element terms,
  ``f - mu = sum_e (t_e - c_e mu)`` (fractions sum to one), and each element receives the
  share ``(t_e - c_e mu) / (f - mu)``. This is the exact attribution for a model linear in
  ``f``; elements pulling the feature in opposite directions get opposite signs. When the
  terms nearly cancel (``|f - mu| < 0.5 sum_e |t_e - c_e mu|``) the signed shares would
  explode, and the absolute shares ``|t_e - c_e mu| / sum |...|`` are used instead.
* **minimum / maximum**: to the element(s) attaining it; **range**: half to the element(s) at
  the maximum, half to those at the minimum; **mode**: to the element with the largest
  fraction (ties split equally).
* **Other features** (size mismatch, electronegativity spread, mixing enthalpy, omega, ...):
  in proportion to atomic fraction.
* **Condition columns** (e.g. temperature) are entries of their own, named after the column.

Per-property contributions sum the six Magpie statistics of each of the 22 properties; the
element-fraction features form one entry, ``"element fractions"``; other features keep their
label; conditions their column name.

For classification, everything is in log-odds (margin) space. For zero-inflated (two-stage)
regression models the contributions explain the regressor stage (the value if the target is
non-zero): they sum to ``explained_value - base_value``, not to the combined ``prediction``
(see :class:`Explanation`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from ..features import ELEMENTS, featurize_fractions

__all__ = ["Explanation", "ElementAttributor", "ABSENT"]

ABSENT = "(absent elements)"
_GAS_R = 8.314462618
_ELEMENT_SET = frozenset(ELEMENTS)
_MODE_RTOL, _MODE_ATOL = 1e-5, 1e-8


@dataclass
class Explanation:
    """Why the model predicts what it predicts for one composition.

    Attributes:
        composition: The explained composition as a formula.
        prediction: Model output (target units; log-odds for classification).
        base_value: Expected model output over the training data (TreeSHAP base value).
        std: Calibrated standard deviation of the prediction (probability units for
            classification).
        probability: Probability of class 1 (classification only, else None).
        in_domain: Whether the composition is inside the applicability domain.
        domain_reason: Why it is (or is not) in domain.
        feature_names / feature_values / feature_contributions: per-feature arrays.
        element_names / element_contributions: per-element arrays (see the module docs).
        property_names / property_contributions: per-property arrays.
        explained_value: The output the contributions explain: ``base_value + sum`` of any
            of the three contribution arrays equals it. For ordinary models it is
            ``prediction`` (the margin for classification); for zero-inflated (two-stage)
            models it is the *regressor stage's* value, the target if it is non-zero, while
            ``prediction`` is the combined output of both stages (e.g. 0 for a predicted
            metal) and does not equal ``base_value + sum``.
        explained: What the contributions explain, in words (empty for ordinary models).
        zero_probability: P(target == 0) of the zero stage (zero-inflated models only).
    """

    composition: str
    prediction: float
    base_value: float
    std: float
    probability: float | None
    in_domain: bool
    domain_reason: str
    feature_names: list[str]
    feature_values: np.ndarray
    feature_contributions: np.ndarray
    element_names: list[str]
    element_contributions: np.ndarray
    property_names: list[str]
    property_contributions: np.ndarray
    target: str = ""
    units: str = ""
    explained_value: float | None = None
    explained: str = ""
    zero_probability: float | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def per_feature(self) -> pd.Series:
        """Contribution of each feature (TreeSHAP), in feature order."""
        return pd.Series(self.feature_contributions, index=self.feature_names, name="contribution")

    @cached_property
    def per_element(self) -> pd.Series:
        """Contribution of each element (plus condition columns and absent elements)."""
        return pd.Series(self.element_contributions, index=self.element_names, name="contribution")

    @cached_property
    def per_property(self) -> pd.Series:
        """Contribution of each element property (sum over its Magpie statistics)."""
        return pd.Series(
            self.property_contributions, index=self.property_names, name="contribution"
        )

    def to_frame(self, by: str = "feature") -> pd.DataFrame:
        """Contributions as a table sorted by magnitude.

        Args:
            by: ``"feature"`` (with the feature values), ``"element"`` or ``"property"``.
        """
        if by == "feature":
            frame = pd.DataFrame(
                {"value": self.feature_values, "contribution": self.feature_contributions},
                index=pd.Index(self.feature_names, name="feature"),
            )
        elif by == "element":
            frame = self.per_element.rename_axis("element").to_frame()
        elif by == "property":
            frame = self.per_property.rename_axis("property").to_frame()
        else:
            from ._errors import ModelError

            raise ModelError(f"by must be 'feature', 'element' or 'property', got {by!r}")
        order = np.argsort(-np.abs(frame["contribution"].to_numpy()), kind="stable")
        return frame.iloc[order]

    def __post_init__(self) -> None:
        if self.explained_value is None:
            self.explained_value = self.prediction

    def __repr__(self) -> str:
        top = self.per_element.sort_values(key=np.abs, ascending=False).head(5)
        parts = ", ".join(f"{k} {v:+.3g}" for k, v in top.items())
        if self.zero_probability is not None:
            return (
                f"Explanation({self.composition!r}: prediction {self.prediction:.4g} "
                f"(P(zero) {self.zero_probability:.3g}); {self.explained} "
                f"{self.explained_value:.4g} = base {self.base_value:.4g} + contributions; "
                f"top elements: {parts})"
            )
        return (
            f"Explanation({self.composition!r}: prediction {self.prediction:.4g} = base "
            f"{self.base_value:.4g} + contributions; top elements: {parts})"
        )

    def _repr_html_(self) -> str:
        import html

        rows = "".join(
            f"<tr><td>{html.escape(str(k))}</td><td>{v:+.4g}</td></tr>"
            for k, v in self.per_element.sort_values(key=np.abs, ascending=False).items()
        )
        unit = f" {html.escape(self.units)}" if self.units else ""
        stage = ""
        if self.zero_probability is not None:
            stage = (
                f"<br>contributions explain the {html.escape(self.explained)}: "
                f"{self.explained_value:.4g}{unit}"
            )
        return (
            f"<div><b>{html.escape(self.composition)}</b>: prediction {self.prediction:.4g}{unit}"
            f" (base {self.base_value:.4g}){stage}"
            "<table><tr><th>element</th><th>contribution</th></tr>"
            f"{rows}</table></div>"
        )


def _normalize(W: np.ndarray) -> np.ndarray:
    """Rows of ``W`` (n, k, m) divided by their sum over k; all-zero rows stay zero."""
    s = W.sum(axis=1, keepdims=True)
    return np.divide(W, s, out=np.zeros_like(W), where=s != 0)


class ElementAttributor:
    """Splits per-feature contributions over the elements of a fixed element list.

    Built once per element list (the slider UI keeps one), then applied to many rows.
    """

    def __init__(
        self,
        feature_names: Sequence[str],
        feature_means: np.ndarray,
        conditions: Sequence[str],
        elements: Sequence[str],
        used: np.ndarray | None = None,
    ) -> None:
        self.elements = list(elements)
        self.conditions = list(conditions)
        names = list(feature_names)
        n_comp = len(names) - len(self.conditions)
        col_of = {e: j for j, e in enumerate(self.elements)}
        mu = np.asarray(feature_means, dtype=np.float64)

        # Element property values, read through the public featurizer: the "mean" statistic of
        # a pure element is the element's (imputed) table value.
        k = len(self.elements)
        pure = featurize_fractions(np.eye(k), self.elements, preset="magpie") if k else None
        from ..features import feature_labels

        mag_labels = feature_labels("magpie")
        mag_col = {lab: i for i, lab in enumerate(mag_labels)}

        def prop_values(prop: str) -> np.ndarray | None:
            j = mag_col.get(f"MagpieData mean {prop}")
            return None if j is None or pure is None else pure[:, j]

        self.additive: list[tuple[int, str]] = []  # (feature, kind)
        self.kind_groups: dict[str, list[tuple[int, np.ndarray]]] = {
            "mean": [],
            "avg_dev": [],
            "minimum": [],
            "maximum": [],
            "range": [],
            "mode": [],
        }
        self.frac_feature: list[tuple[int, int]] = []  # (feature, element column or -1)
        self.other: list[int] = []
        self.cond_feature: list[int] = []
        prop_name: list[str] = []
        for i, name in enumerate(names):
            if i >= n_comp:
                self.cond_feature.append(i)
                prop_name.append(name)
                continue
            if name in _ELEMENT_SET:
                # a feature no tree splits on has zero contribution; skipping unused fractions
                # of unlisted elements avoids an always-zero "(absent elements)" entry
                if col_of.get(name, -1) >= 0 or used is None or used[i]:
                    self.frac_feature.append((i, col_of.get(name, -1)))
                prop_name.append("element fractions")
                continue
            if name.startswith("MagpieData "):
                stat, _, prop = name[len("MagpieData ") :].partition(" ")
                values = prop_values(prop)
                prop_name.append(prop)
                if values is not None and stat in self.kind_groups:
                    self.kind_groups[stat].append((i, values))
                    continue
                self.other.append(i)
                continue
            prop_name.append(name)
            if name == "alloy VEC" and prop_values("NValence") is not None:
                self.kind_groups["mean"].append((i, prop_values("NValence")))  # type: ignore[arg-type]
            elif name == "alloy mean melting T" and prop_values("MeltingT") is not None:
                self.kind_groups["mean"].append((i, prop_values("MeltingT")))  # type: ignore[arg-type]
            elif name == "alloy mixing entropy":
                self.additive.append((i, "entropy"))
            else:
                self.other.append(i)
        self.mu = mu
        self.property_names = list(dict.fromkeys(prop_name))
        pidx = {p: j for j, p in enumerate(self.property_names)}
        self.property_index = np.array([pidx[p] for p in prop_name], dtype=np.intp)
        absent_needed = any(j < 0 for _, j in self.frac_feature)
        self.element_names = self.elements + ([ABSENT] if absent_needed else []) + self.conditions
        self._absent_col = k if absent_needed else -1
        self._cond_offset = k + int(absent_needed)
        self._precompute()

    def _precompute(self) -> None:
        """Constant index arrays and property matrices of :meth:`per_element`.

        The slider calls ``per_element`` for one row at a time, where numpy call overhead
        dominates: features are fused into a few groups so that a call runs a fixed, small
        number of numpy operations whatever the number of features.
        """
        k = len(self.elements)

        def group(kind: str) -> tuple[np.ndarray, np.ndarray]:
            items = self.kind_groups[kind]
            idx = np.array([i for i, _ in items], dtype=np.intp)
            V = np.stack([v for _, v in items], axis=1) if items else np.zeros((k, 0))
            return idx, V

        self._mean_idx, self._mean_V = group("mean")
        self._avg_idx, self._avg_V = group("avg_dev")
        self._ent_idx = np.array([i for i, kind in self.additive if kind == "entropy"], np.intp)
        # deviation-split features, in this order: mean, avg_dev, entropy
        self._dev_idx = np.concatenate([self._mean_idx, self._avg_idx, self._ent_idx])
        self._dev_mu = self.mu[self._dev_idx] if len(self._dev_idx) else np.zeros(0)
        # indicator features: minimum, maximum, range and mode over one stacked value matrix
        parts = [group(kind) for kind in ("minimum", "maximum", "range", "mode")]
        self._ind_idx = np.concatenate([idx for idx, _ in parts])
        self._ind_V = np.concatenate([V for _, V in parts], axis=1)
        sizes = np.cumsum([0] + [len(idx) for idx, _ in parts])
        self._ind_slices = {
            kind: slice(int(sizes[j]), int(sizes[j + 1]))
            for j, kind in enumerate(("minimum", "maximum", "range", "mode"))
        }
        self._split_idx = np.concatenate([self._dev_idx, self._ind_idx])
        self._frac_idx = np.array([i for i, _ in self.frac_feature], dtype=np.intp)
        self._frac_col = np.array(
            [j if j >= 0 else self._absent_col for _, j in self.frac_feature], dtype=np.intp
        )
        self._other_idx = np.array(self.other, dtype=np.intp)
        self._cond_idx = np.array(self.cond_feature, dtype=np.intp)
        self._cond_cols = self._cond_offset + np.arange(len(self.cond_feature), dtype=np.intp)
        P = np.zeros((len(self.property_index), len(self.property_names)))
        P[np.arange(len(self.property_index)), self.property_index] = 1.0
        self._property_matrix = P

    def per_property(self, phi: np.ndarray) -> np.ndarray:
        """Sum ``(n, p)`` feature contributions into ``(n, n_properties)``."""
        return np.asarray(phi, dtype=np.float64) @ self._property_matrix

    def per_element(self, C: np.ndarray, phi: np.ndarray) -> np.ndarray:
        """Split ``(n, p)`` contributions of rows with fractions ``C`` (n, k, rows sum to 1)."""
        n, k = C.shape
        E = np.zeros((n, len(self.element_names)))
        if k and len(self._split_idx):
            W = np.concatenate([self._deviation_weights(C), self._indicator_weights(C)], axis=2)
            E[:, :k] = np.einsum("nkm,nm->nk", W, phi[:, self._split_idx])
        if len(self._frac_idx):
            # one column per fraction feature; unlisted elements share the "absent" column
            np.add.at(E.T, self._frac_col, phi[:, self._frac_idx].T)
        if len(self._other_idx) and k:
            E[:, :k] += C * phi[:, self._other_idx].sum(axis=1)[:, None]
        if len(self._cond_idx):
            E[:, self._cond_cols] += phi[:, self._cond_idx]
        return E

    def _deviation_weights(self, C: np.ndarray) -> np.ndarray:
        """``(n, k, m)`` shares of additive features (mean, avg_dev, entropy), see module doc."""
        n, k = C.shape
        Cx = C[:, :, None]
        terms = []
        if len(self._mean_idx):
            terms.append(Cx * self._mean_V[None])
        if len(self._avg_idx):
            mean = C @ self._avg_V  # (n, m)
            terms.append(Cx * np.abs(self._avg_V[None] - mean[:, None, :]))
        if len(self._ent_idx):
            with np.errstate(divide="ignore", invalid="ignore"):
                T = np.where(C > 0, -_GAS_R * C * np.log(C), 0.0)
            terms.append(np.repeat(T[:, :, None], len(self._ent_idx), axis=2))
        if not terms:
            return np.zeros((n, k, 0))
        T = np.concatenate(terms, axis=2) if len(terms) > 1 else terms[0]
        dev = T - Cx * self._dev_mu[None, None, :]
        tot = dev.sum(axis=1)
        abs_dev = np.abs(dev)
        abs_tot = abs_dev.sum(axis=1)
        signed_ok = np.abs(tot) >= 0.5 * abs_tot
        with np.errstate(divide="ignore", invalid="ignore"):
            W = np.where(
                signed_ok[:, None, :], dev / tot[:, None, :], abs_dev / abs_tot[:, None, :]
            )
        degenerate = ~(abs_tot > 0)
        if degenerate.any():
            W = np.where(degenerate[:, None, :], Cx, W)
        return np.nan_to_num(W, nan=0.0, posinf=0.0, neginf=0.0)

    def _indicator_weights(self, C: np.ndarray) -> np.ndarray:
        """``(n, k, m)`` weights of minimum, maximum, range and mode features."""
        n, k = C.shape
        V = self._ind_V
        if V.shape[1] == 0:
            return np.zeros((n, k, 0))
        pres = (C > 0)[:, :, None]
        Vb = np.broadcast_to(V[None], (n, k, V.shape[1]))
        vmin = np.where(pres, Vb, np.inf).min(axis=1, keepdims=True)
        vmax = np.where(pres, Vb, -np.inf).max(axis=1, keepdims=True)
        at_min = (pres & (Vb == vmin)).astype(float)
        at_max = (pres & (Vb == vmax)).astype(float)
        W = np.empty((n, k, V.shape[1]))
        sl = self._ind_slices
        W[:, :, sl["minimum"]] = _normalize(at_min[:, :, sl["minimum"]])
        W[:, :, sl["maximum"]] = _normalize(at_max[:, :, sl["maximum"]])
        r = sl["range"]
        W[:, :, r] = 0.5 * _normalize(at_min[:, :, r]) + 0.5 * _normalize(at_max[:, :, r])
        mo = sl["mode"]
        if mo.stop > mo.start:
            # element(s) with the largest fraction, smallest value on ties
            cmax = C.max(axis=1, keepdims=True)
            ties = ((cmax - C) <= (_MODE_ATOL + _MODE_RTOL * cmax))[:, :, None]
            Vm = Vb[:, :, mo]
            tmin = np.where(ties, Vm, np.inf).min(axis=1, keepdims=True)
            W[:, :, mo] = _normalize((ties & (Vm == tmin)).astype(float))
        # a statistic with no attaining element (cannot happen for valid rows) falls back to
        # atomic fractions
        empty = W.sum(axis=1, keepdims=True) == 0
        if empty.any():
            W = np.where(empty, C[:, :, None], W)
        return W
