"""Shared pieces of the generate package: its error, input readers and the formula writer
(split from :mod:`.generator` so each module stays short)."""

from __future__ import annotations

from collections.abc import Sequence
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
    # one %-template per support pattern and one regex per row: ~50x faster than formatting
    # each amount in Python (sample(10_000) must stay well under a second)
    import re

    strip = re.compile(r"\.?0+(?=[A-Z]|$)")
    templates: dict[bytes, tuple[str, np.ndarray]] = {}
    present = X > 0
    for i in np.flatnonzero(~ok).tolist():
        key = present[i].tobytes()
        tpl = templates.get(key)
        if tpl is None:
            nz = np.flatnonzero(present[i])
            tpl = templates[key] = ("".join(f"{els[j]}%.4f" for j in nz), nz)
        v = X[i, tpl[1]]
        if v.min() < 5e-5:
            out[i] = to_formula({els[j]: float(X[i, j]) for j in tpl[1]})
        else:
            out[i] = strip.sub("", tpl[0] % tuple(v.tolist()))
    return out.tolist()
