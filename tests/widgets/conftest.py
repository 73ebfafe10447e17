"""A small real model for the widget tests: PropertyModel on matbench_steels (312 rows)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def steels(data_dir):
    from jupyter_matopt.data import load_dataset

    return load_dataset("matbench_steels", data_dir=data_dir)


@pytest.fixture(scope="session")
def steel_model(steels):
    from jupyter_matopt import models

    # few, shallow members keep the fit to a couple of seconds; the widgets only need a
    # real fitted model with std, domain and explanations
    model = models.PropertyModel(n_ensemble=3, seed=0, params={"n_estimators": 60},
                                 calibrate=False)
    return model.fit(steels)
