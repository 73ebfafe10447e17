"""Zero-inflated (two-stage) regression and the out-of-fold classification threshold."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from models_helpers import rehash

from jupyter_matopt.models import ModelError, ModelFileError, PropertyModel

FAST = {"n_estimators": 40, "max_depth": 3}
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROBE = ["GaAs", "Cu", "Fe2O3", "NaCl", "TiNi", "ZnO", "CuZn", "Si"]


@pytest.fixture(scope="module")
def gap(data_path: Path):  # type: ignore[no-untyped-def]
    from jupyter_matopt.data import load_dataset

    ds = load_dataset("matbench_expt_gap", data_dir=data_path)
    return ds.subset(range(0, len(ds), 6))  # ~770 rows, about half exactly 0 (metals)


@pytest.fixture(scope="module")
def gap_model(gap):  # type: ignore[no-untyped-def]
    return PropertyModel(n_ensemble=2, params=FAST).fit(gap)


@pytest.fixture(scope="module")
def gap_saved(gap_model, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("zi") / "gap_model"
    gap_model.save(path)
    return path


# ---------------------------------------------------------------- zero-inflated: fitting


def test_auto_enables_on_point_mass_at_zero(gap, gap_model) -> None:
    assert np.mean(gap.y == 0) > 0.2
    assert gap_model.zero_inflated_ is True
    assert len(gap_model.zero_members_) == 2 and len(gap_model.members_) == 2
    assert gap_model.zero_mode_ in ("hard", "soft")
    assert set(gap_model.zero_mode_mae_) == {"hard", "soft"}
    # the regressor stage is standardized with the non-zero targets
    nz = gap.y[gap.y != 0]
    assert gap_model.y_mean_ == pytest.approx(float(np.mean(nz)))


def test_auto_stays_off_without_zeros(steels_model) -> None:
    assert steels_model.zero_inflated_ is False
    assert steels_model.zero_members_ == []


def test_metal_classifier_is_never_zero_inflated(metal_model) -> None:
    assert metal_model.zero_inflated_ is False


def test_options_are_validated(steels) -> None:
    with pytest.raises(ModelError, match="zero_inflated"):
        PropertyModel(zero_inflated="yes").fit(steels)
    with pytest.raises(ModelError, match="zero_inflated"):
        PropertyModel(zero_inflated=1.0).fit(steels)  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="at least 2 training targets equal to 0"):
        PropertyModel(zero_inflated=True, n_ensemble=1, params=FAST).fit(steels)


def test_false_gives_plain_regression(gap) -> None:
    m = PropertyModel(n_ensemble=1, params=FAST, zero_inflated=False, calibrate=False).fit(gap)
    assert m.zero_inflated_ is False and m.zero_mode_ is None
    assert m.y_mean_ == pytest.approx(float(np.mean(gap.y)))


def test_forced_on_a_few_zeros() -> None:
    comps = ["Fe", "Ni", "Co", "FeNi", "CoNi", "FeCo", "Fe2O3", "NiO", "CoO", "Fe3O4"] * 3
    y = np.array([0, 0, 0, 0, 0, 0, 2.1, 3.6, 2.4, 0.1] * 3)
    m = PropertyModel(n_ensemble=1, params=FAST, zero_inflated=True).fit(comps, y)
    assert m.zero_inflated_
    assert m.predict(["Fe"])[0] == pytest.approx(0.0, abs=1e-9) or m.zero_mode_ == "soft"


def test_deterministic(gap, gap_model) -> None:
    again = PropertyModel(n_ensemble=2, params=FAST).fit(gap)
    assert again.zero_mode_ == gap_model.zero_mode_
    a, sa = gap_model.predict(PROBE, return_std=True)
    b, sb = again.predict(PROBE, return_std=True)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(sa, sb)


# ---------------------------------------------------------------- predictions and std


def test_prediction_combines_both_stages(gap_model) -> None:
    from jupyter_matopt.features import featurize
    from jupyter_matopt.models._model import _sigmoid

    pred, std = gap_model.predict(PROBE, return_std=True)
    F = featurize(PROBE, preset=gap_model.preset_).to_numpy(dtype=np.float64)
    mu = gap_model._margins(F).mean(axis=0)
    p0 = _sigmoid(gap_model._zero_margins(F).mean(axis=0))
    if gap_model.zero_mode_ == "hard":
        expected = np.where(p0 >= 0.5, 0.0, mu)
    else:
        expected = (1 - p0) * mu
    np.testing.assert_allclose(pred, expected, rtol=1e-12, atol=1e-12)
    assert np.all(np.isfinite(std)) and np.all(std > 0)
    # metals are predicted as (near) zero, semiconductors clearly above
    assert pred[PROBE.index("Cu")] < 0.3
    assert pred[PROBE.index("NaCl")] > 2.0


def test_mixture_std_covers_both_stages() -> None:
    from jupyter_matopt.models._model import _zi_combine

    mu, sd = np.array([2.0, 2.0, 2.0]), np.array([0.1, 0.1, 0.1])
    p0 = np.array([0.0, 0.5, 1.0])
    v, s = _zi_combine(mu, sd, p0, "soft")
    np.testing.assert_allclose(v, [2.0, 1.0, 0.0])
    # P(0)=0: the regressor's spread; P(0)=1: certain zero; in between: mixture variance
    np.testing.assert_allclose(s, [0.1, np.sqrt(0.5 * 0.01 + 0.25 * 4), 0.0])
    v, s = _zi_combine(mu, sd, p0, "hard")
    np.testing.assert_allclose(v, [2.0, 0.0, 0.0])
    np.testing.assert_allclose(s[0], 0.1)
    np.testing.assert_allclose(s[1], np.sqrt(0.5 * (0.01 + 4.0)))


def test_fraction_paths_agree(gap_model) -> None:
    els = ["Ga", "As", "Cu"]
    X = np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0], [0.3, 0.3, 0.4]])
    mean, std = gap_model.predict_fractions(X, els)
    m2, s2 = gap_model.predict(["GaAs", "Cu", "Ga0.3As0.3Cu0.4"], return_std=True)
    np.testing.assert_allclose(mean, m2, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(std, s2, rtol=1e-9, atol=1e-9)
    exps = gap_model.explain_fractions(X, els)
    for i, e in enumerate(exps):
        assert e.prediction == pytest.approx(mean[i], abs=1e-9)
        assert e.std == pytest.approx(std[i], rel=1e-9)


def test_domain_is_unchanged_by_the_two_stages(gap, gap_model) -> None:
    plain = PropertyModel(n_ensemble=1, params=FAST, zero_inflated=False, calibrate=False)
    plain.fit(gap)
    assert plain.domain_.threshold == gap_model.domain_.threshold
    assert gap_model.predict_domain(PROBE).equals(plain.predict_domain(PROBE))


def test_cross_validate_runs(gap) -> None:
    from jupyter_matopt.models import cross_validate

    rep = cross_validate(PropertyModel(n_ensemble=1, params=FAST), gap.subset(range(300)))
    assert np.isfinite(rep.summary["mae"])


# ---------------------------------------------------------------- explanations


def test_explanation_explains_regressor_stage(gap_model) -> None:
    for comp in ("Cu", "NaCl"):
        e = gap_model.explain(comp)
        assert 0.0 <= e.zero_probability <= 1.0
        assert "regressor stage" in e.explained and "non-zero" in e.explained
        for arr in (e.feature_contributions, e.element_contributions, e.property_contributions):
            assert e.base_value + arr.sum() == pytest.approx(e.explained_value, abs=1e-6)
        assert e.prediction == pytest.approx(gap_model.predict([comp])[0], abs=1e-9)
        assert "P(zero)" in repr(e) and "regressor stage" in e._repr_html_()
    cu = gap_model.explain("Cu")
    if gap_model.zero_mode_ == "hard" and cu.zero_probability >= 0.5:
        assert cu.prediction == 0.0 and cu.explained_value != 0.0


def test_ordinary_explanation_fields(steels_model) -> None:
    e = steels_model.explain("Fe0.7Cr0.2Ni0.1")
    assert e.explained_value == e.prediction and e.zero_probability is None
    assert e.explained == ""


def test_fast_single_row_explanation(gap_model) -> None:
    els = ["Ga", "As", "Cu"]
    x = np.array([0.4, 0.4, 0.2])
    # speed lives in bench/ui_latency.py; here the single-row fast path must agree with the
    # batch path, row by row
    rows = np.stack([x + 1e-4 * i for i in range(30)])
    batch = gap_model.explain_fractions(rows, els)
    for row, b in zip(rows, batch, strict=True):
        one = gap_model.explain_fractions(row, els)
        assert one.prediction == pytest.approx(b.prediction, rel=1e-9, abs=1e-12)
        for e in els:
            assert float(one.per_element[e]) == pytest.approx(float(b.per_element[e]), abs=1e-9)


# ---------------------------------------------------------------- persistence


def _same(a: PropertyModel, b: PropertyModel) -> None:
    m1, s1, d1 = a.predict(PROBE, return_std=True, return_domain=True)
    m2, s2, d2 = b.predict(PROBE, return_std=True, return_domain=True)
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(s1, s2)
    assert d1.equals(d2)


@pytest.mark.parametrize("suffix", ["", ".zip"])
def test_round_trip(gap_model, tmp_path, suffix) -> None:
    path = gap_model.save(tmp_path / f"m{suffix}")
    names = (
        set(__import__("zipfile").ZipFile(path).namelist())
        if suffix
        else {p.name for p in Path(path).iterdir()}
    )
    assert {"z0.json", "z1.json", "m0.json", "m1.json"} <= names
    assert not any(n.endswith((".pkl", ".pickle", ".joblib")) for n in names)
    loaded = PropertyModel.load(path)
    assert loaded.zero_inflated_ and loaded.zero_mode_ == gap_model.zero_mode_
    _same(gap_model, loaded)
    e1, e2 = gap_model.explain("GaAs"), loaded.explain("GaAs")
    assert e1.prediction == e2.prediction and e1.explained_value == pytest.approx(
        e2.explained_value, abs=1e-12
    )
    X = np.array([[0.5, 0.5]])
    np.testing.assert_array_equal(
        gap_model.predict_fractions(X, ["Ga", "As"])[0],
        loaded.predict_fractions(X, ["Ga", "As"])[0],
    )


def _copy(saved: Path) -> Path:
    dst = Path(tempfile.mkdtemp(prefix="matopt-zi-fuzz-")) / "model"
    shutil.copytree(saved, dst)
    return dst


@FUZZ
@given(
    name=st.sampled_from(["metadata.json", "z0.json", "z1.json", "m0.json"]),
    where=st.floats(0, 1, exclude_max=True),
    xor=st.integers(1, 255),
)
def test_flipped_byte_raises_or_is_harmless(gap_model, gap_saved, name, where, xor) -> None:
    path = _copy(gap_saved)
    try:
        data = bytearray((path / name).read_bytes())
        data[int(where * len(data))] ^= xor
        (path / name).write_bytes(bytes(data))
        try:
            loaded = PropertyModel.load(path)
        except ModelFileError:
            return
        # JSON whitespace turned into other whitespace: same content, same hash
        _same(gap_model, loaded)
    finally:
        shutil.rmtree(path.parent)


@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes_as_zero_member_raise(gap_saved, data) -> None:
    path = _copy(gap_saved)
    try:
        (path / "z1.json").write_bytes(data)
        with pytest.raises(ModelFileError):
            PropertyModel.load(path)
    finally:
        shutil.rmtree(path.parent)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)  # metadata is plain JSON
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@FUZZ
@given(junk=json_values, key=st.sampled_from(["members", "mode", "check_margins", None]))
def test_tampered_zero_stage_metadata_raises(gap_saved, junk, key) -> None:
    # still-valid files: no zero stage at all (a deliberate, re-hashed edit; the hashes are
    # not a signature), or the other valid combination mode
    assume(not (key is None and junk is None))
    assume(not (key == "mode" and junk in ("hard", "soft")))
    path = _copy(gap_saved)
    try:

        def edit(meta):  # type: ignore[no-untyped-def]
            if key is None:
                meta["zero_inflated"] = junk
            else:
                meta["zero_inflated"][key] = junk

        rehash(path, edit)
        with pytest.raises(ModelFileError):
            PropertyModel.load(path)
    finally:
        shutil.rmtree(path.parent)


def test_swapped_stages_detected(gap_saved) -> None:
    path = _copy(gap_saved)
    try:
        z, m = (path / "z0.json").read_bytes(), (path / "m0.json").read_bytes()
        (path / "z0.json").write_bytes(m)
        (path / "m0.json").write_bytes(z)
        rehash(path)
        with pytest.raises(ModelFileError, match="reproduce"):
            PropertyModel.load(path)
    finally:
        shutil.rmtree(path.parent)


def test_dropping_the_zero_stage_is_detected(gap_saved) -> None:
    """Without its zero stage the file would silently predict the regressor alone: the
    check margins still pass, so the metadata must not be editable without the hash."""
    path = _copy(gap_saved)
    try:
        meta = json.loads((path / "metadata.json").read_text())
        meta["zero_inflated"] = None
        (path / "metadata.json").write_text(json.dumps(meta))
        with pytest.raises(ModelFileError, match="modified"):
            PropertyModel.load(path)
    finally:
        shutil.rmtree(path.parent)


# ---------------------------------------------------------------- classification threshold


def test_threshold_from_out_of_fold_probabilities(metal_model) -> None:
    assert 0.0 <= metal_model.threshold_ <= 1.0
    assert "out-of-fold" in metal_model.threshold_method_
    proba = metal_model.predict_proba(["Cu", "NaCl", "GaAs", "TiNi"])[:, 1]
    labels = metal_model.predict(["Cu", "NaCl", "GaAs", "TiNi"])
    np.testing.assert_array_equal(
        labels, metal_model.classes_[(proba >= metal_model.threshold_).astype(int)]
    )


def test_threshold_deterministic_and_options(metal) -> None:
    a = PropertyModel(n_ensemble=1, params=FAST).fit(metal)
    b = PropertyModel(n_ensemble=1, params=FAST).fit(metal)
    assert a.threshold_ == b.threshold_
    c = PropertyModel(n_ensemble=1, params=FAST, decision_threshold="balanced").fit(metal)
    assert c.threshold_ == pytest.approx(c.prevalence_)
    assert c.threshold_method_ == "positive share"
    with pytest.raises(ModelError, match="decision_threshold"):
        PropertyModel(decision_threshold="best").fit(metal)
    with pytest.raises(ModelError, match="decision_threshold"):
        PropertyModel(decision_threshold=True).fit(metal)  # type: ignore[arg-type]


def test_threshold_picks_the_balanced_accuracy_optimum() -> None:
    """Rare positives whose scores sit high: the OOF threshold separates them."""
    rng = np.random.default_rng(0)
    comps = [f"Fe{a:.3f}Ni{1 - a:.3f}" for a in rng.uniform(0.05, 0.95, 300)]
    frac = np.array([float(c[2:7]) for c in comps])
    y = (frac > 0.8).astype(int)  # ~17 % positives
    m = PropertyModel(n_ensemble=1, params=FAST, calibrate=False).fit(comps, y)
    pred = m.predict(comps)
    tpr = np.mean(pred[y == 1] == 1)
    tnr = np.mean(pred[y == 0] == 0)
    assert 0.5 * (tpr + tnr) > 0.9


def test_threshold_persisted_and_old_files_default(metal_model, tmp_path) -> None:
    path = Path(metal_model.save(tmp_path / "clf"))
    loaded = PropertyModel.load(path)
    assert loaded.threshold_ == metal_model.threshold_
    assert loaded.threshold_method_ == metal_model.threshold_method_

    def strip(meta):  # type: ignore[no-untyped-def]
        # a file from before the threshold was stored
        meta.pop("threshold")
        meta.pop("threshold_method")
        meta.pop("zero_inflated")
        meta["init_params"].pop("zero_inflated")

    rehash(path, strip)
    old = PropertyModel.load(path)
    assert old.threshold_ == 0.5 and old.zero_inflated_ is False

    rehash(path, lambda meta: meta.update(threshold=1.5))
    with pytest.raises(ModelFileError, match="threshold"):
        PropertyModel.load(path)
