"""Fitting ``PropertyModel``: targets, members through the backend, decision thresholds,
std calibration on internal held-out rows, and the applicability domain."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from ..core.elements import ATOMIC_NUMBER
from ._calibration import (
    apply_branch_calibration,
    apply_calibration,
    coverage,
    fit_branch_calibration,
    fit_std_calibration,
)
from ._domain import DomainModel
from ._errors import ModelError
from ._inputs import column_stats, training_hash
from ._zero_inflation import sigmoid, zero_branch, zi_combine

if TYPE_CHECKING:
    from ._inputs import Prepared
    from .backends import ModelBackend

__all__ = ["FittingMixin", "CALIBRATION_FULL_CV_MAX_ROWS", "IMPORTANCE_ROWS"]

# Calibration by internal CV when fitting: full 5-fold CV up to this many rows, one held-out
# fold above it (cost 1.8x instead of 6x a plain fit).
CALIBRATION_FULL_CV_MAX_ROWS = 2000

# Training rows whose mean |SHAP| gives the global importances (computed on first use).
IMPORTANCE_ROWS = 300


class FittingMixin:
    """``fit`` internals of ``PropertyModel`` (kept apart so the class file stays small)."""

    def _member_seeds(self, n: int) -> list[int]:
        state = np.random.SeedSequence(int(self.seed)).generate_state(n)  # type: ignore[attr-defined]
        return [int(s % (2**31 - 1)) for s in state]

    def _resolve_task(self, y: np.ndarray, hint: str | None) -> str:
        task = self.task  # type: ignore[attr-defined]
        if task != "auto":
            return str(task)
        if hint in ("regression", "classification"):
            return str(hint)
        if y.dtype.kind in "bOUS":  # booleans and labels
            return "classification"
        values = pd.unique(pd.Series(y).dropna())
        if len(values) <= 2 and set(np.asarray(values, dtype=float).tolist()) <= {0.0, 1.0}:
            return "classification"
        return "regression"

    def _encode_y(self, y: np.ndarray) -> np.ndarray:
        m: Any = self
        if m.task_ == "classification":
            s = pd.Series(y)
            if s.isna().any():
                raise ModelError(
                    f"the target has {int(s.isna().sum())} missing value(s); drop them first "
                    "(dataset.dropna())"
                )
            classes = np.array(sorted(pd.unique(s), key=lambda v: (str(type(v)), v)))
            if len(classes) > 2:
                raise ModelError(
                    f"only binary classification is supported; the target has {len(classes)} "
                    f"classes {list(classes[:6])}"
                )
            if len(classes) < 2:
                raise ModelError(
                    f"a classification target needs two classes, got only {list(classes)}"
                )
            m.classes_ = classes
            return (np.asarray(y) == classes[1]).astype(np.float64)
        try:
            yf = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError):
            raise ModelError("a regression target must be numeric") from None
        bad = ~np.isfinite(yf)
        if bad.any():
            raise ModelError(
                f"the target has {int(bad.sum())} missing or infinite value(s) (first at row "
                f"{int(np.flatnonzero(bad)[0])}); drop them first (dataset.dropna())"
            )
        return yf

    def _begin_fit(self, P: Prepared, info: Mapping[str, Any]) -> None:
        """What the training data say before any member is trained: names and elements."""
        from ..features import feature_labels

        m: Any = self
        m.target_ = str(info.get("target", "target"))
        m.units_ = str(info.get("units", ""))
        m.conditions_ = list(info.get("conditions", []))
        m.preset_ = m.preset
        m.feature_names_ = [*feature_labels(m.preset), *m.conditions_]
        if len(m.feature_names_) != P.F.shape[1]:
            raise ModelError("internal error: feature columns do not match the labels")
        m.n_features_in_ = P.F.shape[1]
        m.elements_ = sorted(
            {e for els in P.row_elements for e in els}, key=ATOMIC_NUMBER.__getitem__
        )
        m.__dict__.pop("_fraction_cols", None)

    def _fit_prepared(
        self,
        P: Prepared,
        info: Mapping[str, Any],
        *,
        callback: Any = None,
        level: Literal["full", "cv", "calibration"] = "full",
    ) -> None:
        """Fit on featurized data. ``level`` skips work a CV fold does not need: ``"cv"``
        skips global importances, ``"calibration"`` also the applicability domain."""
        from .._progress import as_progress

        m: Any = self
        assert P.y is not None
        t0 = time.perf_counter()
        if hasattr(m, "cv_report_"):
            del m.cv_report_
        m.task_ = m._resolve_task(np.asarray(P.y), info.get("task"))
        y = m._encode_y(np.asarray(P.y))
        if m.task_ == "regression" and np.nanstd(y) == 0:
            raise ModelError("the target is constant: there is nothing to learn")
        m._begin_fit(P, info)
        m.n_train_ = len(P)
        m.training_hash_ = training_hash(
            P.formulas,
            y,
            P.F[:, len(P.F[0]) - len(m.conditions_) :] if m.conditions_ else None,
        )
        nz = m._target_scale(y)

        progress = as_progress(callback)
        if m._tune_flag:
            # zero-inflated: the regressor stage is tuned (on the non-zero rows)
            P_t, y_t = (P, y) if nz is None else (P.take(np.flatnonzero(nz)), y[nz])
            m._tune_prepared(P_t, y_t, n_iter=m.tune_iter, cv=m.tune_cv, callback=progress)
        if m.task_ == "classification":
            m._choose_threshold(P.F, y, level)
        m._std_calibration(P, info)

        fit_progress = progress.counts("fit")
        if nz is None:
            m.backend_ = m._train_members(P.F, y, callback=fit_progress)
            m.zero_backend_ = None
        else:
            m.backend_ = m._train_members(P.F[nz], y[nz], callback=fit_progress)
            m.zero_backend_ = m._train_members(
                P.F, (y == 0).astype(np.float64), classify=True,
                seed_offset=m.backend_.n_members,
            )
        m._after_members(P, level)
        m.fit_time_ = time.perf_counter() - t0

    def _target_scale(self, y: np.ndarray) -> np.ndarray | None:
        """Decide zero inflation and set the target's centre and scale (the regressor's rows:
        the non-zero ones when zero-inflated); the non-zero mask, or None without."""
        m: Any = self
        m.zero_inflated_ = m._wants_zero_inflation(y)
        nz = y != 0 if m.zero_inflated_ else None
        if m.task_ == "regression":
            y_reg = y if nz is None else y[nz]
            m.y_mean_ = float(np.mean(y_reg))
            m.y_scale_ = float(np.std(y_reg)) or 1.0
        else:
            m.y_mean_, m.y_scale_ = 0.0, 1.0
            m.prevalence_ = float(np.mean(y))
        return nz

    def _choose_threshold(self, F: np.ndarray, y: np.ndarray, level: str) -> None:
        """The classifier's decision threshold and how it was chosen."""
        m: Any = self
        thr = m.decision_threshold
        if thr == "auto" and level != "calibration":
            m.threshold_, m.threshold_method_ = m._oof_threshold(F, y)
        elif thr in ("auto", "balanced"):
            m.threshold_, m.threshold_method_ = m.prevalence_, "positive share"
        else:
            m.threshold_, m.threshold_method_ = float(thr), "fixed"

    def _std_calibration(self, P: Prepared, info: Mapping[str, Any]) -> None:
        """Calibrate the ensemble spread on held-out rows, or record that it is raw."""
        m: Any = self
        do_cal = m.calibrate in (True, "auto") and m.task_ == "regression" and len(P) >= 20
        m.zero_mode_ = "hard" if m.zero_inflated_ else None
        if do_cal:
            m._calibrate_prepared(P, info)
        else:
            m.std_scale_, m.std_floor_ = 1.0, 0.0
            m.zero_std_scale_ = None
            m.zero_std_floor_ = None
            m.calibration_ = {"method": "none (raw ensemble spread)", "n": 0}

    def _after_members(self, P: Prepared, level: str) -> None:
        """State that follows the members: attributor cache, feature means, the check rows,
        and (unless only calibrating) the applicability domain and importance rows."""
        m: Any = self
        m._attributors = {}
        m.feature_means_ = column_stats(P.F)[0]
        m.__dict__.pop("_shap_importance", None)
        m._importance_X = np.zeros((0, len(m.feature_names_)))
        m.check_X_ = P.F[: min(3, len(P))].copy()
        if level == "calibration":
            return
        from ..features import feature_labels

        ef = set(feature_labels("element_fraction"))
        dom_cols = [i for i, n in enumerate(m.feature_names_) if n not in ef]
        m.domain_ = DomainModel.fit(
            P.F, dom_cols, m.elements_, k=int(m.domain_k), quantile=float(m.domain_quantile),
            seed=int(m.seed),
        )
        if level == "full":
            # global importances are computed from these rows on first use (TreeSHAP of a few
            # hundred rows costs more than the fit itself on a few thousand)
            rng = np.random.default_rng(m.seed)
            sample = np.sort(rng.choice(len(P), min(len(P), IMPORTANCE_ROWS), replace=False))
            m._importance_X = P.F[sample].copy()

    def _train_members(
        self,
        F: np.ndarray,
        y_enc: np.ndarray,
        *,
        n_members: int | None = None,
        params: Mapping[str, Any] | None = None,
        callback: Any = None,
        classify: bool | None = None,
        seed_offset: int = 0,
    ) -> ModelBackend:
        """A fresh backend with ``n_members`` members trained on rows ``F`` (member ``i``
        depends only on its seed, so not on ``n_jobs`` or thread timing)."""
        m: Any = self
        n_members = int(m.n_ensemble) if n_members is None else n_members
        clf = m.task_ == "classification" if classify is None else classify
        target = y_enc if clf else (y_enc - m.y_mean_) / m.y_scale_
        seeds = m._member_seeds(n_members + seed_offset)[seed_offset:]
        backend = m._new_backend(params)
        backend.fit(m._inputs(F), target, classification=clf, seeds=seeds, n_jobs=m._jobs(),
                    progress=callback)
        return backend  # type: ignore[no-any-return]

    def _train_folds(
        self, F: np.ndarray, y_enc: np.ndarray, splits: Sequence[tuple[np.ndarray, np.ndarray]]
    ) -> np.ndarray:
        """Out-of-fold margins of one member per split, the folds trained concurrently."""
        from .backends.xgboost import map_concurrently

        m: Any = self
        seeds = m._member_seeds(len(splits) + 1)[1:]
        out = np.empty(len(y_enc))
        clf = m.task_ == "classification"
        target = y_enc if clf else (y_enc - m.y_mean_) / m.y_scale_
        inputs = m._inputs(F)
        # resolved on all rows (e.g. max_depth "auto"), as the members fitted on all of them
        params = m._new_backend().resolve_params(len(y_enc))

        def one(i: int) -> None:
            tr, te = splits[i]
            b = m._new_backend(params)
            b.fit(inputs.take(tr), target[tr], classification=clf, seeds=[seeds[i]], n_jobs=1)
            out[te] = b.predict_members(inputs.take(te), n_jobs=1)[0]

        map_concurrently(one, len(splits), max(1, min(m._jobs(), len(splits))), "matopt-oof")
        return out

    def _oof_threshold(self, F: np.ndarray, y_enc: np.ndarray) -> tuple[float, str]:
        """Decision threshold maximizing balanced accuracy of out-of-fold probabilities.

        Uses training rows only (inner stratified K-fold), so it is legitimate inside any
        outer evaluation. The balanced-accuracy curve is smoothed over +-0.25 in log-odds
        before taking its maximum, so the choice does not hinge on a handful of rows.
        """
        from sklearn.model_selection import StratifiedKFold

        m: Any = self
        n_pos = int(y_enc.sum())
        n_neg = len(y_enc) - n_pos
        if min(n_pos, n_neg) < 5:
            return m.prevalence_, "positive share (a class has < 5 training rows)"
        k = 5 if len(y_enc) <= CALIBRATION_FULL_CV_MAX_ROWS else 3
        k = min(k, n_pos, n_neg)
        splitter = StratifiedKFold(k, shuffle=True, random_state=int(m.seed))
        splits = list(splitter.split(np.zeros(len(y_enc)), y_enc))
        margin = m._train_folds(F, y_enc, splits)
        grid = np.linspace(-8.0, 8.0, 641)  # log-odds, step 0.025
        pos = np.sort(margin[y_enc == 1])
        neg = np.sort(margin[y_enc == 0])
        tpr = 1.0 - np.searchsorted(pos, grid, side="left") / len(pos)
        tnr = np.searchsorted(neg, grid, side="left") / len(neg)
        ba = 0.5 * (tpr + tnr)
        w = 21  # +-0.25 log-odds
        smooth = np.convolve(np.pad(ba, w // 2, mode="edge"), np.ones(w) / w, mode="valid")
        best = int(np.argmax(smooth))
        # several equal maxima: take the middle of the first plateau
        top = np.flatnonzero(smooth >= smooth[best] - 1e-12)
        run = top[: 1 + int(np.argmax(np.diff(np.append(top, top[-1] + 2)) > 1))]
        t = float(sigmoid(np.array(grid[run[len(run) // 2]])))
        return t, f"max balanced accuracy of {k}-fold out-of-fold probabilities"

    def _calibrate_prepared(self, P: Prepared, info: Mapping[str, Any]) -> None:
        from sklearn.model_selection import KFold

        m: Any = self
        n = len(P)
        splits = list(KFold(5, shuffle=True, random_state=int(m.seed)).split(np.zeros(n)))
        # a backend whose members are costly (neural networks) may lower the size up to
        # which all five folds are used; above it one hold-out fold calibrates
        full_cv_max = getattr(m._new_backend(), "calibration_full_cv_max_rows",
                              CALIBRATION_FULL_CV_MAX_ROWS)
        if n > full_cv_max:
            splits = splits[:1]
        resid, raw, zb = [], [], []
        fixed = {**dict(m.params or {}), **dict(getattr(m, "best_params_", None) or {})}
        zi = bool(getattr(m, "zero_inflated_", False))
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        for tr, te in splits:
            # already tuned on all of P: the calibration folds reuse those parameters
            sub = m._clone_for_fold(tune=False, params=fixed or None, zero_inflated=zi)
            sub._fit_prepared(P.take(tr), info, level="calibration")
            yt = np.asarray(P.y, dtype=float)[te]
            if zi:
                parts.append((yt, *sub._zero_inflated_parts(P.F[te])))
                continue
            mean, spread = sub._predict_features(P.F[te], calibrated=False)
            resid.append(yt - mean)
            raw.append(spread)
        if zi:
            # hard or soft combination: whichever has the lower held-out MAE (training rows)
            mae = {}
            for mode in ("hard", "soft"):
                err = [np.abs(yt - zi_combine(mu, sd, p0, mode)[0]) for yt, mu, sd, p0 in parts]
                mae[mode] = float(np.mean(np.concatenate(err)))
            m.zero_mode_ = min(mae, key=lambda k: (mae[k], k != "hard"))
            m.zero_mode_mae_ = mae
            for yt, mu, sd, p0 in parts:
                v, spread = zi_combine(mu, sd, p0, m.zero_mode_)
                resid.append(yt - v)
                raw.append(spread)
                zb.append(zero_branch(p0))
        r = np.concatenate(resid)
        s = np.concatenate(raw)
        if zi:
            # one calibration per branch (rows predicted 0 / by the regressor): see
            # _calibration's module docstring
            z = np.concatenate(zb)
            (a, b), (a0, b0) = fit_branch_calibration(r, s, z)
            m.zero_std_scale_, m.zero_std_floor_ = float(a0), float(b0)
            cal = apply_branch_calibration(s, z, a, b, a0, b0)
        else:
            a, b = fit_std_calibration(r, s)
            m.zero_std_scale_ = m.zero_std_floor_ = None
            cal = apply_calibration(s, a, b)
        m.std_scale_, m.std_floor_ = float(a), float(b)
        m.calibration_ = {
            "method": f"internal {'5-fold CV' if len(splits) > 1 else 'hold-out fold (1 of 5)'}",
            "n": int(len(r)),
            **{f"raw_{k}": v for k, v in coverage(r, s).items()},
            **coverage(r, cal),
        }

    def _clone_for_fold(self, **overrides: Any) -> Any:
        m: Any = self
        params = m.get_params()
        params.update(calibrate=False)
        params.update(overrides)
        return type(m)(**params)

    def clone_for_fold(self, **overrides: Any) -> Any:
        """An unfitted copy of this configuration (no internal calibration) for CV folds."""
        return self._clone_for_fold(**overrides)
