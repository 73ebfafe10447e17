"""Small real attention models for the deep tests (a few epochs: seconds, not minutes).

Only PyTorch itself may be missing (the ``deep`` extra); then these tests are skipped and
say which extra to install.
"""

from __future__ import annotations

import numpy as np
import pytest

_HINT = 'pip install "jupyter_matopt[deep]"'
pytest.importorskip("torch", reason=f"PyTorch not installed: {_HINT}")
pytest.importorskip("safetensors", reason=f"safetensors not installed: {_HINT}")

#: Tiny training: enough to make the networks differ from their initialization.
TINY = {"epochs": 3}


@pytest.fixture(scope="session")
def steels(data_dir):
    from jupyter_matopt.data import load_dataset

    return load_dataset("matbench_steels", data_dir=data_dir)


@pytest.fixture(scope="session")
def small_steels(steels):
    rng = np.random.default_rng(0)
    return steels.subset(np.sort(rng.choice(len(steels), 60, replace=False)))


@pytest.fixture(scope="session")
def attention_model(small_steels):
    from jupyter_matopt.models import PropertyModel

    return PropertyModel(backend="attention", n_ensemble=2, seed=0, params=TINY,
                         calibrate=False).fit(small_steels)
