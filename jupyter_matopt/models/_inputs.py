"""Inputs of ``PropertyModel``: compositions, targets and condition columns to arrays."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..core import parse_composition, to_formula
from ..core.elements import ATOMIC_NUMBER
from ._errors import ModelError

__all__ = ["Prepared", "prepare", "is_dataset", "as_items", "parse_items", "condition_array",
           "condition_names_of", "training_hash", "column_stats"]


@dataclass
class Prepared:
    """Featurized inputs (the expensive part), sliceable by rows for CV."""

    F: np.ndarray
    y: np.ndarray | None
    formulas: list[str]
    row_elements: list[tuple[str, ...]]
    groups: np.ndarray | None = None

    def take(self, idx: np.ndarray) -> Prepared:
        return Prepared(
            self.F[idx],
            None if self.y is None else self.y[idx],
            [self.formulas[i] for i in idx],
            [self.row_elements[i] for i in idx],
            None if self.groups is None else self.groups[idx],
        )

    def __len__(self) -> int:
        return self.F.shape[0]


def is_dataset(x: Any) -> bool:
    """Duck-typed :class:`~jupyter_matopt.data.Dataset` check (no import of ``data``)."""
    return hasattr(x, "compositions") and hasattr(x, "frame") and hasattr(x, "target")


def as_items(compositions: Any) -> list[Any]:
    """One composition, or a list/Series/one-column DataFrame of them, as a list."""
    if isinstance(compositions, (str, Mapping)) or hasattr(compositions, "get_el_amt_dict"):
        return [compositions]
    if isinstance(compositions, pd.DataFrame):
        if compositions.shape[1] != 1:
            raise ModelError(
                "a DataFrame of compositions must have exactly one column, got "
                f"{list(compositions.columns)}; pass df[column] instead"
            )
        compositions = compositions.iloc[:, 0]
    if isinstance(compositions, pd.Series):
        return compositions.tolist()
    try:
        return list(compositions)
    except TypeError:
        raise ModelError(
            "compositions must be a formula, a mapping of element to amount, a Dataset, or a "
            f"list/Series of formulas or mappings; got {type(compositions).__name__}"
        ) from None


def parse_items(items: Sequence[Any]) -> tuple[list[str], list[tuple[str, ...]]]:
    """Formula text and element tuple (ordered by Z) of each item, parsing each string once."""
    seen: dict[str, tuple[str, tuple[str, ...]]] = {}
    formulas: list[str] = []
    elements: list[tuple[str, ...]] = []
    for x in items:
        if isinstance(x, str) and x in seen:
            f, e = seen[x]
        else:
            fr = parse_composition(x)
            e = tuple(sorted(fr, key=ATOMIC_NUMBER.__getitem__))
            f = x if isinstance(x, str) else to_formula(fr)
            if isinstance(x, str):
                seen[x] = (f, e)
        formulas.append(f)
        elements.append(e)
    return formulas, elements


def condition_names_of(conditions: Any) -> list[str]:
    """Column names of fit-time conditions (a DataFrame or a dict of named columns)."""
    if isinstance(conditions, pd.DataFrame):
        return [str(c) for c in conditions.columns]
    if isinstance(conditions, Mapping):
        return [str(c) for c in conditions]
    if conditions is None:
        return []
    raise ModelError("conditions for fit must be a DataFrame or a dict of named columns")


def _columns(conditions: Any, names: list[str], where: str) -> list[Any]:
    if isinstance(conditions, pd.DataFrame):
        missing = [c for c in names if c not in conditions.columns]
        if missing:
            raise ModelError(
                f"{where}: conditions lack column(s) {missing}; got {list(conditions.columns)}"
            )
        return [conditions[c].to_numpy() for c in names]
    if isinstance(conditions, Mapping):
        missing = [c for c in names if c not in conditions]
        if missing:
            raise ModelError(f"{where}: conditions lack {missing}; got {list(conditions)}")
        return [np.asarray(conditions[c]) for c in names]
    arr = np.asarray(conditions)
    if arr.ndim in (0, 1) and len(names) == 1:
        return [arr]
    if arr.ndim == 1 and arr.shape[0] == len(names):
        return [arr[j] for j in range(len(names))]
    if arr.ndim == 2 and arr.shape[1] == len(names):
        return [arr[:, j] for j in range(len(names))]
    raise ModelError(
        f"{where}: conditions must be a DataFrame or dict with columns {names}, or an "
        f"array of shape (n, {len(names)}); got shape {arr.shape}"
    )


def condition_array(conditions: Any, n: int, names: Sequence[str], *, where: str) -> np.ndarray:
    """Condition values as an ``(n, len(names))`` float array (NaN means unknown)."""
    names = list(names)
    if not names:
        if conditions is not None and not (
            isinstance(conditions, pd.DataFrame) and conditions.shape[1] == 0
        ):
            if isinstance(conditions, (Mapping, pd.DataFrame)) and len(conditions) == 0:
                return np.zeros((n, 0))
            raise ModelError(
                f"{where}: this model has no condition columns, but conditions were given"
            )
        return np.zeros((n, 0))
    if conditions is None:
        raise ModelError(
            f"{where}: this model needs the condition column(s) {names} (e.g. "
            f"conditions={{{names[0]!r}: 300.0}})"
        )
    cols = _columns(conditions, names, where)
    out = np.empty((n, len(names)))
    for j, (name, col) in enumerate(zip(names, cols, strict=True)):
        try:
            values = np.asarray(col, dtype=np.float64)
        except (TypeError, ValueError):
            raise ModelError(f"{where}: condition {name!r} must be numeric") from None
        if values.ndim == 0 or values.size == 1:
            out[:, j] = float(values.reshape(-1)[0])
        elif values.shape == (n,):
            out[:, j] = values
        else:
            raise ModelError(f"{where}: condition {name!r} has {values.size} values for {n} rows")
    if np.isinf(out).any():
        raise ModelError(f"{where}: conditions must be finite numbers (NaN means unknown)")
    return out


def training_hash(formulas: Sequence[str], y: np.ndarray, conditions: np.ndarray | None) -> str:
    """sha256 of the training compositions, targets and conditions."""
    h = hashlib.sha256()
    h.update("\x1f".join(formulas).encode("utf-8"))
    h.update(np.ascontiguousarray(np.asarray(y, dtype=np.float64)).tobytes())
    if conditions is not None and conditions.size:
        h.update(np.ascontiguousarray(conditions, dtype=np.float64).tobytes())
    return h.hexdigest()


def column_stats(F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of each column over its finite entries (0 and 0 for an all-NaN column),
    without numpy's empty-slice warnings."""
    ok = np.isfinite(F)
    cnt = ok.sum(axis=0)
    Z = np.where(ok, F, 0.0)
    mean = Z.sum(axis=0) / np.maximum(cnt, 1)
    var = (np.where(ok, F - mean, 0.0) ** 2).sum(axis=0) / np.maximum(cnt, 1)
    return mean, np.sqrt(var)


def prepare(
    X: Any,
    y: Any = None,
    conditions: Any = None,
    *,
    preset: str,
    condition_names: Sequence[str] | None,
    need_y: bool,
) -> tuple[Prepared, dict[str, Any]]:
    """Featurize inputs (a Dataset, or compositions with y and conditions)."""
    from ..features import featurize

    info: dict[str, Any] = {"target": "target", "units": "", "task": None, "conditions": []}
    groups = None
    if is_dataset(X):
        ds = X
        if y is not None:
            raise ModelError("pass either a Dataset or (compositions, y), not both")
        items = ds.compositions
        y_arr = ds.y if need_y else None
        names = list(ds.conditions) if condition_names is None else list(condition_names)
        cond_src = ds.frame[names] if names else None
        if conditions is not None:
            cond_src = conditions
        info.update(target=ds.target, units=ds.units, task=ds.task, conditions=names)
        groups = np.asarray(ds.groups)
    else:
        items = as_items(X)
        if need_y:
            if y is None:
                raise ModelError(
                    "fit needs targets: fit(dataset) or fit(compositions, y, conditions=...)"
                )
            y_arr = y.to_numpy() if isinstance(y, (pd.Series, pd.DataFrame)) else np.asarray(y)
            y_arr = y_arr.reshape(-1) if y_arr.ndim > 1 and y_arr.shape[-1] == 1 else y_arr
            if y_arr.ndim != 1 or y_arr.shape[0] != len(items):
                raise ModelError(
                    f"y must have one value per composition ({len(items)}), got shape "
                    f"{np.shape(y_arr)}"
                )
            if isinstance(y, pd.Series) and y.name is not None:
                info["target"] = str(y.name)
        else:
            y_arr = None
        if condition_names is None:
            names = condition_names_of(conditions)
        else:
            names = list(condition_names)
        cond_src = conditions
        info["conditions"] = names
    if len(items) == 0:
        raise ModelError("no compositions given")
    formulas, row_elements = parse_items(items)
    F_comp = featurize(items, preset=preset).to_numpy(dtype=np.float64)
    C = condition_array(cond_src, len(items), names, where="conditions")
    F = np.hstack([F_comp, C]) if C.shape[1] else F_comp
    return Prepared(F, y_arr, formulas, row_elements, groups), info
