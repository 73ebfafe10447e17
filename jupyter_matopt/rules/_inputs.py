"""Shared input handling of the plausibility rules: compositions in, a fraction matrix out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.composition import CompositionError, fractions_matrix
from ..core.elements import is_element

__all__ = ["RulesError", "as_fractions"]


class RulesError(ValueError):
    """Bad input to a plausibility rule (subclasses ``ValueError``)."""


def as_fractions(compositions: Any, elements: Sequence[str] | None = None
                 ) -> tuple[np.ndarray, list[str]]:
    """An ``(n, k)`` matrix of fractions (rows summing to 1) and its element list.

    Accepts a formula or mapping, a list of them, a DataFrame whose element-symbol columns
    hold amounts (other columns are ignored), or an ``(n, k)`` array with ``elements``.
    """
    if isinstance(compositions, pd.DataFrame):
        cols = [c for c in compositions.columns if isinstance(c, str) and is_element(c)]
        if elements is not None:
            missing = [e for e in elements if e not in compositions.columns]
            if missing:
                raise RulesError(f"the DataFrame has no column for {missing}")
            cols = list(elements)
        if not cols:
            if "formula" in compositions.columns:
                return as_fractions(list(compositions["formula"]))
            raise RulesError(
                "a DataFrame of compositions needs element-symbol columns (e.g. 'Fe', 'O') "
                "or a 'formula' column"
            )
        X = compositions[cols].to_numpy(dtype=float)
        elements = cols
    elif isinstance(compositions, np.ndarray) and compositions.dtype.kind in "fiu":
        if elements is None:
            raise RulesError("a fraction array needs `elements` (one symbol per column)")
        X = np.asarray(compositions, dtype=float)
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != len(elements):
            raise RulesError(
                f"fractions must have shape (n, {len(elements)}) to match `elements`, "
                f"got {X.shape}"
            )
        bad = [e for e in elements if not is_element(str(e))]
        if bad:
            raise RulesError(f"elements must be element symbols, got {bad}")
        elements = [str(e) for e in elements]
    else:
        items = [compositions] if isinstance(compositions, (str, dict)) or hasattr(
            compositions, "get_el_amt_dict") else list(compositions)
        try:
            X, elements = fractions_matrix(items, None if elements is None else list(elements))
        except CompositionError as e:
            raise RulesError(str(e)) from None
    if not np.all(np.isfinite(X)) or (X < 0).any():
        raise RulesError("fractions must be finite and non-negative")
    s = X.sum(axis=1, keepdims=True)
    if (s <= 0).any():
        raise RulesError(f"row {int(np.flatnonzero(s.ravel() <= 0)[0])} has no positive amount")
    return X / s, list(elements)
