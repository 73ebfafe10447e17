"""load_pool: BO benchmark pools grouped as in Liang et al. (2021)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jupyter_matopt.data import DatasetError, Pool, list_pools, load_pool

# name: (file, unique inputs, direction, raw rows) from SOURCES.md section 2
POOLS = {
    "crossed_barrel": ("pvlab_bo_crossed_barrel.csv", 600, "max", 1800),
    "agnp": ("pvlab_bo_AgNP.csv", 164, "min", 3295),
    "autoam": ("pvlab_bo_AutoAM.csv", 100, "max", 100),
}


@pytest.mark.parametrize("name", list(POOLS))
def test_pool_sizes_and_direction(name: str, data_dir: Path, no_network: list[object]) -> None:
    filename, unique, direction, raw_rows = POOLS[name]
    pool = load_pool(name, data_dir=data_dir)
    raw = pd.read_csv(data_dir / filename)
    assert len(pool) == unique and len(pool.raw) == raw_rows
    assert pool.direction == direction
    assert pool.inputs == list(raw.columns[:-1]) and pool.objective == raw.columns[-1]
    assert pool.X.shape == (unique, len(pool.inputs)) and pool.y.shape == (unique,)
    assert int(pool.frame["n_measurements"].sum()) == raw_rows
    # Same grouping as the benchmark notebooks: mean of the distinct values per input.
    expected = raw.groupby(pool.inputs)[pool.objective].agg(lambda x: x.unique().mean())
    assert np.allclose(pool.y, expected.to_numpy())
    assert "Liang" in pool.citation
    assert no_network == []


def test_crossed_barrel_top_five_percent(data_dir: Path) -> None:
    pool = load_pool("Crossed Barrel", data_dir=data_dir)
    top = pool.top_indices()
    assert len(top) == math.ceil(0.05 * 600) == 30
    assert pool.y[top[0]] == pool.best == pool.y.max()
    assert pool.y[top].min() >= np.sort(pool.y)[-30]


def test_minimized_pool_best_is_minimum(data_dir: Path) -> None:
    pool = load_pool("agnp", data_dir=data_dir)
    assert pool.best == pool.y.min() == pool.y[pool.top_indices()[0]]


@pytest.mark.parametrize(
    ("name", "filename"),
    [("p3ht", "pvlab_bo_P3HT_CNT.csv"), ("perovskite", "pvlab_bo_perovskite.csv")],
)
def test_held_out_pools_are_mapped_but_absent(name: str, filename: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as info:
        load_pool(name, data_dir=tmp_path)
    assert str(tmp_path / filename) in str(info.value)
    assert "load_pool" in str(info.value) and "MATOPT_DATA_DIR" in str(info.value)


def test_unknown_pool() -> None:
    with pytest.raises(DatasetError, match="crossed_barrel"):
        load_pool("crossed_barel")


def test_list_pools() -> None:
    table = list_pools().set_index("name")
    assert table.loc["p3ht", "direction"] == "max" and table.loc["perovskite", "direction"] == "min"
    assert table.loc["crossed_barrel", "unique"] == 600


def test_pool_from_frame_checks_columns() -> None:
    raw = pd.DataFrame({"a": [1, 1, 2], "b": [0.5, 0.7, 0.1]})
    pool = Pool.from_frame(raw, direction="min")
    assert len(pool) == 2 and pool.y[0] == pytest.approx(0.6)
    with pytest.raises(DatasetError, match="direction"):
        Pool.from_frame(raw, direction="up")  # type: ignore[arg-type]
    with pytest.raises(DatasetError, match="available columns"):
        Pool.from_frame(raw, objective="c", direction="max")
