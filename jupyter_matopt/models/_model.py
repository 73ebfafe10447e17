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

from ._backend_glue import BackendMixin
from ._calibration import apply_calibration
from ._errors import ModelError, NotFittedError
from ._explaining import ExplainMixin
from ._fitting import FittingMixin
from ._inputs import Prepared as _Prepared
from ._inputs import as_items as _as_items
from ._inputs import column_stats as _column_stats
from ._inputs import condition_array, prepare
from ._inputs import is_dataset as _is_dataset
from ._inputs import parse_items as _parse_items
from ._inputs import training_hash as _training_hash
from ._options import check_options
from ._tuning import TuneDescriptor, TuningMixin
from ._zero_inflation import ZeroInflationMixin
from ._zero_inflation import sigmoid as _sigmoid
from ._zero_inflation import zero_branch as _zero_branch
from ._zero_inflation import zi_combine as _zi_combine
from .backends import ModelBackend
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
    BackendMixin, FittingMixin, ZeroInflationMixin, TuningMixin, ExplainMixin, BaseEstimator
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
        pretrained: Fine-tune a shipped pretrained attention network (``"formation_enthalpy"``,
            see ``models/pretrained/``): backends ``"attention"``, ``"stack"`` and ``"auto"``
            (their attention part) only.
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
        pretrained: str | None = None,
    ) -> None:
        self.estimator = estimator
        self.backend = backend
        self.pretrained = pretrained
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
        check_options(self)

    def _check_fitted(self) -> None:
        if "backend_" not in self.__dict__:
            raise NotFittedError(
                "this PropertyModel is not fitted yet: call fit(dataset) or fit(compositions, y) "
                "first, or PropertyModel.load(path)"
            )

    def __sklearn_is_fitted__(self) -> bool:
        return "backend_" in self.__dict__

    # ================================================================== inputs
    def _prepare(self, X: Any, y: Any = None, conditions: Any = None, *,
                 condition_names: Sequence[str] | None, need_y: bool) -> tuple[_Prepared, Any]:
        """Featurize inputs (a Dataset, or compositions with y and conditions)."""
        return prepare(X, y, conditions, preset=self.preset, condition_names=condition_names,
                       need_y=need_y)

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
