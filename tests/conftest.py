"""Shared fixtures: where the real datasets live, and a skip that says so when they don't."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """../shared/data beside the checkout, or $MATOPT_DATA_DIR."""
    env = os.environ.get("MATOPT_DATA_DIR")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = shared_data_dir()
    if not (path / "matbench_steels.csv").is_file():
        pytest.skip(
            f"real datasets not found in {path} (set MATOPT_DATA_DIR to the shared/data folder)"
        )
    return path
