"""Pareto fronts, exact hypervolumes and hypervolume improvements for 1-3 objectives.

Everything works in a maximization frame internally: a ``"min"`` objective is negated. The
region not dominated by a front is split into axis-aligned boxes (one column per cell of the
grid spanned by the front's coordinates in all but the last objective), which gives the exact
hypervolume and the exact hypervolume improvement of many points at once, vectorized.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["pareto_front", "nondominated", "hypervolume", "hypervolume_improvement",
           "directions_sign"]


def directions_sign(directions: str | Sequence[str] | None, m: int) -> np.ndarray:
    """``+1`` for each ``"max"`` objective and ``-1`` for each ``"min"`` one."""
    if directions is None:
        directions = ["max"] * m
    if isinstance(directions, str):
        directions = [directions] * m
    dirs = list(directions)
    if len(dirs) != m:
        raise ValueError(f"got {len(dirs)} directions for {m} objectives")
    out = []
    for d in dirs:
        if d not in ("max", "min"):
            raise ValueError(f"each direction must be 'max' or 'min', got {d!r}")
        out.append(1.0 if d == "max" else -1.0)
    return np.asarray(out)


def _as_2d(Y: np.ndarray) -> np.ndarray:
    Y = np.asarray(Y, dtype=float)
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.ndim != 2:
        raise ValueError(
            f"objective values must be a 2-D array (points x objectives), got {Y.shape}")
    return Y


#: Rows per block of the dominance sweep, and the cap on (block x front x objectives) cells
#: of its temporaries (a few MB).
PARETO_BLOCK = 1024
PARETO_CELLS = 4_000_000


def nondominated(Y: np.ndarray) -> np.ndarray:
    """Mask of the rows of ``Y`` that no other row dominates (every objective maximized).

    Rows are swept in lexicographically decreasing order, where a row can only be dominated
    by rows before it; each block of rows is checked against the front found so far (a
    dominated dominator implies a front one) and then against the rest of its block.
    Equal rows do not dominate each other, so duplicates all stay.
    """
    n = len(Y)
    mask = np.zeros(n, dtype=bool)
    if n == 0:
        return mask
    order = np.lexsort(tuple(-Y[:, j] for j in reversed(range(Y.shape[1]))))
    if Y.shape[1] == 2:
        mask[order[~_dominated_sorted_2d(Y[order])]] = True
        return mask
    front = np.empty((0, Y.shape[1]))
    s = 0
    while s < n:
        # bound the (block x front x objectives) temporaries to a few MB
        block = int(np.clip(PARETO_CELLS // ((len(front) + 1) * Y.shape[1]), 16, PARETO_BLOCK))
        idx = order[s:s + block]
        s += block
        B = Y[idx]
        if len(front):
            alive = ~_dominated_by(front, B)
            idx, B = idx[alive], B[alive]
        if len(idx) > 1:
            # dominance implies coming earlier in the sweep, so no ordering is needed here
            alive = ~_dominated_by(B, B)
            idx, B = idx[alive], B[alive]
        mask[idx] = True
        front = np.vstack([front, B])
    return mask


def _dominated_sorted_2d(Y: np.ndarray) -> np.ndarray:
    """Dominated rows of two objectives sorted lexicographically decreasing, in O(n).

    A row is dominated by a row of an earlier ``y0`` group with ``y1`` at least as large, or
    by a row of its own group with a larger ``y1`` (the group's first row).
    """
    y0, y1 = Y[:, 0], Y[:, 1]
    new_group = np.ones(len(Y), dtype=bool)
    new_group[1:] = y0[1:] != y0[:-1]
    starts = np.flatnonzero(new_group)
    group = np.cumsum(new_group) - 1
    best_in_group = y1[starts]  # sorted decreasing within a group
    before = np.full(len(starts), -np.inf)
    before[1:] = np.maximum.accumulate(best_in_group)[:-1]
    return (before[group] >= y1) | (best_in_group[group] > y1)


def _dominated_by(F: np.ndarray, B: np.ndarray) -> np.ndarray:
    """For each row of ``B``: does some row of ``F`` dominate it?"""
    ge = (F[:, None, :] >= B[None, :, :]).all(axis=2)
    gt = (F[:, None, :] > B[None, :, :]).any(axis=2)
    return np.asarray((ge & gt).any(axis=0))


# the older private name (every objective maximized)
_nondominated_max = nondominated


def pareto_front(Y: np.ndarray, directions: str | Sequence[str] | None = None) -> np.ndarray:
    """Mask of the non-dominated rows of ``Y``.

    Args:
        Y: Objective values, ``(n, m)``.
        directions: ``"max"`` or ``"min"`` per objective (one string applies to all);
            default all ``"max"``.

    Returns:
        Boolean mask of length ``n``: True for rows no other row dominates (at least as good
        in every objective and better in one). Equal rows are all kept; NaN rows never are.

    Example:
        >>> pareto_front([[1, 2], [2, 1], [0, 0]], ["max", "max"]).tolist()
        [True, True, False]
    """
    Y = _as_2d(Y)
    s = directions_sign(directions, Y.shape[1])
    ok = np.all(np.isfinite(Y), axis=1)
    mask = np.zeros(len(Y), dtype=bool)
    if ok.any():
        mask[ok] = _nondominated_max(Y[ok] * s)
    return mask


def _boxes(F: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split the first m-1 axes into cells; per cell the height h up to which it is dominated.

    Returns (lower corners (B, m-1), upper corners (B, m-1, may be inf), heights (B,)).
    """
    m = F.shape[1]
    axes = []
    for k in range(m - 1):
        c = np.unique(np.concatenate([[ref[k]], F[:, k]]))
        c = c[c >= ref[k]]
        axes.append((c, np.append(c[1:], np.inf)))
    if m == 1:
        lo = np.zeros((1, 0))
        hi = np.zeros((1, 0))
    else:
        lo_grid = np.meshgrid(*[a[0] for a in axes], indexing="ij")
        hi_grid = np.meshgrid(*[a[1] for a in axes], indexing="ij")
        lo = np.stack([g.ravel() for g in lo_grid], axis=1)
        hi = np.stack([g.ravel() for g in hi_grid], axis=1)
    h = np.full(len(lo), ref[-1])
    chunk = max(1, 4_000_000 // max(len(F), 1))
    for i in range(0, len(lo), chunk):
        dom = np.all(F[None, :, : m - 1] >= hi[i:i + chunk, None, :], axis=2)
        hh = np.where(dom, F[None, :, m - 1], -np.inf).max(axis=1, initial=-np.inf)
        h[i:i + chunk] = np.maximum(ref[-1], hh)
    return lo, hi, h


def _prepare(Y: np.ndarray, ref: np.ndarray, directions: str | Sequence[str] | None
             ) -> tuple[np.ndarray, np.ndarray]:
    Y = _as_2d(Y)
    m = Y.shape[1]
    s = directions_sign(directions, m)
    r = np.asarray(ref, dtype=float).ravel()
    if len(r) != m:
        raise ValueError(f"the reference point has {len(r)} values for {m} objectives")
    if not np.all(np.isfinite(r)):
        raise ValueError("the reference point must be finite")
    Ym = Y[np.all(np.isfinite(Y), axis=1)] * s
    rm = r * s
    Ym = Ym[np.all(Ym > rm, axis=1)]
    if len(Ym):
        Ym = Ym[_nondominated_max(Ym)]
        Ym = np.unique(Ym, axis=0)
    return Ym, rm


def hypervolume(Y: np.ndarray, ref: Sequence[float] | np.ndarray,
                directions: str | Sequence[str] | None = None) -> float:
    """Exact hypervolume dominated by the points ``Y`` and bounded by ``ref``.

    Args:
        Y: Objective values, ``(n, m)``; dominated rows and rows not better than ``ref`` in
            every objective add nothing.
        ref: Reference point (worst acceptable value per objective), in the objectives' units.
        directions: ``"max"``/``"min"`` per objective; default all ``"max"``.

    Returns:
        The volume of the region between ``ref`` and the front. Exact for any number of
        objectives; cost grows like ``n ** (m - 1)``, meant for 2-3 objectives.

    Example:
        >>> hypervolume([[1, 2], [2, 1]], ref=[0, 0])
        3.0
    """
    F, r = _prepare(Y, np.asarray(ref, dtype=float), directions)
    if len(F) == 0:
        return 0.0
    lo, hi, h = _boxes(F, r)
    fin = np.all(np.isfinite(hi), axis=1)
    widths = np.prod(hi[fin] - lo[fin], axis=1) if lo.shape[1] else np.ones(int(fin.sum()))
    return float((widths * (h[fin] - r[-1])).sum())


def hypervolume_improvement(P: np.ndarray, Y: np.ndarray, ref: Sequence[float] | np.ndarray,
                            directions: str | Sequence[str] | None = None) -> np.ndarray:
    """Exact hypervolume each point of ``P`` would add, alone, to the front of ``Y``.

    Args:
        P: Candidate objective vectors, ``(p, m)``.
        Y: Current objective values, ``(n, m)`` (may be empty).
        ref: Reference point.
        directions: ``"max"``/``"min"`` per objective.

    Returns:
        ``(p,)`` non-negative improvements.
    """
    P = _as_2d(P)
    s = directions_sign(directions, P.shape[1])
    Y = _as_2d(Y) if np.size(Y) else np.zeros((0, P.shape[1]))
    F, r = _prepare(Y, np.asarray(ref, dtype=float), directions)
    return _hvi_max(P * s, F, r)


def _hvi_max(P: np.ndarray, F: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Hypervolume improvements in the maximization frame (``F`` already non-dominated)."""
    m = P.shape[1]
    if len(F) == 0:
        return np.prod(np.clip(P - r, 0.0, None), axis=1)
    lo, hi, h = _boxes(F, r)
    out = np.empty(len(P))
    chunk = max(1, 2_000_000 // max(len(lo), 1))
    for i in range(0, len(P), chunk):
        Q = P[i:i + chunk]
        height = np.clip(Q[:, None, m - 1] - h[None, :], 0.0, None)
        if m > 1:
            w = np.clip(np.minimum(Q[:, None, : m - 1], hi[None]) - lo[None], 0.0, None)
            height = height * np.prod(w, axis=2)
        out[i:i + chunk] = height.sum(axis=1)
    return out
