"""Vectorized feature kernels over a :class:`~._batch.Batch`.

No per-row Python: each kernel loops over chunks of rows and, inside a chunk, over element
*columns* (at most a few dozen), doing whole-chunk numpy operations.
"""

from __future__ import annotations

import numpy as np

from ._batch import CHUNK_ROWS, Batch
from ._tables import MAX_Z, magpie_property, magpie_table, miedema_enthalpy_matrix

__all__ = [
    "magpie_stats",
    "element_fractions",
    "alloy_descriptors",
    "ALLOY_LABELS",
    "GAS_CONSTANT",
]

# matminer's PropertyStats.mode uses np.isclose(weights, weights.max()) with numpy's defaults.
_MODE_RTOL = 1e-5
_MODE_ATOL = 1e-8

#: Molar gas constant, J/(mol K) (CODATA 2018, exact).
GAS_CONSTANT = 8.314462618


def _subset_tables(V: np.ndarray, reduce: np.ufunc, empty: float) -> np.ndarray:
    """Min (or max) of ``V``'s rows over every subset of each group of 8 consecutive rows.

    Returns ``T`` of shape ``(ceil(k/8), 256, p)`` where ``T[g, code]`` reduces the rows
    ``8g + b`` whose bit ``b`` is set in ``code`` (``empty`` for code 0). With presence masks
    packed into bytes (``np.packbits``), a row's min/max over present elements is then one
    table lookup per group instead of a masked reduction over all ``k`` elements.
    """
    k, p = V.shape
    groups = max(1, -(-k // 8))
    T = np.full((groups, 256, p), empty)
    for g in range(groups):
        block = V[8 * g : 8 * g + 8]
        for b in range(len(block)):
            # subsets whose highest bit is b = (subsets of lower bits) plus element b
            reduce(T[g, : 1 << b], block[b], out=T[g, 1 << b : 2 << b])
    return T


def _lookup(T: np.ndarray, codes: np.ndarray, reduce: np.ufunc) -> np.ndarray:
    """Reduce the table rows picked by ``codes`` (``(groups, c)`` bytes from packbits)."""
    out = T[0][codes[0]]
    for g in range(1, T.shape[0]):
        reduce(out, T[g][codes[g]], out=out)
    return out


def _mode_ties(FT: np.ndarray) -> np.ndarray:
    """``(m, c)`` mask of elements whose fraction is ``np.isclose`` to the row's largest.

    Takes and returns the transposed layout: long contiguous rows make these small
    elementwise operations several times cheaper than on ``(c, m)``.
    """
    fmax = FT.max(axis=0)
    return (fmax - FT) <= (_MODE_ATOL + _MODE_RTOL * fmax)


def magpie_stats(batch: Batch, table: np.ndarray | None = None) -> np.ndarray:
    """Minimum, maximum, range, mean, avg_dev and mode of element properties.

    Semantics are those of matminer's ``ElementProperty`` with ``PropertyStats``: the mean
    and the mean absolute deviation ``sum_i w_i |x_i - mean|`` are weighted by atomic
    fraction; minimum/maximum/range run over the elements present (fraction > 0); ``mode``
    is the property of the element with the largest fraction, the smallest such value when
    several fractions are ``np.isclose`` to the largest (ties are judged on fractions that
    sum to 1, so ``Fe0.5O0.5`` and ``Fe2O2`` agree).

    Sums run element by element in Z order (zeros add exactly nothing), so a composition
    gets bit-identical features whatever else is in its batch and whichever layout is used.

    Args:
        batch: Normalized compositions.
        table: ``(103, p)`` property table (default: the 22 Magpie preset properties).

    Returns:
        ``(n, p, 6)`` float64 array, statistics in :data:`MAGPIE_STATS` order.
    """
    if table is None:
        table = magpie_table()
    p = table.shape[1]
    out = np.empty((len(batch), p, 6))
    if batch.shared:
        V = np.ascontiguousarray(table[batch.idx])
        tmin = _subset_tables(V, np.minimum, np.inf)
        tmax = _subset_tables(V, np.maximum, -np.inf)
    d = np.empty((min(len(batch), CHUNK_ROWS), p))
    for start, chunk in batch.chunks():
        F = chunk.frac
        c = F.shape[0]
        dc = d[:c]
        FT = np.ascontiguousarray(F.T)
        if batch.shared:
            cols = np.flatnonzero(FT.any(axis=1))  # elements absent from the whole chunk add 0
            values = [V[j] for j in cols]
        else:
            cols = np.arange(FT.shape[0])
            Vs = table[chunk.idx.T]  # (m, c, p): property of each row's j-th element
            values = list(Vs)
        weights = [FT[j][:, None] for j in cols]
        # Sequential sums; starting from the first term equals 0 + first term exactly.
        mean = np.multiply(values[0], weights[0])
        for w, v in zip(weights[1:], values[1:], strict=True):
            np.multiply(v, w, out=dc)
            mean += dc
        avg = np.abs(values[0] - mean)
        avg *= weights[0]
        for w, v in zip(weights[1:], values[1:], strict=True):
            np.subtract(v, mean, out=dc)
            np.abs(dc, out=dc)
            dc *= w
            avg += dc
        if batch.shared:
            codes = np.packbits(FT > 0, axis=0, bitorder="little")
            mn = _lookup(tmin, codes, np.minimum)
            mx = _lookup(tmax, codes, np.maximum)
            ties = np.packbits(_mode_ties(FT), axis=0, bitorder="little")
            mode = _lookup(tmin, ties, np.minimum)
        else:
            present = FT > 0
            ties = _mode_ties(FT)
            mn = np.full((c, p), np.inf)
            mx = np.full((c, p), -np.inf)
            mode = np.full((c, p), np.inf)
            for j, v in enumerate(values):
                pj = present[j][:, None]
                np.minimum(mn, np.where(pj, v, np.inf), out=mn)
                np.maximum(mx, np.where(pj, v, -np.inf), out=mx)
                np.minimum(mode, np.where(ties[j][:, None], v, np.inf), out=mode)
        # Equal values (e.g. NdValence of Ag2HgI4): report the exact value and zero spread
        # instead of rounding noise from the weighted sum.
        same = mx == mn
        np.copyto(mean, mn, where=same)
        avg[same] = 0.0
        o = out[start : start + c]
        o[:, :, 0] = mn
        o[:, :, 1] = mx
        np.subtract(mx, mn, out=o[:, :, 2])
        o[:, :, 3] = mean
        o[:, :, 4] = avg
        o[:, :, 5] = mode
    return out


def element_fractions(batch: Batch) -> np.ndarray:
    """``(n, 103)`` atomic fractions in Z order (H .. Lr), zeros for absent elements."""
    out = np.zeros((len(batch), MAX_Z))
    if batch.shared:
        out[:, batch.idx] = batch.frac
    else:
        rows, cols = np.nonzero(batch.frac > 0)
        out[rows, batch.idx[rows, cols]] = batch.frac[rows, cols]
    return out


#: Labels of :func:`alloy_descriptors`, in column order.
ALLOY_LABELS: tuple[str, ...] = (
    "alloy mixing entropy",
    "alloy size mismatch delta",
    "alloy VEC",
    "alloy electronegativity delta",
    "alloy mean melting T",
    "alloy mixing enthalpy",
    "alloy Yang omega",
)


def _wsum(FT: np.ndarray, cols: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``sum_j c_j values_j`` element by element in Z order (see :func:`magpie_stats`).

    ``FT`` is ``(m, c)`` fractions, ``values`` ``(m,)`` shared or ``(c, m)`` per row.
    """
    vt = values if values.ndim == 1 else values.T
    acc = np.zeros(FT.shape[1])
    for j in cols:
        acc += FT[j] * vt[j]
    return acc


def alloy_descriptors(batch: Batch, radius_property: str = "MiracleRadius") -> np.ndarray:
    """High-entropy-alloy descriptors; see :class:`~.alloy.AlloyFeaturizer` for definitions.

    Returns:
        ``(n, 7)`` array in :data:`ALLOY_LABELS` order.
    """
    radius = magpie_property(radius_property)
    vec = magpie_property("NValence")
    chi = magpie_property("Electronegativity")
    tm = magpie_property("MeltingT")
    hmat = miedema_enthalpy_matrix()
    out = np.empty((len(batch), len(ALLOY_LABELS)))
    if batch.shared:
        h_shared = hmat[np.ix_(batch.idx, batch.idx)]
        h_missing = np.isnan(h_shared).astype(np.float64)
        h_zero = np.nan_to_num(h_shared, nan=0.0)
    for start, chunk in batch.chunks():
        F = chunk.frac
        idx = chunk.idx
        FT = np.ascontiguousarray(F.T)
        present = FT > 0
        cols = np.flatnonzero(present.any(axis=1))

        def wsum(values: np.ndarray) -> np.ndarray:
            return _wsum(FT, cols, values)  # noqa: B023 - used within this iteration only

        logF = np.zeros_like(F)
        np.log(F, out=logF, where=F > 0)
        entropy = -GAS_CONSTANT * wsum(logF) + 0.0  # + 0.0: no -0.0 for pure elements
        r = np.broadcast_to(radius[idx], F.shape)
        r_mean = wsum(r)
        delta = 100.0 * np.sqrt(wsum((1.0 - r / r_mean[:, None]) ** 2))
        vec_mean = wsum(vec[idx])
        x = np.broadcast_to(chi[idx], F.shape)
        x_mean = wsum(x)
        x_delta = np.sqrt(wsum((x - x_mean[:, None]) ** 2))
        tm_mean = wsum(tm[idx])
        if batch.shared:
            # Takeuchi-Inoue: sum_{i<j} 4 H_ij c_i c_j = 2 sum_i c_i sum_j H_ij c_j (0 diagonal)
            inner = np.zeros_like(F)
            for j in cols:
                inner += FT[j][:, None] * h_zero[j][None, :]
            enthalpy = 2.0 * wsum(inner)
            P = present.T.astype(np.float64)
            missing = np.einsum("ci,ci->c", P @ h_missing, P) > 0
        else:
            hp = hmat[idx[:, :, None], idx[:, None, :]]
            pair = present.T[:, :, None] & present.T[:, None, :]
            missing = (np.isnan(hp) & pair).any(axis=(1, 2))
            hp = np.where(pair, hp, 0.0)
            inner = np.zeros_like(F)
            for j in cols:
                inner += FT[j][:, None] * hp[:, :, j]
            enthalpy = 2.0 * wsum(inner)
        enthalpy[missing] = np.nan
        # Yang & Zhang (2012): Omega = Tm dS / |dH|, dS in kJ/(mol K) to match dH in kJ/mol;
        # |dH| is floored at 1e-6 kJ/mol as in matminer's YangSolidSolution.
        with np.errstate(invalid="ignore"):
            omega = tm_mean * entropy / 1000.0 / np.maximum(np.abs(enthalpy), 1e-6)
        o = out[start : start + F.shape[0]]
        o[:, 0] = entropy
        o[:, 1] = delta
        o[:, 2] = vec_mean
        o[:, 3] = x_delta
        o[:, 4] = tm_mean
        o[:, 5] = enthalpy
        o[:, 6] = omega
    return out
