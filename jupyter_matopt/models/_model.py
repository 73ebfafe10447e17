"""``PropertyModel``: a composition -> property model with uncertainty, domain and explanations."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from ..core import CompositionError, parse_composition, to_formula
from ..core.elements import ATOMIC_NUMBER
from ._calibration import (
    apply_branch_calibration,
    apply_calibration,
    fit_branch_calibration,
    fit_std_calibration,
)
from ._domain import DomainModel
from ._errors import ModelError, NotFittedError
from ._explain import ElementAttributor, Explanation

if TYPE_CHECKING:
    import xgboost as xgb

    from ._evaluation import CVReport

__all__ = ["PropertyModel", "DEFAULT_PRESET", "XGB_DEFAULTS", "RF_DEFAULTS"]

Callback = Callable[[int, int, str], Any]

#: Default descriptors: the 132 Magpie statistics, the 7 alloy descriptors and the atomic
#: fraction of every element. Chosen by inner 5-fold CV on the *training* rows of Matbench
#: fold 0 only (steels MAE 98 -> 91 MPa over Magpie alone; expt_gap 0.433 -> 0.426 eV; glass
#: label-AUC 0.836 -> 0.842); element fractions let trees split on "how much Co" directly,
#: which statistics over element properties only encode indirectly.
DEFAULT_PRESET = "magpie+alloy+element_fraction"

#: Gradient-boosting defaults (same dev protocol as above). ``max_depth="auto"`` is 4 below
#: 1000 training rows (small sets overfit deeper trees: steels 91 vs 96 MPa) and 6 above
#: (expt_gap 0.426 vs 0.452 eV). ``max_bin=64`` fits twice as fast as 256 at equal error.
#: 200 rounds at learning rate 0.15 instead of 400 at 0.1 halve the fit (and TreeSHAP) time
#: for at most 1 % more error (inner 5-fold CV on fold-0 training rows, 2 members: expt_gap
#: 0.4152 -> 0.4185 eV, steels 90.5 -> 91.2 MPa, expt_is_metal AUC 0.9749 -> 0.9743, glass
#: AUC 0.9422 -> 0.9426 with lr 0.2/150; Ricci Seebeck, 6000 rows, 3-fold: 157.5 -> 157.6).
XGB_DEFAULTS: dict[str, Any] = {
    "n_estimators": 200,
    "learning_rate": 0.15,
    "max_depth": "auto",
    "min_child_weight": 1.0,
    "subsample": 0.8,
    "colsample_bytree": 0.5,
    "reg_lambda": 1.0,
    "reg_alpha": 0.0,
    "gamma": 0.0,
    "max_bin": 64,
}

#: Random-forest defaults (XGBoost's random-forest mode: one round of parallel trees on row
#: subsamples with per-node feature sampling). ``n_estimators`` is trees per ensemble member.
RF_DEFAULTS: dict[str, Any] = {
    "n_estimators": 100,
    "max_depth": 12,
    "min_child_weight": 1.0,
    "subsample": 0.632,
    "colsample_bynode": 0.5,
    "reg_lambda": 1e-6,
    "max_bin": 64,
}

_REGRESSION_OBJECTIVES = ("reg:squarederror", "reg:absoluteerror", "reg:pseudohubererror")

_NATIVE = {
    "learning_rate": "eta",
    "reg_lambda": "lambda",
    "reg_alpha": "alpha",
}

# Hyperparameter search space of tune(): candidate 0 is always the defaults.
_TUNE_SPACE: dict[str, list[Any]] = {
    "max_depth": [3, 4, 5, 6, 8],
    "learning_rate": [0.03, 0.05, 0.1, 0.2],
    "min_child_weight": [1.0, 2.0, 5.0],
    "subsample": [0.6, 0.8, 1.0],
    "colsample_bytree": [0.3, 0.5, 0.8],
    "reg_lambda": [0.1, 1.0, 10.0],
}

# Calibration by internal CV when fitting: full 5-fold CV up to this many rows, one held-out
# fold above it (cost 1.8x instead of 6x a plain fit).
_CALIBRATION_FULL_CV_MAX_ROWS = 2000

# Batches at least this big predict the ensemble members concurrently (one thread each).
_PARALLEL_PREDICT_ROWS = 2048
# Explanations cost ~1000x a prediction per row: their members run concurrently from here.
_PARALLEL_EXPLAIN_ROWS = 16

# zero_inflated="auto": a regression target that is never negative and exactly 0 on at least
# this share of the training rows (and has enough rows on both sides) gets the two-stage model.
_ZERO_SHARE_MIN = 0.2
_ZERO_ROWS_MIN = 20

# Training rows whose mean |SHAP| gives the global importances (computed on first use).
_IMPORTANCE_ROWS = 300


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free logistic


def _usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _default_jobs() -> int:
    # Parallelism comes from training (and predicting) ensemble members concurrently in Python
    # threads, each booster single-threaded (XGBoost releases the GIL), never from OpenMP
    # threads inside one booster: OpenMP threads spin-wait, and on a shared 2-core machine a
    # 2-thread XGBoost fit measured 5-15x slower than a 1-thread fit whenever other processes
    # were busy (45-56 s vs 7-11 s for the same 200 rounds). Member threads do not spin.
    return min(2, _usable_cores())


@dataclass
class _Prepared:
    """Featurized inputs (the expensive part), sliceable by rows for CV."""

    F: np.ndarray
    y: np.ndarray | None
    formulas: list[str]
    row_elements: list[tuple[str, ...]]
    groups: np.ndarray | None = None

    def take(self, idx: np.ndarray) -> _Prepared:
        return _Prepared(
            self.F[idx],
            None if self.y is None else self.y[idx],
            [self.formulas[i] for i in idx],
            [self.row_elements[i] for i in idx],
            None if self.groups is None else self.groups[idx],
        )

    def __len__(self) -> int:
        return self.F.shape[0]


def _is_dataset(x: Any) -> bool:
    return hasattr(x, "compositions") and hasattr(x, "frame") and hasattr(x, "target")


def _as_items(compositions: Any) -> list[Any]:
    if isinstance(compositions, (str, Mapping)) or hasattr(compositions, "get_el_amt_dict"):
        return [compositions]
    if isinstance(compositions, pd.DataFrame):
        if compositions.shape[1] != 1:
            raise ModelError(
                "a DataFrame of compositions must have exactly one column, got "
                f"{list(compositions.columns)}; pass df[column] instead"
            )
        compositions = compositions.iloc[:, 0]
    if isinstance(compositions, pd.Series):
        return compositions.tolist()
    try:
        return list(compositions)
    except TypeError:
        raise ModelError(
            "compositions must be a formula, a mapping of element to amount, a Dataset, or a "
            f"list/Series of formulas or mappings; got {type(compositions).__name__}"
        ) from None


def _parse_items(items: Sequence[Any]) -> tuple[list[str], list[tuple[str, ...]]]:
    """Formula text and element tuple (ordered by Z) of each item, parsing each string once."""
    seen: dict[str, tuple[str, tuple[str, ...]]] = {}
    formulas: list[str] = []
    elements: list[tuple[str, ...]] = []
    for x in items:
        if isinstance(x, str) and x in seen:
            f, e = seen[x]
        else:
            fr = parse_composition(x)
            e = tuple(sorted(fr, key=ATOMIC_NUMBER.__getitem__))
            f = x if isinstance(x, str) else to_formula(fr)
            if isinstance(x, str):
                seen[x] = (f, e)
        formulas.append(f)
        elements.append(e)
    return formulas, elements


class _TuneSwitch:
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
        return bool(self) == (bool(other) if isinstance(other, _TuneSwitch) else other)

    def __hash__(self) -> int:
        return hash(bool(self))

    def __repr__(self) -> str:
        return repr(bool(self))


class _TuneDescriptor:
    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return objtype._tune_method
        return _TuneSwitch(obj)

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__["_tune_flag"] = value


class PropertyModel(BaseEstimator):  # type: ignore[misc]
    """Predict a property (regression) or a class (binary classification) from composition.

    An ensemble of ``n_ensemble`` XGBoost models (differently seeded, row-subsampled) on
    composition descriptors, optionally plus condition columns such as temperature. Every
    prediction carries a calibrated standard deviation, an applicability-domain flag with a
    reason, and can be explained per feature, element and element property.

    Args:
        estimator: ``"xgboost"`` (gradient boosting, default) or ``"rf"`` (random forest,
            XGBoost's random-forest mode, so TreeSHAP and the safe JSON model format apply).
        task: ``"auto"`` (from the Dataset, or a 0/1, boolean or two-label target means
            classification), ``"regression"`` or ``"classification"``.
        preset: Featurizer preset(s) of :func:`jupyter_matopt.features.featurize`
            (default :data:`DEFAULT_PRESET`).
        n_ensemble: Ensemble members; their spread is the (uncalibrated) uncertainty.
        seed: Seed of everything random (subsampling, CV splits, tuning): equal seeds give
            identical models.
        params: Overrides of :data:`XGB_DEFAULTS` / :data:`RF_DEFAULTS`; other keys are passed
            to XGBoost as native parameters (``"objective"`` may pick
            ``"reg:absoluteerror"`` or ``"reg:pseudohubererror"`` for regression).
        tune: Run :meth:`tune` (inner CV on the training data only) inside every :meth:`fit`.
        tune_iter: Candidates tried by the tuner (the defaults are always one of them).
        tune_cv: Inner CV folds of the tuner.
        calibrate: Fit the std calibration (``std_scale_``, ``std_floor_``) on internal
            held-out residuals during :meth:`fit`: ``"auto"``/True does 5-fold CV up to 2000
            rows and one held-out fold above; False keeps the raw ensemble spread (a later
            :meth:`cross_validate` on the same data recalibrates).
        decision_threshold: Probability above which :meth:`predict` says class 1.
            ``"auto"`` (default) picks it at fit time from *out-of-fold* probabilities on the
            training rows (an inner stratified K-fold of one ensemble member: 5 folds up to
            2000 rows, 3 above) to maximize balanced accuracy, which is what Matbench's
            label-based ROC-AUC measures and what screening for a rare class needs; boosted
            trees are over-confident on their own training rows, so in-sample probabilities
            would not do. It costs about 0.5-1x the ensemble fit, and falls back to the
            positive share when a class has fewer than 5 training rows. ``"balanced"`` uses
            the positive share of the training data (right for calibrated probabilities); a
            number such as 0.5 maximizes plain accuracy.
        zero_inflated: Two-stage (hurdle) regression for targets with a point mass at zero,
            such as band gaps (metals have a gap of exactly 0): a classifier ensemble for
            ``target == 0`` (``zero_members_``) and a regressor ensemble on the non-zero rows
            (``members_``). The prediction is 0 where P(zero) >= 0.5 and the regressor's value
            elsewhere (``"hard"``, the median of the two-part mixture) or the mixture mean
            ``(1 - P(zero)) * regressor`` (``"soft"``), whichever has the lower MAE on the
            internal held-out rows of the std calibration (training rows only; ``"hard"``
            when not calibrating). The std is the root-mean-square deviation of the mixture
            from the prediction, calibrated separately for the rows predicted 0
            (``P(zero) >= 0.5``; ``zero_std_scale_``, ``zero_std_floor_``) and the rows
            predicted by the regressor (``std_scale_``, ``std_floor_``), each on held-out
            residuals of its own branch. ``"auto"`` (default) enables it
            when the target is never negative and at least 20 % (and 20 rows) of the
            training values are exactly 0, with at least 20 non-zero rows: below that share
            the point mass adds little error and the classifier has little to learn from.
            (Measured before adopting it, by inner CV on the training rows of Matbench
            expt_gap outer fold 0 only: MAE 0.4185 -> 0.3452 eV with the hard cut, 0.3617
            soft.) Explanations explain the regressor stage; see :class:`Explanation`.
        domain_k: Neighbours in the applicability-domain distance.
        domain_quantile: Quantile of held-out training distances used as domain threshold.
        n_jobs: Parallel workers (default: 2, or 1 on a single core). Ensemble members are
            trained, explained, and predicted for batches of 2048 rows or more, concurrently
            on this many Python threads, each booster single-threaded; results do not depend
            on it. (Not OpenMP threads inside a booster: they spin-wait, and made fits 5-15x
            slower on a busy shared machine.)

    Attributes (after fit):
        elements_: Elements in the training data (ordered by Z).
        feature_names_: Feature columns (descriptors, then conditions).
        target_, units_, task_, conditions_: What is predicted, in which units, how.
        classes_: The two class labels (classification).
        members_: The fitted XGBoost boosters.
        std_scale_, std_floor_: Std calibration ``sqrt((scale * spread)^2 + floor^2)``.
        zero_std_scale_, zero_std_floor_: Zero-inflated models: the std calibration of the
            rows predicted 0 (``P(zero) >= 0.5``); ``std_scale_``/``std_floor_`` then
            calibrate the other rows. None otherwise (and for models saved before this
            existed: then one calibration applies to all rows).
        calibration_: How the std calibration was obtained, with coverage numbers.
        threshold_: Decision threshold on P(class 1) (classification).
        threshold_method_: How ``threshold_`` was chosen.
        zero_inflated_: Whether the two-stage model is used; then ``zero_members_`` are the
            boosters of P(target == 0), ``zero_mode_`` is ``"hard"`` or ``"soft"``, and
            ``members_``, ``y_mean_``, ``y_scale_`` belong to the regressor on non-zero rows.
        domain_: The :class:`~._domain.DomainModel`.
        feature_importances_: Mean |SHAP| per feature, normalized to sum to 1.
        best_params_: Hyperparameters chosen by :meth:`tune` (None if not tuned).
        cv_report_: The last :class:`CVReport` of :meth:`cross_validate`.
        training_hash_: sha256 of the training compositions, targets and conditions.
    """

    def __init__(
        self,
        estimator: Literal["xgboost", "rf"] = "xgboost",
        *,
        task: Literal["auto", "regression", "classification"] = "auto",
        preset: str = DEFAULT_PRESET,
        n_ensemble: int = 4,
        seed: int = 0,
        params: Mapping[str, Any] | None = None,
        tune: bool = False,
        tune_iter: int = 8,
        tune_cv: int = 3,
        calibrate: bool | Literal["auto"] = "auto",
        decision_threshold: float | Literal["auto", "balanced"] = "auto",
        zero_inflated: bool | Literal["auto"] = "auto",
        domain_k: int = 5,
        domain_quantile: float = 0.95,
        n_jobs: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.task = task
        self.preset = preset
        self.n_ensemble = n_ensemble
        self.seed = seed
        self.params = params
        self.tune = tune
        self.tune_iter = tune_iter
        self.tune_cv = tune_cv
        self.calibrate = calibrate
        self.decision_threshold = decision_threshold
        self.zero_inflated = zero_inflated
        self.domain_k = domain_k
        self.domain_quantile = domain_quantile
        self.n_jobs = n_jobs

    # ================================================================== validation
    def _check_options(self) -> None:
        if self.estimator not in ("xgboost", "rf"):
            raise ModelError(f"estimator must be 'xgboost' or 'rf', got {self.estimator!r}")
        if self.task not in ("auto", "regression", "classification"):
            raise ModelError(
                f"task must be 'auto', 'regression' or 'classification', got {self.task!r}"
            )
        if not isinstance(self.n_ensemble, (int, np.integer)) or self.n_ensemble < 1:
            raise ModelError(f"n_ensemble must be a positive integer, got {self.n_ensemble!r}")
        if not isinstance(self.seed, (int, np.integer)) or isinstance(self.seed, bool):
            raise ModelError(f"seed must be an integer, got {self.seed!r}")
        if self.params is not None and not isinstance(self.params, Mapping):
            raise ModelError(f"params must be a dict of hyperparameters, got {self.params!r}")
        objective = (self.params or {}).get("objective")
        if objective is not None and objective not in _REGRESSION_OBJECTIVES:
            raise ModelError(
                f"params['objective'] must be one of {list(_REGRESSION_OBJECTIVES)} (regression; "
                f"classification always uses binary:logistic), got {objective!r}"
            )
        if not isinstance(self.__dict__.get("_tune_flag", False), (bool, np.bool_)):
            raise ModelError(f"tune must be True or False, got {self._tune_flag!r}")
        if self.calibrate not in (True, False, "auto"):
            raise ModelError(f"calibrate must be True, False or 'auto', got {self.calibrate!r}")
        thr = self.decision_threshold
        if thr not in ("auto", "balanced") and not (
            isinstance(thr, (int, float)) and not isinstance(thr, bool) and 0.0 < float(thr) < 1.0
        ):
            raise ModelError(
                "decision_threshold must be 'auto', 'balanced' or a probability in (0, 1), got "
                f"{thr!r}"
            )
        if (
            self.zero_inflated not in (True, False, "auto")
            or isinstance(self.zero_inflated, (int, float))
            and not isinstance(self.zero_inflated, bool)
        ):
            raise ModelError(
                f"zero_inflated must be True, False or 'auto', got {self.zero_inflated!r}"
            )
        if not (0.0 < float(self.domain_quantile) <= 1.0):
            raise ModelError(f"domain_quantile must be in (0, 1], got {self.domain_quantile!r}")
        if self.n_jobs is not None and (
            not isinstance(self.n_jobs, (int, np.integer))
            or isinstance(self.n_jobs, bool)
            or self.n_jobs < 1
        ):
            raise ModelError(f"n_jobs must be a positive integer or None, got {self.n_jobs!r}")
        if int(self.domain_k) < 1:
            raise ModelError(f"domain_k must be >= 1, got {self.domain_k!r}")
        from ..features import feature_labels

        try:
            feature_labels(self.preset)
        except CompositionError as exc:
            raise ModelError(f"preset: {exc}") from None

    def _check_fitted(self) -> None:
        if not hasattr(self, "members_"):
            raise NotFittedError(
                "this PropertyModel is not fitted yet: call fit(dataset) or fit(compositions, y) "
                "first, or PropertyModel.load(path)"
            )

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "members_")

    # ================================================================== inputs
    def _condition_array(
        self, conditions: Any, n: int, names: Sequence[str], *, where: str
    ) -> np.ndarray:
        """Condition values as an ``(n, len(names))`` float array."""
        names = list(names)
        if not names:
            if conditions is not None and not (
                isinstance(conditions, pd.DataFrame) and conditions.shape[1] == 0
            ):
                if isinstance(conditions, (Mapping, pd.DataFrame)) and len(conditions) == 0:
                    return np.zeros((n, 0))
                raise ModelError(
                    f"{where}: this model has no condition columns, but conditions were given"
                )
            return np.zeros((n, 0))
        if conditions is None:
            raise ModelError(
                f"{where}: this model needs the condition column(s) {names} (e.g. "
                f"conditions={{{names[0]!r}: 300.0}})"
            )
        if isinstance(conditions, pd.DataFrame):
            missing = [c for c in names if c not in conditions.columns]
            if missing:
                raise ModelError(
                    f"{where}: conditions lack column(s) {missing}; got {list(conditions.columns)}"
                )
            cols = [conditions[c].to_numpy() for c in names]
        elif isinstance(conditions, Mapping):
            missing = [c for c in names if c not in conditions]
            if missing:
                raise ModelError(f"{where}: conditions lack {missing}; got {list(conditions)}")
            cols = [np.asarray(conditions[c]) for c in names]
        else:
            arr = np.asarray(conditions)
            if arr.ndim == 0 and len(names) == 1:
                cols = [arr]
            elif arr.ndim == 1 and len(names) == 1:
                cols = [arr]
            elif arr.ndim == 1 and arr.shape[0] == len(names):
                cols = [arr[j] for j in range(len(names))]
            elif arr.ndim == 2 and arr.shape[1] == len(names):
                cols = [arr[:, j] for j in range(len(names))]
            else:
                raise ModelError(
                    f"{where}: conditions must be a DataFrame or dict with columns {names}, or an "
                    f"array of shape (n, {len(names)}); got shape {arr.shape}"
                )
        out = np.empty((n, len(names)))
        for j, (name, col) in enumerate(zip(names, cols, strict=True)):
            try:
                values = np.asarray(col, dtype=np.float64)
            except (TypeError, ValueError):
                raise ModelError(f"{where}: condition {name!r} must be numeric") from None
            if values.ndim == 0 or values.size == 1:
                out[:, j] = float(values.reshape(-1)[0])
            elif values.shape == (n,):
                out[:, j] = values
            else:
                raise ModelError(
                    f"{where}: condition {name!r} has {values.size} values for {n} rows"
                )
        if np.isinf(out).any():
            raise ModelError(f"{where}: conditions must be finite numbers (NaN means unknown)")
        return out

    def _prepare(
        self,
        X: Any,
        y: Any = None,
        conditions: Any = None,
        *,
        condition_names: Sequence[str] | None,
        need_y: bool,
    ) -> tuple[_Prepared, dict[str, Any]]:
        """Featurize inputs (a Dataset, or compositions with y and conditions)."""
        from ..features import featurize

        info: dict[str, Any] = {"target": "target", "units": "", "task": None, "conditions": []}
        groups = None
        if _is_dataset(X):
            ds = X
            if y is not None:
                raise ModelError("pass either a Dataset or (compositions, y), not both")
            items = ds.compositions
            y_arr = ds.y if need_y else None
            names = list(ds.conditions) if condition_names is None else list(condition_names)
            cond_src = ds.frame[names] if names else None
            if conditions is not None:
                cond_src = conditions
            info.update(target=ds.target, units=ds.units, task=ds.task, conditions=names)
            groups = np.asarray(ds.groups)
        else:
            items = _as_items(X)
            if need_y:
                if y is None:
                    raise ModelError(
                        "fit needs targets: fit(dataset) or fit(compositions, y, conditions=...)"
                    )
                y_arr = y.to_numpy() if isinstance(y, (pd.Series, pd.DataFrame)) else np.asarray(y)
                y_arr = y_arr.reshape(-1) if y_arr.ndim > 1 and y_arr.shape[-1] == 1 else y_arr
                if y_arr.ndim != 1 or y_arr.shape[0] != len(items):
                    raise ModelError(
                        f"y must have one value per composition ({len(items)}), got shape "
                        f"{np.shape(y_arr)}"
                    )
                if isinstance(y, pd.Series) and y.name is not None:
                    info["target"] = str(y.name)
            else:
                y_arr = None
            if condition_names is None:
                if isinstance(conditions, pd.DataFrame):
                    names = [str(c) for c in conditions.columns]
                elif isinstance(conditions, Mapping):
                    names = [str(c) for c in conditions]
                elif conditions is None:
                    names = []
                else:
                    raise ModelError(
                        "conditions for fit must be a DataFrame or a dict of named columns"
                    )
            else:
                names = list(condition_names)
            cond_src = conditions
            info["conditions"] = names
        if len(items) == 0:
            raise ModelError("no compositions given")
        formulas, row_elements = _parse_items(items)
        F_comp = featurize(items, preset=self.preset).to_numpy(dtype=np.float64)
        C = self._condition_array(cond_src, len(items), names, where="conditions")
        F = np.hstack([F_comp, C]) if C.shape[1] else F_comp
        return _Prepared(F, y_arr, formulas, row_elements, groups), info

    # ================================================================== fitting
    def _effective_params(self, n_train: int) -> dict[str, Any]:
        base = dict(RF_DEFAULTS if self.estimator == "rf" else XGB_DEFAULTS)
        base.update(dict(self.params or {}))
        best = getattr(self, "best_params_", None)
        if best:
            base.update(best)
        if base.get("max_depth") == "auto":
            base["max_depth"] = 4 if n_train < 1000 else 6
        return base

    def _native_params(
        self, params: Mapping[str, Any], *, seed: int, threads: int
    ) -> tuple[dict[str, Any], int]:
        p = dict(params)
        n_rounds = int(p.pop("n_estimators"))
        native: dict[str, Any] = {}
        for key, value in p.items():
            native[_NATIVE.get(key, key)] = value
        objective = native.pop("objective", None)
        if self.task_ == "classification":
            objective = "binary:logistic"
        elif objective is None:
            objective = "reg:squarederror"
        elif objective not in _REGRESSION_OBJECTIVES:
            raise ModelError(
                f"params['objective'] must be one of {list(_REGRESSION_OBJECTIVES)} for "
                f"regression, got {objective!r}"
            )
        native.update(
            tree_method="hist",
            seed=int(seed),
            nthread=int(threads),
            objective=objective,
            verbosity=0,
        )
        if self.estimator == "rf":
            native.update(num_parallel_tree=n_rounds, eta=1.0)
            n_rounds = 1
        return native, n_rounds

    def _member_seeds(self, n: int) -> list[int]:
        state = np.random.SeedSequence(int(self.seed)).generate_state(n)
        return [int(s % (2**31 - 1)) for s in state]

    def _resolve_task(self, y: np.ndarray, hint: str | None) -> str:
        if self.task != "auto":
            return self.task
        if hint in ("regression", "classification"):
            return hint
        if y.dtype.kind in "bOUS":  # booleans and labels
            return "classification"
        values = pd.unique(pd.Series(y).dropna())
        if len(values) <= 2 and set(np.asarray(values, dtype=float).tolist()) <= {0.0, 1.0}:
            return "classification"
        return "regression"

    def _encode_y(self, y: np.ndarray) -> np.ndarray:
        if self.task_ == "classification":
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
            self.classes_ = classes
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

    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        conditions: pd.DataFrame | Mapping[str, Any] | None = None,
        callback: Callback | None = None,
    ) -> PropertyModel:
        """Fit the model.

        Args:
            X: A :class:`~jupyter_matopt.data.Dataset` (target, units, task and condition
                columns are taken from it), or compositions (formulas, mappings).
            y: Targets, when ``X`` is not a Dataset.
            conditions: Condition columns (DataFrame or dict of name -> values) when ``X`` is
                not a Dataset.
            callback: Called as ``callback(done, total, message)`` as members are fitted.

        Returns:
            self.

        Raises:
            ModelError: for invalid options, missing or non-numeric targets, or a target
                with more than two classes.
            CompositionError: for compositions that cannot be parsed or featurized.
        """
        self._check_options()
        prepared, info = self._prepare(X, y, conditions, condition_names=None, need_y=True)
        self._fit_prepared(prepared, info, callback=callback)
        return self

    def _fit_prepared(
        self,
        P: _Prepared,
        info: Mapping[str, Any],
        *,
        callback: Callback | None = None,
        level: Literal["full", "cv", "calibration"] = "full",
    ) -> None:
        """Fit on featurized data. ``level`` skips work a CV fold does not need: ``"cv"``
        skips global importances, ``"calibration"`` also the applicability domain."""
        from ..features import feature_labels

        assert P.y is not None
        t0 = time.perf_counter()
        if hasattr(self, "cv_report_"):
            del self.cv_report_
        self.task_ = self._resolve_task(np.asarray(P.y), info.get("task"))
        y = self._encode_y(np.asarray(P.y))
        if self.task_ == "regression" and np.nanstd(y) == 0:
            raise ModelError("the target is constant: there is nothing to learn")
        self.target_ = str(info.get("target", "target"))
        self.units_ = str(info.get("units", ""))
        self.conditions_ = list(info.get("conditions", []))
        self.preset_ = self.preset
        self.feature_names_ = [*feature_labels(self.preset), *self.conditions_]
        if len(self.feature_names_) != P.F.shape[1]:
            raise ModelError("internal error: feature columns do not match the labels")
        self.n_features_in_ = P.F.shape[1]
        self.elements_ = sorted(
            {e for els in P.row_elements for e in els}, key=ATOMIC_NUMBER.__getitem__
        )
        self.n_train_ = len(P)
        self.training_hash_ = _training_hash(
            P.formulas,
            y,
            P.F[:, len(P.F[0]) - len(self.conditions_) :] if self.conditions_ else None,
        )
        self.zero_inflated_ = self._wants_zero_inflation(y)
        nz = y != 0 if self.zero_inflated_ else None
        if self.task_ == "regression":
            y_reg = y if nz is None else y[nz]
            self.y_mean_ = float(np.mean(y_reg))
            self.y_scale_ = float(np.std(y_reg)) or 1.0
        else:
            self.y_mean_, self.y_scale_ = 0.0, 1.0
            self.prevalence_ = float(np.mean(y))

        total_steps = 1 + int(bool(self._tune_flag))
        if self._tune_flag:
            # zero-inflated: the regressor stage is tuned (on the non-zero rows)
            P_t, y_t = (P, y) if nz is None else (P.take(np.flatnonzero(nz)), y[nz])
            self._tune_prepared(P_t, y_t, n_iter=self.tune_iter, cv=self.tune_cv, callback=callback)
        if self.task_ == "classification":
            thr = self.decision_threshold
            if thr == "auto" and level != "calibration":
                self.threshold_, self.threshold_method_ = self._oof_threshold(P.F, y)
            elif thr in ("auto", "balanced"):
                self.threshold_, self.threshold_method_ = self.prevalence_, "positive share"
            else:
                self.threshold_, self.threshold_method_ = float(thr), "fixed"

        do_cal = self.calibrate in (True, "auto") and self.task_ == "regression" and len(P) >= 20
        self.zero_mode_ = "hard" if self.zero_inflated_ else None
        if do_cal:
            self._calibrate_prepared(P, info)
        else:
            self.std_scale_, self.std_floor_ = 1.0, 0.0
            self.zero_std_scale_: float | None = None
            self.zero_std_floor_: float | None = None
            self.calibration_ = {"method": "none (raw ensemble spread)", "n": 0}

        if nz is None:
            self.members_ = self._train_members(P.F, y, callback=callback, step=total_steps)
            self.zero_members_ = []
        else:
            self.members_ = self._train_members(P.F[nz], y[nz], callback=callback)
            self.zero_members_ = self._train_members(
                P.F, (y == 0).astype(np.float64), classify=True, seed_offset=len(self.members_)
            )
        self._pred_threads: list[int] = [-1] * len(self.members_)
        self._attributors: dict[tuple[str, ...], ElementAttributor] = {}
        self._used_mask: np.ndarray | None = None
        self.feature_means_ = _column_stats(P.F)[0]
        ef = set(feature_labels("element_fraction"))
        dom_cols = [i for i, n in enumerate(self.feature_names_) if n not in ef]
        self.__dict__.pop("_shap_importance", None)
        self._importance_X = np.zeros((0, len(self.feature_names_)))
        self.check_X_ = P.F[: min(3, len(P))].copy()
        if level == "calibration":
            self.fit_time_ = time.perf_counter() - t0
            return
        self.domain_ = DomainModel.fit(
            P.F,
            dom_cols,
            self.elements_,
            k=int(self.domain_k),
            quantile=float(self.domain_quantile),
            seed=int(self.seed),
        )
        if level == "full":
            # global importances are computed from these rows on first use (TreeSHAP of a few
            # hundred rows costs more than the fit itself on a few thousand)
            rng = np.random.default_rng(self.seed)
            sample = np.sort(rng.choice(len(P), min(len(P), _IMPORTANCE_ROWS), replace=False))
            self._importance_X = P.F[sample].copy()
        self.fit_time_ = time.perf_counter() - t0

    def _jobs(self) -> int:
        return int(self.n_jobs) if self.n_jobs else _default_jobs()

    def _train_members(
        self,
        F: np.ndarray,
        y_enc: np.ndarray,
        *,
        n_members: int | None = None,
        params: Mapping[str, Any] | None = None,
        callback: Callback | None = None,
        step: int = 1,
        classify: bool | None = None,
        seed_offset: int = 0,
    ) -> list[xgb.Booster]:
        """Train ``n_members`` boosters, concurrently on ``n_jobs`` Python threads.

        Each member depends only on its own seed, so the result is the same for any
        ``n_jobs`` and any thread timing.
        """
        import threading

        import xgboost as xgb

        n_members = int(self.n_ensemble) if n_members is None else n_members
        params = self._effective_params(len(y_enc)) if params is None else params
        jobs = self._jobs()
        workers = max(1, min(jobs, n_members))
        threads = max(1, jobs // workers)  # OpenMP threads per booster (1 unless many cores)
        clf = self.task_ == "classification" if classify is None else classify
        target = y_enc if clf else (y_enc - self.y_mean_) / self.y_scale_
        if clf:
            base_score = float(np.clip(np.mean(y_enc), 1e-6, 1 - 1e-6))
        else:
            base_score = 0.0  # targets are standardized
        seeds = self._member_seeds(n_members + seed_offset)[seed_offset:]
        local = threading.local()
        shared = xgb.DMatrix(F, label=target, nthread=threads) if workers == 1 else None

        def train(m: int) -> xgb.Booster:
            # one DMatrix per worker thread: hist builds its quantile index lazily inside the
            # DMatrix, which is not documented as safe to share between concurrent trainings
            dtrain = shared if shared is not None else getattr(local, "dtrain", None)
            if dtrain is None:
                dtrain = local.dtrain = xgb.DMatrix(F, label=target, nthread=threads)
            native, rounds = self._native_params(params, seed=seeds[m], threads=threads)
            native["base_score"] = base_score
            if clf:
                native["objective"] = "binary:logistic"
            return xgb.train(native, dtrain, num_boost_round=rounds)

        def report(done: int) -> None:
            if callback is not None:
                callback(done, n_members, f"fitted ensemble member {done} of {n_members}")

        if workers == 1:
            members = []
            for m in range(n_members):
                members.append(train(m))
                report(m + 1)
            return members
        from concurrent.futures import ThreadPoolExecutor, as_completed

        out: list[xgb.Booster | None] = [None] * n_members
        with ThreadPoolExecutor(workers, thread_name_prefix="matopt-fit") as pool:
            futures = {pool.submit(train, m): m for m in range(n_members)}
            for done, fut in enumerate(as_completed(futures), start=1):
                out[futures[fut]] = fut.result()
                report(done)
        return [b for b in out if b is not None]

    def _train_folds(
        self, F: np.ndarray, y_enc: np.ndarray, splits: Sequence[tuple[np.ndarray, np.ndarray]]
    ) -> np.ndarray:
        """Out-of-fold margins of one member per split, the folds trained concurrently."""
        import xgboost as xgb

        params = self._effective_params(len(y_enc))
        seeds = self._member_seeds(len(splits) + 1)[1:]
        out = np.empty(len(y_enc))
        clf = self.task_ == "classification"
        target = y_enc if clf else (y_enc - self.y_mean_) / self.y_scale_

        def one(i: int) -> None:
            tr, te = splits[i]
            native, rounds = self._native_params(params, seed=seeds[i], threads=1)
            native["base_score"] = (
                float(np.clip(np.mean(y_enc[tr]), 1e-6, 1 - 1e-6)) if clf else 0.0
            )
            b = xgb.train(native, xgb.DMatrix(F[tr], label=target[tr], nthread=1), rounds)
            out[te] = b.inplace_predict(F[te], predict_type="margin")

        workers = max(1, min(self._jobs(), len(splits)))
        if workers == 1:
            for i in range(len(splits)):
                one(i)
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(workers, thread_name_prefix="matopt-oof") as pool:
                list(pool.map(one, range(len(splits))))
        return out

    def _oof_threshold(self, F: np.ndarray, y_enc: np.ndarray) -> tuple[float, str]:
        """Decision threshold maximizing balanced accuracy of out-of-fold probabilities.

        Uses training rows only (inner stratified K-fold), so it is legitimate inside any
        outer evaluation. The balanced-accuracy curve is smoothed over +-0.25 in log-odds
        before taking its maximum, so the choice does not hinge on a handful of rows.
        """
        from sklearn.model_selection import StratifiedKFold

        n_pos = int(y_enc.sum())
        n_neg = len(y_enc) - n_pos
        if min(n_pos, n_neg) < 5:
            return self.prevalence_, "positive share (a class has < 5 training rows)"
        k = 5 if len(y_enc) <= _CALIBRATION_FULL_CV_MAX_ROWS else 3
        k = min(k, n_pos, n_neg)
        splitter = StratifiedKFold(k, shuffle=True, random_state=int(self.seed))
        splits = list(splitter.split(np.zeros(len(y_enc)), y_enc))
        margin = self._train_folds(F, y_enc, splits)
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
        t = float(_sigmoid(np.array(grid[run[len(run) // 2]])))
        return t, f"max balanced accuracy of {k}-fold out-of-fold probabilities"

    def _calibrate_prepared(self, P: _Prepared, info: Mapping[str, Any]) -> None:
        from sklearn.model_selection import KFold

        n = len(P)
        splits = list(KFold(5, shuffle=True, random_state=int(self.seed)).split(np.zeros(n)))
        if n > _CALIBRATION_FULL_CV_MAX_ROWS:
            splits = splits[:1]
        resid, raw, zb = [], [], []
        fixed = {**dict(self.params or {}), **dict(getattr(self, "best_params_", None) or {})}
        zi = bool(getattr(self, "zero_inflated_", False))
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        for tr, te in splits:
            # already tuned on all of P: the calibration folds reuse those parameters
            sub = self._clone_for_fold(tune=False, params=fixed or None, zero_inflated=zi)
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
                err = [np.abs(yt - _zi_combine(mu, sd, p0, mode)[0]) for yt, mu, sd, p0 in parts]
                mae[mode] = float(np.mean(np.concatenate(err)))
            self.zero_mode_ = min(mae, key=lambda k: (mae[k], k != "hard"))
            self.zero_mode_mae_ = mae
            for yt, mu, sd, p0 in parts:
                v, spread = _zi_combine(mu, sd, p0, self.zero_mode_)
                resid.append(yt - v)
                raw.append(spread)
                zb.append(_zero_branch(p0))
        r = np.concatenate(resid)
        s = np.concatenate(raw)
        from ._calibration import coverage

        if zi:
            # one calibration per branch (rows predicted 0 / by the regressor): see
            # _calibration's module docstring
            z = np.concatenate(zb)
            (a, b), (a0, b0) = fit_branch_calibration(r, s, z)
            self.zero_std_scale_, self.zero_std_floor_ = float(a0), float(b0)
            cal = apply_branch_calibration(s, z, a, b, a0, b0)
        else:
            a, b = fit_std_calibration(r, s)
            self.zero_std_scale_ = self.zero_std_floor_ = None
            cal = apply_calibration(s, a, b)
        self.std_scale_, self.std_floor_ = float(a), float(b)
        self.calibration_ = {
            "method": f"internal {'5-fold CV' if len(splits) > 1 else 'hold-out fold (1 of 5)'}",
            "n": int(len(r)),
            **{f"raw_{k}": v for k, v in coverage(r, s).items()},
            **coverage(r, cal),
        }

    def _clone_for_fold(self, **overrides: Any) -> PropertyModel:
        params = self.get_params()
        params.update(calibrate=False)
        params.update(overrides)
        return type(self)(**params)

    # ================================================================== tuning
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor options (scikit-learn convention); ``tune`` is reported as its bool."""
        params = super().get_params(deep=deep)
        params["tune"] = self.__dict__.get("_tune_flag", False)
        return params

    def _tune_method(
        self,
        X: Any,
        y: Any = None,
        *,
        conditions: pd.DataFrame | Mapping[str, Any] | None = None,
        n_iter: int | None = None,
        cv: int | None = None,
        refit: bool = True,
        callback: Callback | None = None,
    ) -> PropertyModel:
        """Bounded random hyperparameter search by inner K-fold CV on the given (training) data.

        ``n_iter`` candidates (the first is the current defaults) are scored by ``cv``-fold
        CV with one ensemble member each (MAE for regression, log loss for classification);
        the best is kept in ``best_params_`` (all candidates in ``tune_results_``) and used by
        later fits. Give it training data only: inside :meth:`cross_validate` (with
        ``tune=True``) it only ever sees each outer fold's training rows.

        Returns:
            self, refitted on the data with the chosen parameters when ``refit``.
        """
        self._check_options()
        P, info = self._prepare(X, y, conditions, condition_names=None, need_y=True)
        self.task_ = self._resolve_task(np.asarray(P.y), info.get("task"))
        yenc = self._encode_y(np.asarray(P.y))
        if self.task_ == "regression":
            self.y_mean_, self.y_scale_ = float(np.mean(yenc)), float(np.std(yenc)) or 1.0
        else:
            self.y_mean_, self.y_scale_ = 0.0, 1.0
        self._tune_prepared(
            P,
            yenc,
            n_iter=self.tune_iter if n_iter is None else n_iter,
            cv=self.tune_cv if cv is None else cv,
            callback=callback,
        )
        if refit:
            saved_tune = self._tune_flag
            self._tune_flag = False
            try:
                self._fit_prepared(P, info, callback=None)
            finally:
                self._tune_flag = saved_tune
        return self

    tune = _TuneDescriptor()
    _tune_flag: bool

    def _tune_prepared(
        self, P: _Prepared, y_enc: np.ndarray, *, n_iter: int, cv: int, callback: Callback | None
    ) -> None:
        from sklearn.model_selection import KFold, StratifiedKFold

        n_iter, cv = int(n_iter), int(cv)
        if n_iter < 1 or cv < 2:
            raise ModelError(f"tune needs n_iter >= 1 and cv >= 2, got n_iter={n_iter}, cv={cv}")
        rng = np.random.default_rng(int(self.seed) + 17)
        self.best_params_ = None
        defaults = self._effective_params(int(len(y_enc) * (cv - 1) / cv))
        candidates = [dict(defaults)]
        space = dict(_TUNE_SPACE)
        if self.estimator == "rf":
            space = {
                "max_depth": [8, 12, 16],
                "min_child_weight": [1.0, 2.0, 5.0],
                "subsample": [0.5, 0.632, 0.8],
                "colsample_bynode": [0.3, 0.5, 0.8],
            }
        while len(candidates) < n_iter:
            c = dict(defaults)
            for key, values in space.items():
                c[key] = values[int(rng.integers(len(values)))]
            if self.estimator != "rf":
                # keep the product learning_rate * rounds (the boosting "budget") comparable
                c["n_estimators"] = int(min(1500, max(100, round(30.0 / c["learning_rate"]))))
            if c not in candidates:
                candidates.append(c)
        clf = self.task_ == "classification"
        splitter = (StratifiedKFold if clf else KFold)(
            cv, shuffle=True, random_state=int(self.seed)
        )
        splits = list(splitter.split(np.zeros(len(y_enc)), y_enc))
        rows = []
        total = len(candidates) * len(splits)
        done = 0
        for ci, cand in enumerate(candidates):
            scores = []
            for tr, te in splits:
                (booster,) = self._train_members(P.F[tr], y_enc[tr], n_members=1, params=cand)
                margin = booster.inplace_predict(P.F[te], predict_type="margin").astype(np.float64)
                if clf:
                    p = np.clip(_sigmoid(margin), 1e-12, 1 - 1e-12)
                    yt = y_enc[te]
                    scores.append(float(-np.mean(yt * np.log(p) + (1 - yt) * np.log(1 - p))))
                else:
                    pred = self.y_mean_ + self.y_scale_ * margin
                    scores.append(float(np.mean(np.abs(y_enc[te] - pred))))
                done += 1
                if callback is not None:
                    callback(done, total, f"tuning: candidate {ci + 1} of {len(candidates)}")
            rows.append({**cand, "score": float(np.mean(scores))})
        results = pd.DataFrame(rows)
        best = int(results["score"].idxmin())
        chosen = {k: v for k, v in candidates[best].items()}
        self.best_params_ = chosen
        self.tune_results_ = results.assign(
            metric="log_loss" if clf else "mae", chosen=[i == best for i in range(len(rows))]
        )

    # ================================================================== prediction core
    def _set_threads(self, n_rows: int) -> None:
        # Boosters predict single-threaded: big batches spread the members over Python
        # threads instead (see _default_jobs); only more cores than members adds OpenMP threads.
        want = 1
        if n_rows >= _PARALLEL_PREDICT_ROWS:
            jobs = self._jobs()
            want = max(1, jobs // max(1, min(jobs, len(self.members_))))
        threads = self.__dict__.get("_pred_threads")
        if threads is None or len(threads) != len(self.members_):
            threads = self._pred_threads = [-1] * len(self.members_)
        for i, b in enumerate(self.members_):
            if threads[i] != want:
                b.set_param({"nthread": want})
                threads[i] = want

    def _map_members(self, fn: Callable[[int, Any], Any], n_rows: int) -> list[Any]:
        """``[fn(i, booster) for each member]``, on member threads for big batches."""
        self._set_threads(n_rows)
        workers = min(self._jobs(), len(self.members_))
        if n_rows < _PARALLEL_PREDICT_ROWS or workers < 2:
            return [fn(i, b) for i, b in enumerate(self.members_)]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers, thread_name_prefix="matopt-predict") as pool:
            return list(pool.map(fn, range(len(self.members_)), self.members_))

    def _merged(self) -> Any:
        """All members as one multi-output booster (see :mod:`._merge`), or None.

        Built on the first single-row explanation (~0.1 s for the default model on a few
        hundred rows, ~1 s on thousands) and kept; only explanations of a few rows use it,
        where XGBoost's per-call overhead matters.
        """
        members = self.members_
        cached = self.__dict__.get("_merged_cache")
        if cached is not None and cached[0] is members:
            return cached[1]
        from ._merge import merge_members

        merged = merge_members(members, getattr(self, "check_X_", np.zeros((0, 0))))
        self.__dict__["_merged_cache"] = (members, merged)
        return merged

    def _margins(self, F: np.ndarray) -> np.ndarray:
        """Member outputs, ``(n_members, n)``, in target units (regression) or log-odds."""
        n = F.shape[0]
        out = np.empty((len(self.members_), n))

        def one(i: int, b: Any) -> None:
            out[i] = b.inplace_predict(F, predict_type="margin")

        self._map_members(one, n)
        if self.task_ == "regression":
            out = self.y_mean_ + self.y_scale_ * out
        return out

    def _aggregate(
        self, M: np.ndarray, *, calibrated: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Ensemble value and std from member outputs (probabilities for classification)."""
        ddof = 1 if M.shape[0] > 1 else 0
        if self.task_ == "regression":
            mean = M.mean(axis=0)
            spread = M.std(axis=0, ddof=ddof)
            if calibrated:
                spread = apply_calibration(spread, self.std_scale_, self.std_floor_)
            return mean, spread
        proba = _sigmoid(M.mean(axis=0))
        return proba, _sigmoid(M).std(axis=0, ddof=ddof)

    def _predict_features(
        self, F: np.ndarray, *, calibrated: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        self._check_fitted()
        if F.shape[0] == 0:
            return np.zeros(0), np.zeros(0)
        if getattr(self, "zero_inflated_", False):
            return self._zi_finish(*self._zero_inflated_parts(F), calibrated=calibrated)
        return self._aggregate(self._margins(F), calibrated=calibrated)

    def _zero_margins(self, F: np.ndarray) -> np.ndarray:
        """Log-odds of ``target == 0`` of each zero-stage member, ``(n_members, n)``."""
        out = np.empty((len(self.zero_members_), F.shape[0]))
        for i, b in enumerate(self.zero_members_):
            out[i] = b.inplace_predict(F, predict_type="margin")
        return out

    def _zero_inflated_parts(
        self, F: np.ndarray, M: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Regressor mean, its raw ensemble spread, and P(target == 0), per row."""
        mu, sd = self._aggregate(self._margins(F) if M is None else M, calibrated=False)
        p0 = _sigmoid(self._zero_margins(F).mean(axis=0))
        return mu, sd, p0

    def _zi_finish(
        self, mu: np.ndarray, sd: np.ndarray, p0: np.ndarray, *, calibrated: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        value, spread = _zi_combine(mu, sd, p0, self.zero_mode_ or "hard")
        if calibrated:
            spread = apply_branch_calibration(
                spread,
                _zero_branch(p0),
                self.std_scale_,
                self.std_floor_,
                getattr(self, "zero_std_scale_", None),
                getattr(self, "zero_std_floor_", None),
            )
        return value, spread

    def _predict_raw_branches(
        self, F: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Prediction, raw (uncalibrated) std, and the predicted-zero branch mask of a
        zero-inflated model (None for a plain model)."""
        if getattr(self, "zero_inflated_", False) and F.shape[0] > 0:
            mu, sd, p0 = self._zero_inflated_parts(F)
            value, spread = self._zi_finish(mu, sd, p0, calibrated=False)
            return value, spread, _zero_branch(p0)
        value, spread = self._predict_features(F, calibrated=False)
        return value, spread, None

    def _wants_zero_inflation(self, y: np.ndarray) -> bool:
        if self.task_ != "regression" or self.zero_inflated is False:
            return False
        n_zero = int(np.sum(y == 0))
        n_nonzero = len(y) - n_zero
        if self.zero_inflated is True:
            if n_zero < 2 or n_nonzero < 2:
                raise ModelError(
                    "zero_inflated=True needs at least 2 training targets equal to 0 and 2 "
                    f"non-zero ones; got {n_zero} and {n_nonzero}"
                )
            return True
        return bool(
            np.all(y >= 0)
            and n_zero >= max(_ZERO_ROWS_MIN, _ZERO_SHARE_MIN * len(y))
            and n_nonzero >= _ZERO_ROWS_MIN
        )

    def _features(
        self, compositions: Any, conditions: Any
    ) -> tuple[np.ndarray, list[str], list[tuple[str, ...]]]:
        self._check_fitted()
        if _is_dataset(compositions):
            if conditions is None and self.conditions_:
                missing = [c for c in self.conditions_ if c not in compositions.frame.columns]
                if missing:
                    raise ModelError(f"the dataset lacks the model's condition column(s) {missing}")
                conditions = compositions.frame[self.conditions_]
            compositions = compositions.compositions
        items = _as_items(compositions)
        if not items:
            return np.zeros((0, len(self.feature_names_))), [], []
        from ..features import featurize

        formulas, row_elements = _parse_items(items)
        F = featurize(items, preset=self.preset_).to_numpy(dtype=np.float64)
        C = self._condition_array(conditions, len(items), self.conditions_, where="predict")
        return (np.hstack([F, C]) if C.shape[1] else F), formulas, row_elements

    def _fraction_features(
        self, X: Any, elements: Sequence[str], conditions: Any
    ) -> tuple[np.ndarray, np.ndarray, list[str]]:
        from ..features import featurize_fractions

        self._check_fitted()
        if isinstance(elements, str):
            raise ModelError(
                f"elements must be a list of element symbols, got the string {elements!r}"
            )
        elements = list(elements)
        arr = np.asarray(X, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != len(elements):
            raise ModelError(
                f"X must have shape (n, {len(elements)}) to match elements {elements}, got "
                f"{np.shape(X)}"
            )
        F = featurize_fractions(arr, elements, preset=self.preset_)
        if self.conditions_:
            C = self._condition_array(
                conditions, arr.shape[0], self.conditions_, where="predict_fractions"
            )
            F = np.hstack([F, C])
        elif conditions is not None:
            self._condition_array(conditions, arr.shape[0], [], where="predict_fractions")
        total = arr.sum(axis=1, keepdims=True)
        return F, arr / total, elements

    # ================================================================== public prediction
    def predict(
        self,
        X: Any,
        conditions: pd.DataFrame | Mapping[str, Any] | np.ndarray | None = None,
        *,
        return_std: bool = False,
        return_domain: bool = False,
    ) -> Any:
        """Predict for compositions (formulas, mappings, a Series, or a Dataset).

        Args:
            X: Compositions.
            conditions: Values of the model's condition columns (DataFrame, dict of name ->
                scalar or array, or an array), required when the model has conditions.
            return_std: Also return the calibrated standard deviation (for classification:
                the ensemble spread of P(class 1)).
            return_domain: Also return a DataFrame with ``in_domain``, ``reason``,
                ``distance`` per row.

        Returns:
            Predictions (classification: class labels, thresholded at ``threshold_``), then
            ``std`` and/or the domain table when requested, as a tuple.
        """
        F, _, row_elements = self._features(X, conditions)
        value, std = self._predict_features(F)
        out = value
        if self.task_ == "classification":
            out = (
                self.classes_[(value >= self.threshold_).astype(int)] if len(value) else np.zeros(0)
            )
        return self._pack(out, std, F, row_elements, return_std, return_domain)

    def _pack(
        self,
        out: np.ndarray,
        std: np.ndarray,
        F: np.ndarray,
        row_elements: Sequence[Sequence[str]],
        return_std: bool,
        return_domain: bool,
    ) -> Any:
        result: list[Any] = [out]
        if return_std:
            result.append(std)
        if return_domain:
            result.append(self._domain_frame(F, row_elements))
        return result[0] if len(result) == 1 else tuple(result)

    def predict_proba(self, X: Any, conditions: Any = None, *, return_std: bool = False) -> Any:
        """Class probabilities ``(n, 2)`` in ``classes_`` order (classification only)."""
        self._check_fitted()
        if self.task_ != "classification":
            raise ModelError("predict_proba is for classification models; this one is a regression")
        F, _, _ = self._features(X, conditions)
        p, std = self._predict_features(F)
        proba = np.column_stack([1.0 - p, p])
        return (proba, std) if return_std else proba

    def predict_fractions(
        self,
        X: Any,
        elements: Sequence[str],
        conditions: Any = None,
        *,
        return_std: bool = True,
        return_domain: bool = False,
    ) -> Any:
        """Fast path from an ``(n, k)`` fraction matrix, no string parsing (sliders, screens).

        Args:
            X: ``(n, k)`` (or ``(k,)``) nonnegative amounts; rows are normalized.
            elements: The ``k`` element symbols of the columns.
            conditions: As in :meth:`predict` (a scalar per condition broadcasts).
            return_std: Return ``(mean, std)`` (default) instead of ``mean``.
            return_domain: Also return the domain table.

        Returns:
            ``(mean, std)`` by default; for classification ``mean`` is P(class 1).
        """
        F, C, els = self._fraction_features(X, elements, conditions)
        value, std = self._predict_features(F)
        row_elements = None
        if return_domain:
            row_elements = [[els[j] for j in np.flatnonzero(row > 0)] for row in C]
        result: list[Any] = [value]
        if return_std:
            result.append(std)
        if return_domain:
            result.append(self._domain_frame(F, row_elements or []))
        return result[0] if len(result) == 1 else tuple(result)

    def _domain_frame(self, F: np.ndarray, row_elements: Sequence[Sequence[str]]) -> pd.DataFrame:
        flags, dist, reasons = self.domain_.assess(F, row_elements)
        return pd.DataFrame({"in_domain": flags, "reason": reasons, "distance": dist})

    def predict_domain(self, X: Any, conditions: Any = None) -> pd.DataFrame:
        """Applicability domain per row: ``in_domain`` (bool), ``reason`` (text), ``distance``."""
        F, formulas, row_elements = self._features(X, conditions)
        frame = self._domain_frame(F, row_elements)
        frame.insert(0, "composition", formulas)
        return frame

    def predict_domain_fractions(
        self, X: Any, elements: Sequence[str], conditions: Any = None
    ) -> pd.DataFrame:
        """:meth:`predict_domain` from a fraction matrix."""
        F, C, els = self._fraction_features(X, elements, conditions)
        row_elements = [[els[j] for j in np.flatnonzero(row > 0)] for row in C]
        return self._domain_frame(F, row_elements)

    def score(self, X: Any, y: Any = None, conditions: Any = None) -> float:
        """R^2 (regression) or accuracy (classification), as scikit-learn estimators."""
        if _is_dataset(X):
            y = X.y
        pred = self.predict(X, conditions)
        y = np.asarray(y)
        if self.task_ == "classification":
            return float(np.mean(pred == y))
        return float(1.0 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2))

    # ================================================================== explanations
    def _contributions(self, F: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        """``(phi (n, p), base, member outputs (m, n))``; phi sums exactly to the prediction.

        TreeSHAP values of each member are averaged; regression values are scaled to target
        units. One DMatrix serves every member's ``pred_contribs`` and margin call; margins
        from a DMatrix are bitwise those of ``inplace_predict`` (what :meth:`predict` uses),
        so explanations and predictions agree exactly. float32 accumulation makes
        ``base + sum(phi)`` differ from the margin by ~1e-7 relative; that residual is spread
        over the features in proportion to |phi| so that the sum is exact.
        """
        import xgboost as xgb

        n, p = F.shape
        m = len(self.members_)
        self._set_threads(0)  # one OpenMP thread per booster; rows spread over member threads
        dm = xgb.DMatrix(F, nthread=1)
        contribs = np.empty((m, n, p + 1), dtype=np.float32)
        M = np.empty((m, n))

        def one(i: int, b: Any) -> None:
            contribs[i] = b.predict(dm, pred_contribs=True, validate_features=False)
            M[i] = b.predict(dm, output_margin=True, validate_features=False)

        workers = min(self._jobs(), m)
        merged = self._merged() if n < _PARALLEL_EXPLAIN_ROWS else None
        if merged is not None:
            # the slider's single rows: two calls for the whole ensemble instead of 2 per member
            contribs = merged.predict(dm, pred_contribs=True, validate_features=False)
            contribs = contribs.transpose(1, 0, 2)
            M = merged.predict(dm, output_margin=True, validate_features=False).T.astype(np.float64)
        elif n < _PARALLEL_EXPLAIN_ROWS or workers < 2:
            for i, b in enumerate(self.members_):
                one(i, b)
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(workers, thread_name_prefix="matopt-explain") as pool:
                list(pool.map(one, range(m), self.members_))
        acc = contribs.sum(axis=0, dtype=np.float64) if m > 1 else contribs[0].astype(np.float64)
        acc /= m
        if self.task_ == "regression":
            acc *= self.y_scale_
            acc[:, -1] += self.y_mean_
            M = self.y_mean_ + self.y_scale_ * M
        phi, bias = acc[:, :-1], acc[:, -1]
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
        imp = self.__dict__.get("_shap_importance")
        if imp is None:
            self._check_fitted()
            X = self.__dict__.get("_importance_X")
            if X is None or len(X) == 0:
                imp = np.zeros(len(self.feature_names_))
            else:
                imp = np.abs(self._contributions(X)[0]).mean(axis=0)
            self.__dict__["_shap_importance"] = imp
        return imp

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
        """Mask of the features that some tree of some member splits on."""
        used = getattr(self, "_used_mask", None)
        if used is None:
            used = np.zeros(len(self.feature_names_), dtype=bool)
            for b in self.members_:
                for key in b.get_score(importance_type="weight"):
                    if key.startswith("f") and key[1:].isdigit() and int(key[1:]) < len(used):
                        used[int(key[1:])] = True
            self._used_mask = used
        return used

    def _attributor(self, elements: Sequence[str]) -> ElementAttributor:
        key = tuple(elements)
        att = self._attributors.get(key)
        if att is None:
            att = ElementAttributor(
                self.feature_names_,
                self.feature_means_,
                self.conditions_,
                key,
                self._used_features(),
            )
            if len(self._attributors) > 64:
                self._attributors.clear()
            self._attributors[key] = att
        return att

    def _explanations(
        self, F: np.ndarray, C: np.ndarray, elements: Sequence[str], formulas: Sequence[str]
    ) -> list[Explanation]:
        phi, base, M = self._contributions(F)
        zi = bool(getattr(self, "zero_inflated_", False))
        p0: np.ndarray | None = None
        if zi:
            mu, sd, p0 = self._zero_inflated_parts(F, M)
            value, std = self._zi_finish(mu, sd, p0)
        else:
            value, std = self._aggregate(M)
        att = self._attributor(elements)
        E = att.per_element(C, phi)
        Pp = att.per_property(phi)
        flags, _, reasons = self.domain_.assess(
            F, [[elements[int(j)] for j in np.flatnonzero(row > 0)] for row in C]
        )
        is_clf = self.task_ == "classification"
        out = []
        for i in range(F.shape[0]):
            if p0 is not None:
                own: dict[str, Any] = {
                    "prediction": float(value[i]),
                    "probability": None,
                    "units": self.units_,
                    "explained_value": float(M[:, i].mean()),
                    "explained": (
                        f"regressor stage: {self.target_} if non-zero "
                        f"(P({self.target_} = 0) = {float(p0[i]):.3g}; {self.zero_mode_} "
                        "combination gives the prediction)"
                    ),
                    "zero_probability": float(p0[i]),
                }
            elif is_clf:
                own = {"prediction": base + float(phi[i].sum()),
                       "probability": float(value[i]), "units": "log-odds"}
            else:
                own = {"prediction": float(M[:, i].mean()), "probability": None,
                       "units": self.units_}
            out.append(
                Explanation(
                    composition=formulas[i],
                    base_value=base,
                    std=float(std[i]),
                    in_domain=bool(flags[i]),
                    domain_reason=reasons[i],
                    feature_names=self.feature_names_,
                    feature_values=F[i],
                    feature_contributions=phi[i],
                    element_names=att.element_names,
                    element_contributions=E[i],
                    property_names=att.property_names,
                    property_contributions=Pp[i],
                    target=self.target_,
                    **own,
                )
            )
        return out

    def explain(self, composition: Any, conditions: Any = None) -> Explanation | list[Explanation]:
        """Explain the prediction for one composition (or a list: one Explanation each).

        See :mod:`jupyter_matopt.models._explain` for the per-element rule. ``per_feature``
        and ``per_element`` each sum to ``prediction - base_value``.
        """
        self._check_fitted()
        single = isinstance(composition, (str, Mapping)) or hasattr(composition, "get_el_amt_dict")
        items = _as_items(composition)
        if not items:
            return []
        fracs = [parse_composition(x) for x in items]
        elements = sorted({e for f in fracs for e in f}, key=ATOMIC_NUMBER.__getitem__)
        C = np.array([[f.get(e, 0.0) for e in elements] for f in fracs])
        F, C, els = self._fraction_features(C, elements, conditions)
        formulas = [
            x if isinstance(x, str) else to_formula(f) for x, f in zip(items, fracs, strict=True)
        ]
        out = self._explanations(F, C, els, formulas)
        return out[0] if single else out

    def explain_fractions(
        self, X: Any, elements: Sequence[str], conditions: Any = None
    ) -> Explanation | list[Explanation]:
        """Fast explanation from fractions: a ``(k,)`` row gives one Explanation, ``(n, k)`` a list.

        Every listed element gets an entry in ``per_element`` (also at fraction 0).
        """
        arr = np.asarray(X, dtype=np.float64)
        F, C, els = self._fraction_features(arr, elements, conditions)
        formulas = [to_formula(dict(zip(els, row, strict=True))) for row in C]
        out = self._explanations(F, C, els, formulas)
        return out[0] if arr.ndim == 1 else out

    def feature_importance(
        self, by: Literal["feature", "element", "property"] = "feature"
    ) -> pd.Series:
        """Global importance: mean |SHAP| over (up to 300) training rows, sorted.

        ``by="property"`` sums the features of each element property; ``by="element"`` sums
        the element-fraction features of each element.
        """
        self._check_fitted()
        imp = pd.Series(self.shap_importance_, index=self.feature_names_, name="mean |SHAP|")
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
            sel = imp[[n for n in imp.index if n in ef and n in self.elements_]]
            return sel.sort_values(ascending=False)
        raise ModelError(f"by must be 'feature', 'element' or 'property', got {by!r}")

    # ================================================================== evaluation
    def cross_validate(
        self,
        data: Any,
        protocol: str = "matbench",
        *,
        n_splits: int = 5,
        elements: Sequence[str] | None = None,
        n_elements: int = 5,
        n_clusters: int = 5,
        callback: Callback | None = None,
        recalibrate: bool = True,
    ) -> CVReport:
        """Cross-validate this configuration; see :func:`jupyter_matopt.models.cross_validate`.

        The report is stored as ``cv_report_``. When this model is fitted on the same data
        and the protocol is a random split (``"matbench"``/``"random"``), its std calibration
        is refitted on the CV residuals (``recalibrate``).
        """
        from ._evaluation import cross_validate

        report = cross_validate(
            self,
            data,
            protocol=protocol,
            n_splits=n_splits,
            elements=elements,
            n_elements=n_elements,
            n_clusters=n_clusters,
            callback=callback,
        )
        self.cv_report_ = report
        if (
            recalibrate
            and hasattr(self, "members_")
            and report.task == "regression"
            and report.protocol in ("matbench", "random")
            and report.training_hash == getattr(self, "training_hash_", None)
        ):
            self.std_scale_ = float(report.calibration["std_scale"])
            self.std_floor_ = float(report.calibration["std_floor"])
            zs = report.calibration.get("zero_std_scale")
            zf = report.calibration.get("zero_std_floor")
            if getattr(self, "zero_inflated_", False) and zs is not None and zf is not None:
                self.zero_std_scale_, self.zero_std_floor_ = float(zs), float(zf)
            else:
                self.zero_std_scale_ = self.zero_std_floor_ = None
            self.calibration_ = {
                "method": f"{report.protocol} cross-validation residuals",
                "n": int(len(report.parity)),
                **{
                    k: report.calibration[k]
                    for k in report.calibration
                    if k.startswith(("coverage", "raw_"))
                },
            }
        return report

    def compare_protocols(
        self,
        data: Any,
        protocols: Sequence[str] = ("matbench", "group", "leave-element-out", "leave-cluster-out"),
        *,
        callback: Callback | None = None,
        **options: Any,
    ) -> pd.DataFrame:
        """Random CV beside out-of-distribution protocols, one row per protocol."""
        from ._evaluation import compare_protocols

        return compare_protocols(self, data, protocols=protocols, callback=callback, **options)

    # ================================================================== persistence
    def save(self, path: str | os.PathLike[str]) -> str:
        """Write the model to a directory (or a ``.zip`` file): JSON metadata + XGBoost JSON.

        Returns:
            The path written.
        """
        from ._persist import save_model

        return save_model(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PropertyModel:
        """Read a model written by :meth:`save`; never executes code from the file.

        Raises:
            ModelFileError: if the file is missing, corrupt, truncated, tampered with (hash
                mismatch) or written by an incompatible format version.
        """
        from ._persist import load_model

        return load_model(path, cls)

    # ================================================================== display
    def __repr__(self, N_CHAR_MAX: int = 700) -> str:  # noqa: N803 (sklearn signature)
        base = super().__repr__(N_CHAR_MAX)
        if not hasattr(self, "members_"):
            return base
        unit = f" [{self.units_}]" if self.units_ else ""
        return (
            f"{base}  # fitted: {self.target_!r}{unit} ({self.task_}), {self.n_train_} rows, "
            f"{len(self.elements_)} elements, {len(self.feature_names_)} features"
        )


def _zi_combine(
    mu: np.ndarray, sd: np.ndarray, p0: np.ndarray, mode: str
) -> tuple[np.ndarray, np.ndarray]:
    """Prediction and raw std of the two-part mixture ``P(0) = p0``, else ``N(mu, sd^2)``.

    ``"hard"`` predicts the mixture's median side (0 where ``p0 >= 0.5``, else ``mu``),
    ``"soft"`` its mean ``(1 - p0) mu``. The std is the root-mean-square deviation of the
    mixture from that prediction, ``sqrt(p0 v^2 + (1 - p0)(sd^2 + (mu - v)^2))``.
    """
    q = 1.0 - p0
    v = np.where(p0 >= 0.5, 0.0, mu) if mode == "hard" else q * mu
    var = p0 * v**2 + q * (sd**2 + (mu - v) ** 2)
    return v, np.sqrt(np.maximum(var, 0.0))


def _zero_branch(p0: np.ndarray) -> np.ndarray:
    """Rows of a zero-inflated model that the hard combination predicts as exactly 0."""
    return np.asarray(p0) >= 0.5


def _training_hash(formulas: Sequence[str], y: np.ndarray, conditions: np.ndarray | None) -> str:
    h = hashlib.sha256()
    h.update("\x1f".join(formulas).encode("utf-8"))
    h.update(np.ascontiguousarray(np.asarray(y, dtype=np.float64)).tobytes())
    if conditions is not None and conditions.size:
        h.update(np.ascontiguousarray(conditions, dtype=np.float64).tobytes())
    return h.hexdigest()


def _column_stats(F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of each column over its finite entries (0 and 0 for an all-NaN column),
    without numpy's empty-slice warnings."""
    ok = np.isfinite(F)
    cnt = ok.sum(axis=0)
    Z = np.where(ok, F, 0.0)
    mean = Z.sum(axis=0) / np.maximum(cnt, 1)
    var = (np.where(ok, F - mean, 0.0) ** 2).sum(axis=0) / np.maximum(cnt, 1)
    return mean, np.sqrt(var)
