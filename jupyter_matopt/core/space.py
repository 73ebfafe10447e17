"""Composition spaces: fractions that sum to one, with bounds, fixed parts, a step and a
maximum number of components.

Components are usually chemical elements, but may be any named ingredients of a mixture
(``"CsPbI3"``, ``"P3HT"``, ``"D1 nanotube"``): the space only deals with fractions.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .composition import CompositionError, parse_composition
from .elements import ATOMIC_NUMBER

__all__ = ["CompositionSpace"]

_TOL = 1e-9


def _err(msg: str) -> CompositionError:
    return CompositionError(msg)


class CompositionSpace:
    """A set of mixtures of named components whose fractions sum to 1.

    Args:
        components: ``{name: (low, high)}`` bounds, ``{name: value}`` for a fixed fraction,
            ``{name: None}`` for ``(0, 1)``; or a sequence of names, each in ``(0, 1)``.
        step: Grid step of the fractions (``0.01`` = 1 %); ``1 / step`` must be an integer
            and fixed fractions multiples of it. ``None`` for a continuous space.
        max_components: Largest number of non-zero components in a composition.
        exclude: Compositions that are not allowed (e.g. already made).

    Raises:
        CompositionError: for an infeasible or malformed specification, with the reason.

    Example:
        >>> space = CompositionSpace({"Fe": (0.5, 0.9), "Cr": (0.1, 0.3), "Ni": (0, 0.2),
        ...                           "Mo": 0.02}, step=0.005, max_components=4)
    """

    def __init__(
        self,
        components: Mapping[str, Any] | Sequence[str],
        *,
        step: float | None = None,
        max_components: int | None = None,
        exclude: Iterable[Any] | None = None,
    ) -> None:
        if isinstance(components, str):
            raise _err(
                f"components must be a mapping or a list of names, got the string {components!r}"
            )
        spec: dict[str, Any] = (
            dict(components) if isinstance(components, Mapping) else {c: None for c in components}
        )
        if not spec:
            raise _err("a composition space needs at least one component")
        names: list[str] = []
        lower: list[float] = []
        upper: list[float] = []
        fixed: dict[str, float] = {}
        for name, bound in spec.items():
            if not isinstance(name, str) or not name.strip():
                raise _err(f"component names must be non-empty strings, got {name!r}")
            name = name.strip()
            if name in names:
                raise _err(f"component {name!r} is given twice")
            if bound is None:
                lo, hi = 0.0, 1.0
            elif isinstance(bound, (int, float, np.number)) and not isinstance(bound, bool):
                lo = hi = float(bound)
                fixed[name] = lo
            elif isinstance(bound, (tuple, list)) and len(bound) == 2:
                try:
                    lo, hi = float(bound[0]), float(bound[1])
                except (TypeError, ValueError):
                    raise _err(f"bounds of {name} must be two numbers, got {bound!r}") from None
                if lo == hi:
                    fixed[name] = lo
            else:
                raise _err(
                    f"bounds of {name} must be (low, high), a fixed fraction or None, got {bound!r}"
                )
            if not (math.isfinite(lo) and math.isfinite(hi)):
                raise _err(f"bounds of {name} must be finite, got ({lo}, {hi})")
            if lo < 0 or hi > 1:
                raise _err(f"bounds of {name} must lie within [0, 1], got ({lo}, {hi})")
            if lo > hi:
                raise _err(f"lower bound of {name} ({lo}) is above its upper bound ({hi})")
            names.append(name)
            lower.append(lo)
            upper.append(hi)
        self.components: list[str] = names
        self.lower = np.asarray(lower, dtype=float)
        self.upper = np.asarray(upper, dtype=float)
        self.fixed: dict[str, float] = fixed
        k = len(names)
        if self.lower.sum() > 1 + _TOL:
            raise _err(
                f"infeasible space: the minimum fractions add up to {self.lower.sum():.6g} > 1"
            )
        if self.upper.sum() < 1 - _TOL:
            raise _err(
                f"infeasible space: the maximum fractions add up to {self.upper.sum():.6g} < 1"
            )
        if max_components is not None:
            if isinstance(max_components, bool) or not isinstance(max_components, (int, np.integer)):
                raise _err(f"max_components must be a positive integer, got {max_components!r}")
            max_components = int(max_components)
            n_req = int((self.lower > 0).sum())
            if max_components < 1:
                raise _err(f"max_components must be at least 1, got {max_components}")
            if max_components < n_req:
                raise _err(
                    f"infeasible space: {n_req} components have a positive minimum "
                    f"but max_components is {max_components}"
                )
            if max_components >= k:
                max_components = None
        self.max_components: int | None = max_components
        if max_components is not None:
            req = self.lower > 0
            opt = np.sort(self.upper[~req])[::-1][: max_components - int(req.sum())]
            if self.upper[req].sum() + opt.sum() < 1 - _TOL:
                raise _err(
                    f"infeasible space: no {max_components} components can reach a total of 1 "
                    "within their upper bounds"
                )
        self.step: float | None = None
        self._n_units = 0
        if step is not None:
            try:
                step = float(step)
            except (TypeError, ValueError):
                raise _err(f"step must be a number in (0, 1], got {step!r}") from None
            if not (0 < step <= 1):
                raise _err(f"step must be in (0, 1], got {step}")
            n_units = round(1 / step)
            if abs(n_units * step - 1) > 1e-9:
                raise _err(f"1/step must be a whole number, got step={step} (try 0.01, 0.005, ...)")
            self.step = 1.0 / n_units
            self._n_units = n_units
            for name, value in fixed.items():
                if abs(value * n_units - round(value * n_units)) > 1e-6:
                    raise _err(f"fixed fraction of {name} ({value}) is not a multiple of step {step}")
            self._lo_units = np.ceil(self.lower * n_units - 1e-6).astype(np.int64)
            self._hi_units = np.floor(self.upper * n_units + 1e-6).astype(np.int64)
            bad = [n for n, a, b in zip(names, self._lo_units, self._hi_units) if a > b]
            if bad:
                raise _err(f"no multiple of step {step} lies within the bounds of {', '.join(bad)}")
            if self.grid_size() == 0:
                raise _err(
                    f"infeasible space: no composition on the step-{step} grid satisfies "
                    "the bounds and max_components"
                )
        self._excluded: set[tuple[int, ...]] = set()
        if exclude is not None:
            self.add_exclusions(exclude)

    # ------------------------------------------------------------------ basics
    @property
    def n_components(self) -> int:
        return len(self.components)

    @property
    def elements(self) -> list[str]:
        """The component names (alias used when the components are chemical elements)."""
        return list(self.components)

    @property
    def is_elemental(self) -> bool:
        """True when every component is a chemical element symbol."""
        return all(c in ATOMIC_NUMBER for c in self.components)

    @property
    def free(self) -> list[str]:
        """Components that are not fixed."""
        return [c for c in self.components if c not in self.fixed]

    def __repr__(self) -> str:
        parts = []
        for c, lo, hi in zip(self.components, self.lower, self.upper):
            parts.append(f"{c}={lo:g}" if c in self.fixed else f"{c}=[{lo:g}, {hi:g}]")
        extra = "" if self.step is None else f", step={self.step:g}"
        if self.max_components is not None:
            extra += f", max_components={self.max_components}"
        return f"CompositionSpace({', '.join(parts)}{extra})"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable description; ``CompositionSpace.from_dict`` restores it."""
        return {
            "components": {
                c: (float(lo) if c in self.fixed else [float(lo), float(hi)])
                for c, lo, hi in zip(self.components, self.lower, self.upper)
            },
            "step": self.step,
            "max_components": self.max_components,
            "exclude": [list(map(int, e)) for e in sorted(self._excluded)],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CompositionSpace:
        comps = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d["components"].items()}
        space = cls(comps, step=d.get("step"), max_components=d.get("max_components"))
        space._excluded = {tuple(e) for e in d.get("exclude", [])}
        return space

    # ------------------------------------------------------------ conversions
    def as_array(self, x: Any) -> np.ndarray:
        """Convert compositions to an ``(n, k)`` array in component order.

        Accepts an array, a DataFrame with one column per component, a mapping (one
        composition), a formula string (elemental spaces), or a list of mappings/formulas.
        Names outside the space raise ``CompositionError``; missing names count as 0.
        """
        if isinstance(x, pd.DataFrame):
            extra = [c for c in x.columns if c not in self.components]
            missing = [c for c in self.components if c not in x.columns]
            if missing and extra:
                raise _err(f"columns {extra} are not components of {self.components}")
            cols = [c for c in self.components if c in x.columns]
            arr = np.zeros((len(x), self.n_components))
            for c in cols:
                arr[:, self.components.index(c)] = pd.to_numeric(x[c], errors="coerce").to_numpy()
            return arr
        if isinstance(x, (str, Mapping)) or hasattr(x, "get_el_amt_dict"):
            return self._row(x)[None, :]
        if isinstance(x, np.ndarray) and x.dtype != object:
            arr = np.asarray(x, dtype=float)
            if arr.ndim == 1:
                arr = arr[None, :]
            if arr.ndim != 2 or arr.shape[1] != self.n_components:
                raise _err(
                    f"expected an array with {self.n_components} columns "
                    f"({', '.join(self.components)}), got shape {np.shape(x)}"
                )
            return arr
        items = list(x)
        if items and all(isinstance(v, (int, float, np.number)) for v in items):
            return self.as_array(np.asarray(items, dtype=float))
        if not items:
            return np.zeros((0, self.n_components))
        return np.vstack([self._row(v) for v in items])

    def _row(self, x: Any) -> np.ndarray:
        if isinstance(x, str) or hasattr(x, "get_el_amt_dict"):
            fr = parse_composition(x)
        elif isinstance(x, Mapping):
            fr = {str(k): float(v) for k, v in x.items()}
        else:
            raise _err(f"cannot read {x!r} as a composition of {self.components}")
        row = np.zeros(self.n_components)
        for name, value in fr.items():
            try:
                row[self.components.index(name)] = value
            except ValueError:
                raise _err(
                    f"composition {x!r} contains {name!r}, which is not a component of "
                    f"this space ({', '.join(self.components)})"
                ) from None
        return row

    def to_frame(self, X: np.ndarray) -> pd.DataFrame:
        """An ``(n, k)`` fraction array as a DataFrame with one column per component."""
        return pd.DataFrame(np.asarray(X, dtype=float).reshape(-1, self.n_components),
                            columns=self.components)

    def to_formulas(self, X: np.ndarray, *, decimals: int = 4) -> list[str]:
        """Formulas such as ``Fe0.7Cr0.2Ni0.1`` for an elemental space."""
        from .composition import _fmt

        arr = np.asarray(X, dtype=float).reshape(-1, self.n_components)
        out = []
        for row in arr:
            out.append("".join(f"{c}{_fmt(v, decimals)}" for c, v in zip(self.components, row)
                               if v > 0))
        return out

    # ---------------------------------------------------------- exclusions
    def _keys(self, X: np.ndarray) -> list[tuple[int, ...]]:
        return [tuple(r) for r in np.rint(np.asarray(X) * 1e8).astype(np.int64).tolist()]

    def add_exclusions(self, compositions: Any) -> None:
        """Exclude compositions (e.g. ones already made) from membership and suggestions."""
        self._excluded.update(self._keys(self.as_array(compositions)))

    def is_excluded(self, X: Any) -> np.ndarray:
        arr = self.as_array(X)
        if not self._excluded:
            return np.zeros(len(arr), dtype=bool)
        return np.fromiter((k in self._excluded for k in self._keys(arr)), bool, len(arr))

    # ---------------------------------------------------------- membership
    def contains(self, x: Any, *, tol: float = 1e-6) -> bool | np.ndarray:
        """Whether compositions lie in the space (sum, bounds, grid, components, exclusions).

        Returns a bool for one composition (mapping, formula, 1-D array) and a bool array for
        several. A composition naming a component outside the space is not contained.
        """
        single = isinstance(x, (str, Mapping)) or (isinstance(x, np.ndarray) and x.ndim == 1)
        try:
            X = self.as_array(x)
        except CompositionError:
            return False if single else np.zeros(len(list(x)), dtype=bool)
        ok = np.all(np.isfinite(X), axis=1)
        Xs = np.where(np.isfinite(X), X, 0.0)
        ok &= np.abs(Xs.sum(axis=1) - 1) <= tol
        ok &= np.all(Xs >= self.lower - tol, axis=1) & np.all(Xs <= self.upper + tol, axis=1)
        if self.step is not None:
            u = Xs * self._n_units
            ok &= np.all(np.abs(u - np.rint(u)) <= tol * self._n_units, axis=1)
        if self.max_components is not None:
            ok &= (Xs > tol).sum(axis=1) <= self.max_components
        ok &= ~self.is_excluded(Xs)
        return bool(ok[0]) if single else ok

    __contains__ = contains  # type: ignore[assignment]

    # ---------------------------------------------------------------- grid
    def _require_grid(self) -> None:
        if self.step is None:
            raise _err("this space is continuous (step=None); give step= to use its grid")

    def grid_size(self) -> int:
        """The exact number of grid compositions (before exclusions), without enumerating."""
        self._require_grid()
        N, k = self._n_units, self.n_components
        m = self.max_components if self.max_components is not None else k
        # dp[j, s]: ways to pick the components seen so far with j non-zero and s units
        dp = np.zeros((m + 1, N + 1), dtype=object)
        dp[0, 0] = 1
        for a, b in zip(self._lo_units.tolist(), self._hi_units.tolist()):
            new = np.zeros_like(dp)
            if a == 0:
                new += dp
            lo = max(a, 1)
            if lo <= b:
                csum = np.zeros((m + 1, N + 2), dtype=object)
                csum[:, 1:] = np.cumsum(dp, axis=1)
                s = np.arange(N + 1)
                hi_idx = np.clip(s - lo + 1, 0, N + 1)
                lo_idx = np.clip(s - b, 0, N + 1)
                window = csum[:, hi_idx] - csum[:, lo_idx]
                new[1:] += window[:-1]
            dp = new
        return int(sum(dp[:, N]))

    def _supports(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Integer (low, high) bounds per support pattern, covering the grid exactly once."""
        a, b = self._lo_units, self._hi_units
        if self.max_components is None:
            yield a.copy(), b.copy()
            return
        req = [i for i in range(self.n_components) if a[i] > 0]
        opt = [i for i in range(self.n_components) if a[i] == 0 and b[i] > 0]
        for r in range(0, self.max_components - len(req) + 1):
            for chosen in itertools.combinations(opt, r):
                lo = np.zeros_like(a)
                hi = np.zeros_like(b)
                idx = req + list(chosen)
                lo[idx] = np.maximum(a[idx], 1)
                hi[idx] = b[idx]
                if lo.sum() <= self._n_units <= hi.sum():
                    yield lo, hi

    def iter_grid(self, chunk_size: int = 262_144) -> Iterator[np.ndarray]:
        """Yield the grid (minus exclusions) as ``(<= chunk_size, k)`` fraction arrays."""
        self._require_grid()
        N = self._n_units
        for lo, hi in self._supports():
            for units in _bounded_compositions(lo, hi, N, chunk_size):
                X = units / N
                if self._excluded:
                    X = X[~self.is_excluded(X)]
                if len(X):
                    yield X

    def enumerate_grid(self, *, max_points: int = 5_000_000) -> np.ndarray:
        """All grid compositions as one ``(n, k)`` array; refuses grids above ``max_points``."""
        size = self.grid_size()
        if size > max_points:
            raise _err(
                f"the grid has {size:,} compositions, more than max_points={max_points:,}; "
                "use iter_grid() to stream it, sample(), or a coarser step"
            )
        chunks = list(self.iter_grid())
        return np.vstack(chunks) if chunks else np.zeros((0, self.n_components))

    # ------------------------------------------------------------ sampling
    def _row_bounds(self, n: int, rng: np.random.Generator, pref: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-row (lower, upper) after choosing a support for max_components."""
        lo = np.broadcast_to(self.lower, (n, self.n_components)).copy()
        hi = np.broadcast_to(self.upper, (n, self.n_components)).copy()
        if self.max_components is None:
            return lo, hi
        m = self.max_components
        req = self.lower > 0
        n_free = m - int(req.sum())
        opt = np.flatnonzero(~req & (self.upper > 0))
        if len(opt) <= n_free:
            return lo, hi
        if pref is None:  # random support, repaired below when it cannot reach 1
            score = rng.random((n, len(opt)))
        else:
            score = pref[:, opt] + 1e-12 * self.upper[opt]
        order = np.argsort(-score, axis=1)
        keep = np.zeros((n, len(opt)), dtype=bool)
        np.put_along_axis(keep, order[:, :n_free], True, axis=1)
        cap = self.upper[req].sum() + (keep * self.upper[opt]).sum(axis=1)
        short = cap < 1 - _TOL
        if short.any():  # fall back to the widest support for those rows
            wide = np.argsort(-self.upper[opt])[:n_free]
            keep[short] = False
            keep[np.ix_(np.flatnonzero(short), wide)] = True
        drop = opt[None, :].repeat(n, 0)[~keep].reshape(n, -1)
        np.put_along_axis(hi, drop, 0.0, axis=1)
        return lo, hi

    def sample(self, n: int, *, seed: int | np.random.Generator | None = None,
               on_grid: bool | None = None, n_steps: int | None = None) -> np.ndarray:
        """Draw ``n`` compositions spread uniformly over the constrained simplex.

        Starts from a Dirichlet draw where it satisfies the bounds (and a central point
        otherwise), then runs a vectorized pairwise Gibbs sampler whose stationary law is
        uniform on the polytope, so it never stalls the way rejection does in high
        dimension. With a step (``on_grid`` defaults to True then) points are rounded to
        the nearest grid point. Every returned point is feasible.
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise _err(f"n must be a non-negative integer, got {n!r}")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        k = self.n_components
        lo, hi = self._row_bounds(int(n), rng)
        slack = 1.0 - lo.sum(axis=1)
        width = hi - lo
        # central feasible start: the same share t of each component's width
        t = np.divide(slack, width.sum(axis=1), out=np.zeros(n), where=width.sum(axis=1) > 0)
        X = lo + width * t[:, None]
        active = width > 0
        g = rng.gamma(1.0, size=(n, k)) * active
        gs = g.sum(axis=1, keepdims=True)
        D = lo + np.divide(g, gs, out=np.zeros_like(g), where=gs > 0) * slack[:, None]
        good = np.all(D <= hi + 1e-12, axis=1)
        X[good] = D[good]
        steps = n_steps if n_steps is not None else int(10 * k * (math.log(k) + 1)) if k > 1 else 0
        if k > 1:
            for _ in range(steps):
                i, j = rng.choice(k, 2, replace=False)
                s = X[:, i] + X[:, j]
                a = np.maximum(lo[:, i], s - hi[:, j])
                b = np.minimum(hi[:, i], s - lo[:, j])
                xi = a + (b - a) * rng.random(n)
                X[:, i] = xi
                X[:, j] = s - xi
        X = np.clip(X, lo, hi)
        if on_grid is None:
            on_grid = self.step is not None
        if on_grid:
            X = self.project(X, on_grid=True)
        return X

    # ---------------------------------------------------------- projection
    def project(self, x: Any, *, on_grid: bool | None = None) -> np.ndarray:
        """Map arbitrary points to the nearest feasible composition (rounded to the grid).

        The Euclidean projection onto ``{low <= x <= high, sum(x) = 1}`` (with the largest
        components kept when ``max_components`` applies) is followed, on a grid, by a
        largest-remainder rounding that keeps the bounds and the unit sum. Returns an
        ``(n, k)`` array (one row for a single composition).
        """
        X = self.as_array(x).astype(float, copy=True)
        if not np.all(np.isfinite(X)):
            raise _err("cannot project compositions with NaN or infinite fractions")
        X = np.clip(X, 0.0, None)
        n = len(X)
        rng = np.random.default_rng(0)
        lo, hi = self._row_bounds(n, rng, pref=X)
        P = _project_box_simplex(X, lo, hi)
        if on_grid is None:
            on_grid = self.step is not None
        if on_grid:
            self._require_grid()
            P = self._round_to_grid(P, lo, hi)
        return P

    def _round_to_grid(self, P: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        N = self._n_units
        a = np.ceil(lo * N - 1e-6)
        b = np.floor(hi * N + 1e-6)
        u = P * N
        f = np.clip(np.floor(u + 1e-9), a, b)
        rem = u - f
        d = N - f.sum(axis=1)
        for _ in range(4 * N + 8):
            up = d > 0.5
            down = d < -0.5
            if not (up.any() or down.any()):
                break
            if up.any():
                score = np.where(f < b, rem, -np.inf)[up]
                j = np.argmax(score, axis=1)
                rows = np.flatnonzero(up)
                f[rows, j] += 1
                rem[rows, j] -= 1
                d[rows] -= 1
            if down.any():
                score = np.where(f > a, rem, np.inf)[down]
                j = np.argmin(score, axis=1)
                rows = np.flatnonzero(down)
                f[rows, j] -= 1
                rem[rows, j] += 1
                d[rows] += 1
        return f / N


def _project_box_simplex(X: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Row-wise Euclidean projection onto {lo <= x <= hi, sum x = 1} by bisection on the shift."""
    lam_lo = (X - hi).min(axis=1) - 1.0
    lam_hi = (X - lo).max(axis=1) + 1.0
    for _ in range(100):
        mid = 0.5 * (lam_lo + lam_hi)
        s = np.clip(X - mid[:, None], lo, hi).sum(axis=1)
        above = s > 1
        lam_lo = np.where(above, mid, lam_lo)
        lam_hi = np.where(above, lam_hi, mid)
    P = np.clip(X - (0.5 * (lam_lo + lam_hi))[:, None], lo, hi)
    # remove the last rounding residue on components strictly inside their bounds
    resid = 1.0 - P.sum(axis=1)
    inside = (P > lo + 1e-15) & (P < hi - 1e-15) if True else None
    cnt = inside.sum(axis=1)
    share = np.divide(resid, cnt, out=np.zeros_like(resid), where=cnt > 0)
    P = np.clip(P + inside * share[:, None], lo, hi)
    return P


def _bounded_compositions(lo: np.ndarray, hi: np.ndarray, N: int, chunk: int
                          ) -> Iterator[np.ndarray]:
    """Integer vectors v with lo <= v <= hi and sum(v) = N, in chunks, fully vectorized."""
    k = len(lo)
    lo = lo.astype(np.int64)
    hi = hi.astype(np.int64)
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

    if k == 0:
        return
    yield from expand(np.zeros((1, 0), dtype=np.int64), np.zeros(1, dtype=np.int64), 0)
