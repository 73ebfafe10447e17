"""Saving attention and stacked models: exact round trip, no pickle, tampering refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from jupyter_matopt.models import ModelFileError, PropertyModel


def _load_rehash():
    # the one tamperer's rehash helper of the model tests (tests/models is not a package)
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "models" / "models_helpers.py"
    spec = importlib.util.spec_from_file_location("_models_helpers_for_deep", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.rehash


rehash = _load_rehash()

PROBE = ["Fe0.7Cr0.2Ni0.1", "Fe0.6Ni0.3Co0.1", "Fe0.8Cr0.1Mo0.1"]


def _same(a, b) -> None:
    m1, s1 = a.predict(PROBE, return_std=True)
    m2, s2 = b.predict(PROBE, return_std=True)
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(s1, s2)
    e1, e2 = a.explain(PROBE[0]), b.explain(PROBE[0])
    np.testing.assert_array_equal(e1.element_contributions, e2.element_contributions)
    assert e1.base_value == e2.base_value


@pytest.mark.parametrize("suffix", ["", ".zip"])
def test_round_trip_is_exact(attention_model, tmp_path, suffix):
    path = attention_model.save(tmp_path / f"att{suffix}")
    loaded = PropertyModel.load(path)
    assert loaded.backend_name_ == "attention"
    _same(attention_model, loaded)
    if not suffix:
        names = sorted(p.name for p in Path(path).iterdir())
        assert "backend.safetensors" in names
        assert not [n for n in names if n.endswith((".pkl", ".pickle", ".pt", ".joblib"))]
        meta = json.loads((Path(path) / "metadata.json").read_text())
        assert meta["backend_state"]["n_members"] == 2


def test_tampered_weights_raise_model_file_error(attention_model, tmp_path):
    path = Path(attention_model.save(tmp_path / "att"))
    weights = path / "backend.safetensors"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF  # flip bits in the last tensor's values
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="sha256"):
        PropertyModel.load(path)
    # a deliberate tamperer who edits a weight and fixes the hashes: the networks no longer
    # reproduce the predictions stored at save time
    from safetensors.numpy import load, save

    arrays = load(bytes(data))
    last = sorted(k for k in arrays if k.startswith("m0.head.") and k.endswith(".bias"))[-1]
    arrays[last] = arrays[last] + np.float32(0.5)
    weights.write_bytes(save(arrays))
    rehash(path)
    with pytest.raises(ModelFileError, match="reproduce"):
        PropertyModel.load(path)


def test_damaged_header_and_inconsistent_state_raise_model_file_error(attention_model,
                                                                      tmp_path):
    path = Path(attention_model.save(tmp_path / "att"))
    weights = path / "backend.safetensors"
    good = weights.read_bytes()
    weights.write_bytes(b"\xff" * 8 + good[8:])  # header length beyond the file
    rehash(path)
    with pytest.raises(ModelFileError):
        PropertyModel.load(path)
    weights.write_bytes(good)
    rehash(path, lambda meta: meta["backend_state"].update(n_members=3))
    with pytest.raises(ModelFileError):
        PropertyModel.load(path)


def test_stack_round_trip(small_steels, tmp_path):
    sub = small_steels.subset(np.arange(30))
    params = {"attention": {"epochs": 2}, "xgboost": {"n_estimators": 10}, "weight": 0.3}
    m = PropertyModel(backend="stack", n_ensemble=2, params=params, calibrate=False).fit(sub)
    loaded = PropertyModel.load(m.save(tmp_path / "stack"))
    assert loaded.backend_.weight == 0.3
    _same(m, loaded)


def test_zero_inflated_attention_round_trip(tmp_path):
    # band-gap-like target: a point mass at 0 makes the façade train two attention ensembles
    rng = np.random.default_rng(4)
    a = rng.uniform(0.05, 0.95, 60)
    comps = [f"Ga{x:.3f}N{1 - x:.3f}" for x in a]
    y = np.where(a < 0.45, 0.0, 3.0 * a)
    m = PropertyModel(backend="attention", n_ensemble=2, params={"epochs": 2},
                      calibrate=False, zero_inflated=True).fit(comps, y)
    assert m.zero_inflated_
    loaded = PropertyModel.load(m.save(tmp_path / "zi"))
    assert loaded.zero_inflated_ and loaded.zero_backend_.n_members == 2
    probe = ["Ga0.3N0.7", "Ga0.8N0.2"]
    for a_, b_ in zip(m.predict(probe, return_std=True), loaded.predict(probe, return_std=True),
                      strict=True):
        np.testing.assert_array_equal(a_, b_)
