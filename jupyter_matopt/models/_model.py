"""``PropertyModel``: a composition -> property model with uncertainty, domain and explanations.

The class is a façade over a model backend (:mod:`.backends`: XGBoost gradient boosting by
default, random forest, or any registered one); fitting, zero-inflation, tuning and
explanations live in the mixin modules ``_fitting``, ``_zero_inflation``, ``_tuning`` and
``_explaining``, inputs in ``_inputs``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from ..core import CompositionError
from ._calibration import apply_calibration
from ._errors import ModelError, NotFittedError
from ._explaining import ExplainMixin
from ._fitting import FittingMixin
from ._inputs import Prepared as _Prepared
from ._inputs import as_items as _as_items
from ._inputs import column_stats as _column_stats
from ._inputs import condition_array, condition_names_of
from ._inputs import is_dataset as _is_dataset
from ._inputs import parse_items as _parse_items
from ._inputs import training_hash as _training_hash
from ._tuning import TuneDescriptor, TuningMixin
from ._zero_inflation import ZeroInflationMixin
from ._zero_inflation import sigmoid as _sigmoid
from ._zero_inflation import zero_branch as _zero_branch
from ._zero_inflation import zi_combine as _zi_combine
from .backends import ModelBackend, available_backends, make_backend
from .backends.rf import RF_DEFAULTS
from .backends.xgboost import XGB_DEFAULTS, default_jobs, usable_cores

if TYPE_CHECKING:
    from ._evaluation import CVReport

__all__ = ["PropertyModel", "DEFAULT_PRESET", "XGB_DEFAULTS", "RF_DEFAULTS"]

# older private names, kept for code that imported them from here
_usable_cores, _default_jobs = usable_cores, default_jobs
__private_aliases__ = (_Prepared, _column_stats, _training_hash, _sigmoid, _zero_branch,
                       _zi_combine)

Callback = Callable[..., Any]

#: Default descriptors: the 132 Magpie statistics, the 7 alloy descriptors and the atomic
#: fraction of every element. Chosen by inner 5-fold CV on the *training* rows of Matbench
#: fold 0 only (steels MAE 98 -> 91 MPa over Magpie alone; expt_gap 0.433 -> 0.426 eV; glass
#: label-AUC 0.836 -> 0.842); element fractions let trees split on "how much Co" directly,
#: which statistics over element properties only encode indirectly.
DEFAULT_PRESET = "magpie+alloy+element_fraction"

class PropertyModel(  # type: ignore[misc]
    FittingMixin, ZeroInflationMixin, TuningMixin, ExplainMixin, BaseEstimator
):
    """Predict a property (regression) or a class (binary classification) from composition.

    An ensemble of ``n_ensemble`` XGBoost models (differently seeded, row-subsampled) on
    composition descriptors, optionally plus condition columns such as temperature. Every
    prediction carries a calibrated standard deviation, an applicability-domain flag with a
    reason, and can be explained per feature, element and element property.

    Args:
        estimator: ``"xgboost"`` (gradient boosting, default) or ``"rf"`` (random forest,
            XGBoost's random-forest mode, so TreeSHAP and the safe JSON model format apply);
            the older name of ``backend``, used when ``backend`` is None.
        backend: A registered backend name (see
            :func:`~jupyter_matopt.models.backends.available_backends`) or a
            :class:`~jupyter_matopt.models.backends.ModelBackend` object (its kind and
            ``params`` are the template of every fit). Default: ``estimator``.
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
        backend_: The fitted :class:`~jupyter_matopt.models.backends.ModelBackend`.
        members_: Its members (XGBoost boosters for the tree backends).
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
        backend: str | ModelBackend | None = None,
    ) -> None:
        self.estimator = estimator
        self.backend = backend
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

    tune = TuneDescriptor()
    _tune_flag: bool

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor options (scikit-learn convention); ``tune`` is reported as its bool."""
        params = super().get_params(deep=deep)
        params["tune"] = self.__dict__.get("_tune_flag", False)
        return params

    # ================================================================== validation
    def _check_options(self) -> None:
        spec = self._backend_spec()
        if not isinstance(spec, ModelBackend) and spec not in available_backends():
            name = "backend" if self.backend is not None else "estimator"
            raise ModelError(
                f"{name} must be one of {list(available_backends())} or a ModelBackend "
                f"object, got {spec!r}"
            )
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
        self._new_backend().check_params(str(self.task))
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
        if "backend_" not in self.__dict__:
            raise NotFittedError(
                "this PropertyModel is not fitted yet: call fit(dataset) or fit(compositions, y) "
                "first, or PropertyModel.load(path)"
            )

    def __sklearn_is_fitted__(self) -> bool:
        return "backend_" in self.__dict__

    # ================================================================== backend
    def _backend_spec(self) -> str | ModelBackend:
        return self.backend if self.backend is not None else self.estimator

    @property
    def backend_name_(self) -> str:
        """Registry name of the backend (stored in model files)."""
        spec = self._backend_spec()
        return spec.name if isinstance(spec, ModelBackend) else str(spec)

    def _new_backend(self, params: Mapping[str, Any] | None = None) -> ModelBackend:
        """A fresh backend; ``params`` None means this model's ``params`` plus tuned ones."""
        if params is None:
            params = {**dict(self.params or {}),
                      **dict(self.__dict__.get("best_params_") or {})}
        return make_backend(self._backend_spec(), dict(params) or None)

    def _effective_params(self, n_train: int) -> dict[str, Any]:
        return self._new_backend().resolve_params(n_train)

    def _jobs(self) -> int:
        return int(self.n_jobs) if self.n_jobs else default_jobs()

    @property
    def members_(self) -> list[Any]:
        """The fitted backend's members (XGBoost boosters for the tree backends)."""
        backend = self.__dict__.get("backend_")
        if backend is None:
            raise AttributeError("members_")
        return backend.members  # type: ignore[no-any-return]

    @members_.setter
    def members_(self, members: Sequence[Any]) -> None:
        backend = self.__dict__.get("backend_") or self._new_backend()
        _set_members(backend, members, self.__dict__.get("check_X_"))
        self.backend_ = backend

    @property
    def zero_members_(self) -> list[Any]:
        """Members of the zero stage (zero-inflated models; else empty)."""
        if "backend_" not in self.__dict__:
            raise AttributeError("zero_members_")
        zb = self.__dict__.get("zero_backend_")
        return [] if zb is None else zb.members  # type: ignore[no-any-return]

    @zero_members_.setter
    def zero_members_(self, members: Sequence[Any]) -> None:
        if not members:
            self.zero_backend_ = None
            return
        backend = self._new_backend()
        _set_members(backend, members, None)
        self.zero_backend_ = backend

    @property
    def check_X_(self) -> np.ndarray:
        """A few training feature rows (their margins are checked when loading a file)."""
        if "_check_X" not in self.__dict__:
            raise AttributeError("check_X_")
        return self.__dict__["_check_X"]  # type: ignore[no-any-return]

    @check_X_.setter
    def check_X_(self, X: np.ndarray) -> None:
        self.__dict__["_check_X"] = X
        backend = self.__dict__.get("backend_")
        if backend is not None and hasattr(backend, "check_X"):
            backend.check_X = X  # the tree backends merge members on these rows

    def _fraction_columns(self) -> np.ndarray:
        """Positions of the element-fraction features of ``elements_``."""
        cols = self.__dict__.get("_fraction_cols")
        if cols is None:
            index = {n: i for i, n in enumerate(self.feature_names_)}
            missing = [e for e in self.elements_ if e not in index]
            if missing:
                raise ModelError(
                    f"backend {self.backend_name_!r} reads element fractions: use a preset "
                    f"that includes 'element_fraction' (e.g. {DEFAULT_PRESET!r})"
                )
            cols = np.array([index[e] for e in self.elements_], dtype=int)
            self.__dict__["_fraction_cols"] = cols
        return cols  # type: ignore[no-any-return]

    def _inputs(self, F: np.ndarray) -> Any:
        """The backend's view of feature rows ``F`` (fractions over ``elements_`` and the
        condition columns besides the descriptors)."""
        from .backends import BackendInputs

        n = F.shape[0]
        c = len(self.conditions_)
        conds = F[:, F.shape[1] - c:] if c else np.zeros((n, 0))
        spec = self.__dict__.get("backend_") or self._backend_spec()
        if not getattr(spec, "needs_fractions", True):
            fr, unknown = np.zeros((n, 0)), np.zeros(n)
        else:
            fr = F[:, self._fraction_columns()]
            unknown = np.clip(1.0 - fr.sum(axis=1), 0.0, 1.0)
        return BackendInputs(F, tuple(self.feature_names_), fr, tuple(self.elements_), conds,
                             tuple(self.conditions_), unknown)

    # ================================================================== inputs
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
                names = condition_names_of(conditions)
            else:
                names = list(condition_names)
            cond_src = conditions
            info["conditions"] = names
        if len(items) == 0:
            raise ModelError("no compositions given")
        formulas, row_elements = _parse_items(items)
        F_comp = featurize(items, preset=self.preset).to_numpy(dtype=np.float64)
        C = condition_array(cond_src, len(items), names, where="conditions")
        F = np.hstack([F_comp, C]) if C.shape[1] else F_comp
        return _Prepared(F, y_arr, formulas, row_elements, groups), info


    # ================================================================== fitting
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
            callback: Progress, ``callback(event, done, total, message)`` (see
                :mod:`jupyter_matopt._progress`; ``(done, total, message)`` also works).

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


    # ================================================================== prediction core
    def _margins(self, F: np.ndarray) -> np.ndarray:
        """Member outputs, ``(n_members, n)``, in target units (regression) or log-odds."""
        out = self.backend_.predict_members(self._inputs(F), n_jobs=self._jobs())
        if self.task_ == "regression":
            out = self.y_mean_ + self.y_scale_ * out
        return out  # type: ignore[no-any-return]

    def _merged(self) -> Any:
        """All members as one multi-output booster (tree backends), or None."""
        merged = getattr(self.backend_, "merged", None)
        return merged() if merged is not None else None

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
        C = condition_array(conditions, len(items), self.conditions_, where="predict")
        return (np.hstack([F, C]) if C.shape[1] else F), formulas, row_elements

    def _fraction_features(
        self, X: Any, elements: Sequence[str], conditions: Any
    ) -> tuple[np.ndarray, np.ndarray, list[str]]:
        return self.fraction_features(X, elements, conditions)

    def fraction_features(
        self, X: Any, elements: Sequence[str], conditions: Any = None
    ) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Feature rows of a fraction matrix: ``(F, normalized fractions, elements)``.

        ``F`` is what the backend sees (descriptors, then condition columns); the screening
        pruner and other fast paths use it with :meth:`staged_margins`.
        """
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
            C = condition_array(
                conditions, arr.shape[0], self.conditions_, where="predict_fractions"
            )
            F = np.hstack([F, C])
        elif conditions is not None:
            condition_array(conditions, arr.shape[0], [], where="predict_fractions")
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


    def staged_margins(self, F: np.ndarray, start: int, stop: int) -> np.ndarray:
        """Raw margins ``(n_members, n)`` of boosting rounds ``[start, stop)`` of feature rows
        ``F`` (from :meth:`fraction_features`); tree backends only.

        Raises:
            ModelError: for a backend without boosting rounds.
        """
        self._check_fitted()
        fn = getattr(self.backend_, "staged_margins", None)
        if fn is None:
            raise ModelError(f"backend {self.backend_name_!r} has no staged margins")
        return fn(F, start, stop)  # type: ignore[no-any-return]

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



def _set_members(backend: ModelBackend, members: Sequence[Any], check_X: Any) -> None:
    setter = getattr(backend, "set_members", None)
    if setter is not None:
        setter(members)
    else:
        backend.members = list(members)
    if check_X is not None and hasattr(backend, "check_X"):
        backend.check_X = check_X
