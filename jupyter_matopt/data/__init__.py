"""Dataset registry and loaders.

* :class:`Dataset` wraps a DataFrame of compositions and a target with units, task,
  citation, condition columns and a group key; build one with :meth:`Dataset.from_frame` or
  :meth:`Dataset.from_csv`.
* :func:`load_dataset` / :func:`list_datasets`: built-ins that ship inside our dependencies
  (``ricci_transport``, ``expt_formation_enthalpy``; offline anywhere), the Matbench
  composition tasks (local CSV, cache, or a matminer download), and the experimental sets
  read from a data folder (``thermoelectric_sysTEm``, ``mpea_hardness``, ``mpea_yield``),
  and the CrabNet DFT benchmark tasks with their splits (``oqmd_formation_enthalpy``, ...).
* :func:`load_optimade`: Materials Project, OQMD, AFLOW and other OPTIMADE databases.
* :func:`load_pool` / :func:`list_pools`: finite candidate pools for benchmarking Bayesian
  optimization (Liang et al. 2021).

Nothing is read or downloaded at import time; pymatgen and matminer are imported on first use.
"""

from __future__ import annotations

from ._errors import DatasetError, InvalidRowsError
from ._paths import CACHE_DIR_ENV, DATA_DIR_ENV, Lookup, default_cache_dir
from .dataset import Dataset
from .optimade import OptimadeError, list_providers, load_optimade
from .pool import Pool, list_pools, load_pool
from .registry import list_datasets, load_dataset

__all__ = [
    "CACHE_DIR_ENV",
    "DATA_DIR_ENV",
    "Dataset",
    "DatasetError",
    "InvalidRowsError",
    "Lookup",
    "OptimadeError",
    "Pool",
    "default_cache_dir",
    "list_datasets",
    "list_pools",
    "list_providers",
    "load_dataset",
    "load_optimade",
    "load_pool",
]
