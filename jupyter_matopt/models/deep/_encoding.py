"""Numpy-only inputs of the attention network: element table and padded compositions.

Element embeddings come from the mat2vec-style ``matscholar_els.json`` table that matminer
ships offline (200 numbers per element, 103 elements). Row ``Z`` of the table belongs to the
element with atomic number ``Z``; row 0 is padding; elements missing from the file get a zero
row (the network's learned per-element correction is their only embedding).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from functools import cache

import numpy as np

from ...core.elements import ATOMIC_NUMBER, SYMBOLS

__all__ = ["EMBEDDING_SOURCE", "N_SLOTS", "element_table", "encode_fractions", "encode_dicts"]

EMBEDDING_SOURCE = "matminer utils/data_files/matscholar_els.json"
N_SLOTS = len(SYMBOLS) + 1  # row 0 = padding


@cache
def element_table() -> np.ndarray:
    """``(119, 200)`` float32 table of element embeddings (row Z; zero rows when missing).

    Each column is standardized over the elements present in the file, so no single
    embedding direction dominates the first linear layer.
    """
    import matminer

    path = os.path.join(
        os.path.dirname(matminer.__file__), "utils", "data_files", "matscholar_els.json"
    )
    with open(path, encoding="utf-8") as fh:
        raw: dict[str, list[float]] = json.load(fh)
    dim = len(next(iter(raw.values())))
    table = np.zeros((N_SLOTS, dim), dtype=np.float64)
    rows = [ATOMIC_NUMBER[s] for s in raw if s in ATOMIC_NUMBER]
    vals = np.array([raw[s] for s in raw if s in ATOMIC_NUMBER], dtype=np.float64)
    vals = (vals - vals.mean(axis=0)) / (vals.std(axis=0) + 1e-8)
    table[rows] = vals
    out = table.astype(np.float32)
    out.setflags(write=False)
    return out


def encode_fractions(
    X: np.ndarray, elements: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Padded ``(Z, frac)`` arrays from an ``(n, k)`` fraction matrix over ``elements``.

    Rows are renormalized to sum to one; elements with a zero fraction are left out (the
    attention runs over the elements present only). Returns int64 ``Z`` of shape ``(n, m)``
    (0 = padding) and float32 fractions of the same shape, ``m`` the largest count present.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != len(elements):
        raise ValueError(f"expected an (n, {len(elements)}) fraction matrix, got {X.shape}")
    z_of = np.array([ATOMIC_NUMBER[e] for e in elements], dtype=np.int64)
    X = np.where(X > 0, X, 0.0)
    total = X.sum(axis=1, keepdims=True)
    X = np.divide(X, total, out=np.zeros_like(X), where=total > 0)
    present = X > 0
    m = max(1, int(present.sum(axis=1).max(initial=0)))
    # the present columns first, in their column order (stable sort of "absent" flags)
    order = np.argsort(~present, axis=1, kind="stable")[:, :m]
    F = np.take_along_axis(X, order, axis=1)
    Z = np.where(F > 0, z_of[order], 0)
    return Z.astype(np.int64), F.astype(np.float32)


def encode_dicts(comps: Sequence[Mapping[str, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Padded ``(Z, frac)`` arrays from parsed compositions (element -> fraction dicts)."""
    m = max((len(c) for c in comps), default=1)
    Z = np.zeros((len(comps), m), dtype=np.int64)
    F = np.zeros((len(comps), m), dtype=np.float32)
    for i, c in enumerate(comps):
        tot = sum(c.values())
        for j, (s, v) in enumerate(c.items()):
            Z[i, j] = ATOMIC_NUMBER[s]
            F[i, j] = v / tot
    return Z, F
