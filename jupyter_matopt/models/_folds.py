"""One cross-validation fold: fit on the training rows, predict the test rows, for a
``PropertyModel`` configuration or any model given as a ``FractionModelFactory``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from ._inputs import Prepared as _Prepared

__all__ = ["FoldRunner"]


class FoldRunner:
    """Fits one fold and predicts its test rows: a ``PropertyModel`` configuration (a fresh
    clone per fold) or a :class:`~.protocol.FractionModelFactory` (any model)."""

    def __init__(self, model: Any, P: _Prepared, info: dict[str, Any]) -> None:
        from ._model import DEFAULT_PRESET, PropertyModel

        self.model, self.P, self.info = model, P, info
        self.factory = not isinstance(model, PropertyModel)
        # a PropertyModel resolves the task and encodes labels in both cases
        probe = PropertyModel() if self.factory else model.clone_for_fold()
        probe._check_options()
        self.preset = DEFAULT_PRESET if self.factory else model.preset
        # seed of the random splits: the configuration's, 0 for a factory (no options)
        self.seed = 0 if self.factory else int(model.seed)
        self.task = probe._resolve_task(np.asarray(P.y), info.get("task"))
        probe.task_ = self.task
        self.y_enc = probe._encode_y(np.asarray(P.y))
        self.classes = getattr(probe, "classes_", np.array([0.0, 1.0]))
        if self.factory:
            from ..features import feature_labels

            labels = feature_labels(self.preset)
            self.elements = sorted({e for els in P.row_elements for e in els},
                                   key=labels.index)
            X = P.F[:, [labels.index(e) for e in self.elements]]
            self.X = X / np.maximum(X.sum(axis=1, keepdims=True), 1e-300)
            c = list(info.get("conditions", []))
            self.C = (pd.DataFrame(P.F[:, P.F.shape[1] - len(c):], columns=c) if c else None)

    def run(self, tr: np.ndarray, te: np.ndarray) -> tuple[Any, ...]:
        """``(value, raw spread, zero-branch mask or None, in-domain flags, distances, fold
        model)`` for the test rows ``te`` of a model fitted on ``tr``."""
        P = self.P
        if not self.factory:
            m = self.model.clone_for_fold()
            m._fit_prepared(P.take(tr), self.info, level="cv")
            Fte = P.F[te]
            if self.task == "regression":
                value, spread, zb = m._predict_raw_branches(Fte)
            else:
                value, spread = m._predict_features(Fte, calibrated=False)
                zb = None
            flags, dist, _ = m.domain_.assess(Fte, [P.row_elements[i] for i in te])
            return value, spread, zb, flags, dist, m
        from .protocol import check_fraction_model

        def cond(rows: np.ndarray) -> Any:
            return None if self.C is None else self.C.iloc[rows].reset_index(drop=True)

        y = self.y_enc if self.task == "classification" else np.asarray(P.y, dtype=float)
        m = check_fraction_model(self.model(self.X[tr], self.elements, y[tr], cond(tr)),
                                 where="the model the factory returned")
        mean, std, dom = m.predict_fractions(self.X[te], self.elements, cond(te),
                                             return_std=True, return_domain=True)
        if not hasattr(m, "threshold_"):
            m.threshold_ = 0.5
        if not hasattr(m, "classes_"):
            m.classes_ = self.classes
        return (np.asarray(mean, float).ravel(), np.asarray(std, float).ravel(), None,
                np.asarray(dom["in_domain"], dtype=bool),
                np.asarray(dom["distance"], dtype=float), m)

    def params(self) -> dict[str, Any]:
        if self.factory:
            return {"factory": getattr(self.model, "__qualname__", type(self.model).__name__)}
        return {k: v for k, v in self.model.get_params().items()
                if isinstance(v, (str, int, float, bool, type(None), dict))}
