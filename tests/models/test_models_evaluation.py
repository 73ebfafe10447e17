"""Cross-validation protocols, matbench folds, calibration report, protocol comparison."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.model_selection import KFold, StratifiedKFold

from jupyter_matopt.models import (
    CVReport,
    ModelError,
    PropertyModel,
    cross_validate,
    matbench_folds,
)

FAST = {"n_estimators": 40, "max_depth": 3}


def test_matbench_folds_exact(steels, metal, data_path) -> None:
    from jupyter_matopt.data import load_dataset

    ref = list(KFold(5, shuffle=True, random_state=18012019).split(np.zeros(len(steels))))
    ours = matbench_folds(steels)
    assert len(ours) == 5
    for (a, b), (c, d) in zip(ours, ref, strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    full = load_dataset("matbench_expt_is_metal", data_dir=data_path)
    ref = list(
        StratifiedKFold(5, shuffle=True, random_state=18012019).split(np.zeros(len(full)), full.y)
    )
    for (_, b), (_, d) in zip(matbench_folds(full), ref, strict=True):
        np.testing.assert_array_equal(b, d)


def test_cross_validate_matbench_report(steels) -> None:
    model = PropertyModel(n_ensemble=3, params=FAST, calibrate=False)
    calls: list[tuple[int, int, str]] = []
    report = model.cross_validate(steels, protocol="matbench", callback=lambda *a: calls.append(a))
    assert isinstance(report, CVReport) and report is model.cv_report_
    assert [c[:2] for c in calls] == [(i, 5) for i in range(1, 6)]
    # parity rows are exactly the official test folds
    folds = matbench_folds(steels)
    for f, (_, te) in enumerate(folds):
        np.testing.assert_array_equal(
            np.sort(report.parity.loc[report.parity.fold == f, "row"]), np.sort(te)
        )
    assert len(report.parity) == len(steels)
    assert {"y_true", "y_pred", "y_std", "fold"} <= set(report.parity.columns)
    assert list(report.folds["fold"]) == list(range(5))
    assert {"mae", "rmse", "r2"} <= set(report.folds.columns)
    s = report.summary
    assert s["mae"] == pytest.approx(report.folds["mae"].mean())
    assert 50 < s["mae"] < 300  # yield strength in MPa; loose: a fast model
    cal = report.calibration
    for key in ("coverage_68", "coverage_95", "raw_coverage_68", "raw_coverage_95"):
        assert 0.0 <= cal[key] <= 1.0
    assert cal["coverage_95"] >= cal["coverage_68"]
    assert cal["coverage_68"] > 0.4 and cal["coverage_95"] > 0.75  # recalibrated, cross-fitted
    assert cal["std_scale"] > 0
    d = report.to_dict()
    json.dumps(d, allow_nan=False)
    assert "<table" in report._repr_html_() and "matbench" in repr(report)


def test_recalibration_of_fitted_model(steels) -> None:
    model = PropertyModel(n_ensemble=2, params=FAST, calibrate=False).fit(steels)
    assert model.std_scale_ == 1.0
    report = model.cross_validate(steels, protocol="matbench")
    assert model.std_scale_ == report.calibration["std_scale"] != 1.0


def test_classification_cv(metal) -> None:
    report = PropertyModel(n_ensemble=2, params=FAST).cross_validate(metal, protocol="matbench")
    s = report.summary
    assert (
        0.5 < s["roc_auc"] <= 1.0 and 0.5 < s["roc_auc_labels"] <= 1.0 and 0.5 < s["accuracy"] <= 1
    )
    assert {"brier", "ece"} <= set(report.calibration)
    assert report.parity["proba"].between(0, 1).all()


def test_ood_protocols_run_and_compare(steels) -> None:
    model = PropertyModel(n_ensemble=2, params=FAST, calibrate=False)
    table = model.compare_protocols(
        steels,
        protocols=["matbench", "group", "leave-element-out", "leave-cluster-out"],
        n_clusters=4,
    )
    assert list(table.index) == ["matbench", "group", "leave-element-out", "leave-cluster-out"]
    assert np.isfinite(table["mae"]).all() and (table["mae"] > 0).all()
    reports = table.attrs["reports"]
    leo = reports["leave-element-out"]
    assert all(s.startswith("element ") for s in leo.folds["split"])
    # each element fold tests exactly the rows containing that element
    for split, part in leo.parity.groupby("split"):
        el = split.split()[1]
        assert all(el in c for c in part["composition"])
    assert len(reports["leave-cluster-out"].folds) == 4
    # reported beside random CV; typically worse out of distribution (not asserted: science)
    assert "in_domain_share" in table.columns


def test_protocol_errors(steels) -> None:
    model = PropertyModel(n_ensemble=1, params=FAST, calibrate=False)
    with pytest.raises(ModelError, match="unknown protocol"):
        cross_validate(model, steels, protocol="bootstrap")
    with pytest.raises(ModelError, match="occur in no row"):
        cross_validate(model, steels, protocol="leave-element-out", elements=["Pu"])
    with pytest.raises(ModelError, match="nothing to train on"):
        cross_validate(model, steels, protocol="leave-element-out", elements=["Fe"])


def test_cv_on_tuple_data(enthalpy) -> None:
    small = enthalpy.subset(range(150))
    report = cross_validate(
        PropertyModel(n_ensemble=1, params=FAST, calibrate=False),
        (small.compositions, small.y),
        protocol="random",
        n_splits=3,
    )
    assert len(report.folds) == 3 and report.units == ""


def test_calibration_report_is_honest_and_improves_coverage(steels) -> None:
    """The report's coverages are the held-out shares inside the 68 %/95 % intervals."""
    from jupyter_matopt.models import coverage

    report = PropertyModel(n_ensemble=3, params=FAST, calibrate=False).cross_validate(
        steels, protocol="matbench"
    )
    par = report.parity
    r = par["y_true"].to_numpy(float) - par["y_pred"].to_numpy(float)
    again = coverage(r, par["y_std"].to_numpy(float))
    assert report.calibration["coverage_68"] == pytest.approx(again["coverage_68"])
    assert report.calibration["coverage_95"] == pytest.approx(again["coverage_95"])
    share68 = np.mean(np.abs(r) <= 0.994457883209753 * par["y_std"].to_numpy(float))
    assert report.calibration["coverage_68"] == pytest.approx(share68)
    raw = coverage(r, par["y_std_raw"].to_numpy(float))
    assert report.calibration["raw_coverage_95"] == pytest.approx(raw["coverage_95"])
    # the raw ensemble spread is overconfident; the cross-fitted calibration is much closer
    assert abs(report.calibration["coverage_95"] - 0.95) < abs(raw["coverage_95"] - 0.95)
    assert abs(report.calibration["coverage_68"] - 0.68) < 0.12
    assert {"coverage_68", "coverage_95"} <= set(report.folds.columns)
    for f, part in par.groupby("fold"):
        rf = part["y_true"].to_numpy(float) - part["y_pred"].to_numpy(float)
        cov = coverage(rf, part["y_std"].to_numpy(float))
        assert report.folds.loc[f, "coverage_95"] == pytest.approx(cov["coverage_95"])


def test_fit_time_calibration_reports_coverage(steels) -> None:
    m = PropertyModel(n_ensemble=2, params=FAST).fit(steels.subset(range(200)))
    cal = m.calibration_
    assert cal["method"].startswith("internal 5-fold CV") and cal["n"] == 200
    for key in ("coverage_68", "coverage_95", "raw_coverage_68", "raw_coverage_95"):
        assert 0.0 <= cal[key] <= 1.0
    assert abs(cal["coverage_95"] - 0.95) <= abs(cal["raw_coverage_95"] - 0.95)


def test_group_protocol_keeps_repeated_formulas_together(enthalpy) -> None:
    base = enthalpy.subset(range(60))
    comps = list(base.compositions) * 3  # every formula three times, as repeated measurements
    y = np.concatenate([base.y, base.y + 0.01, base.y - 0.01])
    report = cross_validate(
        PropertyModel(n_ensemble=1, params=FAST, calibrate=False), (comps, y), protocol="group"
    )
    assert len(report.folds) == 5 and len(report.parity) == len(comps)
    fold_of: dict[str, set[int]] = {}
    for comp, fold in zip(report.parity["composition"], report.parity["fold"], strict=True):
        fold_of.setdefault(comp, set()).add(int(fold))
    assert all(len(f) == 1 for f in fold_of.values())  # no formula on both sides of a split
    # random CV on the same data leaks: every test formula is also in training
    rand = cross_validate(
        PropertyModel(n_ensemble=1, params=FAST, calibrate=False), (comps, y), protocol="random"
    )
    assert rand.summary["mae"] < report.summary["mae"]


def test_ood_report_leave_cluster_and_element_directly(steels) -> None:
    model = PropertyModel(n_ensemble=1, params=FAST, calibrate=False)
    lco = model.cross_validate(steels, protocol="leave-cluster-out", n_clusters=3)
    assert lco.protocol == "leave-cluster-out" and len(lco.folds) == 3
    assert sorted(lco.parity["row"]) == list(range(len(steels)))  # each row held out once
    assert set(lco.folds["split"]) == {"cluster 0", "cluster 1", "cluster 2"}
    assert {"mae", "rmse", "r2", "coverage_68", "coverage_95", "in_domain_share"} <= set(
        lco.folds.columns
    )
    leo = model.cross_validate(steels, protocol="leave-one-element-out", elements=["W", "Ti"])
    assert list(leo.folds["split"]) == ["element W", "element Ti"]
    w = leo.parity[leo.parity["split"] == "element W"]
    assert w["composition"].str.contains("W").all()
    assert len(w) == sum("W" in c for c in steels.compositions) == 16
    # the report of an OOD protocol does not recalibrate the model's std
    assert not hasattr(model, "std_scale_")
