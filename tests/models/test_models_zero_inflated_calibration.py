"""Per-branch std calibration of zero-inflated models (rows predicted 0 / by the regressor)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from jupyter_matopt.models import PropertyModel, cross_validate
from jupyter_matopt.models._calibration import (
    BRANCH_MIN_ROWS,
    apply_calibration,
    coverage,
    fit_branch_calibration,
    fit_std_calibration,
)

FAST = {"n_estimators": 40, "max_depth": 3}
PROBE = ["GaAs", "Cu", "Fe2O3", "NaCl", "TiNi", "ZnO", "CuZn", "Si", "Al", "MgO"]


def _synthetic(n: int = 700, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Binary compounds: 0 (a "metal") when the anion share is small, else a smooth positive
    function of the composition plus noise; about half the targets are exactly 0."""
    rng = np.random.default_rng(seed)
    cations = ["Li", "Na", "Mg", "Al", "Ti", "Fe", "Cu", "Zn", "Ga", "Sr"]
    anions = ["O", "S", "N", "F", "Cl", "Se"]
    comps, y = [], []
    for _ in range(n):
        c, a = rng.choice(cations), rng.choice(anions)
        x = float(rng.uniform(0.05, 0.7))
        comps.append(f"{c}{1 - x:.3f}{a}{x:.3f}")
        if x < 0.33:
            y.append(0.0)
        else:
            en = {"O": 3.4, "S": 2.6, "N": 3.0, "F": 4.0, "Cl": 3.2, "Se": 2.5}[a]
            y.append(max(0.05, 1.5 * (x - 0.3) * en + rng.normal(0.0, 0.3)))
    return comps, np.array(y)


@pytest.fixture(scope="module")
def synth() -> tuple[list[str], np.ndarray]:
    return _synthetic()


@pytest.fixture(scope="module")
def zi_model(synth) -> PropertyModel:  # type: ignore[no-untyped-def]
    comps, y = synth
    return PropertyModel(n_ensemble=2, params=FAST, seed=0).fit(comps, y)


# ---------------------------------------------------------------- the fit itself


def test_branch_fit_calibrates_each_branch_on_its_own_residuals() -> None:
    rng = np.random.default_rng(1)
    # predicted-0 branch: 90 % exact zeros plus a heavy tail of misclassified rows
    r0 = np.where(rng.random(600) < 0.9, 0.0, rng.uniform(1.0, 3.0, 600))
    s0 = rng.uniform(0.2, 0.6, 600)
    # regressor branch: Gaussian errors 3x the raw spread
    s1 = rng.uniform(0.1, 0.5, 600)
    r1 = rng.normal(0.0, 3.0 * s1)
    r, s = np.concatenate([r0, r1]), np.concatenate([s0, s1])
    z = np.arange(1200) < 600
    (a, b), (a0, b0) = fit_branch_calibration(r, s, z)
    c1 = coverage(r1, apply_calibration(s1, a, b))
    c0 = coverage(r0, apply_calibration(s0, a0, b0))
    assert abs(c1["coverage_68"] - 0.68) < 0.03 and abs(c1["coverage_95"] - 0.95) < 0.03
    assert abs(c0["coverage_95"] - 0.95) < 0.03
    # the pooled fit is dragged down by the exact zeros: regressor rows far too narrow
    ag, bg = fit_std_calibration(r, s)
    cg = coverage(r1, apply_calibration(s1, ag, bg))
    assert cg["coverage_68"] < c1["coverage_68"] - 0.1


def test_small_branch_falls_back_to_the_pooled_fit() -> None:
    rng = np.random.default_rng(2)
    s = rng.uniform(0.1, 0.5, 300)
    r = rng.normal(0.0, 2.0 * s)
    z = np.zeros(300, dtype=bool)
    z[: BRANCH_MIN_ROWS - 1] = True
    (a, b), (a0, b0) = fit_branch_calibration(r, s, z)
    assert (a0, b0) == fit_std_calibration(r, s)
    assert (a, b) == fit_std_calibration(r[~z], s[~z])


# ---------------------------------------------------------------- the model


def test_zero_branch_gets_its_own_calibration(zi_model, synth) -> None:
    comps, _ = synth
    m = zi_model
    assert m.zero_inflated_
    assert m.zero_std_scale_ is not None and m.zero_std_floor_ is not None
    assert (m.zero_std_scale_, m.zero_std_floor_) != (m.std_scale_, m.std_floor_)
    pred, std = m.predict(comps[:200], return_std=True)
    F = m._features(comps[:200], None)[0]
    mu, sd, p0 = m._zero_inflated_parts(F)
    from jupyter_matopt.models._model import _zi_combine

    v, raw = _zi_combine(mu, sd, p0, m.zero_mode_)
    np.testing.assert_array_equal(pred, v)  # predictions untouched
    z = p0 >= 0.5
    assert z.any() and (~z).any()
    np.testing.assert_allclose(
        std[z], apply_calibration(raw[z], m.zero_std_scale_, m.zero_std_floor_), rtol=1e-12
    )
    np.testing.assert_allclose(
        std[~z], apply_calibration(raw[~z], m.std_scale_, m.std_floor_), rtol=1e-12
    )


def test_cv_coverage_on_synthetic_zero_inflated_data(synth) -> None:
    comps, y = synth
    model = PropertyModel(n_ensemble=2, params=FAST, seed=0)
    rep = cross_validate(model, (comps, y), protocol="random")
    cal = rep.calibration
    assert "zero_std_scale" in cal and 0.2 < cal["predicted_zero_share"] < 0.8
    # the 95 % intervals are honest overall and the regressor rows' intervals per level
    assert abs(cal["coverage_95"] - 0.95) <= 0.05
    assert abs(cal["predicted_nonzero_coverage_68"] - 0.68) <= 0.1
    assert abs(cal["predicted_nonzero_coverage_95"] - 0.95) <= 0.06
    # the reported coverage is what the parity table shows
    par = rep.parity
    r = par["y_true"].to_numpy(float) - par["y_pred"].to_numpy(float)
    again = coverage(r, par["y_std"].to_numpy(float))
    assert cal["coverage_68"] == pytest.approx(again["coverage_68"])
    assert cal["coverage_95"] == pytest.approx(again["coverage_95"])


def test_recalibration_by_cross_validate_sets_both_branches(synth) -> None:
    comps, y = synth
    m = PropertyModel(n_ensemble=1, params=FAST, seed=0).fit(comps, y)
    rep = m.cross_validate((comps, y), protocol="random")
    assert m.std_scale_ == rep.calibration["std_scale"]
    assert m.zero_std_scale_ == rep.calibration["zero_std_scale"]
    assert m.zero_std_floor_ == rep.calibration["zero_std_floor"]


# ---------------------------------------------------------------- persistence


@pytest.mark.parametrize("suffix", ["", ".zip"])
def test_branch_calibration_round_trips(zi_model, tmp_path, suffix) -> None:
    path = zi_model.save(tmp_path / f"m{suffix}")
    loaded = PropertyModel.load(path)
    assert loaded.zero_std_scale_ == zi_model.zero_std_scale_
    assert loaded.zero_std_floor_ == zi_model.zero_std_floor_
    m1, s1 = zi_model.predict(PROBE, return_std=True)
    m2, s2 = loaded.predict(PROBE, return_std=True)
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(s1, s2)
    e1, e2 = zi_model.explain("GaAs"), loaded.explain("GaAs")
    assert e1.std == e2.std


def test_old_files_without_branch_calibration_still_load(zi_model, tmp_path) -> None:
    from jupyter_matopt.models import _persist

    path = Path(zi_model.save(tmp_path / "m"))
    meta = json.loads((path / "metadata.json").read_text())
    body = {k: v for k, v in meta.items() if k != "metadata_sha256"}
    assert meta["metadata_sha256"] == _persist._sha256(_persist._canonical(body))

    old = tmp_path / "old"
    shutil.copytree(path, old)
    m = json.loads((old / "metadata.json").read_text())
    del m["zero_inflated"]["std_scale"], m["zero_inflated"]["std_floor"]
    body = {k: v for k, v in m.items() if k != "metadata_sha256"}
    m["metadata_sha256"] = _persist._sha256(_persist._canonical(body))
    (old / "metadata.json").write_text(json.dumps(m, indent=1))
    loaded = PropertyModel.load(old)
    assert loaded.zero_std_scale_ is None and loaded.zero_std_floor_ is None
    # one calibration for all rows, as before branches existed
    pred, std = loaded.predict(PROBE, return_std=True)
    F = loaded._features(PROBE, None)[0]
    _, raw = loaded._predict_features(F, calibrated=False)
    np.testing.assert_array_equal(pred, zi_model.predict(PROBE))
    np.testing.assert_allclose(
        std, apply_calibration(raw, loaded.std_scale_, loaded.std_floor_), rtol=1e-12
    )


@pytest.mark.parametrize("junk", ["x", True, [1.0], float("nan")])
def test_bad_branch_calibration_metadata_raises(zi_model, tmp_path, junk) -> None:
    from jupyter_matopt.models import ModelFileError, _persist

    path = Path(zi_model.save(tmp_path / "m"))
    m = json.loads((path / "metadata.json").read_text())
    m["zero_inflated"]["std_scale"] = junk
    body = {k: v for k, v in m.items() if k != "metadata_sha256"}
    try:
        m["metadata_sha256"] = _persist._sha256(_persist._canonical(body))
    except ValueError:
        return  # NaN is not even writable as plain JSON metadata
    (path / "metadata.json").write_text(json.dumps(m, indent=1))
    with pytest.raises(ModelFileError):
        PropertyModel.load(path)


# ---------------------------------------------------------------- plain models unchanged


def test_plain_model_has_one_global_calibration(steels, steels_model) -> None:
    assert not steels_model.zero_inflated_
    assert steels_model.zero_std_scale_ is None and steels_model.zero_std_floor_ is None
    model = PropertyModel(n_ensemble=1, params=FAST, seed=0)
    rep = cross_validate(model, steels.subset(range(200)), protocol="random")
    cal = rep.calibration
    assert not any(k.startswith(("zero_", "predicted_")) for k in cal)
    assert list(cal) == [
        "coverage_68",
        "coverage_95",
        "raw_coverage_68",
        "raw_coverage_95",
        "std_scale",
        "std_floor",
        "method",
    ]
    # each fold's std: the global (a, b) fitted on the other folds' residuals
    par = rep.parity
    r = (par["y_true"] - par["y_pred"]).to_numpy(float)
    for f in par["fold"].unique():
        te = (par["fold"] == f).to_numpy()
        a, b = fit_std_calibration(r[~te], par["y_std_raw"].to_numpy(float)[~te])
        np.testing.assert_array_equal(
            par["y_std"].to_numpy(float)[te],
            apply_calibration(par["y_std_raw"].to_numpy(float)[te], a, b),
        )
    # prediction std of a plain model: the one calibration on every row
    F = steels_model._features(steels.subset(range(20)), None)[0]
    _, raw = steels_model._predict_features(F, calibrated=False)
    _, std = steels_model._predict_features(F)
    np.testing.assert_array_equal(
        std, apply_calibration(raw, steels_model.std_scale_, steels_model.std_floor_)
    )
