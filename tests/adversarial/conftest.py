"""Shared pieces of the hostile-input suite: one small real model, fitted once."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def small_model():  # type: ignore[no-untyped-def]
    """A small real PropertyModel (data-free: formation enthalpies shipped inside pymatgen)."""
    from jupyter_matopt.data import load_dataset
    from jupyter_matopt.models import PropertyModel

    ds = load_dataset("expt_formation_enthalpy").subset(range(150))
    return PropertyModel(n_ensemble=2, params={"n_estimators": 4, "max_depth": 3},
                         calibrate=False, seed=0).fit(ds)
