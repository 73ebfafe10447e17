"""The dataset registry: :func:`load_dataset` and :func:`list_datasets`."""

from __future__ import annotations

import difflib
import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from . import builtin, crabnet, experimental, matbench
from ._errors import DatasetError
from ._paths import Lookup
from .citations import CITATIONS
from .dataset import Dataset

__all__ = ["DatasetInfo", "REGISTRY", "load_dataset", "list_datasets", "resolve_name"]

Loader = Callable[[Lookup, str | None, bool, float], Dataset]


@dataclass(frozen=True)
class DatasetInfo:
    """What :func:`list_datasets` shows about one dataset, and how to load it.

    Attributes:
        name: Canonical name.
        rows: Rows with the default target (documented count, checked by the tests).
        target: Default target column.
        units: Units of the default target.
        task: ``"regression"`` or ``"classification"``.
        source: Where the data comes from.
        offline: True when the data ships inside an installed dependency.
        loader: ``loader(lookup, target, download, timeout) -> Dataset``.
        aliases: Other accepted names.
        targets: Friendly target names accepted by ``target=``.
    """

    name: str
    rows: int
    target: str
    units: str
    task: str
    source: str
    offline: bool
    loader: Loader
    aliases: tuple[str, ...] = ()
    targets: tuple[str, ...] = field(default=())


def _pick_target(
    dataset: str,
    target: str | None,
    default: str,
    table: Mapping[str, tuple[str, str]],
    aliases: Mapping[str, str],
    columns: list[str],
) -> str:
    """Resolve ``target`` (friendly name, alias or column; case-insensitive) to a column."""
    if target is None:
        return default
    lookup: dict[str, str] = {k: col for k, (col, _) in table.items()}
    lookup.update(aliases)
    lookup.update({c: c for c in columns})
    if target in lookup:
        return lookup[target]
    folded = {k.lower(): v for k, v in lookup.items()}
    if target.lower() in folded:
        return folded[target.lower()]
    raise DatasetError(
        f"unknown target {target!r} for dataset {dataset!r}; friendly names: "
        f"{sorted(table)}; columns: {columns}"
    )


# ----------------------------------------------------------------------- built-ins


def _load_ricci(lookup: Lookup, target: str | None, download: bool, timeout: float) -> Dataset:
    raw = builtin.read_ricci_frame()
    column = _pick_target(
        "ricci_transport",
        target,
        "S_p",
        builtin.RICCI_TARGETS,
        builtin.RICCI_ALIASES,
        list(raw.columns),
    )
    ds = _ricci_dataset()
    return ds.with_target(column) if column != ds.target else ds._replace(frame=ds.frame.copy())


@functools.lru_cache(maxsize=1)
def _ricci_dataset() -> Dataset:
    # Parsing 47,737 formulas and building group keys costs about as much as reading the tar,
    # so the validated Dataset is cached too; callers get a copy of its frame.
    return Dataset.from_frame(
        builtin.read_ricci_frame(),
        "pretty_formula",
        "S_p",
        units="µV/K",
        task="regression",
        name="ricci_transport",
        citation=CITATIONS["ricci_transport"],
        description=(
            "BoltzTraP transport properties of 47,737 Materials Project compounds "
            "(34,631 distinct formula strings) at 300 K and a carrier concentration of "
            "1e18 cm^-3, constant relaxation time 1e-14 s for sigma, PF and kappa; "
            "p = holes, n = electrons. Groups are reduced compositions (F and F2 share one, "
            "giving 34,630 groups)."
        ),
        source=str(builtin.ricci_path()),
        column_units=builtin.RICCI_UNITS,
        target_aliases=builtin.RICCI_ALIASES,
    )


def _load_exp_hf(lookup: Lookup, target: str | None, download: bool, timeout: float) -> Dataset:
    frame = builtin.read_exp_enthalpy_frame().copy()
    column = _pick_target(
        "expt_formation_enthalpy",
        target,
        "formation_enthalpy",
        builtin.EXPT_HF_TARGETS,
        builtin.EXPT_HF_ALIASES,
        list(frame.columns),
    )
    return Dataset.from_frame(
        frame,
        "formula",
        column,
        units=builtin.EXPT_HF_UNITS.get(column, ""),
        task="regression",
        name="expt_formation_enthalpy",
        citation=CITATIONS["expt_formation_enthalpy"],
        description=(
            "2,135 experimental standard formation enthalpies shipped with pymatgen for fitting "
            "the MP2020 energy corrections. The file gives eV per formula unit as written "
            "('exp energy'); formation_enthalpy divides by the atoms in that formula (eV/atom). "
            "uncertainty is missing for 301 entries."
        ),
        source=str(builtin.exp_compounds_path()),
        column_units=builtin.EXPT_HF_UNITS,
        target_aliases=builtin.EXPT_HF_ALIASES,
    )


# ----------------------------------------------------------------------- matbench


def _matbench_loader(task: str) -> Loader:
    def load(lookup: Lookup, target: str | None, download: bool, timeout: float) -> Dataset:
        default, units, kind, _ = matbench.MATBENCH_TASKS[task]
        if target is not None and target != default:
            raise DatasetError(
                f"matbench_{task} has one target, {default!r}; got target={target!r}"
            )
        frame, source = matbench.read_matbench_frame(
            task, lookup, download=download, timeout=timeout
        )
        return Dataset.from_frame(
            frame,
            "composition",
            default,
            units=units,
            task=kind,  # type: ignore[arg-type]
            name=f"matbench_{task}",
            citation=CITATIONS[f"matbench_{task}"],
            description=(
                f"Matbench v0.1 task matbench_{task} in published row order (row i is "
                f"{matbench.mbids(task, 1)[0].rsplit('-', 1)[0]}-<i+1>, column 'mbid'); official "
                "folds: KFold/StratifiedKFold(n_splits=5, shuffle=True, random_state=18012019)."
            ),
            source=source,
            column_units={default: units},
            attrs={"matbench_task": f"matbench_{task}"},
        )

    return load


# ------------------------------------------------------------------ experimental


def _renamed_tables(
    table: dict[str, tuple[str, str]],
) -> tuple[dict[str, tuple[str, str]], dict[str, str], dict[str, str]]:
    """Target, alias and unit tables of a source whose reader renames each target column to
    its friendly name (``table``: friendly name -> (source column, units)): the targets over
    the renamed columns, the source column names as aliases, and the units per column."""
    targets = {k: (k, u) for k, (_, u) in table.items()}
    aliases = {col: k for k, (col, _) in table.items()}
    units = {k: u for k, (_, u) in table.items()}
    return targets, aliases, units


def _load_system(lookup: Lookup, target: str | None, download: bool, timeout: float) -> Dataset:
    path = lookup.find(experimental.SYSTEM_FILE)
    if path is None:
        raise lookup.not_found("thermoelectric_sysTEm", experimental.SYSTEM_FILE)
    frame, n_mixed = experimental.read_system_frame(path)
    targets, aliases, units = _renamed_tables(experimental.SYSTEM_TARGETS)
    column = _pick_target(
        "thermoelectric_sysTEm", target, "zT", targets, aliases, list(frame.columns)
    )
    n_before = len(frame)
    frame = frame.loc[frame[column].notna()]
    units["temperature"] = "K"
    return Dataset.from_frame(
        frame,
        "composition",
        column,
        units=units[column],
        task="regression",
        conditions=["temperature"],
        name="thermoelectric_sysTEm",
        citation=CITATIONS["thermoelectric_sysTEm"],
        description=(
            f"Experimental thermoelectric properties vs temperature (K), one row per "
            f"(composition, temperature). Dropped {n_mixed} 'Mixed Formula' rows (physical "
            f"mixtures such as 'Te + 0.1 wt% InP3') and {n_before - len(frame)} rows without "
            f"{column}. Group by composition for cross-validation."
        ),
        source=str(path),
        column_units=units,
        target_aliases=aliases,
        attrs={
            "n_mixed_formula_dropped": n_mixed,
            "n_missing_target_dropped": n_before - len(frame),
        },
    )


def _mpea_loader(kind: str) -> Loader:
    def load(lookup: Lookup, target: str | None, download: bool, timeout: float) -> Dataset:
        path = lookup.find(experimental.MPEA_FILE)
        if path is None:
            raise lookup.not_found(f"mpea_{kind}", experimental.MPEA_FILE)
        frame = experimental.read_mpea_frame(path)
        default = "HV" if kind == "hardness" else "yield_strength"
        targets, aliases, units = _renamed_tables(experimental.MPEA_TARGETS)
        aliases.update({"YS": "yield_strength", "hardness": "HV"})
        column = _pick_target(
            f"mpea_{kind}", target, default, targets, aliases, list(frame.columns)
        )
        n_all = len(frame)
        frame = frame.loc[frame[column].notna()]
        conditions: list[str] = []
        lo, hi = experimental.ROOM_TEMPERATURE_C
        if kind == "yield":
            frame = frame.loc[frame["test_temperature"].between(lo, hi)]
            selection = (
                f"rows with {column} measured at room temperature (test temperature "
                f"{lo:g}-{hi:g} °C: 20, 23, 24 or 25 °C in the file), compression (C) and "
                "tension (T) tests together (column 'test_type'; subset to one for a cleaner "
                "target)"
            )
        elif kind == "yield_temperature":
            frame = frame.loc[frame["test_temperature"].notna()]
            conditions = ["test_temperature"]
            selection = f"rows with {column} at every test temperature (condition, °C)"
        else:
            hot = int((frame["test_temperature"] > hi).sum())
            unknown = int(frame["test_temperature"].isna().sum())
            selection = (
                f"rows with {column} as published; {hot} of them were measured above {hi:g} °C "
                f"and {unknown} have no test temperature (column 'test_temperature')"
            )
        units["test_temperature"] = "°C"
        return Dataset.from_frame(
            frame,
            "composition",
            column,
            units=units.get(column, ""),
            task="regression",
            conditions=conditions,
            name=f"mpea_{kind}",
            citation=CITATIONS["mpea"],
            description=(
                f"Multi-principal-element alloys (Citrine MPEA dataset): {selection}. "
                f"{len(frame)} of {n_all} rows. The same alloy recurs across processing and "
                "tests: group by composition for cross-validation. Optional condition columns: "
                "test_type (C/T), test_temperature (°C), processing."
            ),
            source=str(path),
            column_units=units,
            target_aliases=aliases,
        )

    return load


# ------------------------------------------------------------------- crabnet (DFT)


def _crabnet_loader(name: str) -> Loader:
    def load(lookup: Lookup, target: str | None, download: bool, timeout: float) -> Dataset:
        task = crabnet.CRABNET_TASKS[name]
        if target is not None and target not in (task.target, "target"):
            raise DatasetError(f"{name} has one target, {task.target!r}; got target={target!r}")
        frame, source = crabnet.read_crabnet_frame(
            name, lookup, download=download, timeout=timeout
        )
        counts = frame["split"].value_counts().reindex(crabnet.SPLITS).tolist()
        return Dataset.from_frame(
            frame,
            "formula",
            task.target,
            units=task.units,
            task="regression",
            name=name,
            citation=task.citation,
            description=(
                f"{task.what}, {task.units}: CrabNet benchmark task {task.folder} with its "
                f"official splits in column 'split' (train/val/test = "
                f"{'/'.join(f'{c:,}' for c in counts)}). Train on train (and val), score test "
                "once; do not tune on test."
            ),
            source=source,
            column_units={task.target: task.units},
            target_aliases={"target": task.target},
            attrs={
                "splits": dict(zip(crabnet.SPLITS, counts, strict=True)),
                "crabnet_task": task.folder,
            },
        )

    return load


# ------------------------------------------------------------------------ registry

_EXPT = "local file (data_dir / MATOPT_DATA_DIR)"
_MB = "local CSV, cache, or matminer download"

REGISTRY: dict[str, DatasetInfo] = {
    info.name: info
    for info in [
        DatasetInfo(
            "ricci_transport",
            47737,
            "S_p",
            "µV/K",
            "regression",
            "matminer utils/data_files/mp_transport/transport_database.tar.xz",
            True,
            _load_ricci,
            ("mp_transport", "ricci"),
            tuple(builtin.RICCI_TARGETS),
        ),
        DatasetInfo(
            "expt_formation_enthalpy",
            2135,
            "formation_enthalpy",
            "eV/atom",
            "regression",
            "pymatgen analysis/compatibility/exp_compounds.json.gz",
            True,
            _load_exp_hf,
            ("exp_formation_enthalpy",),
            tuple(builtin.EXPT_HF_TARGETS),
        ),
        *[
            DatasetInfo(
                f"matbench_{task}",
                n,
                target,
                units,
                kind,
                _MB,
                False,
                _matbench_loader(task),
                (task,),
                (target,),
            )
            for task, (target, units, kind, n) in matbench.MATBENCH_TASKS.items()
        ],
        DatasetInfo(
            "thermoelectric_sysTEm",
            7742,
            "zT",
            "",
            "regression",
            _EXPT,
            False,
            _load_system,
            ("sysTEm",),
            tuple(experimental.SYSTEM_TARGETS),
        ),
        DatasetInfo(
            "mpea_hardness",
            530,
            "HV",
            "HV",
            "regression",
            _EXPT,
            False,
            _mpea_loader("hardness"),
            ("mpea",),
            tuple(experimental.MPEA_TARGETS),
        ),
        DatasetInfo(
            "mpea_yield",
            722,
            "yield_strength",
            "MPa",
            "regression",
            _EXPT,
            False,
            _mpea_loader("yield"),
            (),
            tuple(experimental.MPEA_TARGETS),
        ),
        DatasetInfo(
            "mpea_yield_temperature",
            1067,
            "yield_strength",
            "MPa",
            "regression",
            _EXPT,
            False,
            _mpea_loader("yield_temperature"),
            (),
            tuple(experimental.MPEA_TARGETS),
        ),
        *[
            DatasetInfo(
                name,
                task.rows,
                task.target,
                task.units,
                "regression",
                "local crabnet_benchmark/ folder, cache, or the crabnet 2.0.8 wheel on PyPI",
                False,
                _crabnet_loader(name),
                task.aliases,
                (task.target,),
            )
            for name, task in crabnet.CRABNET_TASKS.items()
        ],
    ]
}

_ALIASES: dict[str, str] = {}
for _info in REGISTRY.values():
    for _alias in (_info.name, *_info.aliases):
        _ALIASES[_alias.lower()] = _info.name


def resolve_name(name: str) -> str:
    """The canonical dataset name for ``name`` or an alias (case-insensitive)."""
    if not isinstance(name, str):
        raise DatasetError(f"dataset name must be a string, got {type(name).__name__}")
    key = name.strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    close = difflib.get_close_matches(key, list(_ALIASES), n=3)
    hint = f" Did you mean {', '.join(repr(_ALIASES[c]) for c in close)}?" if close else ""
    raise DatasetError(
        f"unknown dataset {name!r}; available: {sorted(REGISTRY)}.{hint} For your own data use "
        f"Dataset.from_csv(path) or Dataset.from_frame(df); for BO pools use load_pool()."
    )


def load_dataset(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    target: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    timeout: float = matbench.DOWNLOAD_TIMEOUT,
) -> Dataset:
    """Load a registered dataset (see :func:`list_datasets`).

    Args:
        name: Dataset name or alias, case-insensitive (``"ricci_transport"``/``"mp_transport"``,
            ``"expt_formation_enthalpy"``, ``"matbench_steels"``, ``"matbench_expt_gap"``,
            ``"matbench_expt_is_metal"``, ``"matbench_glass"``, ``"thermoelectric_sysTEm"``/
            ``"sysTEm"``, ``"mpea_hardness"``/``"mpea"``, ``"mpea_yield"``,
            ``"mpea_yield_temperature"``).
        data_dir: Folder holding the dataset's file (e.g. ``matbench_steels.csv``), or the file
            itself. When given, it is the only place looked at and nothing is downloaded.
            Defaults to ``$MATOPT_DATA_DIR``, then the cache folder. Built-ins ignore it.
        target: Column or friendly name to model instead of the default (e.g. ``"pf_p"``,
            ``"m_n"`` for Ricci; ``"seebeck"``, ``"kappa"`` for sysTEm); rows missing it are
            dropped by the loaders that drop missing targets.
        cache_dir: Where downloads are cached; default ``$MATOPT_CACHE_DIR`` or
            ``~/.cache/jupyter_matopt``.
        download: Allow fetching Matbench data with matminer when no local copy is found.
        timeout: Seconds allowed per network operation while downloading.

    Returns:
        The :class:`Dataset`, with ``citation`` and ``description`` filled in.

    Raises:
        DatasetError: for an unknown name or target, a missing file (naming the paths tried
            and the ``data_dir=``/``MATOPT_DATA_DIR`` options), or a failed download.
    """
    info = REGISTRY[resolve_name(name)]
    lookup = Lookup.create(data_dir, cache_dir)
    return info.loader(lookup, target, download, timeout)


def list_datasets() -> pd.DataFrame:
    """One row per registered dataset: name, rows, target, units, task, source, offline.

    Nothing is read or downloaded; ``rows`` is the documented row count with the default
    target, and ``offline`` says whether the data ships inside an installed dependency.
    """
    rows: list[dict[str, Any]] = [
        {
            "name": info.name,
            "rows": info.rows,
            "target": info.target,
            "units": info.units,
            "task": info.task,
            "source": info.source,
            "offline": info.offline,
            "aliases": ", ".join(info.aliases),
            "targets": ", ".join(info.targets),
        }
        for info in REGISTRY.values()
    ]
    return pd.DataFrame(rows)
