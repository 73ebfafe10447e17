"""Where dataset files are looked for, and reading CSVs without mangling formulas."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ._errors import DatasetError

__all__ = [
    "DATA_DIR_ENV",
    "CACHE_DIR_ENV",
    "default_cache_dir",
    "Lookup",
    "read_csv_keep_formulas",
    "read_csv_checked",
]

DATA_DIR_ENV = "MATOPT_DATA_DIR"
CACHE_DIR_ENV = "MATOPT_CACHE_DIR"


def default_cache_dir() -> Path:
    """``$MATOPT_CACHE_DIR`` if set, else ``~/.cache/jupyter_matopt``."""
    env = os.environ.get(CACHE_DIR_ENV)
    return Path(env).expanduser() if env else Path("~/.cache/jupyter_matopt").expanduser()


@dataclass
class Lookup:
    """The places one dataset file is looked for, in order, remembering what was tried.

    Attributes:
        data_dir: The ``data_dir=`` argument; when given it is the only place looked at
            (explicit means explicit: no fallback and no network).
        env_dir: ``$MATOPT_DATA_DIR``, used when ``data_dir`` is None.
        cache_dir: The cache folder, looked at after ``env_dir``.
        tried: Every path looked at so far, for the error message.
    """

    data_dir: Path | None
    env_dir: Path | None
    cache_dir: Path
    tried: list[Path] = field(default_factory=list)

    @classmethod
    def create(
        cls, data_dir: str | os.PathLike[str] | None, cache_dir: str | os.PathLike[str] | None
    ) -> Lookup:
        env = os.environ.get(DATA_DIR_ENV)
        return cls(
            data_dir=Path(data_dir).expanduser() if data_dir is not None else None,
            env_dir=Path(env).expanduser() if env else None,
            cache_dir=Path(cache_dir).expanduser()
            if cache_dir is not None
            else default_cache_dir(),
        )

    @property
    def explicit(self) -> bool:
        return self.data_dir is not None

    def folders(self) -> list[Path]:
        if self.data_dir is not None:
            return [self.data_dir]
        return [d for d in (self.env_dir, self.cache_dir) if d is not None]

    def find(self, *filenames: str) -> Path | None:
        """The first existing file among ``folders() x filenames``.

        A ``data_dir`` that is itself one of ``filenames`` is returned as is, so that
        ``data_dir="/some/where/matbench_steels.csv"`` also works; a file of another name is
        refused rather than read as the wrong dataset.
        """
        if self.data_dir is not None and self.data_dir.is_file():
            if self.data_dir.name in filenames:
                return self.data_dir
            raise DatasetError(
                f"data_dir {str(self.data_dir)!r} is a file, but this dataset reads "
                f"{' or '.join(filenames)}; pass the folder holding it (or that file)"
            )
        if self.data_dir is not None and self.data_dir.exists() and not self.data_dir.is_dir():
            raise DatasetError(f"data_dir {str(self.data_dir)!r} is neither a folder nor a "
                               "regular file (a FIFO or device?); pass the folder of the data")
        for folder in self.folders():
            for name in filenames:
                path = folder / name
                self.tried.append(path)
                if path.is_file():
                    return path
                if path.exists():  # a folder or FIFO by that name: say so, never "not found"
                    check_readable_file(path, what="dataset file")
        return None

    def not_found(
        self, dataset: str, filename: str, *, extra: str = "", func: str = "load_dataset"
    ) -> DatasetError:
        """A :class:`DatasetError` naming the paths tried and the options that fix it."""
        tried = ", ".join(str(p) for p in dict.fromkeys(self.tried)) or "(nowhere)"
        if self.data_dir is not None and not self.data_dir.exists():
            where = f"data_dir {str(self.data_dir)!r} does not exist"
        else:
            where = f"{filename} was not found (looked for {tried})"
        return DatasetError(
            f"dataset {dataset!r}: {where}. Point at the folder holding {filename} with "
            f"{func}({dataset!r}, data_dir=...) or the environment variable "
            f"{DATA_DIR_ENV}{extra}."
        )


def check_readable_file(path: str | os.PathLike[str], what: str = "CSV file") -> Path:
    """``path`` as a Path if it is an existing regular file, else DatasetError saying what it
    is instead (missing, a folder, a FIFO or device), never blocking on a FIFO."""
    p = Path(path).expanduser()
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        raise DatasetError(f"{what} {str(p)!r} does not exist") from None
    except OSError as e:
        raise DatasetError(f"cannot read {what} {str(p)!r}: {e.strerror or e}") from None
    if stat.S_ISDIR(mode):
        raise DatasetError(f"{what} {str(p)!r} is a folder, not a file; pass the file itself")
    if not stat.S_ISREG(mode):
        raise DatasetError(f"{what} {str(p)!r} is not a regular file (a FIFO, socket or "
                           "device); copy the data into a file first")
    return p


def read_csv_checked(path: str | os.PathLike[str], **kwargs: object) -> pd.DataFrame:
    """``pd.read_csv`` whose failures are one DatasetError naming the file.

    Raises:
        DatasetError: missing path, a folder or FIFO, text that is not UTF-8, an empty file,
            or text that is not CSV.
    """
    p = check_readable_file(path)
    try:
        return pd.read_csv(p, **kwargs)  # type: ignore[call-overload]
    except UnicodeDecodeError as e:
        raise DatasetError(
            f"CSV file {str(p)!r} is not UTF-8 text (byte {e.object[e.start:e.start + 1]!r} "
            f"at position {e.start}); save it as UTF-8 CSV"
        ) from None
    except pd.errors.EmptyDataError:
        raise DatasetError(f"CSV file {str(p)!r} is empty (no header line, no rows)") from None
    except pd.errors.ParserError as e:
        raise DatasetError(
            f"CSV file {str(p)!r} is not valid CSV: {' '.join(str(e).split())}"
        ) from None
    except (OSError, MemoryError) as e:
        raise DatasetError(f"cannot read CSV file {str(p)!r}: {e}") from None


def read_csv_keep_formulas(
    path: str | os.PathLike[str], formula_cols: list[str], *, frame: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Read a CSV, keeping the formula columns as the exact text of the file.

    pandas reads the text ``NaN`` (sodium nitride), ``NA`` or ``None`` as missing values by
    default, so the formula columns are re-read as plain strings; only empty cells become
    missing.

    Args:
        path: The CSV file.
        formula_cols: Columns to keep verbatim (absent names are ignored).
        frame: The file already read with ``pd.read_csv(path)``, to avoid reading it twice.

    Returns:
        The frame, with the formula columns as ``object`` strings (None where empty).
    """
    if frame is None:
        frame = read_csv_checked(path)
    cols = [c for c in dict.fromkeys(formula_cols) if c in frame.columns]
    if cols:
        raw = read_csv_checked(path, usecols=cols, dtype=str, keep_default_na=False)
        for c in cols:
            frame[c] = raw[c].astype(object).where(raw[c] != "", None)
    return frame
