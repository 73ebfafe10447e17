"""The shipped OQMD-pretrained network: card, integrity, fine-tuning."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from jupyter_matopt.models import ModelError, ModelFileError, PropertyModel
from jupyter_matopt.models.backends.attention import PRETRAINED, load_pretrained
from jupyter_matopt.models.deep import _io


def test_card_matches_the_weights_and_stays_small():
    path = _io.PRETRAINED_DIR / PRETRAINED["formation_enthalpy"]
    card = json.loads(path.with_suffix(".json").read_text())
    data = path.read_bytes()
    assert card["sha256"] == _io.sha256_bytes(data) and card["bytes"] == len(data)
    assert len(data) < 5 * 2**20  # "a few MB at most"
    for key in ("script", "seed", "train_config", "data", "metrics"):
        assert key in card
    assert card["metrics"]["test_mae_eV_per_atom"] > 0
    state, meta = load_pretrained("formation_enthalpy")
    assert meta["config"] == card["config"] and "table" in state


def test_fine_tuning_starts_from_the_pretrained_encoder(small_steels, tmp_path):
    state, _ = load_pretrained("formation_enthalpy")
    sub = small_steels.subset(np.arange(30))
    tuned = PropertyModel(backend="attention", pretrained="formation_enthalpy", n_ensemble=1,
                          calibrate=False, params={"epochs": 1}).fit(sub)
    scratch = PropertyModel(backend="attention", n_ensemble=1, calibrate=False,
                            params={"epochs": 1}).fit(sub)

    def corr(model) -> float:
        w = model.backend_.members[0].state_dict()["proj.weight"].numpy().ravel()
        return float(np.corrcoef(w, state["proj.weight"].numpy().ravel())[0, 1])

    assert corr(tuned) > 0.9 and abs(corr(scratch)) < 0.3
    assert tuned.backend_.resolved["lr"] == 1e-3  # fine-tuning default
    exp = tuned.explain("Fe0.7Cr0.2Ni0.1")
    assert exp.per_element.sum() == pytest.approx(exp.prediction - exp.base_value, abs=1e-6)
    # the option is kept in the model file; the saved weights no longer need the shipped ones
    loaded = PropertyModel.load(tuned.save(tmp_path / "tuned"))
    assert loaded.pretrained == "formation_enthalpy"
    np.testing.assert_array_equal(loaded.predict(["Fe0.7Cr0.2Ni0.1"]),
                                  tuned.predict(["Fe0.7Cr0.2Ni0.1"]))
    with pytest.raises(ModelError, match="applies to the attention"):
        PropertyModel(pretrained="formation_enthalpy").fit(sub)


def test_a_modified_pretrained_file_is_refused(tmp_path, monkeypatch):
    for name in ("formation_enthalpy.safetensors", "formation_enthalpy.json"):
        shutil.copy(_io.PRETRAINED_DIR / name, tmp_path / name)
    weights = tmp_path / "formation_enthalpy.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01
    weights.write_bytes(bytes(data))
    monkeypatch.setattr(_io, "PRETRAINED_DIR", tmp_path)
    with pytest.raises(ModelFileError, match="sha256"):
        load_pretrained("formation_enthalpy")
