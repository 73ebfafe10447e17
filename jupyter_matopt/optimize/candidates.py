"""Candidate compositions for acquisition: the grid when it is small, otherwise samples
refined by local moves, always feasible.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..core import CompositionSpace

__all__ = ["row_keys", "space_candidates", "refine_candidates", "tidy", "GRID_LIMIT"]

#: Largest grid enumerated whole; larger spaces are sampled and refined.
GRID_LIMIT = 50_000


def row_keys(X: np.ndarray) -> list[bytes]:
    """Hashable keys of rows, equal for rows that agree to ~1e-8 relative (or absolute)."""
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[None, :]
    scale = np.maximum(np.abs(X), 1.0)
    mag = np.floor(np.log10(scale))
    q = np.rint(X / 10.0 ** mag * 1e8) + 0.0  # +0.0 folds -0.0 into 0.0
    return [r.tobytes() + m.tobytes() for r, m in zip(q, mag, strict=False)]


def tidy(X: np.ndarray) -> np.ndarray:
    """Set round-off fractions (below 1e-12, e.g. 5e-17 after a projection) to exactly 0."""
    X = np.array(X, dtype=float)
    X[np.abs(X) < 1e-12] = 0.0
    return X


def _unique(Z: np.ndarray) -> np.ndarray:
    if len(Z) == 0:
        return Z
    keys = row_keys(Z)
    seen: set[bytes] = set()
    keep = np.zeros(len(Z), dtype=bool)
    for i, k in enumerate(keys):
        if k not in seen:
            seen.add(k)
            keep[i] = True
    return Z[keep]


def space_candidates(space: CompositionSpace, rng: np.random.Generator, *,
                     n_samples: int = 3000, grid_limit: int = GRID_LIMIT
                     ) -> tuple[np.ndarray, bool]:
    """Feasible candidate fractions for ``space``.

    Returns:
        ``(X, exhaustive)``: the whole grid (``exhaustive=True``) when the space has a step and
        at most ``grid_limit`` points, else ``n_samples`` uniform samples (on the grid when
        there is a step), duplicates removed.
    """
    if space.step is not None and space.grid_size() <= grid_limit:
        return space.enumerate_grid(max_points=grid_limit), True
    X = tidy(space.sample(n_samples, seed=rng))
    return _unique(X), False


def refine_candidates(space: CompositionSpace, X_start: np.ndarray,
                      score: Callable[[np.ndarray], np.ndarray], rng: np.random.Generator, *,
                      rounds: int = 4, n_moves: int = 24,
                      extra: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                      progress: Callable[[int], None] | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Hill-climb from each start with random pairwise transfers and perturbations.

    Each round proposes ``n_moves`` neighbours per current point: a transfer of ``delta``
    from one component to another (on a grid, a few steps; otherwise a shrinking share of the
    bounds' width) or a small Gaussian perturbation, each mapped back with
    ``space.project`` so that bounds, the unit sum, the grid and ``max_components`` hold.
    A point moves to its best neighbour when that scores higher.

    Args:
        space: The composition space.
        X_start: Feasible start points ``(t, k)``.
        score: Maps ``(p, k + c)`` candidates (fractions, then extra columns) to scores.
        rng: Random generator (the moves are reproducible with it).
        rounds: Number of rounds.
        n_moves: Neighbours per point and round.
        extra: Optional ``(values (t, c), low (c,), high (c,))`` for continuous extra columns
            (e.g. ranged conditions) moved along with the fractions; discrete ones are
            passed with ``low == high``.
        progress: Called with the round number after each round.

    Returns:
        ``(Z, s)``: every proposal made (fractions and extra columns side by side) and its
        score, so the caller can pool them with other candidates.
    """
    k = space.n_components
    free = np.array([c not in space.fixed and hi > lo for c, lo, hi in
                     zip(space.components, space.lower, space.upper, strict=False)])
    free_idx = np.flatnonzero(free)
    X = np.asarray(X_start, dtype=float)
    if extra is not None:
        E, e_lo, e_hi = (np.asarray(a, dtype=float) for a in extra)
        E = E.reshape(len(X), -1)
    else:
        E = np.zeros((len(X), 0))
        e_lo = e_hi = np.zeros(0)
    cur = np.hstack([X, E])
    cur_s = score(cur) if len(cur) else np.zeros(0)
    all_Z = [cur]
    all_s = [cur_s]
    if len(X) == 0 or len(free_idx) < 2 and E.shape[1] == 0:
        return np.vstack(all_Z), np.concatenate(all_s)
    width = space.upper - space.lower
    t = len(X)
    for r in range(rounds):
        P = np.repeat(cur[:, :k], n_moves, axis=0)
        PE = np.repeat(cur[:, k:], n_moves, axis=0)
        m = len(P)
        shrink = 0.5 ** r
        if len(free_idx) >= 2:
            pick = np.argsort(rng.random((m, len(free_idx))), axis=1)[:, :2]
            i = free_idx[pick[:, 0]]
            j = free_idx[pick[:, 1]]
            if space.step is not None:
                steps = rng.integers(1, max(2, int(4 * shrink) + 2), size=m)
                delta = steps * space.step
            else:
                span = np.minimum(width[i], width[j])
                delta = rng.random(m) * 0.25 * shrink * np.maximum(span, 1e-3)
            whole = rng.random(m) < 0.1  # move all of i to j: changes the support
            delta = np.where(whole, P[np.arange(m), i], np.minimum(delta, P[np.arange(m), i]))
            P[np.arange(m), i] -= delta
            P[np.arange(m), j] += delta
            gauss = rng.random(m) < 0.3
            noise = rng.normal(size=(m, k)) * (0.05 * shrink * width)
            P[gauss] += noise[gauss]
        P = tidy(space.project(np.clip(P, 0.0, None)))
        if PE.shape[1]:
            ew = e_hi - e_lo
            PE = np.clip(PE + rng.normal(size=PE.shape) * 0.1 * shrink * ew, e_lo, e_hi)
        Z = np.hstack([P, PE])
        s = score(Z)
        all_Z.append(Z)
        all_s.append(s)
        best = s.reshape(t, n_moves)
        arg = best.argmax(axis=1)
        better = best[np.arange(t), arg] > cur_s
        idx = np.arange(t) * n_moves + arg
        cur[better] = Z[idx[better]]
        cur_s = np.where(better, best[np.arange(t), arg], cur_s)
        if progress is not None:
            progress(r + 1)
    return np.vstack(all_Z), np.concatenate(all_s)
