"""Fixtures for the featurizer tests: real compositions and matminer's reference features."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from features_helpers import matminer_magpie

# tests/features/conftest.py -> parents[2] is the repository; the data sit beside it.
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data"

# (file, column, how many rows): >= 1,000 real compositions including fractional alloys.
REAL_SETS = (
    ("matbench_expt_gap.csv", "composition", 600),  # inorganic compounds, 1-7 elements
    ("matbench_steels.csv", "composition", 312),  # all steels: 10-13 elements, tiny fractions
    ("citrine_mpea_dataset.csv", "FORMULA", 300),  # high-entropy alloys, "Al0.5 Co1 Fe1 Ni1"
)


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The shared datasets folder (``$MATOPT_DATA_DIR`` overrides the default)."""
    folder = Path(os.environ.get("MATOPT_DATA_DIR") or DEFAULT_DATA_DIR)
    missing = [f for f, _, _ in REAL_SETS if not (folder / f).is_file()]
    if missing:
        pytest.skip(
            f"real datasets {missing} not found in {folder}; set MATOPT_DATA_DIR to the "
            "shared/data folder to compare against matminer on real compositions"
        )
    return folder


@pytest.fixture(scope="session")
def real_formulas(real_data_dir: Path) -> list[str]:
    """1,212 distinct real formulas, read in place (never copied)."""
    out: list[str] = []
    for name, column, count in REAL_SETS:
        col = pd.read_csv(real_data_dir / name, usecols=[column])[column].dropna().astype(str)
        # evenly spaced distinct rows, so the sample covers the whole file
        distinct = col.drop_duplicates().to_list()
        step = max(1, len(distinct) // count)
        out.extend(distinct[::step][:count])
    return out


@pytest.fixture(scope="session")
def matminer_reference(real_formulas: list[str]) -> np.ndarray:
    """matminer's 132 Magpie features for ``real_formulas`` (slow: ~1-3 s)."""
    return matminer_magpie(real_formulas)
