"""The public model contract: what ``screen``, ``inverse_design``, campaigns, the widgets and
cross-validation need from a composition -> property model, and nothing more.

How to plug in a model of your own: give a class these five attributes and three methods
(no base class needed; :class:`FractionModel` is a structural ``typing.Protocol``)::

    class MyModel:
        elements_ = ["Fe", "Cr", "Ni"]          # elements it knows (training elements)
        conditions_: list[str] = []              # condition columns (e.g. "temperature")
        target_, units_, task_ = "hardness", "HV", "regression"

        def predict_fractions(self, X, elements, conditions=None, *, return_std=True,
                              return_domain=False): ...   # (mean, std) [, domain frame]
        def predict_domain_fractions(self, X, elements, conditions=None): ...
        def explain_fractions(self, X, elements, conditions=None): ...

``X`` is an ``(n, k)`` (or ``(k,)``) array of nonnegative amounts over ``elements`` (rows are
normalized by the model), ``conditions`` a mapping (or DataFrame) of condition name to a
scalar or one value per row. :func:`domain_frame` and :func:`explanation_from_contributions`
build the domain table and :class:`~jupyter_matopt.models.Explanation` objects for models
that have no domain model or TreeSHAP of their own.

To also *train* inside :func:`~jupyter_matopt.models.cross_validate` or as a
:class:`~jupyter_matopt.optimize.Campaign` surrogate, pass a :class:`FractionModelFactory`:
any callable ``factory(X, elements, y, conditions=None) -> FractionModel`` (a class whose
constructor fits is one). ``PropertyModel`` satisfies :class:`FractionModel` once fitted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from ._errors import ModelError

if TYPE_CHECKING:
    from ._explain import Explanation

__all__ = [
    "FractionModel",
    "FractionModelFactory",
    "FRACTION_MODEL_MEMBERS",
    "check_fraction_model",
    "is_fraction_model",
    "domain_frame",
    "explanation_from_contributions",
    "predict_mean_std",
]

#: Every member of :class:`FractionModel` (attributes, then methods), for error messages.
FRACTION_MODEL_MEMBERS = (
    "elements_",
    "conditions_",
    "target_",
    "units_",
    "task_",
    "predict_fractions",
    "predict_domain_fractions",
    "explain_fractions",
)


@runtime_checkable
class FractionModel(Protocol):
    """A fitted model that predicts from fraction matrices over an element list.

    Attributes:
        elements_: The elements the model was trained on.
        conditions_: Names of the condition columns it needs (empty if none).
        target_: What it predicts.
        units_: Units of the prediction (None or "" if unknown).
        task_: ``"regression"`` or ``"classification"`` (then the mean is P(class 1)).
    """

    elements_: Sequence[str]
    conditions_: list[str]
    target_: str
    units_: str | None
    task_: str

    def predict_fractions(
        self,
        X: Any,
        elements: Sequence[str],
        conditions: Any = None,
        *,
        return_std: bool = True,
        return_domain: bool = False,
    ) -> Any:
        """``(mean, std)`` arrays (plus a domain DataFrame when ``return_domain``); only
        ``mean`` when ``return_std`` is False."""
        ...

    def predict_domain_fractions(
        self, X: Any, elements: Sequence[str], conditions: Any = None
    ) -> pd.DataFrame:
        """Columns ``in_domain`` (bool), ``reason`` (str), ``distance`` (float), one row each."""
        ...

    def explain_fractions(
        self, X: Any, elements: Sequence[str], conditions: Any = None
    ) -> Explanation | list[Explanation]:
        """One Explanation for a ``(k,)`` row, a list for ``(n, k)``; per-element
        contributions sum to ``explained_value - base_value``."""
        ...


@runtime_checkable
class FractionModelFactory(Protocol):
    """Fits a :class:`FractionModel` on fractions ``X`` over ``elements`` and targets ``y``.

    ``conditions`` is None or a DataFrame with one column per condition (row-aligned).
    """

    def __call__(
        self, X: np.ndarray, elements: Sequence[str], y: np.ndarray, conditions: Any = None
    ) -> FractionModel: ...


def is_fraction_model(obj: Any) -> bool:
    """Whether ``obj`` offers every member of :class:`FractionModel` (i.e. is fitted)."""
    return isinstance(obj, FractionModel)


def check_fraction_model(obj: Any, *, where: str = "model") -> FractionModel:
    """Return ``obj`` if it satisfies :class:`FractionModel`, else raise one clear error.

    Raises:
        ModelError: naming the members ``obj`` lacks (an unfitted ``PropertyModel`` lacks
            the fitted attributes: fit it first).
    """
    missing = [m for m in FRACTION_MODEL_MEMBERS if not hasattr(obj, m)]
    if missing:
        hint = (" (is it fitted? call fit(...) first)"
                if any(m.endswith("_") for m in missing) and hasattr(obj, "fit") else "")
        raise ModelError(
            f"{where} must be a fitted model offering {list(FRACTION_MODEL_MEMBERS)} "
            f"(jupyter_matopt.models.FractionModel); {type(obj).__name__} lacks {missing}{hint}"
        )
    return obj  # type: ignore[no-any-return]


def predict_mean_std(
    model: Any, X: np.ndarray, elements: Sequence[str], conditions: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """``model.predict_fractions(..., return_std=True)`` as two flat float arrays."""
    out = model.predict_fractions(np.asarray(X, dtype=np.float64), list(elements),
                                  conditions=conditions, return_std=True)
    mean, std = out[0], out[1]
    return np.asarray(mean, dtype=np.float64).ravel(), np.asarray(std, dtype=np.float64).ravel()


def domain_frame(
    in_domain: Any, reason: Any = None, distance: Any = None
) -> pd.DataFrame:
    """The domain table of the contract from per-row flags (reasons and distances optional)."""
    flags = np.asarray(in_domain, dtype=bool).ravel()
    n = len(flags)
    if reason is None:
        reasons = ["inside the training domain" if f else "outside the training domain"
                   for f in flags]
    else:
        reasons = [str(r) for r in reason]
    dist = (np.full(n, np.nan) if distance is None
            else np.asarray(distance, dtype=np.float64).ravel())
    return pd.DataFrame({"in_domain": flags, "reason": reasons, "distance": dist})


def explanation_from_contributions(
    X: Any,
    elements: Sequence[str],
    contributions: np.ndarray,
    base_value: float,
    *,
    std: Any,
    in_domain: Any = True,
    reason: Any = None,
    target: str = "",
    units: str = "",
) -> Explanation | list[Explanation]:
    """Explanations from per-element contributions ``(n, k)`` (feature = element fraction).

    For models without their own attribution (e.g. a k-NN regressor): ``prediction`` is set
    to ``base_value + sum(contributions)`` so the contract's sum rule holds exactly.
    """
    from ..core import to_formula
    from ._explain import Explanation

    arr = np.asarray(X, dtype=np.float64)
    single = arr.ndim == 1
    A = arr.reshape(1, -1) if single else arr
    phi = np.asarray(contributions, dtype=np.float64).reshape(A.shape[0], -1)
    if phi.shape[1] != len(elements):
        raise ModelError(
            f"contributions must have one column per element ({len(elements)}), got "
            f"{phi.shape[1]}"
        )
    tot = A.sum(axis=1, keepdims=True)
    C = np.divide(A, tot, out=np.zeros_like(A), where=tot > 0)
    sd = np.broadcast_to(np.asarray(std, dtype=np.float64).ravel(), (A.shape[0],))
    flags = np.broadcast_to(np.asarray(in_domain, dtype=bool).ravel(), (A.shape[0],))
    reasons = ([str(r) for r in reason] if reason is not None and not isinstance(reason, str)
               else [reason or ""] * A.shape[0])
    names = [str(e) for e in elements]
    out = []
    for i in range(A.shape[0]):
        comp = {e: float(v) for e, v in zip(names, C[i], strict=True) if v > 0}
        pred = float(base_value) + float(phi[i].sum())
        out.append(Explanation(
            composition=to_formula(comp) if comp else "",
            prediction=pred,
            base_value=float(base_value),
            std=float(sd[i]),
            probability=None,
            in_domain=bool(flags[i]),
            domain_reason=reasons[i],
            feature_names=names,
            feature_values=C[i],
            feature_contributions=phi[i],
            element_names=names,
            element_contributions=phi[i],
            property_names=["element fractions"],
            property_contributions=np.array([phi[i].sum()]),
            target=target,
            units=units or "",
            explained_value=pred,
        ))
    return out[0] if single else out
