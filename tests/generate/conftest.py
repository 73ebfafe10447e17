"""Fixtures for the generator tests: a small generator fitted on the real MPEA hardness set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA_DIR = Path(os.environ.get("MATOPT_DATA_DIR")
                or Path(__file__).resolve().parents[2].parent / "shared" / "data")


@pytest.fixture(scope="session")
def mpea():  # type: ignore[no-untyped-def]
    if not (DATA_DIR / "citrine_mpea_dataset.csv").is_file():
        pytest.skip(f"citrine_mpea_dataset.csv not found in {DATA_DIR} (set MATOPT_DATA_DIR)")
    import jupyter_matopt as mo

    return mo.load_dataset("mpea_hardness", data_dir=DATA_DIR)


@pytest.fixture(scope="session")
def gen(mpea):  # type: ignore[no-untyped-def]
    from jupyter_matopt.generate import CompositionGenerator

    # few steps: these tests check contracts, not sample quality (bench/generative.py does)
    return CompositionGenerator(kind="wae", n_steps=150, seed=0).fit(mpea)
