"""Every formula of the shared real datasets parses like pymatgen parses it."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pandas as pd
import pytest
from pymatgen.core import Composition

from jupyter_matopt.core import parse_composition, parse_compositions


def shared_data_dir() -> Path:
    """``../shared/data`` beside the checkout, or ``$MATOPT_DATA_DIR``."""
    env = os.environ.get("MATOPT_DATA_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.mark.parametrize(
    ("file", "column"),
    [("matbench_expt_gap.csv", "composition"), ("citrine_mpea_dataset.csv", "FORMULA")],
)
def test_dataset_formulas_agree_with_pymatgen(file: str, column: str) -> None:
    path = shared_data_dir() / file
    if not path.is_file():
        pytest.skip(f"{path} not found (set MATOPT_DATA_DIR to the shared/data folder)")
    formulas = pd.read_csv(path, usecols=[column])[column]
    assert len(formulas) > 1000
    parsed = parse_compositions(formulas)  # raises, naming the rows, if any is rejected
    assert isinstance(parsed, list) and len(parsed) == len(formulas)
    mismatches = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for formula, ours in zip(formulas, parsed, strict=True):
            comp = Composition(formula).fractional_composition
            ref = {str(el): float(v) for el, v in comp.items()}
            if set(ours) != set(ref) or any(abs(ours[el] - v) > 1e-12 for el, v in ref.items()):
                mismatches.append((formula, ours, ref))
    assert not mismatches, mismatches[:5]
    assert parse_composition(formulas.iloc[0]) == parsed[0]
