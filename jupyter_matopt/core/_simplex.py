"""Arithmetic on the bounded simplex behind :class:`~.space.CompositionSpace`: counting grid
points, shifting and projecting rows onto box-and-sum constraints, the nearest grid point."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from .composition import CompositionError

_TOL = 1e-9
# Largest number of support patterns (for max_components) that project() tries one by one;
# above it, a local search over single swaps starts from the largest components.
_MAX_EXHAUSTIVE_SUPPORTS = 256
# Grid points that project() may visit when looking for the nearest non-excluded one.
_MAX_EXCLUSION_SEARCH = 100_000
# Terms grid_size() keeps while counting (it fails clearly, never slowly, above this).
_MAX_COUNT_TERMS = 2_000_000


def _err(msg: str) -> CompositionError:
    return CompositionError(msg)


def _count_bounded(lo: list[int], hi: list[int], total: int, max_nonzero: int) -> int:
    """Integer vectors ``u`` with ``sum(u) == total``, each ``u_i`` 0 or in
    ``[max(lo_i, 1), hi_i]`` (exactly that range when ``lo_i > 0``), and at most
    ``max_nonzero`` non-zero entries.

    Each entry contributes ``[lo_i == 0] + y (x^a - x^(hi_i+1)) / (1 - x)`` (``a = max(lo_i,
    1)``) to a generating function; the product is kept as terms ``c y^j x^e / (1-x)^j``
    (``e <= total`` and ``j <= max_nonzero``: the others cannot contribute), and the answer
    is the sum of ``c * C(total - e + j - 1, j - 1)``.
    """
    terms: dict[tuple[int, int], int] = {(0, 0): 1}
    for a, b in zip(lo, hi, strict=True):
        start = max(a, 1)
        new: dict[tuple[int, int], int] = {}
        for (j, e), c in terms.items():
            if a == 0:
                new[(j, e)] = new.get((j, e), 0) + c
            if start <= b and j < max_nonzero:
                if e + start <= total:
                    key = (j + 1, e + start)
                    new[key] = new.get(key, 0) + c
                if e + b + 1 <= total:
                    key = (j + 1, e + b + 1)
                    new[key] = new.get(key, 0) - c
        terms = {key: c for key, c in new.items() if c}
        if len(terms) > _MAX_COUNT_TERMS:
            raise _err("too many distinct bounds to count the grid exactly; use fewer "
                       "components with distinct bounds or a coarser step")
    count = 0
    for (j, e), c in terms.items():
        rest = total - e
        if j == 0:
            count += c if rest == 0 else 0
        else:
            count += c * math.comb(rest + j - 1, j - 1)
    return count


def _shift(Y: np.ndarray, lo: np.ndarray, hi: np.ndarray, total: float,
           iterations: int = 64) -> np.ndarray:
    """Per-row lam with sum(clip(Y - lam, lo, hi)) ~= total (bisection; rows feasible)."""
    lam_lo = (Y - hi).min(axis=1) - 1.0
    lam_hi = (Y - lo).max(axis=1) + 1.0
    for _ in range(iterations):
        mid = 0.5 * (lam_lo + lam_hi)
        above = np.clip(Y - mid[:, None], lo, hi).sum(axis=1) > total
        lam_lo = np.where(above, mid, lam_lo)
        lam_hi = np.where(above, lam_hi, mid)
    return lam_hi  # the side whose sum is <= total


def _shift_exact(Y: np.ndarray, lo: np.ndarray, hi: np.ndarray, total: float
                 ) -> np.ndarray:
    """Per-row lam with sum(clip(Y - lam, lo, hi)) == total, from the breakpoints.

    The sum is piecewise linear and non-increasing in lam with breakpoints ``Y - hi`` and
    ``Y - lo``; it is evaluated at every breakpoint and interpolated on the segment holding
    ``total``. Unlike a bisection over ``[min(Y - hi), max(Y - lo)]`` this stays exact when
    one input is huge (1e20) and the others are not.
    """
    n, k = Y.shape
    out = np.empty(n)
    lo_all = np.broadcast_to(lo, Y.shape)  # bounds per row (masks make them differ)
    hi_all = np.broadcast_to(hi, Y.shape)
    for s in range(0, n, 2048):  # (rows, 2k, k) temporaries stay small
        y, a, b = Y[s:s + 2048], lo_all[s:s + 2048], hi_all[s:s + 2048]
        t = np.sort(np.concatenate([y - b, y - a], axis=1), axis=1)
        g = np.clip(y[:, None, :] - t[:, :, None], a[:, None, :], b[:, None, :]).sum(axis=2)
        below = g <= total + 1e-15 * max(1.0, total)
        j = np.where(below.any(axis=1), below.argmax(axis=1), 2 * k - 1)
        rows = np.arange(len(y))
        prev = np.maximum(j - 1, 0)
        drop = g[rows, prev] - g[rows, j]
        frac = np.divide(g[rows, prev] - total, drop, out=np.ones(len(y)), where=drop > 0)
        lam = t[rows, prev] + np.clip(frac, 0.0, 1.0) * (t[rows, j] - t[rows, prev])
        out[s:s + 2048] = np.where(j > 0, lam, t[rows, j])
    return out


def _project_box_simplex(Y: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                         total: float = 1.0) -> np.ndarray:
    """Row-wise Euclidean projection onto {lo <= x <= hi, sum x = total}."""
    with np.errstate(over="ignore", invalid="ignore"):
        lam = _shift_exact(Y, lo, hi, total)
        P = np.clip(Y - lam[:, None], lo, hi)
        off = np.abs(P.sum(axis=1) - total) > 1e-9 * max(1.0, total)
        if off.any():  # inputs so large that lam lost its precision: shift them (exact
            # in theory: the projection ignores a common shift) so the largest is 0
            Ys = Y[off] - Y[off].max(axis=1, keepdims=True)
            P[off] = np.clip(Ys - _shift_exact(Ys, lo, hi, total)[:, None], lo, hi)
    if np.any(np.abs(P.sum(axis=1) - total) > 1e-6 * max(1.0, total)):
        raise CompositionError("cannot project compositions this far outside the space "
                               "(values too large to resolve); give fractions near 0..1")
    # bisection noise leaves 1e-16-ish values beside bounds: put them on the bound
    eps = 1e-13 * max(1.0, total)
    P = np.where(P < lo + eps, lo, np.where(P > hi - eps, hi, P))
    # remove the last rounding residue on components strictly inside their bounds
    resid = total - P.sum(axis=1)
    inside = (P > lo) & (P < hi)
    cnt = inside.sum(axis=1)
    share = np.divide(resid, cnt, out=np.zeros_like(resid), where=cnt > 0)
    return np.clip(P + inside * share[:, None], lo, hi)


def _nearest_on_grid(Y: np.ndarray, A: np.ndarray, B: np.ndarray, N: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Nearest integer vectors to the rows of ``Y`` with A <= u <= B and sum(u) = N.

    ``clip(floor(Y - lam), A, B)`` holds, for any lam, the cheapest unit increments of a
    separable convex cost, so finishing greedily one unit at a time (cheapest next unit up,
    or dearest unit down) is exact; with lam from the continuous problem only about k units
    remain. Returns the points and their squared distances. Rows must be feasible.
    """
    lam = _shift(Y, A, B, N, iterations=40)  # only needs to be within a unit or so
    F = np.clip(np.floor(Y - lam[:, None]), A, B)
    d = N - F.sum(axis=1)
    for _ in range(int(np.abs(d).max()) + 1 if len(d) else 0):
        up = np.flatnonzero(d > 0.5)
        down = np.flatnonzero(d < -0.5)
        if not (len(up) or len(down)):
            break
        if len(up):
            cost = np.where(F[up] < B[up], F[up] - Y[up], np.inf)
            j = np.argmin(cost, axis=1)
            F[up, j] += 1
            d[up] -= 1
        if len(down):
            gain = np.where(F[down] > A[down], F[down] - Y[down], -np.inf)
            j = np.argmax(gain, axis=1)
            F[down, j] -= 1
            d[down] += 1
    return F, ((F - Y) ** 2).sum(axis=1)


def _bounded_compositions(lo: np.ndarray, hi: np.ndarray, N: int, chunk: int
                          ) -> Iterator[np.ndarray]:
    """Integer vectors v with lo <= v <= hi and sum(v) = N, in chunks, fully vectorized."""
    k = len(lo)
    lo = lo.astype(np.int64)
    hi = hi.astype(np.int64)
    if k == 0 or lo.sum() > N or hi.sum() < N:
        return
    rem_min = np.concatenate([np.cumsum(lo[::-1])[::-1][1:], [0]])
    rem_max = np.concatenate([np.cumsum(hi[::-1])[::-1][1:], [0]])

    def expand(rows: np.ndarray, partial: np.ndarray, i: int) -> Iterator[np.ndarray]:
        if i == k - 1:
            yield np.column_stack([rows, N - partial])
            return
        vmin = np.maximum(lo[i], N - rem_max[i] - partial)
        vmax = np.minimum(hi[i], N - rem_min[i] - partial)
        counts = np.maximum(vmax - vmin + 1, 0)
        # split the parents so that one expansion holds about `chunk` children
        csum = np.cumsum(counts)
        start = 0
        while start < len(rows):
            base = csum[start - 1] if start else 0
            stop = int(np.searchsorted(csum, base + chunk, side="right"))
            stop = max(stop, start + 1)
            c = counts[start:stop]
            rep = np.repeat(np.arange(start, stop), c)
            if len(rep):
                offs = np.arange(len(rep)) - np.repeat(np.cumsum(c) - c, c)
                v = vmin[rep] + offs
                yield from expand(np.column_stack([rows[rep], v]), partial[rep] + v, i + 1)
            start = stop

    yield from expand(np.zeros((1, 0), dtype=np.int64), np.zeros(1, dtype=np.int64), 0)
