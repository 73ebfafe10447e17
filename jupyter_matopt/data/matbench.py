"""Matbench v0.1 composition tasks: read from a local CSV, a cache, or fetched with matminer.

Row order is the published one: row ``i`` is ``mb-<task>-<i+1>`` (zero-padded to the number
of digits of the row count, with ``_`` written as ``-``, as ``matbench.data_ops.load`` does),
because the official folds (``KFold``/``StratifiedKFold(n_splits=5, shuffle=True,
random_state=18012019)``) are defined on that order. Nothing here reorders, deduplicates or
drops rows.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from ._errors import DatasetError
from ._paths import DATA_DIR_ENV, Lookup, read_csv_keep_formulas

__all__ = ["MATBENCH_TASKS", "mbids", "read_matbench_frame"]

# task -> (target column, units, task type, published row count)
MATBENCH_TASKS: dict[str, tuple[str, str, str, int]] = {
    "steels": ("yield strength", "MPa", "regression", 312),
    "expt_gap": ("gap expt", "eV", "regression", 4604),
    "expt_is_metal": ("is_metal", "", "classification", 4921),
    "glass": ("gfa", "", "classification", 5680),
}

DOWNLOAD_TIMEOUT = 60.0


def mbids(task: str, n: int) -> list[str]:
    """Matbench ids ``mb-<task>-<i+1>`` for ``n`` rows, e.g. ``mb-steels-001``."""
    width = len(str(n))
    prefix = "mb-" + task.replace("_", "-")
    return [f"{prefix}-{i + 1:0{width}d}" for i in range(n)]


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    # matminer calls requests.get without a timeout; requests/urllib3 then fall back to the
    # socket default, so this bounds every connect and read. It is process-wide, hence restored.
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _download(name: str, cache_dir: Path, timeout: float) -> pd.DataFrame:
    from matminer.datasets import get_dataset_attribute
    from matminer.datasets import load_dataset as mm_load_dataset

    url = get_dataset_attribute(name, "url")
    print(
        f"jupyter_matopt: {name} is not on this machine; fetching it with matminer from {url} "
        f"into {cache_dir} (timeout {timeout:g} s per network operation)",
        flush=True,
    )
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Download into a scratch folder and move the file into the cache only once complete:
    # matminer would otherwise leave a partial file that later loads as if it were valid.
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".download-") as scratch:
        with _socket_timeout(timeout):
            frame = mm_load_dataset(name, data_home=scratch)
        for part in Path(scratch).iterdir():
            shutil.move(str(part), cache_dir / part.name)
    return frame


def read_matbench_frame(
    task: str, lookup: Lookup, *, download: bool, timeout: float = DOWNLOAD_TIMEOUT
) -> tuple[pd.DataFrame, str]:
    """The task's rows in published order with an ``mbid`` column, and where they came from.

    Order of search: ``data_dir`` only when given (no network); else ``$MATOPT_DATA_DIR``,
    then the cache folder (``matbench_<task>.csv`` or matminer's ``matbench_<task>.json.gz``),
    then a download with matminer when ``download`` is True.
    """
    name = f"matbench_{task}"
    target, _, _, _ = MATBENCH_TASKS[task]
    csv_name = f"{name}.csv"
    path = lookup.find(csv_name)
    source: str
    if path is not None:
        frame = read_csv_keep_formulas(path, ["composition"])
        source = str(path)
    elif lookup.explicit:
        raise lookup.not_found(name, csv_name)
    else:
        cached = lookup.cache_dir / f"{name}.json.gz"
        lookup.tried.append(cached)
        if cached.is_file():
            from matminer.datasets import load_dataset as mm_load_dataset

            frame = mm_load_dataset(
                name, data_home=str(lookup.cache_dir), download_if_missing=False
            )
            source = str(cached)
        elif not download:
            raise lookup.not_found(
                name, csv_name, extra=" (download=False, so nothing was fetched)"
            )
        else:
            try:
                frame = _download(name, lookup.cache_dir, timeout)
            except Exception as exc:  # noqa: BLE001 - any failure becomes one clear message
                tried = ", ".join(str(p) for p in dict.fromkeys(lookup.tried))
                raise DatasetError(
                    f"dataset {name!r} could not be downloaded with matminer "
                    f"({type(exc).__name__}: {exc}). Looked locally for {tried}. Point at a "
                    f"local copy of {csv_name} with load_dataset({name!r}, data_dir=...) or the "
                    f"environment variable {DATA_DIR_ENV}, or put matminer's {name}.json.gz "
                    f"in {lookup.cache_dir}."
                ) from exc
            source = f"matminer.datasets.load_dataset({name!r}) -> {lookup.cache_dir}"
    missing = [c for c in ("composition", target) if c not in frame.columns]
    if missing:
        raise DatasetError(
            f"{source} lacks column(s) {missing} expected for {name}; its columns are "
            f"{list(frame.columns)}"
        )
    frame = frame[["composition", target]].reset_index(drop=True)
    frame.insert(0, "mbid", mbids(task, len(frame)))
    return frame, source
