"""Sampling and projection of :class:`~.space.CompositionSpace` (a mixin, so that the class
file stays small): uniform draws over the constrained simplex and the nearest feasible point."""

from __future__ import annotations

import heapq
import itertools
import math
from typing import Any

import numpy as np

from ._simplex import (
    _MAX_EXCLUSION_SEARCH,
    _MAX_EXHAUSTIVE_SUPPORTS,
    _TOL,
    _err,
    _nearest_on_grid,
    _project_box_simplex,
)


class SamplingMixin:
    """``sample`` and ``project`` of :class:`~.space.CompositionSpace`."""

    # ------------------------------------------------------------ sampling
    def _support_masks(self, n: int, rng: np.random.Generator, on_grid: bool) -> np.ndarray:
        """Per-row masks of the components allowed to be non-zero (random supports)."""
        k = self.n_components
        allowed = self._required | self._optional
        mask = np.broadcast_to(allowed, (n, k)).copy()
        if self.max_components is None:
            return mask
        n_free = self._n_free()
        opt = np.flatnonzero(self._optional)
        if len(opt) <= n_free:
            return mask
        lo, hi, total = self._bounds(on_grid)
        hi_req = hi[self._required].sum()
        tol = 0.5 if on_grid else _TOL
        keep = np.zeros((n, len(opt)), dtype=bool)
        todo = np.arange(n)
        # A random support that cannot reach 1 is redrawn; only after many tries does a row
        # fall back to the widest support, which always can (checked in __init__).
        for _ in range(20):
            if not len(todo):
                break
            order = np.argsort(rng.random((len(todo), len(opt))), axis=1)[:, :n_free]
            pick = np.zeros((len(todo), len(opt)), dtype=bool)
            np.put_along_axis(pick, order, True, axis=1)
            good = hi_req + (pick * hi[opt]).sum(axis=1) >= total - tol
            keep[todo[good]] = pick[good]
            todo = todo[~good]
        if len(todo):
            keep[np.ix_(todo, np.argsort(-hi[opt], kind="stable")[:n_free])] = True
        mask[:, opt] = keep
        return mask

    def sample(self, n: int, *, seed: int | np.random.Generator | None = None,
               on_grid: bool | None = None, n_steps: int | None = None) -> np.ndarray:
        """Draw ``n`` compositions spread uniformly over the constrained simplex.

        Starts from a Dirichlet draw where it satisfies the bounds (and a central point
        otherwise), then runs a vectorized pairwise Gibbs sampler whose stationary law is
        uniform on the polytope, so it never stalls the way rejection does in high
        dimension. With ``max_components`` each row first draws a random support that can
        reach 1. With a step (``on_grid`` defaults to True then) points are drawn within the
        grid's bounds and moved to the nearest grid point, so the grid is covered nearly
        uniformly. Every returned point is feasible and not excluded.

        Args:
            n: Number of compositions.
            seed: Seed or ``numpy.random.Generator``.
            on_grid: Round to the grid (default: when the space has a step).
            n_steps: Gibbs sweeps (default grows like ``k log k``).

        Returns:
            An ``(n, k)`` array of fractions.
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise _err(f"n must be a non-negative integer, got {n!r}")
        n = int(n)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        if on_grid is None:
            on_grid = self.step is not None
        if on_grid:
            self._require_grid()
        X = self._sample_once(n, rng, on_grid, n_steps)
        if self._excluded and n:
            bad = ~self._contains_array(X, 1e-6)
            for _ in range(100):  # excluded points are redrawn
                if not bad.any():
                    break
                X[bad] = self._sample_once(int(bad.sum()), rng, on_grid, n_steps)
                bad[bad] = ~self._contains_array(X[bad], 1e-6)
            if bad.any():
                raise _err(
                    "could not draw compositions that are not excluded: the exclusions cover "
                    "nearly all of this space"
                )
        return X

    def _sample_once(self, n: int, rng: np.random.Generator, on_grid: bool,
                     n_steps: int | None) -> np.ndarray:
        k = self.n_components
        mask = self._support_masks(n, rng, on_grid)
        blo, bhi, total = self._bounds(on_grid)
        lo = np.where(mask, blo, 0.0) / total
        hi = np.where(mask, bhi, 0.0) / total
        slack = 1.0 - lo.sum(axis=1)
        width = hi - lo
        wsum = width.sum(axis=1)
        # central feasible start: the same share t of each component's width
        t = np.clip(np.divide(slack, wsum, out=np.zeros(n), where=wsum > 0), 0.0, 1.0)
        X = lo + width * t[:, None]
        g = rng.gamma(1.0, size=(n, k)) * (width > 0)
        gs = g.sum(axis=1, keepdims=True)
        D = lo + np.divide(g, gs, out=np.zeros_like(g), where=gs > 0) * slack[:, None]
        good = np.all(D <= hi + 1e-12, axis=1)
        X[good] = D[good]
        steps = n_steps if n_steps is not None else int(10 * k * (math.log(k) + 1)) if k > 1 else 0
        if k > 1 and n:
            # column-major, since every step reads and writes two whole columns
            X, lo, hi = np.asfortranarray(X), np.asfortranarray(lo), np.asfortranarray(hi)
            for _ in range(steps):
                i, j = rng.choice(k, 2, replace=False)
                s = X[:, i] + X[:, j]
                a = np.maximum(lo[:, i], s - hi[:, j])
                b = np.maximum(np.minimum(hi[:, i], s - lo[:, j]), a)
                xi = a + (b - a) * rng.random(n)
                X[:, i] = xi
                X[:, j] = s - xi
        X = np.clip(X, lo, hi)
        if on_grid:
            N = self._n_units
            A = np.where(mask, blo, 0.0)
            B = np.where(mask, bhi, 0.0)
            return _nearest_on_grid(X * N, A, B, N)[0] / N
        return X

    # ---------------------------------------------------------- projection
    def project(self, x: Any, *, on_grid: bool | None = None) -> np.ndarray:
        """Map arbitrary points to the nearest feasible composition (Euclidean distance).

        Continuous: the exact projection onto ``{low <= x <= high, sum(x) = 1}``. On a grid
        (the default when the space has a step): the exact nearest grid point, found by a
        greedy that is optimal for separable convex costs under one sum constraint. With
        ``max_components``, every support pattern is tried when there are at most 256 of
        them (else a local search over swaps from the largest components). Excluded grid
        points are avoided by a best-first search to the nearest allowed neighbour.

        Returns:
            An ``(n, k)`` array (one row for a single composition).
        """
        X = self.as_array(x).astype(float, copy=True)
        if not np.all(np.isfinite(X)):
            raise _err("cannot project compositions with NaN or infinite fractions")
        if on_grid is None:
            on_grid = self.step is not None
        if on_grid:
            self._require_grid()
        lo, hi, total = self._bounds(on_grid)
        Y = X * total
        if len(Y) == 0:
            return Y

        def solve(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            A = np.where(mask, lo, 0.0)
            B = np.where(mask, hi, 0.0)
            if on_grid:
                return _nearest_on_grid(Y, A, B, total)
            P = _project_box_simplex(Y, A, B, total)
            with np.errstate(over="ignore"):  # huge inputs: an infinite distance is right
                return P, ((P - Y) ** 2).sum(axis=1)

        allowed = self._required | self._optional
        opt = np.flatnonzero(self._optional)
        n_free = self._n_free() if self.max_components is not None else len(opt)
        if len(opt) <= n_free:
            P, _ = solve(np.broadcast_to(allowed, Y.shape))
        else:
            P = self._project_sparse(Y, solve, opt, n_free, on_grid)
        if on_grid:
            P = P / total
            if self._excluded:
                P = self._avoid_exclusions(P, X)
        elif self._excluded:
            P = self._nudge_excluded(P)
        return P

    def _project_sparse(self, Y: np.ndarray, solve: Any, opt: np.ndarray, n_free: int,
                        on_grid: bool) -> np.ndarray:
        """Nearest point over the support patterns allowed by max_components."""
        n, k = Y.shape
        lo, hi, total = self._bounds(on_grid)
        req = self._required
        tol = 0.5 if on_grid else _TOL

        def feasible(mask: np.ndarray) -> np.ndarray:
            return (np.where(mask, hi, 0.0).sum(axis=-1) >= total - tol) & (
                np.where(mask, lo, 0.0).sum(axis=-1) <= total + tol
            )

        best_P = np.zeros_like(Y)
        best_d = np.full(n, np.inf)

        def consider(masks: np.ndarray) -> np.ndarray:
            masks = np.broadcast_to(masks, Y.shape)
            ok = feasible(masks)
            improved = np.zeros(n, dtype=bool)
            if not ok.any():
                return improved
            P, d = solve(masks)
            d = np.where(ok, d, np.inf)
            improved = d < best_d - 1e-12
            best_P[improved] = P[improved]
            best_d[improved] = d[improved]
            return improved

        if math.comb(len(opt), n_free) <= _MAX_EXHAUSTIVE_SUPPORTS:
            for chosen in itertools.combinations(opt.tolist(), n_free):
                mask = req.copy()
                mask[list(chosen)] = True
                consider(mask)
            return best_P
        # local search: start from the largest optional components, then single swaps
        rows = np.arange(n)[:, None]
        score = Y[:, opt] + 1e-9 * hi[opt]
        order = np.argsort(-score, axis=1, kind="stable")
        keep = np.zeros((n, len(opt)), dtype=bool)
        keep[rows, order[:, :n_free]] = True
        wide = np.zeros(len(opt), dtype=bool)
        wide[np.argsort(-hi[opt], kind="stable")[:n_free]] = True

        def to_mask(kp: np.ndarray) -> np.ndarray:
            m = np.broadcast_to(req, (n, k)).copy()
            m[:, opt] = kp
            return m

        start = to_mask(keep)
        keep[~feasible(start)] = wide
        consider(to_mask(keep))
        for _ in range(4 * n_free):
            any_better = False
            inside = np.argsort(~keep, axis=1, kind="stable")[:, :n_free]  # chosen positions
            outside = np.argsort(keep, axis=1, kind="stable")[:, : len(opt) - n_free]
            new_keep = keep.copy()
            for a in range(n_free):
                for b in range(len(opt) - n_free):
                    cand = keep.copy()
                    cand[rows[:, 0], inside[:, a]] = False
                    cand[rows[:, 0], outside[:, b]] = True
                    better = consider(to_mask(cand))
                    new_keep[better] = cand[better]
                    any_better |= bool(better.any())
            keep = new_keep
            if not any_better:
                break
        return best_P

    def _avoid_exclusions(self, P: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Replace excluded grid points by the nearest allowed grid point (best-first search)."""
        bad = np.flatnonzero(self.is_excluded(P))
        if not len(bad):
            return P
        N = self._n_units
        a, b = self._lo_units, self._hi_units
        m = self.max_components if self.max_components is not None else self.n_components
        k = self.n_components
        for row in bad:
            y = X[row] * N
            start = tuple(int(v) for v in np.rint(P[row] * N))
            seen = {start}
            heap: list[tuple[float, tuple[int, ...]]] = [(0.0, start)]
            found = None
            while heap and len(seen) <= _MAX_EXCLUSION_SEARCH:
                _, u = heapq.heappop(heap)
                if u != start and self._keys(np.asarray(u, float)[None, :] / N)[0] not in (
                    self._excluded
                ):
                    found = u
                    break
                nz = sum(1 for v in u if v > 0)
                for i in range(k):
                    if u[i] <= a[i]:
                        continue
                    for j in range(k):
                        if i == j or u[j] >= b[j]:
                            continue
                        if u[j] == 0 and nz - (u[i] == 1) >= m:
                            continue
                        v = list(u)
                        v[i] -= 1
                        v[j] += 1
                        t = tuple(v)
                        if t not in seen:
                            seen.add(t)
                            heapq.heappush(heap, (float(((np.asarray(t) - y) ** 2).sum()), t))
                    # a full swap of i's units to an unused j: with max_components, the only
                    # way between supports when a single unit cannot open a new component
                    for j in range(k):
                        if j != i and u[j] == 0 and a[i] == 0 and u[i] <= b[j]:
                            v = list(u)
                            v[j], v[i] = u[i], 0
                            t = tuple(v)
                            if t not in seen:
                                seen.add(t)
                                heapq.heappush(heap, (float(((np.asarray(t) - y) ** 2).sum()), t))
            if found is None:
                raise _err(
                    f"every grid composition near {self.to_formulas(P[row:row + 1])[0]!r} "
                    "is excluded"
                )
            P[row] = np.asarray(found, dtype=float) / N
        return P

    def _nudge_excluded(self, P: np.ndarray) -> np.ndarray:
        """Move excluded points of a continuous space by a tiny feasible step."""
        bad = np.flatnonzero(self.is_excluded(P))
        delta = 1e-7
        for row in bad:
            p = P[row]
            nz = int((p > 1e-6).sum())
            m = self.max_components if self.max_components is not None else self.n_components
            moved = False
            for i in np.argsort(-(p - self.lower)):
                if p[i] - self.lower[i] < delta:
                    break
                for j in np.argsort(-(self.upper - p)):
                    if j == i or self.upper[j] - p[j] < delta:
                        continue
                    if p[j] <= 1e-6 and nz >= m:
                        continue
                    q = p.copy()
                    q[i] -= delta
                    q[j] += delta
                    if not self.is_excluded(q[None, :])[0]:
                        P[row] = q
                        moved = True
                        break
                if moved:
                    break
            if not moved:
                # with max_components the nearest allowed point may have another support
                # (e.g. a single component): move all of one component to an unused one
                best: tuple[float, np.ndarray] | None = None
                for i in np.flatnonzero((p > 1e-6) & (self.lower <= 0)):
                    for j in np.flatnonzero(p <= 1e-6):
                        if p[i] > self.upper[j] or p[j] + p[i] < self.lower[j]:
                            continue
                        q = p.copy()
                        q[j], q[i] = p[j] + p[i], 0.0
                        d = float(((q - p) ** 2).sum())
                        if (best is None or d < best[0]) and not self.is_excluded(q[None, :])[0]:
                            best = (d, q)
                if best is None:
                    raise _err("the only compositions near this point are excluded")
                P[row] = best[1]
        return P
