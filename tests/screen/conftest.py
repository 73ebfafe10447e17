"""Fixtures of the screening tests: real PropertyModels on real data, a small stand-in model
for the unit-level merge logic, and brute-force references."""

from __future__ import annotations

from typing import Any

import pytest
from screen_helpers import FAST, LinearModel

from jupyter_matopt import CompositionSpace, load_dataset


@pytest.fixture
def linear() -> LinearModel:
    return LinearModel({"Fe": 1.0, "Cr": 3.0, "Ni": 2.0, "Co": -1.0, "Mo": 5.0},
                       {"Fe": 0.1, "Cr": 0.5, "Ni": 0.2, "Co": 0.9, "Mo": 0.4},
                       dom_min=0.7)


@pytest.fixture
def small_space() -> CompositionSpace:
    """A 5-element steel-like grid of a few thousand points."""
    return CompositionSpace({"Fe": (0.55, 0.9), "Cr": (0.0, 0.25), "Ni": (0.0, 0.2),
                             "Co": (0.0, 0.2), "Mo": (0.0, 0.08)}, step=0.02)


@pytest.fixture(scope="session")
def steel_model(data_dir: Any) -> Any:
    from jupyter_matopt.models import PropertyModel

    ds = load_dataset("matbench_steels", data_dir=data_dir)
    return PropertyModel(seed=0, **FAST).fit(ds)


@pytest.fixture(scope="session")
def hardness_model(data_dir: Any) -> Any:
    """Vickers hardness of multi-principal-element alloys: a second, conflicting property."""
    from jupyter_matopt.models import PropertyModel

    ds = load_dataset("mpea_hardness", data_dir=data_dir)
    return PropertyModel(seed=1, **FAST).fit(ds)
