"""load_dataset / list_datasets against the real files, offline."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jupyter_matopt.data import Dataset, DatasetError, list_datasets, load_dataset
from jupyter_matopt.data.matbench import mbids

MATBENCH = {
    # task: (target, rows, units, task type)
    "steels": ("yield strength", 312, "MPa", "regression"),
    "expt_gap": ("gap expt", 4604, "eV", "regression"),
    "expt_is_metal": ("is_metal", 4921, "", "classification"),
    "glass": ("gfa", 5680, "", "classification"),
}


def _csv_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


# ----------------------------------------------------------------- list_datasets


def test_list_datasets_reads_nothing() -> None:
    table = list_datasets()
    for col in ("name", "rows", "target", "units", "task", "source", "offline"):
        assert col in table.columns
    by_name = table.set_index("name")
    assert by_name.loc["ricci_transport", "rows"] == 47737
    assert bool(by_name.loc["ricci_transport", "offline"])
    assert bool(by_name.loc["expt_formation_enthalpy", "offline"])
    assert not bool(by_name.loc["matbench_steels", "offline"])
    assert by_name.loc["matbench_expt_is_metal", "task"] == "classification"


def test_unknown_name_suggests(no_network: list[object]) -> None:
    with pytest.raises(DatasetError, match=r"matbench_stels.*Did you mean 'matbench_steels'"):
        load_dataset("matbench_stels")


# ------------------------------------------------------------------- built-ins


def test_ricci_transport(no_network: list[object]) -> None:
    ds = load_dataset("ricci_transport")
    assert len(ds) == 47737
    assert ds.frame["pretty_formula"].nunique() == 34631
    # F and F2 are the same reduced composition, so one group fewer than formula strings.
    assert len(np.unique(ds.groups)) == 34630
    assert ds.target == "S_p" and ds.units == "µV/K" and ds.task == "regression"
    assert "Ricci" in ds.citation and "10.1038/sdata.2017.85" in ds.citation
    assert "Ward" in ds.citation  # matminer paper
    assert np.isfinite(ds.y).all()

    # Cached per process, and callers cannot corrupt the cache.
    ds.frame.loc[ds.frame.index[0], "S_p"] = 1e9
    again = load_dataset("mp_transport")
    assert again.y[0] != 1e9
    assert no_network == []


@pytest.mark.parametrize(
    ("friendly", "column", "unit_part"),
    [
        ("seebeck_p", "S_p", "µV/K"),
        ("seebeck_n", "S_n", "µV/K"),
        ("cond_p", "sigma_p", "Ω"),
        ("pf_n", "PF_n", "K²"),
        ("m_p", "m_p", "m_e"),
        ("kappa_n", "kappa_n", ""),
        ("PF_p", "PF_p", "K²"),
    ],
)
def test_ricci_targets(friendly: str, column: str, unit_part: str) -> None:
    ds = load_dataset("ricci_transport", target=friendly)
    assert ds.target == column and unit_part in ds.units and len(ds) == 47737


def test_ricci_unknown_target_lists_names() -> None:
    with pytest.raises(DatasetError, match=r"'zT'.*seebeck_p"):
        load_dataset("ricci_transport", target="zT")


def test_expt_formation_enthalpy(no_network: list[object]) -> None:
    ds = load_dataset("expt_formation_enthalpy")
    assert len(ds) == 2135 and ds.units == "eV/atom"
    row = ds.frame.set_index("formula").loc["NaCl"]
    # -411.3 kJ/mol per NaCl formula unit = -4.263 eV, i.e. -2.131 eV/atom.
    assert row["formation_enthalpy_per_fu"] == pytest.approx(-4.2628, abs=1e-3)
    assert row["formation_enthalpy"] == pytest.approx(-2.1314, abs=1e-3)
    per_fu = load_dataset("expt_formation_enthalpy", target="per_fu")
    assert per_fu.target == "formation_enthalpy_per_fu" and per_fu.units == "eV/formula unit"
    assert "10.1038/s41598-021-94550-5" in ds.citation


# ---------------------------------------------------------------------- matbench


@pytest.mark.parametrize("task", list(MATBENCH))
def test_matbench_from_data_dir(task: str, data_dir: Path, no_network: list[object]) -> None:
    target, rows, units, kind = MATBENCH[task]
    ds = load_dataset(f"matbench_{task}", data_dir=data_dir)
    file_rows = _csv_rows(data_dir / f"matbench_{task}.csv")
    assert file_rows[0] == ["composition", target]
    body = file_rows[1:]
    assert len(ds) == rows == len(body)
    # Published order and text kept exactly: the official folds depend on it.
    assert ds.compositions[0] == body[0][0]
    assert ds.compositions == [r[0] for r in body]
    assert np.array_equal(ds.y, np.array([float(r[1]) for r in body]))
    assert list(ds.frame["mbid"]) == mbids(task, rows)
    assert ds.frame["mbid"].iloc[0] == f"mb-{task.replace('_', '-')}-{1:0{len(str(rows))}d}"
    assert ds.target == target and ds.units == units and ds.task == kind
    assert "Dunn" in ds.citation
    assert no_network == []


def test_matbench_class_balance(data_dir: Path) -> None:
    assert load_dataset("matbench_expt_is_metal", data_dir=data_dir).y.mean() == pytest.approx(
        0.4981, abs=1e-4
    )
    assert load_dataset("matbench_glass", data_dir=data_dir).y.mean() == pytest.approx(
        0.7104, abs=1e-4
    )


def test_matbench_steels_mbid_example(data_dir: Path) -> None:
    ds = load_dataset("matbench_steels", data_dir=data_dir)
    assert ds.frame["mbid"].iloc[0] == "mb-steels-001"
    assert ds.frame["mbid"].iloc[-1] == "mb-steels-312"


def test_matbench_missing_file_names_path_and_options(
    tmp_path: Path, no_network: list[object]
) -> None:
    with pytest.raises(DatasetError) as info:
        load_dataset("matbench_steels", data_dir=tmp_path)
    text = str(info.value)
    assert str(tmp_path / "matbench_steels.csv") in text
    assert "data_dir=" in text and "MATOPT_DATA_DIR" in text
    assert no_network == []  # an explicit data_dir never falls back to a download


def test_missing_data_dir_is_named(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"nowhere.*does not exist"):
        load_dataset("sysTEm", data_dir=tmp_path / "nowhere")


def test_env_data_dir_is_the_default(
    data_dir: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch, no_network: list[object]
) -> None:
    monkeypatch.setenv("MATOPT_DATA_DIR", str(data_dir))
    assert len(load_dataset("matbench_steels")) == 312
    assert no_network == []


def test_data_dir_may_be_the_file(data_dir: Path) -> None:
    assert len(load_dataset("matbench_steels", data_dir=data_dir / "matbench_steels.csv")) == 312
    with pytest.raises(DatasetError, match="matbench_glass.csv"):
        load_dataset("matbench_glass", data_dir=data_dir / "matbench_steels.csv")


def test_matbench_csv_in_cache(isolated_env: Path, no_network: list[object]) -> None:
    isolated_env.mkdir(parents=True)
    (isolated_env / "matbench_steels.csv").write_text(
        "composition,yield strength\nFe0.9C0.1,1500.5\nFe0.8Ni0.2,1200\n"
    )
    ds = load_dataset("matbench_steels")
    assert ds.compositions == ["Fe0.9C0.1", "Fe0.8Ni0.2"]
    assert list(ds.frame["mbid"]) == ["mb-steels-1", "mb-steels-2"]
    assert no_network == []


def test_matbench_matminer_file_in_cache(isolated_env: Path, no_network: list[object]) -> None:
    from matminer.utils.io import store_dataframe_as_json

    isolated_env.mkdir(parents=True)
    df = pd.DataFrame({"composition": ["Cu", "SiO2", "NaN"], "is_metal": [True, False, False]})
    store_dataframe_as_json(
        df, str(isolated_env / "matbench_expt_is_metal.json.gz"), compression="gz"
    )
    ds = load_dataset("matbench_expt_is_metal")
    assert ds.compositions == ["Cu", "SiO2", "NaN"]
    assert list(ds.y) == [1, 0, 0] and ds.task == "classification"
    assert no_network == []


def test_matbench_download_failure_is_clear(
    isolated_env: Path, no_network: list[object], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(DatasetError) as info:
        load_dataset("matbench_glass", timeout=2)
    text = str(info.value)
    assert "matbench_glass" in text and "data_dir=" in text and "MATOPT_DATA_DIR" in text
    assert str(isolated_env / "matbench_glass.csv") in text
    assert "fetching" in capsys.readouterr().out  # says what it fetches
    assert no_network  # it did try, through the blocked socket
    # No partial download is left behind to be mistaken for data later.
    assert not list(isolated_env.glob("*.json.gz"))


def test_matbench_download_false(isolated_env: Path, no_network: list[object]) -> None:
    with pytest.raises(DatasetError, match="download=False"):
        load_dataset("matbench_glass", download=False)
    assert no_network == []


def test_matbench_has_one_target(data_dir: Path) -> None:
    with pytest.raises(DatasetError, match="one target"):
        load_dataset("matbench_steels", data_dir=data_dir, target="hardness")


# ------------------------------------------------------------------ experimental


def test_thermoelectric_system(data_dir: Path, no_network: list[object]) -> None:
    ds = load_dataset("sysTEm", data_dir=data_dir)
    assert ds.name == "thermoelectric_sysTEm"
    raw = pd.read_csv(data_dir / "thermoelectric_sysTEm_dataset.csv")
    stoich = raw[raw["Type of Formula"] != "Mixed Formula"]
    assert ds.attrs["n_mixed_formula_dropped"] == 249 == len(raw) - len(stoich)
    assert len(ds) == stoich["zT"].notna().sum() == 7742
    assert ds.target == "zT" and ds.conditions == ["temperature"]
    assert ds.X_conditions["temperature"].between(10, 1275).all()
    assert not np.isnan(ds.y).any()
    assert "249" in ds.description
    assert "Tang" in ds.citation and "Gaultois" in ds.citation and "Na" in ds.citation
    # A composition and its scaled form share a group.
    assert len(np.unique(ds.groups)) < ds.frame["composition"].nunique() + 1

    seebeck = load_dataset("thermoelectric_sysTEm", data_dir=data_dir, target="seebeck")
    assert seebeck.units == "µV/K"
    assert len(seebeck) == stoich["Seebeck Coefficient (µV/K)"].notna().sum()
    for name in ("conductivity", "power_factor", "kappa"):
        assert load_dataset("sysTEm", data_dir=data_dir, target=name).target == name
    assert no_network == []


def test_mpea(data_dir: Path, no_network: list[object]) -> None:
    hv = load_dataset("mpea", data_dir=data_dir)
    assert hv.name == "mpea_hardness" and len(hv) == 530 and hv.units == "HV"
    assert "Borg" in hv.citation
    assert hv.frame["composition"].iloc[0] == "Al0.25 Co1 Fe1 Ni1"

    ys = load_dataset("mpea_yield", data_dir=data_dir)
    assert len(ys) == 722 and ys.units == "MPa"
    assert ys.frame["test_temperature"].between(15, 30).all()
    assert set(ys.frame["test_type"]) == {"C", "T"}
    compression = ys.subset(ys.frame["test_type"] == "C")
    assert len(compression) == 435
    with_type = ys.with_conditions(["test_type", "processing"])
    assert list(with_type.X_conditions.columns) == ["test_type", "processing"]

    hot = load_dataset("mpea_yield_temperature", data_dir=data_dir)
    assert len(hot) == 1067 and hot.conditions == ["test_temperature"]
    assert no_network == []


def test_missing_experimental_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as info:
        load_dataset("mpea_yield", data_dir=tmp_path)
    assert str(tmp_path / "citrine_mpea_dataset.csv") in str(info.value)
    assert "data_dir=" in str(info.value)


def test_every_registered_dataset_has_citation_and_rows(data_dir: Path) -> None:
    for row in list_datasets().itertuples():
        ds = load_dataset(row.name, data_dir=data_dir)
        assert isinstance(ds, Dataset)
        assert len(ds) == row.rows, row.name
        assert ds.citation and ds.target == row.target and ds.units == row.units


# ---------------------------------------------------------------------- imports


def test_import_is_light() -> None:
    code = (
        "import sys, jupyter_matopt.data as d; "
        "bad = [m for m in ('IPython', 'ipywidgets', 'anywidget', 'nglview', 'matminer', "
        "'pymatgen') if m in sys.modules]; print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
