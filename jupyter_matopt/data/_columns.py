"""Column detection, target coercion and composition validation behind :class:`Dataset`
(split from :mod:`.dataset` so each module stays short)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..core import CompositionError, composition_key, parse_composition
from ._errors import DatasetError

Task = Literal["regression", "classification"]

_TASKS = ("regression", "classification")
_REPORT_COLUMNS = ["index", "input", "reason"]

# Normalized (lower case, no spaces/underscores/dashes) column names taken as the composition
# column without looking at the values, in order of preference.
_COMPOSITION_NAMES = (
    "composition",
    "compositions",
    "formula",
    "formulas",
    "pymatgencomposition",
    "reducedformula",
    "prettyformula",
    "formulapretty",
    "chemicalformula",
    "compound",
    "comp",
)
_SNIFF_ROWS = 50


def _norm_name(name: Any) -> str:
    return re.sub(r"[\s_\-]+", "", str(name).lower())


def _empty_report() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in _REPORT_COLUMNS})


def _short(value: Any, width: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _parses(value: Any) -> bool:
    try:
        parse_composition(value)
    except CompositionError:
        return False
    return True


def _detect_composition_col(frame: pd.DataFrame, exclude: Iterable[Any]) -> str:
    """The composition column: by name first, else the one text column whose values parse."""
    skip = set(exclude)
    by_name = {_norm_name(c): c for c in reversed(list(frame.columns)) if c not in skip}
    for wanted in _COMPOSITION_NAMES:
        if wanted in by_name:
            return by_name[wanted]
    candidates = []
    for col in frame.columns:
        if col in skip or not (
            frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col])
        ):
            continue
        sample = frame[col].dropna().head(_SNIFF_ROWS)
        if len(sample) and all(isinstance(v, str) and _parses(v) for v in sample):
            candidates.append(col)
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        raise DatasetError(
            f"several columns look like compositions ({candidates}); choose one with "
            f"composition_col=..."
        )
    raise DatasetError(
        f"no composition column found among {list(frame.columns)}: name it 'composition' or "
        f"'formula', or pass composition_col=..."
    )


def _guess_target(frame: pd.DataFrame, exclude: Iterable[Any]) -> str:
    skip = set(exclude)
    numeric = [
        c
        for c in frame.columns
        if c not in skip and (pd.api.types.is_numeric_dtype(frame[c]) or frame[c].dtype == bool)
    ]
    if len(numeric) == 1:
        return numeric[0]
    if not numeric:
        raise DatasetError(
            f"no numeric target column found; columns are {list(frame.columns)}; pass target=..."
        )
    raise DatasetError(f"several candidate target columns {numeric}; choose one with target=...")


def _coerce_target(series: pd.Series, name: str) -> pd.Series:
    """The target as numbers: bools become 0/1; text that is not a number is an error."""
    if series.dtype == bool:
        return series.astype(int)
    if pd.api.types.is_numeric_dtype(series):
        return series
    numbers = pd.to_numeric(series, errors="coerce")
    bad = series.notna() & numbers.isna()
    if bad.any():
        shown = ", ".join(f"row {i} {_short(v)}" for i, v in series[bad].head(5).items())
        raise DatasetError(
            f"target column {name!r} must hold numbers; {int(bad.sum())} value(s) are not "
            f"numbers: {shown}"
        )
    return numbers


def _infer_task(series: pd.Series) -> Task:
    values = series.dropna()
    if series.dtype == bool or (len(values) and set(np.unique(values.to_numpy())) <= {0, 1}):
        return "classification"
    return "regression"


def _composition_text(value: Any) -> Any:
    """Formula text for a composition given as a mapping or pymatgen Composition."""
    if isinstance(value, str) or value is None:
        return value
    formula = getattr(value, "formula", None)  # pymatgen Composition: "Fe2 O3"
    if isinstance(formula, str):
        return formula
    if isinstance(value, Mapping):
        from ..core import to_formula

        return to_formula(parse_composition(value), decimals=8)
    return value


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # array-likes: not a missing scalar
        return False


def _key_or_reason(value: Any) -> tuple[str | None, str]:
    try:
        # composition_key parses (and validates) the value; one parse per distinct formula.
        return composition_key(value), ""
    except CompositionError as exc:
        return None, str(exc).split(": ", 1)[-1]


def _validate_compositions(values: pd.Series) -> tuple[pd.Series, pd.DataFrame]:
    """Group keys for the valid rows (None for bad rows) and the report of the bad rows.

    Each distinct formula is parsed once: repeated formulas are common (47,737 rows but
    34,631 formulas in the Ricci set).
    """
    items = list(values)
    if all(isinstance(v, str) for v in items):
        memo: dict[str, tuple[str | None, str]] = {}
        results = [memo[v] if v in memo else memo.setdefault(v, _key_or_reason(v)) for v in items]
    else:  # mappings / Composition objects are not hashable; NaN or None are bad rows
        results = [
            (None, "missing composition") if _is_missing(v) else _key_or_reason(v) for v in items
        ]
    keys = pd.Series([k for k, _ in results], index=values.index, dtype=object)
    bad = [i for i, (k, _) in enumerate(results) if k is None]
    report = pd.DataFrame(
        {
            "index": [values.index[i] for i in bad],
            "input": [items[i] for i in bad],
            "reason": [results[i][1] for i in bad],
        },
        columns=_REPORT_COLUMNS,
    )
    return keys, report




def _bad_rows_message(report: pd.DataFrame, n_rows: int, col: str, source: str) -> str:
    shown = "; ".join(
        f"row {i} {_short(v)}: {r}"
        for i, v, r in report[_REPORT_COLUMNS].head(5).itertuples(index=False)
    )
    more = f" (and {len(report) - 5} more)" if len(report) > 5 else ""
    return (
        f"{len(report)} of {n_rows} rows of {source} have an invalid composition in column "
        f"{col!r}: {shown}{more}. Fix them, or pass bad_rows='skip' to drop them (the report "
        f"is kept in dataset.bad_rows)."
    )
