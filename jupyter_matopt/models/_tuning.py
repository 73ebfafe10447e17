"""Hyperparameter tuning of ``PropertyModel``: bounded random search by inner K-fold CV.

``model.tune`` is both the bool option ``tune`` and the method (see :class:`TuneSwitch`).
The search space belongs to the backend (``ModelBackend.tune_space``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._errors import ModelError
from ._zero_inflation import sigmoid

if TYPE_CHECKING:
    from ._inputs import Prepared
    from ._model import PropertyModel

__all__ = ["TuneSwitch", "TuneDescriptor", "TuningMixin"]


class TuneSwitch:
    """What ``model.tune`` is: the bool option ``tune`` that can also be called as the method.

    ``PropertyModel(tune=True)`` and ``model.tune(ds, n_iter=8, cv=3)`` are both public
    names; scikit-learn stores constructor options as attributes of the same name, so the
    attribute is this object: truthy like the option, callable like the method.
    """

    __slots__ = ("_model",)

    def __init__(self, model: PropertyModel) -> None:
        self._model = model

    def __call__(self, *args: Any, **kwargs: Any) -> PropertyModel:
        return self._model._tune_method(*args, **kwargs)

    def __bool__(self) -> bool:
        return bool(self._model.__dict__.get("_tune_flag", False))

    def __eq__(self, other: object) -> bool:
        return bool(self) == (bool(other) if isinstance(other, TuneSwitch) else other)

    def __hash__(self) -> int:
        return hash(bool(self))

    def __repr__(self) -> str:
        return repr(bool(self))


class TuneDescriptor:
    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return objtype._tune_method
        return TuneSwitch(obj)

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__["_tune_flag"] = value


class TuningMixin:
    """``tune`` for ``PropertyModel`` (uses its preparation, encoding and backend)."""

    def _tune_method(
        self,
        X: Any,
        y: Any = None,
        *,
        conditions: pd.DataFrame | Mapping[str, Any] | None = None,
        n_iter: int | None = None,
        cv: int | None = None,
        refit: bool = True,
        callback: Any = None,
    ) -> Any:
        """Bounded random hyperparameter search by inner K-fold CV on the given (training) data.

        ``n_iter`` candidates (the first is the current defaults) are scored by ``cv``-fold
        CV with one ensemble member each (MAE for regression, log loss for classification);
        the best is kept in ``best_params_`` (all candidates in ``tune_results_``) and used by
        later fits. Give it training data only: inside :meth:`cross_validate` (with
        ``tune=True``) it only ever sees each outer fold's training rows.

        Returns:
            self, refitted on the data with the chosen parameters when ``refit``.
        """
        m: Any = self
        m._check_options()
        P, info = m._prepare(X, y, conditions, condition_names=None, need_y=True)
        m.task_ = m._resolve_task(np.asarray(P.y), info.get("task"))
        m._begin_fit(P, info)
        yenc = m._encode_y(np.asarray(P.y))
        if m.task_ == "regression":
            m.y_mean_, m.y_scale_ = float(np.mean(yenc)), float(np.std(yenc)) or 1.0
        else:
            m.y_mean_, m.y_scale_ = 0.0, 1.0
        m._tune_prepared(
            P,
            yenc,
            n_iter=m.tune_iter if n_iter is None else n_iter,
            cv=m.tune_cv if cv is None else cv,
            callback=callback,
        )
        if refit:
            saved_tune = m._tune_flag
            m._tune_flag = False
            try:
                m._fit_prepared(P, info, callback=None)
            finally:
                m._tune_flag = saved_tune
        return m

    def _tune_prepared(
        self, P: Prepared, y_enc: np.ndarray, *, n_iter: int, cv: int, callback: Any
    ) -> None:
        from sklearn.model_selection import KFold, StratifiedKFold

        from .._progress import as_progress

        m: Any = self
        progress = as_progress(callback)
        n_iter, cv = int(n_iter), int(cv)
        if n_iter < 1 or cv < 2:
            raise ModelError(f"tune needs n_iter >= 1 and cv >= 2, got n_iter={n_iter}, cv={cv}")
        rng = np.random.default_rng(int(m.seed) + 17)
        m.best_params_ = None
        template = m._new_backend()
        defaults = template.resolve_params(int(len(y_enc) * (cv - 1) / cv))
        candidates = [dict(defaults)]
        space = dict(template.tune_space)
        while len(candidates) < n_iter:
            c = dict(defaults)
            for key, values in space.items():
                c[key] = values[int(rng.integers(len(values)))]
            c = template.tune_candidate(c)
            if c not in candidates:
                candidates.append(c)
            elif not space:
                break  # nothing to vary: the defaults are the only candidate
        clf = m.task_ == "classification"
        splitter = (StratifiedKFold if clf else KFold)(cv, shuffle=True, random_state=int(m.seed))
        splits = list(splitter.split(np.zeros(len(y_enc)), y_enc))
        rows = []
        total = len(candidates) * len(splits)
        done = 0
        for ci, cand in enumerate(candidates):
            scores = []
            for tr, te in splits:
                backend = m._train_members(P.F[tr], y_enc[tr], n_members=1, params=cand)
                margin = backend.predict_members(m._inputs(P.F[te]))[0].astype(np.float64)
                if clf:
                    p = np.clip(sigmoid(margin), 1e-12, 1 - 1e-12)
                    yt = y_enc[te]
                    scores.append(float(-np.mean(yt * np.log(p) + (1 - yt) * np.log(1 - p))))
                else:
                    pred = m.y_mean_ + m.y_scale_ * margin
                    scores.append(float(np.mean(np.abs(y_enc[te] - pred))))
                done += 1
                progress("tune", done, total, f"tuning: candidate {ci + 1} of {len(candidates)}")
            rows.append({**cand, "score": float(np.mean(scores))})
        results = pd.DataFrame(rows)
        best = int(results["score"].idxmin())
        m.best_params_ = dict(candidates[best])
        m.tune_results_ = results.assign(
            metric="log_loss" if clf else "mae", chosen=[i == best for i in range(len(rows))]
        )
