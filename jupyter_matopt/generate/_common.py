"""Shared pieces of the generate package: its error, input readers and the formula writer
(split from :mod:`.generator` so each module stays short)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from ..core.composition import to_formula

__all__ = ["GenerateError", "formulas"]


class GenerateError(ValueError):
    """Bad input to the generator or the generation report (subclasses ``ValueError``)."""


def _positive_int(name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise GenerateError(f"{name} must be a positive integer, got {v!r}")
    return int(v)


def _dataset_parts(data: Any, y: Any) -> tuple[list[Any], np.ndarray | None, str | None]:
    if hasattr(data, "compositions") and hasattr(data, "frame"):  # a Dataset
        yy = np.asarray(data.y, dtype=float) if y is None else np.asarray(y, dtype=float)
        return list(data.compositions), yy, str(getattr(data, "target", "") or "") or None
    if isinstance(data, pd.DataFrame):
        from ..core.elements import is_element

        cols = [c for c in data.columns if isinstance(c, str) and is_element(c)]
        if cols:
            rows = [dict(zip(cols, r, strict=True)) for r in data[cols].to_numpy(float)]
            rows = [{k: v for k, v in r.items() if v > 0} for r in rows]
            return rows, None if y is None else np.asarray(y, float), None
        if "formula" in data.columns:
            return list(data["formula"]), None if y is None else np.asarray(y, float), None
        raise GenerateError("a DataFrame to fit on needs element columns or a 'formula' column")
    if isinstance(data, (str, bytes)):
        raise GenerateError("fit needs many compositions (a Dataset or a list of formulas), "
                            "got one string")
    return list(data), None if y is None else np.asarray(y, dtype=float), None


@cache
def _amount_text() -> np.ndarray:
    """``"%.4f"`` texts of 0, 0.0001, ..., 1 without trailing zeros (``"0.5"``, ``"1"``),
    and ``""`` last (index -1: an empty formula slot)."""
    import re

    strip = re.compile(r"\.?0+$")
    return np.array([strip.sub("", f"{i / 1e4:.4f}") for i in range(10_001)] + [""],
                    dtype=object)


def formulas(X: np.ndarray, elements: Sequence[str], *, integer: bool = False) -> list[str]:
    """Formula text of fraction rows: integer formulas (``LiFeO2``) when ``integer`` and the
    row has one with at most 30 atoms, else fractional formulas (``Fe0.7Cr0.3``, 4 decimals,
    as :func:`~jupyter_matopt.core.to_formula`)."""
    X = np.asarray(X, dtype=float)
    els = list(elements)
    if not len(X):
        return []
    ok = np.zeros(len(X), dtype=bool)
    out = np.empty(len(X), dtype=object)
    if integer:
        from ..rules import integer_formulas
        from ..rules.compound import pauling_electronegativity as _eneg

        counts, ok = integer_formulas(X, tol=1e-6, max_atoms=30)
        rows = np.flatnonzero(ok)
        if len(rows):
            # cations first, as chemists write formulas; built column by column over object
            # arrays (one Python step per formula position, not per row)
            order = sorted(range(len(els)), key=lambda j: (_eneg(els[j]) or 99.0, j))
            rank = np.empty(len(els), dtype=np.int64)
            rank[order] = np.arange(len(els))
            C = counts[rows]
            m = int((C > 0).sum(axis=1).max())
            pos = np.argsort(np.where(C > 0, rank[None, :], len(els)), axis=1,
                             kind="stable")[:, :m]
            cnt = np.take_along_axis(C, pos, axis=1)
            names = np.array([*els, ""], dtype=object)
            cstr = np.array(["", "", *map(str, range(2, int(cnt.max()) + 1))], dtype=object)
            text = np.full(len(rows), "", dtype=object)
            for c in range(m):
                text = text + names[np.where(cnt[:, c] > 0, pos[:, c], len(els))] \
                    + cstr[cnt[:, c]]
            out[rows] = text
    rest = np.flatnonzero(~ok)
    if len(rest):
        Xr = X[rest]
        present = Xr > 0
        # amounts that round to 0 at 4 decimals need more digits: to_formula writes those
        tiny = (present & (Xr < 5e-5)).any(axis=1)
        for i in rest[tiny].tolist():
            out[i] = to_formula({els[j]: float(X[i, j]) for j in np.flatnonzero(X[i] > 0)})
        fast = ~tiny
        if fast.any():
            # amounts written through a table of the 10,001 four-decimal texts, column by
            # column over object arrays (sample(10_000) must stay well under a second)
            P, Xf = present[fast], Xr[fast]
            m = int(P.sum(axis=1).max())
            pos = np.argsort(~P, axis=1, kind="stable")[:, :m]
            V = np.rint(np.take_along_axis(Xf, pos, axis=1) * 1e4).astype(np.int64)
            V[~np.take_along_axis(P, pos, axis=1)] = -1
            names, amounts = np.array([*els, ""], dtype=object), _amount_text()
            text = np.full(len(V), "", dtype=object)
            for c in range(m):
                text = text + names[np.where(V[:, c] >= 0, pos[:, c], len(els))] \
                    + amounts[V[:, c]]
            out[rest[fast]] = text
    return out.tolist()
