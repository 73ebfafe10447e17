"""Large DFT composition datasets: the CrabNet benchmark tasks with their official splits.

Each task is three CSVs (``formula,target``) in ``crabnet_benchmark/<folder>/{train,val,test}
.csv``: the train/validation/test splits of Wang et al., npj Comput. Mater. 7, 77 (2021).
They load as one :class:`Dataset` with a ``split`` column (``"train"``, ``"val"``,
``"test"``); train on train (and val), score test once.

Where the files come from, in order: ``data_dir`` only, when given; else
``$MATOPT_DATA_DIR``, then the cache folder (each holding ``crabnet_benchmark/<folder>/`` or
``<folder>/``); else, when downloading is allowed, the stable public copy: the files inside
the ``crabnet==2.0.8`` wheel on PyPI (an immutable release file, checked against its
published sha256). The wheel (35 MB) is fetched once, the benchmark CSVs are extracted into
``<cache>/crabnet_benchmark/`` and the wheel is deleted. Offline, the error says to pass
``data_dir=`` or set ``MATOPT_DATA_DIR``.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ._errors import DatasetError
from ._paths import DATA_DIR_ENV, Lookup, read_csv_keep_formulas

__all__ = ["CRABNET_TASKS", "CrabnetTask", "read_crabnet_frame", "SPLITS"]

SPLITS = ("train", "val", "test")
WHEEL_URL = (
    "https://files.pythonhosted.org/packages/7d/66/"
    "2b1c538d419b62c67226ee02d01167a3721e3f2b127fe10726b7383ef834/crabnet-2.0.8-py3-none-any.whl"
)
WHEEL_SHA256 = "4901565abaa5b4cd1a7841b9de647a3906df21676b226a7abf972d113f92054a"
_WHEEL_PREFIX = "crabnet/data/benchmark_data/"
FOLDER = "crabnet_benchmark"

_CRABNET = (
    "A. Y.-T. Wang, R. J. Murdock, S. K. Kauwe, T. D. Sparks, Compositionally restricted "
    "attention-based network for materials property predictions, npj Comput. Mater. 7, 77 "
    "(2021), doi:10.1038/s41524-021-00545-1 (splits)"
)
_MP = "A. Jain et al., APL Mater. 1, 011002 (2013), doi:10.1063/1.4812323"
_AFLOW = (
    "S. Curtarolo et al., Comput. Mater. Sci. 58, 218 (2012), "
    "doi:10.1016/j.commatsci.2012.02.005"
)


@dataclass(frozen=True)
class CrabnetTask:
    """One benchmark task: everything the registry and the loader need, stated once.

    Attributes:
        folder: Folder name in ``crabnet_benchmark/`` (and in the wheel).
        target: Column the file's ``target`` becomes.
        units: Units of the target.
        rows: Rows over the three splits.
        what: One-line description of the target.
        source: Original data source, to cite.
        aliases: Other accepted dataset names.
    """

    folder: str
    target: str
    units: str
    rows: int
    what: str
    source: str
    aliases: tuple[str, ...] = ()

    @property
    def citation(self) -> str:
        return f"{self.source}; {_CRABNET}"


CRABNET_TASKS: dict[str, CrabnetTask] = {
    "oqmd_formation_enthalpy": CrabnetTask(
        "OQMD_Formation_Enthalpy", "formation_enthalpy", "eV/atom", 341700,
        "DFT formation enthalpy (OQMD)",
        "J. E. Saal et al., JOM 65, 1501 (2013), doi:10.1007/s11837-013-0755-4; S. Kirklin et "
        "al., npj Comput. Mater. 1, 15010 (2015), doi:10.1038/npjcompumats.2015.10 (CC-BY-4.0)",
        ("oqmd_formation_energy", "OQMD_Formation_Enthalpy"),
    ),
    "mp_e_hull": CrabnetTask(
        "mp_e_hull", "e_above_hull", "eV/atom", 56662,
        "DFT energy above the convex hull (Materials Project)", _MP + " (CC-BY-4.0)",
        ("mp_e_above_hull",),
    ),
    "critexam_ef": CrabnetTask(
        "CritExam__Ef", "formation_energy", "eV/atom", 85014,
        "DFT formation energy of Materials Project entries (Bartel et al.)",
        "C. J. Bartel et al., A critical examination of compound stability predictions from "
        "machine-learned formation energies, npj Comput. Mater. 6, 97 (2020), "
        "doi:10.1038/s41524-020-0362-y; " + _MP,
        ("CritExam__Ef", "bartel_formation_energy"),
    ),
    "aflow_egap": CrabnetTask(
        "aflow__Egap", "band_gap", "eV", 27577, "DFT band gap (AFLOW)", _AFLOW,
        ("aflow__Egap", "aflow_band_gap"),
    ),
    "aflow_bulk_modulus": CrabnetTask(
        "aflow__ael_bulk_modulus_vrh", "bulk_modulus", "GPa", 4896,
        "bulk modulus, Voigt-Reuss-Hill average (AFLOW-AEL)",
        "C. Toher et al., Phys. Rev. Mater. 1, 015401 (2017), "
        "doi:10.1103/PhysRevMaterials.1.015401; " + _AFLOW,
        ("aflow__ael_bulk_modulus_vrh",),
    ),
    "mp_bulk_modulus": CrabnetTask(
        "mp_bulk_modulus", "bulk_modulus", "GPa", 6307,
        "bulk modulus, Voigt-Reuss-Hill average (Materials Project elasticity)",
        "M. de Jong et al., Sci. Data 2, 150009 (2015), doi:10.1038/sdata.2015.9; " + _MP,
    ),
}  # fmt: skip


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_benchmark(cache_dir: Path, timeout: float) -> Path:
    """Fetch the crabnet 2.0.8 wheel, check it, extract every task's CSVs; returns the folder.

    Files are extracted into a scratch folder and moved in only once all are complete, so an
    interrupted download never leaves a partial CSV that would later load as valid.
    """
    import requests

    target = cache_dir / FOLDER
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".crabnet-") as scratch:
        wheel = Path(scratch) / "crabnet.whl"
        with requests.get(WHEEL_URL, stream=True, timeout=timeout) as response:
            response.raise_for_status()
            with wheel.open("wb") as fh:
                for chunk in response.iter_content(1 << 20):
                    fh.write(chunk)
        got = _sha256(wheel)
        if got != WHEEL_SHA256:
            raise DatasetError(
                f"the crabnet wheel from {WHEEL_URL} has sha256 {got}, expected {WHEEL_SHA256}"
            )
        out = Path(scratch) / FOLDER
        with zipfile.ZipFile(wheel) as zf:
            for task in CRABNET_TASKS.values():
                for split in SPLITS:
                    member = f"{_WHEEL_PREFIX}{task.folder}/{split}.csv"
                    dest = out / task.folder / f"{split}.csv"
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(member) as src, dest.open("wb") as dst:
                        shutil.copyfileobj(src, dst)
        target.mkdir(parents=True, exist_ok=True)
        for task_dir in out.iterdir():
            final = target / task_dir.name
            if final.exists():
                shutil.rmtree(final)
            shutil.move(str(task_dir), final)
    return target


def _find(task: CrabnetTask, lookup: Lookup) -> Path | None:
    """The folder holding the task's three CSVs, or None."""
    if lookup.data_dir is not None and (lookup.data_dir / "train.csv").is_file():
        if lookup.data_dir.name == task.folder:  # data_dir is the task folder itself
            return lookup.data_dir
    train = lookup.find(f"{FOLDER}/{task.folder}/train.csv", f"{task.folder}/train.csv")
    return None if train is None else train.parent


def read_crabnet_frame(
    name: str, lookup: Lookup, *, download: bool, timeout: float
) -> tuple[pd.DataFrame, str]:
    """The task's rows (train, then val, then test) with a ``split`` column, and the source."""
    task = CRABNET_TASKS[name]
    folder = _find(task, lookup)
    if folder is None and not lookup.explicit and download:
        try:
            download_benchmark(lookup.cache_dir, timeout)
        except (OSError, DatasetError, ImportError) as exc:
            # requests' errors subclass OSError; one line, with the offline fix first
            raise DatasetError(
                f"dataset {name!r}: no local copy of {FOLDER}/{task.folder}/ and the download "
                f"of the crabnet 2.0.8 wheel failed ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}); offline, pass "
                f"load_dataset({name!r}, data_dir=...) or set {DATA_DIR_ENV} to the folder "
                f"holding {FOLDER}/"
            ) from exc
        folder = _find(task, lookup)
    if folder is None:
        extra = " (download=False, so nothing was fetched)" if not download else ""
        raise lookup.not_found(name, f"{FOLDER}/{task.folder}/train.csv", extra=extra)
    parts = []
    for split in SPLITS:
        path = folder / f"{split}.csv"
        if not path.is_file():
            raise DatasetError(
                f"dataset {name!r}: {path} is missing next to train.csv (the task needs "
                f"{', '.join(s + '.csv' for s in SPLITS)})"
            )
        frame = read_csv_keep_formulas(path, ["formula"])
        if list(frame.columns) != ["formula", "target"]:
            raise DatasetError(
                f"{path} should have the columns ['formula', 'target'], has {list(frame.columns)}"
            )
        frame = frame.rename(columns={"target": task.target})
        frame["split"] = split
        parts.append(frame)
    return pd.concat(parts, ignore_index=True), str(folder)
