"""The CrabNet DFT benchmark tasks as datasets with their official train/val/test splits.

Read in place from the shared data folder (skipped, naming it, when absent). The download
path is exercised against a real HTTP server on 127.0.0.1 serving a wheel built from the
same files (the published URL and sha256 are swapped for the local ones).
"""

from __future__ import annotations

import csv
import hashlib
import http.server
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_matopt.data import Dataset, DatasetError, crabnet, list_datasets, load_dataset

# name -> (folder, train, val, test) from shared/data/SOURCES.md
SPLIT_ROWS = {
    "oqmd_formation_enthalpy": ("OQMD_Formation_Enthalpy", 239190, 51255, 51255),
    "mp_e_hull": ("mp_e_hull", 39663, 8499, 8500),
    "critexam_ef": ("CritExam__Ef", 59509, 12752, 12753),
    "aflow_egap": ("aflow__Egap", 19330, 4125, 4122),
    "aflow_bulk_modulus": ("aflow__ael_bulk_modulus_vrh", 3428, 732, 736),
    "mp_bulk_modulus": ("mp_bulk_modulus", 4414, 946, 947),
}


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))[1:]


def test_registered_with_documented_sizes() -> None:
    table = list_datasets().set_index("name")
    for name, (_, *splits) in SPLIT_ROWS.items():
        assert table.loc[name, "rows"] == sum(splits), name
        assert table.loc[name, "task"] == "regression"
    assert table.loc["oqmd_formation_enthalpy", "units"] == "eV/atom"
    assert table.loc["aflow_bulk_modulus", "units"] == "GPa"


@pytest.mark.parametrize("name", ["aflow_bulk_modulus", "mp_bulk_modulus"])
def test_splits_are_the_files_in_order(name: str, data_dir: Path) -> None:
    folder, *counts = SPLIT_ROWS[name]
    ds = load_dataset(name, data_dir=data_dir)
    assert isinstance(ds, Dataset) and ds.task == "regression"
    assert ds.attrs["splits"] == dict(zip(("train", "val", "test"), counts, strict=True))
    assert ds.target == "bulk_modulus" and ds.units == "GPa"
    assert ds.composition_col == "formula" and len(ds.bad_rows) == 0
    for split in ("train", "val", "test"):
        part = ds.frame.loc[ds.frame["split"] == split]
        rows = _rows(data_dir / "crabnet_benchmark" / folder / f"{split}.csv")
        assert part["formula"].tolist() == [r[0] for r in rows]
        assert part["bulk_modulus"].tolist() == pytest.approx([float(r[1]) for r in rows])
    assert "Wang" in ds.citation and "score test" in ds.description


def test_aliases_and_folder_forms(data_dir: Path) -> None:
    bench = data_dir / "crabnet_benchmark"
    a = load_dataset("aflow__ael_bulk_modulus_vrh", data_dir=bench)  # the folder's own name
    b = load_dataset("AFLOW_BULK_MODULUS", data_dir=bench / "aflow__ael_bulk_modulus_vrh")
    assert a.name == b.name == "aflow_bulk_modulus"
    assert a.frame.equals(b.frame)
    assert load_dataset("aflow_bulk_modulus", data_dir=bench, target="target").target == (
        "bulk_modulus"
    )
    with pytest.raises(DatasetError, match="one target, 'bulk_modulus'"):
        load_dataset("aflow_bulk_modulus", data_dir=bench, target="band_gap")


def test_explicit_data_dir_without_the_files_never_downloads(
    tmp_path: Path, no_network: list[object]
) -> None:
    with pytest.raises(DatasetError) as info:
        load_dataset("mp_e_hull", data_dir=tmp_path)
    assert "data_dir=" in str(info.value) and "MATOPT_DATA_DIR" in str(info.value)
    assert no_network == []


def test_offline_gives_one_line_error(isolated_env: Path, no_network: list[object]) -> None:
    with pytest.raises(DatasetError) as info:
        load_dataset("mp_bulk_modulus", timeout=2)
    message = str(info.value)
    assert "\n" not in message
    assert "data_dir=" in message and "MATOPT_DATA_DIR" in message and "crabnet" in message
    assert no_network  # it did try the public copy
    with pytest.raises(DatasetError, match="download=False"):
        load_dataset("mp_bulk_modulus", download=False)


@pytest.fixture
def wheel_server(data_dir: Path, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A wheel laid out like crabnet 2.0.8's, served over HTTP on 127.0.0.1."""
    root = tmp_path / "www"
    root.mkdir()
    wheel = root / "crabnet-2.0.8-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for task in crabnet.CRABNET_TASKS.values():
            for split in crabnet.SPLITS:
                src = data_dir / "crabnet_benchmark" / task.folder / f"{split}.csv"
                if task.folder == "OQMD_Formation_Enthalpy":
                    zf.writestr(f"crabnet/data/benchmark_data/{task.folder}/{split}.csv", "")
                else:
                    zf.write(src, f"crabnet/data/benchmark_data/{task.folder}/{split}.csv")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[misc]

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{wheel.name}", digest
    finally:
        server.shutdown()
        thread.join()


def test_download_checks_and_caches(
    wheel_server: tuple[str, str], isolated_env: Path, monkeypatch: pytest.MonkeyPatch,
    data_dir: Path,
) -> None:  # fmt: skip
    url, digest = wheel_server
    monkeypatch.setattr(crabnet, "WHEEL_URL", url)
    monkeypatch.setattr(crabnet, "WHEEL_SHA256", "0" * 64)
    with pytest.raises(DatasetError, match="sha256"):
        load_dataset("mp_bulk_modulus")
    assert not (isolated_env / "crabnet_benchmark").exists()  # nothing half-written kept
    monkeypatch.setattr(crabnet, "WHEEL_SHA256", digest)
    ds = load_dataset("mp_bulk_modulus")
    cached = isolated_env / "crabnet_benchmark" / "mp_bulk_modulus"
    assert ds.source == str(cached) and len(ds) == sum(SPLIT_ROWS["mp_bulk_modulus"][1:])
    assert sorted(p.name for p in cached.iterdir()) == ["test.csv", "train.csv", "val.csv"]
    assert not list(isolated_env.glob("*.whl")) and not list(isolated_env.glob(".crabnet-*"))
    monkeypatch.setattr(crabnet, "WHEEL_URL", url + ".gone")  # a second load reads the cache
    again = load_dataset("mp_bulk_modulus")
    assert again.frame.equals(ds.frame)
    local = load_dataset("mp_bulk_modulus", data_dir=data_dir)
    assert local.frame[["formula", "bulk_modulus", "split"]].equals(
        again.frame[["formula", "bulk_modulus", "split"]]
    )
