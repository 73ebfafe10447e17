"""Cross-validation protocols, the :class:`CVReport`, and protocol comparison.

Protocols:

* ``"matbench"``: the official Matbench v0.1 folds, exactly:
  ``KFold(5, shuffle=True, random_state=18012019)`` on the rows in published order
  (``StratifiedKFold`` with the same arguments for classification).
* ``"random"``: ``KFold(n_splits, shuffle=True, random_state=model.seed)`` (stratified for
  classification).
* ``"group"``: ``GroupKFold(n_splits)`` on ``dataset.groups`` (repeated formulas stay together).
* ``"leave-element-out"``: for each of the ``n_elements`` most common elements (or the given
  ``elements``), test on the rows containing it and train on all others. Elements in so many
  rows that fewer than ``max(10, 20 %)`` rows would remain for training are skipped.
* ``"leave-cluster-out"``: ``KMeans(n_clusters)`` on the standardized descriptors (no element
  fractions); each cluster is held out once.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._progress import Progress, as_progress
from ._calibration import (
    apply_branch_calibration,
    apply_calibration,
    classification_calibration,
    coverage,
    fit_branch_calibration,
    fit_std_calibration,
)
from ._errors import ModelError
from ._folds import FoldRunner as _FoldRunner
from ._report import CVReport

if TYPE_CHECKING:
    from ._inputs import Prepared as _Prepared
    from ._model import PropertyModel
    from .protocol import FractionModelFactory

__all__ = [
    "CVReport",
    "MATBENCH_SEED",
    "PROTOCOLS",
    "compare_protocols",
    "cross_validate",
    "matbench_folds",
    "make_splits",
]

#: ``random_state`` of the official Matbench v0.1 folds.
MATBENCH_SEED = 18012019
PROTOCOLS = ("matbench", "random", "group", "leave-element-out", "leave-cluster-out")
_ALIASES = {
    "kfold": "random",
    "leave_element_out": "leave-element-out",
    "leave-one-element-out": "leave-element-out",
    "leave_cluster_out": "leave-cluster-out",
    "lolo": "leave-cluster-out",
    "groups": "group",
    "group-kfold": "group",
}

Callback = Callable[[int, int, str], Any]
Split = tuple[np.ndarray, np.ndarray, str]


def _resolve_protocol(protocol: str) -> str:
    key = str(protocol).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in PROTOCOLS:
        raise ModelError(f"unknown protocol {protocol!r}; choose from {list(PROTOCOLS)}")
    return key


def matbench_folds(y: Any, task: str = "regression") -> list[tuple[np.ndarray, np.ndarray]]:
    """The official Matbench v0.1 ``(train, test)`` folds for targets ``y`` in published order.

    Args:
        y: Targets (or a Dataset) in the published row order.
        task: ``"regression"`` (KFold) or ``"classification"`` (StratifiedKFold).
    """
    from sklearn.model_selection import KFold, StratifiedKFold

    if hasattr(y, "frame") and hasattr(y, "task"):
        task, y = y.task, y.y
    y = np.asarray(y)
    splitter = (StratifiedKFold if task == "classification" else KFold)(
        n_splits=5, shuffle=True, random_state=MATBENCH_SEED
    )
    return [(tr, te) for tr, te in splitter.split(np.zeros(len(y)), y)]


def make_splits(
    protocol: str,
    P: _Prepared,
    y_enc: np.ndarray,
    *,
    task: str,
    seed: int = 0,
    n_splits: int = 5,
    elements: Sequence[str] | None = None,
    n_elements: int = 5,
    n_clusters: int = 5,
    descriptor_columns: Sequence[int] | None = None,
) -> list[Split]:
    """``(train, test, label)`` index triples of a protocol (see the module docstring)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    protocol = _resolve_protocol(protocol)
    n = len(P)
    clf = task == "classification"
    if protocol == "matbench":
        return [(tr, te, f"fold {i}") for i, (tr, te) in enumerate(matbench_folds(y_enc, task))]
    if protocol == "random":
        if n_splits < 2 or n_splits > n:
            raise ModelError(
                f"n_splits must be between 2 and the number of rows ({n}), got {n_splits}"
            )
        splitter = (StratifiedKFold if clf else KFold)(n_splits, shuffle=True, random_state=seed)
        return [
            (tr, te, f"fold {i}") for i, (tr, te) in enumerate(splitter.split(np.zeros(n), y_enc))
        ]
    if protocol == "group":
        return _group_splits(P, y_enc, n_splits)
    if protocol == "leave-element-out":
        return _element_splits(P, elements, n_elements)
    return _cluster_splits(P, seed, n_clusters, descriptor_columns)


def _group_splits(P: _Prepared, y_enc: np.ndarray, n_splits: int) -> list[Split]:
    from sklearn.model_selection import GroupKFold

    if P.groups is None:
        from ..core import composition_key

        groups = np.array([composition_key(f) for f in P.formulas], dtype=object)
    else:
        groups = P.groups
    n_groups = len(pd.unique(groups))
    if n_groups < n_splits:
        raise ModelError(
            f"group CV needs at least n_splits={n_splits} groups, found {n_groups}"
        )
    gkf = GroupKFold(n_splits)
    return [
        (tr, te, f"group fold {i}")
        for i, (tr, te) in enumerate(gkf.split(np.zeros(len(P)), y_enc, groups))
    ]


def _element_splits(
    P: _Prepared, elements: Sequence[str] | None, n_elements: int
) -> list[Split]:
    n = len(P)
    counts = Counter(e for els in P.row_elements for e in els)
    min_train = max(10, int(0.2 * n))
    if elements is None:
        eligible = [e for e, c in counts.most_common() if c >= 2 and n - c >= min_train]
        chosen = eligible[: int(n_elements)]
        if not chosen:
            raise ModelError(
                "leave-element-out: no element leaves enough training rows (every element is "
                f"in more than {n - min_train} of {n} rows); pass elements=[...]"
            )
    else:
        chosen = list(elements)
        unknown = [e for e in chosen if counts.get(e, 0) == 0]
        if unknown:
            raise ModelError(f"leave-element-out: {unknown} occur in no row of the data")
    splits = []
    for e in chosen:
        test = np.array([i for i, els in enumerate(P.row_elements) if e in els], dtype=np.intp)
        train = np.setdiff1d(np.arange(n), test)
        if len(train) < 2:
            raise ModelError(f"leave-element-out: every row contains {e}; nothing to train on")
        splits.append((train, test, f"element {e}"))
    return splits


def _cluster_splits(
    P: _Prepared, seed: int, n_clusters: int, descriptor_columns: Sequence[int] | None
) -> list[Split]:
    from sklearn.cluster import KMeans

    n = len(P)
    cols = list(range(P.F.shape[1])) if descriptor_columns is None else list(descriptor_columns)
    Z = P.F[:, cols]
    ok = np.isfinite(Z)
    mean = np.where(ok, Z, 0).sum(0) / np.maximum(ok.sum(0), 1)
    Z = np.where(ok, Z, mean)
    sd = Z.std(axis=0)
    Z = (Z[:, sd > 0] - Z.mean(axis=0)[sd > 0]) / sd[sd > 0]
    k = int(n_clusters)
    if k < 2 or k > n:
        raise ModelError(f"n_clusters must be between 2 and the number of rows ({n}), got {k}")
    from threadpoolctl import threadpool_limits

    # one thread: OpenMP spin-waiting on a busy shared machine costs far more than it saves
    with threadpool_limits(1):
        labels = KMeans(n_clusters=k, random_state=seed, n_init=4).fit_predict(Z)
    splits = []
    for c in range(k):
        test = np.flatnonzero(labels == c)
        train = np.flatnonzero(labels != c)
        if len(test) and len(train) >= 2:
            splits.append((train, test, f"cluster {c}"))
    return splits


def _fold_metrics(
    task: str, y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None, threshold: float
) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, roc_auc_score

    if task == "regression":
        err = y - pred
        mae = float(np.mean(np.abs(err)))
        rmse = float(np.sqrt(np.mean(err**2)))
        ss = float(np.sum((y - y.mean()) ** 2))
        r2 = float(1.0 - np.sum(err**2) / ss) if len(y) > 1 and ss > 0 else float("nan")
        return {"mae": mae, "rmse": rmse, "r2": r2}
    assert proba is not None
    labels = (proba >= threshold).astype(int)
    two = len(np.unique(y)) == 2
    return {
        "roc_auc": float(roc_auc_score(y, proba)) if two else float("nan"),
        "roc_auc_labels": float(roc_auc_score(y, labels)) if two else float("nan"),
        "accuracy": float(accuracy_score(y, labels)),
    }


def _cross_validate_prepared(
    model: PropertyModel,
    P: _Prepared,
    info: dict[str, Any],
    protocol: str,
    *,
    n_splits: int,
    elements: Sequence[str] | None,
    n_elements: int,
    n_clusters: int,
    callback: Callback | None,
) -> CVReport:
    from ..features import feature_labels

    t0 = time.perf_counter()
    protocol = _resolve_protocol(protocol)
    runner = _FoldRunner(model, P, info)
    task, y_enc = runner.task, runner.y_enc
    names = [*feature_labels(runner.preset), *info.get("conditions", [])]
    ef = set(feature_labels("element_fraction"))
    desc_cols = [i for i, nm in enumerate(names) if nm not in ef]
    splits = make_splits(
        protocol,
        P,
        y_enc,
        task=task,
        seed=runner.seed,
        n_splits=n_splits,
        elements=elements,
        n_elements=n_elements,
        n_clusters=n_clusters,
        descriptor_columns=desc_cols,
    )
    parity, folds, raw_by_fold, zero_by_fold = _run_folds(
        runner, P, splits, protocol, as_progress(callback)
    )
    calibration: dict[str, Any]
    if task == "regression":
        parity, calibration = _regression_calibration(parity, folds, raw_by_fold, zero_by_fold)
        metric_keys = ["mae", "rmse", "r2"]
    else:
        calibration = classification_calibration(
            y_enc[parity["row"].to_numpy()], parity["proba"].to_numpy(float)
        )
        metric_keys = ["roc_auc", "roc_auc_labels", "accuracy"]
        parity = parity.rename(columns={"proba_std": "y_std"})
    summary = _summary(protocol, task, folds, parity, calibration, metric_keys)
    seconds = time.perf_counter() - t0
    summary["seconds"] = seconds
    from ._inputs import training_hash as _training_hash

    cond = (
        P.F[:, len(names) - len(info.get("conditions", [])) :] if info.get("conditions") else None
    )
    yh = y_enc if task == "regression" else y_enc.astype(np.float64)
    return CVReport(
        protocol=protocol,
        task=task,
        target=str(info.get("target", "target")),
        units=str(info.get("units", "")),
        summary=summary,
        folds=folds,
        parity=parity,
        calibration=calibration,
        training_hash=_training_hash(P.formulas, yh, cond),
        seconds=seconds,
        params=runner.params(),
    )


def _run_folds(
    runner: _FoldRunner,
    P: _Prepared,
    splits: list[Split],
    protocol: str,
    progress: Progress,
) -> tuple[pd.DataFrame, pd.DataFrame, list[tuple[np.ndarray, np.ndarray]],
           list[np.ndarray | None]]:
    """Fit and predict every fold: the parity rows, one metrics row per fold, and (regression)
    each fold's raw residuals and std and which test rows the zero stage predicted 0."""
    task, y_enc = runner.task, runner.y_enc
    fold_rows: list[dict[str, Any]] = []
    parts: list[pd.DataFrame] = []
    raw_by_fold: list[tuple[np.ndarray, np.ndarray]] = []
    # zero-inflated models: per fold, which test rows are predicted 0 (own std calibration)
    zero_by_fold: list[np.ndarray | None] = []
    for f, (tr, te, label) in enumerate(splits):
        t1 = time.perf_counter()
        value, spread, zb, flags, dist, m = runner.run(tr, te)
        yt = y_enc[te]
        part = pd.DataFrame(
            {
                "row": te,
                "composition": [P.formulas[i] for i in te],
                "fold": f,
                "split": label,
                "y_true": np.asarray(P.y)[te],
            }
        )
        if task == "regression":
            part["y_pred"] = value
            part["y_std_raw"] = spread
            metrics = _fold_metrics(task, yt, value, None, 0.5)
            raw_by_fold.append((yt - value, spread))
            zero_by_fold.append(zb)
        else:
            labels_idx = (value >= m.threshold_).astype(int)
            part["y_pred"] = m.classes_[labels_idx]
            part["proba"] = value
            part["proba_std"] = spread
            metrics = _fold_metrics(task, yt, value, value, m.threshold_)
        part["in_domain"] = flags
        part["distance"] = dist
        parts.append(part)
        fold_rows.append(
            {
                "fold": f,
                "split": label,
                "n_train": len(tr),
                "n_test": len(te),
                **metrics,
                "in_domain_share": float(np.mean(flags)) if len(flags) else float("nan"),
                "seconds": time.perf_counter() - t1,
            }
        )
        progress("cv", f + 1, len(splits), f"{protocol}: {label} done")
    parity = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return parity, pd.DataFrame(fold_rows), raw_by_fold, zero_by_fold


def _cross_fitted_std(
    raw_by_fold: list[tuple[np.ndarray, np.ndarray]],
    zero_by_fold: list[np.ndarray | None],
    branched: bool,
) -> list[np.ndarray]:
    """Each fold's calibrated std, with (a, b) fitted on the other folds (``branched``: one
    (a, b) per branch, rows predicted 0 and rows predicted by the regressor)."""
    calibrated = []
    for f in range(len(raw_by_fold)):
        others = [g for g in range(len(raw_by_fold)) if g != f]
        if not others:
            calibrated.append(apply_calibration(raw_by_fold[f][1], 1.0, 0.0))
            continue
        o_r = np.concatenate([raw_by_fold[g][0] for g in others])
        o_s = np.concatenate([raw_by_fold[g][1] for g in others])
        if branched:
            o_z = np.concatenate([zero_by_fold[g] for g in others])  # type: ignore[misc]
            (a, b), (a0, b0) = fit_branch_calibration(o_r, o_s, o_z)
            calibrated.append(
                apply_branch_calibration(raw_by_fold[f][1], zero_by_fold[f], a, b, a0, b0)
            )
        else:
            a, b = fit_std_calibration(o_r, o_s)
            calibrated.append(apply_calibration(raw_by_fold[f][1], a, b))
    return calibrated


_PARITY_COLUMNS = ["row", "composition", "fold", "split", "y_true", "y_pred", "y_std",
                   "y_std_raw", "in_domain", "distance"]


def _regression_calibration(
    parity: pd.DataFrame,
    folds: pd.DataFrame,
    raw_by_fold: list[tuple[np.ndarray, np.ndarray]],
    zero_by_fold: list[np.ndarray | None],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Cross-fitted std calibration: the parity table with ``y_std``, and the calibration
    summary; adds each fold's coverage to ``folds``."""
    # zero-inflated models whose every fold has the two stages calibrate each branch apart
    branched = bool(zero_by_fold) and all(z is not None for z in zero_by_fold)
    calibrated = _cross_fitted_std(raw_by_fold, zero_by_fold, branched)
    parity["y_std"] = np.concatenate(calibrated) if calibrated else []
    r = parity["y_true"].to_numpy(float) - parity["y_pred"].to_numpy(float)
    s_raw = parity["y_std_raw"].to_numpy(float)
    s_cal = parity["y_std"].to_numpy(float)
    calibration = {
        **coverage(r, s_cal),
        **{f"raw_{k}": v for k, v in coverage(r, s_raw).items()},
    }
    if branched:
        z_all: np.ndarray = np.concatenate(zero_by_fold)  # type: ignore[arg-type]
        (a_all, b_all), (a0_all, b0_all) = fit_branch_calibration(r, s_raw, z_all)
        calibration.update(
            {
                "std_scale": a_all,
                "std_floor": b_all,
                "zero_std_scale": a0_all,
                "zero_std_floor": b0_all,
                "predicted_zero_share": float(np.mean(z_all)),
                **{
                    f"predicted_zero_{k}": v
                    for k, v in coverage(r[z_all], s_cal[z_all]).items()
                },
                **{
                    f"predicted_nonzero_{k}": v
                    for k, v in coverage(r[~z_all], s_cal[~z_all]).items()
                },
                "method": "coverage of held-out residuals; each fold's calibration fitted "
                "on the other folds, separately for rows predicted 0 and the others",
            }
        )
    else:
        a_all, b_all = fit_std_calibration(r, s_raw)
        calibration.update(
            {
                "std_scale": a_all,
                "std_floor": b_all,
                "method": "coverage of held-out residuals; each fold's calibration fitted "
                "on the other folds",
            }
        )
    per_fold_cov = [coverage(raw_by_fold[f][0], calibrated[f]) for f in range(len(raw_by_fold))]
    folds["coverage_68"] = [c["coverage_68"] for c in per_fold_cov]
    folds["coverage_95"] = [c["coverage_95"] for c in per_fold_cov]
    return parity[_PARITY_COLUMNS], calibration


def _summary(protocol: str, task: str, folds: pd.DataFrame, parity: pd.DataFrame,
             calibration: dict[str, Any], metric_keys: list[str]) -> dict[str, Any]:
    """Mean and spread of each metric over the folds, coverage and the in-domain share."""
    summary: dict[str, Any] = {
        "protocol": protocol,
        "n_folds": len(folds),
        "n_predictions": len(parity),
    }
    for k in metric_keys:
        vals = folds[k].to_numpy(float)
        summary[k] = float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")
        summary[k + "_std"] = float(np.nanstd(vals)) if np.isfinite(vals).any() else float("nan")
    if task == "regression":
        summary["coverage_68"] = calibration["coverage_68"]
        summary["coverage_95"] = calibration["coverage_95"]
    summary["in_domain_share"] = float(parity["in_domain"].mean()) if len(parity) else float("nan")
    return summary


def _prepare_data(model: Any, data: Any) -> tuple[_Prepared, dict[str, Any]]:
    from ._model import PropertyModel
    from .protocol import is_fraction_model

    if not isinstance(model, PropertyModel):
        if not callable(model) or is_fraction_model(model):
            raise ModelError(
                "cross_validate needs a PropertyModel configuration or a factory "
                "factory(X, elements, y, conditions) that fits and returns a FractionModel "
                f"(jupyter_matopt.models.FractionModelFactory); got {type(model).__name__}"
            )
        model = PropertyModel()  # only featurizes, with the default preset (for the splits)
    model._check_options()
    if isinstance(data, tuple):
        if len(data) == 2:
            X, y = data
            cond = None
        elif len(data) == 3:
            X, y, cond = data
        else:
            raise ModelError(
                "data must be a Dataset, (compositions, y) or (compositions, y, conditions)"
            )
        return model._prepare(X, y, cond, condition_names=None, need_y=True)
    if not (hasattr(data, "compositions") and hasattr(data, "frame")):
        raise ModelError(
            "cross_validate needs a Dataset or a (compositions, y) tuple, got "
            f"{type(data).__name__}"
        )
    return model._prepare(data, None, None, condition_names=None, need_y=True)


def cross_validate(
    model: PropertyModel | FractionModelFactory,
    data: Any,
    protocol: str = "matbench",
    *,
    n_splits: int = 5,
    elements: Sequence[str] | None = None,
    n_elements: int = 5,
    n_clusters: int = 5,
    callback: Callback | None = None,
) -> CVReport:
    """Cross-validate a model configuration (a fresh clone is fitted on each training fold).

    Args:
        model: The configuration (its fitted state, if any, is not used or changed), or a
            :class:`~jupyter_matopt.models.FractionModelFactory` ``factory(X, elements, y,
            conditions)`` fitting any model that implements the FractionModel contract. With
            ``tune=True`` every fold is tuned by inner CV on its own training rows;
            parameters from an earlier :meth:`PropertyModel.tune` call are *not* carried into
            the folds (they were chosen with the test rows).
        data: A Dataset, or ``(compositions, y[, conditions])``.
        protocol: See the module docstring.
        n_splits: Folds for ``"random"`` and ``"group"`` (``"matbench"`` is always 5).
        elements: Elements to leave out (``"leave-element-out"``; default the most common).
        n_elements: How many elements to leave out when ``elements`` is None.
        n_clusters: Clusters for ``"leave-cluster-out"``.
        callback: ``callback(event, done, total, message)`` after each fold (the older
            ``callback(done, total, message)`` also works).

    Returns:
        A :class:`CVReport`.
    """
    P, info = _prepare_data(model, data)
    return _cross_validate_prepared(
        model,
        P,
        info,
        protocol,
        n_splits=n_splits,
        elements=elements,
        n_elements=n_elements,
        n_clusters=n_clusters,
        callback=callback,
    )


def compare_protocols(
    model: PropertyModel,
    data: Any,
    protocols: Sequence[str] = ("matbench", "group", "leave-element-out", "leave-cluster-out"),
    *,
    callback: Callback | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Run several protocols on the same data and report them side by side.

    Returns:
        One row per protocol with the fold-averaged metrics, coverage, in-domain share and
        time; the :class:`CVReport` objects are in ``frame.attrs["reports"]``.
    """
    P, info = _prepare_data(model, data)
    reports: dict[str, CVReport] = {}
    rows = []
    total = len(protocols)
    for i, protocol in enumerate(protocols):
        rep = _cross_validate_prepared(
            model,
            P,
            info,
            protocol,
            n_splits=int(options.get("n_splits", 5)),
            elements=options.get("elements"),
            n_elements=int(options.get("n_elements", 5)),
            n_clusters=int(options.get("n_clusters", 5)),
            callback=None,
        )
        reports[rep.protocol] = rep
        rows.append(rep.summary)
        if callback is not None:
            callback(i + 1, total, f"protocol {rep.protocol} done")
    frame = pd.DataFrame(rows).set_index("protocol")
    frame.attrs["reports"] = reports
    return frame
