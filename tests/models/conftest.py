"""Fixtures for the model tests: real data when present, small fast model settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: Few, shallow trees: the tests check behaviour, not accuracy, and must stay fast.
FAST = {"n_estimators": 40, "max_depth": 3}


def models_data_dir() -> Path:
    """``../shared/data`` beside the checkout, or ``$MATOPT_DATA_DIR``."""
    env = os.environ.get("MATOPT_DATA_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_path() -> Path:
    path = models_data_dir()
    if not (path / "matbench_steels.csv").is_file():
        pytest.skip(
            f"real datasets not found in {path} (needs matbench_steels.csv; set MATOPT_DATA_DIR "
            "to the shared/data folder)"
        )
    return path


@pytest.fixture(scope="session")
def steels(data_path: Path):  # type: ignore[no-untyped-def]
    from jupyter_matopt.data import load_dataset

    return load_dataset("matbench_steels", data_dir=data_path)


@pytest.fixture(scope="session")
def steels_model(steels):  # type: ignore[no-untyped-def]
    from jupyter_matopt.models import PropertyModel

    return PropertyModel(n_ensemble=3, params=FAST, seed=0).fit(steels)


@pytest.fixture(scope="session")
def enthalpy():  # type: ignore[no-untyped-def]
    """Data-free: 2,135 experimental formation enthalpies shipped inside pymatgen."""
    from jupyter_matopt.data import load_dataset

    return load_dataset("expt_formation_enthalpy")


@pytest.fixture(scope="session")
def enthalpy_model(enthalpy):  # type: ignore[no-untyped-def]
    from jupyter_matopt.models import PropertyModel

    return PropertyModel(n_ensemble=2, params=FAST, calibrate=False).fit(
        enthalpy.subset(range(600))
    )


@pytest.fixture(scope="session")
def metal(data_path: Path):  # type: ignore[no-untyped-def]
    from jupyter_matopt.data import load_dataset

    ds = load_dataset("matbench_expt_is_metal", data_dir=data_path)
    return ds.subset(range(0, len(ds), 6))  # ~820 rows, both classes


@pytest.fixture(scope="session")
def metal_model(metal):  # type: ignore[no-untyped-def]
    from jupyter_matopt.models import PropertyModel

    return PropertyModel(n_ensemble=2, params=FAST).fit(metal)
