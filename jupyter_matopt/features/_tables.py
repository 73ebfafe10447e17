"""Element property tables, read once from matminer's package data into numpy arrays.

Nothing is read at import time: every loader is cached and runs on first use. The files are
located with :func:`importlib.util.find_spec` so that matminer itself (and its featurizer
machinery) is never imported at run time.

Element order is the Magpie tables' row order, i.e. atomic number: row ``i`` is ``Z = i + 1``.
Only ``H`` .. ``Lr`` (``Z = 1 .. 103``) are supported, so every table has 103 rows.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Sequence
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from ..core.composition import CompositionError
from ..core.elements import ATOMIC_NUMBER, SYMBOLS

__all__ = [
    "ELEMENTS",
    "MAX_Z",
    "MAGPIE_PROPERTIES",
    "MAGPIE_STATS",
    "element_indices",
    "magpie_table",
    "magpie_property",
    "miedema_enthalpy_matrix",
    "magpie_data_dir",
]

#: Highest supported atomic number (Lr). Magpie tables list properties up to Z = 112 for a
#: few properties only, and most heavier entries are imputed, so we stop at the actinides.
MAX_Z = 103

#: Supported element symbols in table order (H .. Lr).
ELEMENTS: tuple[str, ...] = SYMBOLS[:MAX_Z]

#: The 22 properties of matminer's ``ElementProperty.from_preset("magpie")``, in its order.
MAGPIE_PROPERTIES: tuple[str, ...] = (
    "Number",
    "MendeleevNumber",
    "AtomicWeight",
    "MeltingT",
    "Column",
    "Row",
    "CovalentRadius",
    "Electronegativity",
    "NsValence",
    "NpValence",
    "NdValence",
    "NfValence",
    "NValence",
    "NsUnfilled",
    "NpUnfilled",
    "NdUnfilled",
    "NfUnfilled",
    "NUnfilled",
    "GSvolume_pa",
    "GSbandgap",
    "GSmagmom",
    "SpaceGroupNumber",
)

#: The six statistics of the Magpie preset, in matminer's order.
MAGPIE_STATS: tuple[str, ...] = ("minimum", "maximum", "range", "mean", "avg_dev", "mode")

# matminer's MagpieData reads rows for Z = 1..118 and imputes over all of them.
_MATMINER_ROWS = 118


def _matminer_data_dir() -> Path:
    spec = importlib.util.find_spec("matminer")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "jupyter_matopt.features needs matminer's element tables; install matminer>=0.9"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "utils" / "data_files"


def magpie_data_dir() -> Path:
    """Directory holding matminer's ``magpie_elementdata/*.table`` files."""
    return _matminer_data_dir() / "magpie_elementdata"


@cache
def magpie_property(name: str) -> np.ndarray:
    """One Magpie property for H..Lr as a read-only float64 array of length 103.

    Missing entries are imputed exactly as matminer's ``MagpieData(impute_nan=True)`` does
    (the default of ``ElementProperty``): a value that does not parse as a float (``Missing``,
    ``NA``) or a row absent from the file becomes the mean of the parsable values over
    ``Z = 1..118``. The mean therefore includes the few entries for ``Z > 103`` that some
    tables list, which is why we read 118 rows before cutting to 103.

    Raises:
        ValueError: if ``name`` is not a Magpie table.
    """
    path = magpie_data_dir() / f"{name}.table"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in magpie_data_dir().glob("*.table")))
        raise ValueError(f"unknown Magpie property {name!r}; available: {known}")
    if name == "OxidationStates":
        raise ValueError("OxidationStates is a list-valued table and is not supported here")
    lines = path.read_text().splitlines()
    values = np.full(_MATMINER_ROWS, np.nan)
    for i, line in enumerate(lines[:_MATMINER_ROWS]):
        try:
            values[i] = float(line)
        except ValueError:
            pass  # "Missing" / "NA": imputed below, as matminer does
    values = np.where(np.isnan(values), np.nanmean(values), values)[:MAX_Z].copy()
    values.setflags(write=False)
    return values


@lru_cache(maxsize=64)
def magpie_table(names: tuple[str, ...] = MAGPIE_PROPERTIES) -> np.ndarray:
    """Stack Magpie properties into a read-only ``(103, len(names))`` float64 array."""
    table = np.column_stack([magpie_property(n) for n in names]).astype(np.float64)
    table.setflags(write=False)
    return table


@lru_cache(maxsize=1)
def miedema_enthalpy_matrix() -> np.ndarray:
    """Symmetric ``(103, 103)`` matrix of liquid binary mixing enthalpies, kJ/mol.

    From matminer's ``MiedemaLiquidDeltaHf.tsv`` (Miedema model values tabulated by
    Takeuchi & Inoue, Mater. Trans. 46, 2817 (2005)), the same table as matminer's
    ``MixingEnthalpy``. Pairs not in the table are NaN; the diagonal is 0.
    """
    path = _matminer_data_dir() / "MiedemaLiquidDeltaHf.tsv"
    mat = np.full((MAX_Z, MAX_Z), np.nan)
    np.fill_diagonal(mat, 0.0)
    with path.open() as fh:
        next(fh)  # header: elem_A elem_B delta_Hf
        for line in fh:
            parts = line.split()
            if len(parts) != 3:
                continue
            a, b, value = parts
            ia, ib = ATOMIC_NUMBER.get(a, 0) - 1, ATOMIC_NUMBER.get(b, 0) - 1
            if 0 <= ia < MAX_Z and 0 <= ib < MAX_Z and ia != ib:
                mat[ia, ib] = mat[ib, ia] = float(value)
    mat.setflags(write=False)
    return mat


_INDEX: dict[str, int] = {s: i for i, s in enumerate(ELEMENTS)}


def unsupported_element_error(symbol: str, where: str = "") -> CompositionError:
    """The error for a symbol outside H..Lr (or not an element at all)."""
    suffix = f" in {where}" if where else ""
    z = ATOMIC_NUMBER.get(symbol)
    if z is None:
        return CompositionError(f"{symbol!r}{suffix} is not a chemical element symbol")
    return CompositionError(
        f"element {symbol} (Z={z}){suffix} is not supported: the Magpie element tables cover "
        f"H..Lr (Z = 1-{MAX_Z})"
    )


def element_indices(symbols: Iterable[str] | Sequence[str]) -> np.ndarray:
    """Row indices (``Z - 1``) of element symbols; raises ``CompositionError`` if unsupported."""
    out = []
    for s in symbols:
        i = _INDEX.get(s)  # type: ignore[arg-type]
        if i is None:
            raise unsupported_element_error(str(s))
        out.append(i)
    return np.asarray(out, dtype=np.intp)


def index_map() -> dict[str, int]:
    """Symbol -> row index for the supported elements (shared, do not mutate)."""
    return _INDEX
