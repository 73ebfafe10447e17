"""Save/load round trips and damaged files: only ever ModelFileError, never code execution."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from models_helpers import rehash

from jupyter_matopt.models import ModelFileError, PropertyModel

FAST = {"n_estimators": 40, "max_depth": 3}
FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROBE = ["Fe0.7Cr0.2Ni0.1", "Fe0.62C0.001Mn0.001Si0.001Cr0.1Ni0.19Mo0.02Co0.08Ti0.007"]


@pytest.fixture(scope="module")
def saved(steels_model, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("saved") / "steel_model"
    steels_model.save(path)
    return path


def _same_predictions(a: PropertyModel, b: PropertyModel) -> None:
    m1, s1, d1 = a.predict(PROBE, return_std=True, return_domain=True)
    m2, s2, d2 = b.predict(PROBE, return_std=True, return_domain=True)
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(s1, s2)
    assert d1.equals(d2)


def test_round_trip_directory(steels_model, saved) -> None:
    names = sorted(p.name for p in saved.iterdir())
    assert names == ["arrays.npz", "m0.json", "m1.json", "m2.json", "metadata.json"]
    meta = json.loads((saved / "metadata.json").read_text())
    for key in (
        "format_version",
        "versions",
        "preset",
        "feature_names",
        "target",
        "units",
        "task",
        "conditions",
        "training_data_sha256",
        "domain",
        "std_scale",
        "files",
    ):
        assert key in meta
    assert meta["units"] == "MPa" and isinstance(meta["domain"]["mean"], list)
    loaded = PropertyModel.load(saved)
    _same_predictions(steels_model, loaded)
    e1, e2 = steels_model.explain(PROBE[0]), loaded.explain(PROBE[0])
    assert e1.per_element.equals(e2.per_element)
    assert (
        loaded.elements_ == steels_model.elements_
        and loaded.get_params() == steels_model.get_params()
    )


def test_round_trip_zip_and_classification(metal_model, tmp_path) -> None:
    path = Path(metal_model.save(tmp_path / "metal.zip"))
    assert zipfile.is_zipfile(path)
    loaded = PropertyModel.load(path)
    comps = ["NaCl", "Cu3Au", "GaAs"]
    np.testing.assert_array_equal(metal_model.predict_proba(comps), loaded.predict_proba(comps))
    np.testing.assert_array_equal(metal_model.predict(comps), loaded.predict(comps))


def test_round_trip_rf_and_cv_report(steels, tmp_path) -> None:
    m = PropertyModel(
        "rf", n_ensemble=2, params={"n_estimators": 15, "max_depth": 5}, calibrate=False
    )
    m.fit(steels.subset(range(100)))
    m.cross_validate(steels.subset(range(100)), protocol="random", n_splits=2)
    loaded = PropertyModel.load(m.save(tmp_path / "rf"))
    _same_predictions(m, loaded)
    assert loaded.cv_report_.summary["mae"] == pytest.approx(m.cv_report_.summary["mae"])


def _copy(saved: Path) -> Path:
    dst = Path(tempfile.mkdtemp(prefix="matopt-fuzz-")) / "model"
    shutil.copytree(saved, dst)
    return dst


FILES = ["metadata.json", "m0.json", "m1.json", "m2.json", "arrays.npz"]


@FUZZ
@given(
    name=st.sampled_from(FILES), where=st.floats(0, 1, exclude_max=True), xor=st.integers(1, 255)
)
def test_flipped_byte_raises(saved, name, where, xor) -> None:
    path = _copy(saved)
    try:
        data = bytearray((path / name).read_bytes())
        i = int(where * len(data))
        data[i] ^= xor
        (path / name).write_bytes(bytes(data))
        with pytest.raises(ModelFileError):
            PropertyModel.load(path)
    finally:
        shutil.rmtree(path.parent)


@FUZZ
@given(name=st.sampled_from(FILES), keep=st.floats(0, 1, exclude_max=True))
def test_truncated_file_raises(saved, name, keep) -> None:
    path = _copy(saved)
    try:
        data = (path / name).read_bytes()
        (path / name).write_bytes(data[: int(keep * len(data))])
        with pytest.raises(ModelFileError):
            PropertyModel.load(path)
    finally:
        shutil.rmtree(path.parent)


@pytest.mark.parametrize("name", FILES)
def test_deleted_file_raises(saved, name) -> None:
    path = _copy(saved)
    try:
        (path / name).unlink()
        with pytest.raises(ModelFileError, match="lacks"):
            PropertyModel.load(path)
    finally:
        shutil.rmtree(path.parent)


@FUZZ
@given(where=st.floats(0, 1, exclude_max=True), xor=st.integers(1, 255))
def test_zip_flipped_byte_raises_or_is_harmless(steels_model, saved, where, xor) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="matopt-zip-"))
    try:
        zpath = Path(steels_model.save(tmp / "m.zip"))
        data = bytearray(zpath.read_bytes())
        data[int(where * len(data))] ^= xor
        zpath.write_bytes(bytes(data))
        try:
            loaded = PropertyModel.load(zpath)
        except ModelFileError:
            return
        _same_predictions(steels_model, loaded)  # only bytes that carry no content changed
    finally:
        shutil.rmtree(tmp)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@FUZZ
@given(junk=json_values)
def test_junk_metadata_raises(saved, junk) -> None:
    path = _copy(saved)
    try:
        (path / "metadata.json").write_text(json.dumps(junk))
        with pytest.raises(ModelFileError):
            PropertyModel.load(path)
    finally:
        shutil.rmtree(path.parent)


class _Evil:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {MARKER}",))


MARKER = Path(tempfile.gettempdir()) / "matopt-pwned-marker"


@pytest.mark.parametrize("target", ["m0.json", "arrays.npz"])
def test_pickle_payload_never_executes(saved, target) -> None:
    MARKER.unlink(missing_ok=True)
    path = _copy(saved)
    try:
        if target == "arrays.npz":
            buf = io.BytesIO()
            np.savez(buf, domain_reference=np.array([_Evil()], dtype=object))
            payload = buf.getvalue()
        else:
            payload = pickle.dumps(_Evil())
        (path / target).write_bytes(payload)
        with pytest.raises(ModelFileError):  # hash mismatch
            PropertyModel.load(path)
        rehash(path)  # hashes consistent again: the content itself must still be refused
        with pytest.raises(ModelFileError):
            PropertyModel.load(path)
        assert not MARKER.exists()
    finally:
        shutil.rmtree(path.parent)
        MARKER.unlink(missing_ok=True)


def test_incompatible_version_and_tampered_fields(saved) -> None:
    path = _copy(saved)
    try:
        rehash(path, lambda m: m.update(format_version=99))
        with pytest.raises(ModelFileError, match="format version 99"):
            PropertyModel.load(path)
        shutil.rmtree(path)
        shutil.copytree(saved, path)
        meta = json.loads((path / "metadata.json").read_text())
        meta["std_scale"] = 123.0  # edited without updating the hash
        (path / "metadata.json").write_text(json.dumps(meta))
        with pytest.raises(ModelFileError, match="modified after saving"):
            PropertyModel.load(path)
        rehash(path, lambda m: m.update(feature_names=m["feature_names"][:-1]))
        with pytest.raises(ModelFileError, match="incompatible"):
            PropertyModel.load(path)
        rehash(
            path, lambda m: m.update(init_params={**m["init_params"], "evil": "__import__('os')"})
        )
        with pytest.raises(ModelFileError):
            PropertyModel.load(path)
    finally:
        shutil.rmtree(path.parent)


def test_missing_and_non_model_paths(tmp_path) -> None:
    with pytest.raises(ModelFileError, match="no saved model"):
        PropertyModel.load(tmp_path / "nope")
    (tmp_path / "x.zip").write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="not a readable model archive"):
        PropertyModel.load(tmp_path / "x.zip")
    with pytest.raises(ModelFileError, match="lacks metadata.json"):
        PropertyModel.load(tmp_path)
    digest = hashlib.sha256(b"").hexdigest()
    assert len(digest) == 64


@pytest.mark.parametrize("suffix", ["", ".zip"])
def test_round_trip_identical_everywhere(steels_model, tmp_path, suffix) -> None:
    """Predictions, std, domain, explanations and importances are bitwise identical."""
    loaded = PropertyModel.load(steels_model.save(tmp_path / f"m{suffix}"))
    els = ["Fe", "Cr", "Ni", "Mo", "Co", "Ti"]
    X = np.random.default_rng(0).dirichlet(np.ones(len(els)) * 0.5, 2100)  # both batch paths
    for a, b in zip(steels_model.predict_fractions(X, els, return_domain=True),
                    loaded.predict_fractions(X, els, return_domain=True), strict=True):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a.equals(b)
    e1, e2 = steels_model.explain_fractions(X[0], els), loaded.explain_fractions(X[0], els)
    np.testing.assert_array_equal(e1.feature_contributions, e2.feature_contributions)
    np.testing.assert_array_equal(e1.element_contributions, e2.element_contributions)
    assert (e1.prediction, e1.std, e1.base_value) == (e2.prediction, e2.std, e2.base_value)
    np.testing.assert_array_equal(steels_model.feature_importances_, loaded.feature_importances_)
    assert loaded.calibration_ == steels_model.calibration_
    assert loaded.domain_.threshold == steels_model.domain_.threshold


@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes_as_any_file_raise(saved, data) -> None:
    for name in ("metadata.json", "m1.json"):
        path = _copy(saved)
        try:
            (path / name).write_bytes(data)
            with pytest.raises(ModelFileError):
                PropertyModel.load(path)
        finally:
            shutil.rmtree(path.parent)
