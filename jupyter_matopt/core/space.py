"""Composition spaces: fractions that sum to one, with bounds, fixed parts, a step and a
maximum number of components.

Components are usually chemical elements, but may be any named ingredients of a mixture
(``"CsPbI3"``, ``"P3HT"``, ``"D1 nanotube"``): the space only deals with fractions.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from .composition import CompositionError, parse_composition
from .elements import ATOMIC_NUMBER

__all__ = ["CompositionSpace"]

_TOL = 1e-9
# Largest number of support patterns (for max_components) that project() tries one by one;
# above it, a local search over single swaps starts from the largest components.
_MAX_EXHAUSTIVE_SUPPORTS = 256
# Grid points that project() may visit when looking for the nearest non-excluded one.
_MAX_EXCLUSION_SEARCH = 100_000
#: Finest grid step accepted: finer grids are continuous for every practical purpose, and
#: their unit counts would leave the int64 range of the grid machinery.
MIN_STEP = 1e-9
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


def _is_number(v: Any) -> bool:
    return isinstance(v, Real) and not isinstance(v, bool)


class CompositionSpace:
    """A set of mixtures of named components whose fractions sum to 1.

    Args:
        components: ``{name: (low, high)}`` bounds, ``{name: value}`` for a fixed fraction,
            ``{name: None}`` for ``(0, 1)``; or a sequence of names, each in ``(0, 1)``.
        step: Grid step of the fractions (``0.01`` = 1 %); ``1 / step`` must be an integer
            and fixed fractions multiples of it, and it is at least ``MIN_STEP`` (1e-9).
            ``None`` for a continuous space. On a grid, the bounds admit the grid points
            that lie within them.
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
        try:
            # pairs, not a dict: a list with a name twice must not be merged silently
            spec: list[tuple[Any, Any]] = (
                list(components.items())
                if isinstance(components, Mapping)
                else [(c, None) for c in components]
            )
        except TypeError:
            raise _err(
                f"components must be a mapping or a list of names, got {components!r}"
            ) from None
        if not spec:
            raise _err("a composition space needs at least one component")
        names: list[str] = []
        lower: list[float] = []
        upper: list[float] = []
        fixed: dict[str, float] = {}
        for name, bound in spec:
            if not isinstance(name, str) or not name.strip():
                raise _err(f"component names must be non-empty strings, got {name!r}")
            name = name.strip()
            if name in names:
                raise _err(f"component {name!r} is given twice")
            if bound is None:
                lo, hi = 0.0, 1.0
            elif _is_number(bound):
                lo = hi = float(bound)
            elif isinstance(bound, (tuple, list, np.ndarray)) and len(bound) == 2:
                if not (_is_number(bound[0]) and _is_number(bound[1])):
                    raise _err(f"bounds of {name} must be two numbers, got {bound!r}")
                lo, hi = float(bound[0]), float(bound[1])
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
            if lo == hi:
                fixed[name] = lo
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

        # ---- the grid (before max_components, whose check depends on it)
        self.step: float | None = None
        self._n_units = 0
        self._lo_units = np.zeros(k, dtype=np.int64)
        self._hi_units = np.zeros(k, dtype=np.int64)
        if step is not None:
            if not _is_number(step) or not (0 < float(step) <= 1):
                raise _err(f"step must be a number in (0, 1], got {step!r}")
            if float(step) < MIN_STEP:
                raise _err(f"step must be at least {MIN_STEP:g}, got {step!r}; a finer grid is "
                           "continuous in practice: use step=None")
            step = float(step)
            n_units = round(1 / step)
            if abs(n_units * step - 1) > 1e-9:
                raise _err(
                    f"1/step must be a whole number, got step={step} (try 0.01, 0.005, ...)"
                )
            self.step = 1.0 / n_units
            self._n_units = n_units
            eps = self._unit_eps
            for i, name in enumerate(names):
                if name in fixed:
                    u = fixed[name] * n_units
                    if abs(u - round(u)) > eps:
                        raise _err(
                            f"fixed fraction of {name} ({fixed[name]}) is not a multiple of "
                            f"step {step}"
                        )
                    # snap, so that bounds, grid and membership agree exactly
                    self.lower[i] = self.upper[i] = fixed[name] = round(u) / n_units
            self._lo_units = np.ceil(self.lower * n_units - eps).astype(np.int64)
            self._hi_units = np.floor(self.upper * n_units + eps).astype(np.int64)
            bad = [
                n for n, a, b in zip(names, self._lo_units, self._hi_units, strict=True) if a > b
            ]
            if bad:
                raise _err(
                    f"no multiple of step {step} lies within the bounds of {', '.join(bad)}"
                )
            if self._lo_units.sum() > n_units:
                raise _err(
                    f"infeasible space: on the step-{step} grid the minimum fractions add up "
                    f"to {self._lo_units.sum() / n_units:.6g} > 1"
                )
            if self._hi_units.sum() < n_units:
                raise _err(
                    f"infeasible space: on the step-{step} grid the maximum fractions add up "
                    f"to {self._hi_units.sum() / n_units:.6g} < 1"
                )

        # ---- max_components
        if max_components is not None:
            if isinstance(max_components, bool) or not isinstance(
                max_components, (int, np.integer)
            ):
                raise _err(f"max_components must be a positive integer, got {max_components!r}")
            max_components = int(max_components)
            if max_components < 1:
                raise _err(f"max_components must be at least 1, got {max_components}")
            n_req = int(self._required.sum())
            if max_components < n_req:
                raise _err(
                    f"infeasible space: {n_req} components have a positive minimum "
                    f"but max_components is {max_components}"
                )
            if max_components >= k:
                max_components = None
        self.max_components: int | None = max_components
        if max_components is not None and not self._can_reach_one():
            raise _err(
                f"infeasible space: no {max_components} components can reach a total of 1 "
                "within their upper bounds"
                + ("" if self.step is None else f" on the step-{self.step:g} grid")
            )
        self._excluded: set[tuple[int, ...]] = set()
        if exclude is not None:
            self.add_exclusions(exclude)

    # ------------------------------------------------------------ internals
    @property
    def _unit_eps(self) -> float:
        # float noise of `fraction * n_units`; far below any real difference of fractions
        return 1e-9 + 1e-15 * self._n_units

    @property
    def _required(self) -> np.ndarray:
        """Components that can never be zero."""
        return self._lo_units > 0 if self.step is not None else self.lower > 0

    @property
    def _optional(self) -> np.ndarray:
        """Components that may be zero or not."""
        can_be_positive = self._hi_units > 0 if self.step is not None else self.upper > 0
        return ~self._required & can_be_positive

    def _bounds(self, on_grid: bool) -> tuple[np.ndarray, np.ndarray, float]:
        """(lower, upper, total): integer units on the grid, fractions otherwise."""
        if on_grid:
            return (self._lo_units.astype(float), self._hi_units.astype(float),
                    float(self._n_units))
        return self.lower, self.upper, 1.0

    def _n_free(self) -> int:
        """How many optional components a composition may use (max_components only)."""
        assert self.max_components is not None
        return self.max_components - int(self._required.sum())

    def _can_reach_one(self) -> bool:
        on_grid = self.step is not None
        lo, hi, total = self._bounds(on_grid)
        req, opt = self._required, self._optional
        top = np.concatenate([[0.0], np.cumsum(np.sort(hi[opt])[::-1])])
        lo_req, hi_req = lo[req].sum(), hi[req].sum()
        tol = 0.5 if on_grid else _TOL
        for r in range(min(self._n_free(), int(opt.sum())) + 1):
            # on the grid, each of the r optional components takes at least one unit
            least = lo_req + (r if on_grid else 0)
            if least <= total + tol and hi_req + top[r] >= total - tol:
                return True
        return False

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
        for c, lo, hi in zip(self.components, self.lower, self.upper, strict=True):
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
                for c, lo, hi in zip(self.components, self.lower, self.upper, strict=True)
            },
            "step": self.step,
            "max_components": self.max_components,
            "exclude": [list(map(int, e)) for e in sorted(self._excluded)],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CompositionSpace:
        """Rebuild a space from :meth:`to_dict` output (validated like the constructor)."""
        if not isinstance(d, Mapping) or not isinstance(d.get("components"), Mapping):
            raise _err(f"expected a dict from CompositionSpace.to_dict(), got {d!r}")
        comps = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d["components"].items()}
        space = cls(comps, step=d.get("step"), max_components=d.get("max_components"))
        exclude = d.get("exclude") or []
        try:
            keys = {tuple(int(v) for v in e) for e in exclude}
        except (TypeError, ValueError):
            raise _err(f"'exclude' must be a list of integer keys, got {exclude!r}") from None
        if any(len(key) != space.n_components for key in keys):
            raise _err(f"'exclude' keys must have {space.n_components} entries")
        space._excluded = keys
        return space

    # ------------------------------------------------------------ conversions
    def as_array(self, x: Any) -> np.ndarray:
        """Convert compositions to an ``(n, k)`` array in component order.

        Accepts an array or nested list, a DataFrame with one column per component, a mapping
        or a pandas Series indexed by component (one composition), a formula string
        (elemental spaces), or a list of mappings/formulas/rows. Names outside the space
        raise ``CompositionError``; missing names count as 0. Rows of finite amounts whose
        sum overflows (``{"Fe": 1e308, "Cr": 1e308}``) are scaled down by their largest
        amount, so normalizing them gives the right fractions, not zeros.
        """
        arr = self._as_array(x)
        if arr.size and arr.dtype.kind == "f":
            with np.errstate(over="ignore", invalid="ignore"):
                big = np.isinf(arr.sum(axis=1)) & np.isfinite(arr).all(axis=1)
            if big.any():
                arr = arr.astype(float, copy=True)
                arr[big] /= np.abs(arr[big]).max(axis=1, keepdims=True)
        return arr

    def _as_array(self, x: Any) -> np.ndarray:
        if isinstance(x, pd.DataFrame):
            extra = [c for c in x.columns if c not in self.components]
            missing = [c for c in self.components if c not in x.columns]
            if missing and extra:
                raise _err(f"columns {extra} are not components of {self.components}")
            arr = np.zeros((len(x), self.n_components))
            for c in self.components:
                if c in x.columns:
                    arr[:, self.components.index(c)] = pd.to_numeric(
                        x[c], errors="coerce"
                    ).to_numpy(dtype=float)
            return arr
        if isinstance(x, pd.Series) and len(x) and all(isinstance(i, str) for i in x.index):
            return self._row(dict(x.items()))[None, :]  # one composition, by name
        if isinstance(x, (str, Mapping)) or hasattr(x, "get_el_amt_dict"):
            return self._row(x)[None, :]
        if isinstance(x, np.ndarray) and x.dtype != object:
            return self._check_shape(x)
        try:
            items = list(x)
        except TypeError:
            raise _err(f"cannot read {x!r} as compositions of {self.components}") from None
        if not items:
            return np.zeros((0, self.n_components))
        if all(_is_number(v) for v in items):
            return self._check_shape(np.asarray(items, dtype=float))
        if all(isinstance(v, (list, tuple, np.ndarray)) for v in items):
            try:
                arr = np.asarray(items, dtype=float)
            except (TypeError, ValueError):
                pass  # ragged or not numeric: row by row below names the culprit
            else:
                if arr.ndim == 2:
                    return self._check_shape(arr)
        return np.vstack([self._row(v) for v in items])

    def _check_shape(self, x: Any) -> np.ndarray:
        try:
            arr = np.asarray(x, dtype=float)
        except (TypeError, ValueError):
            raise _err(f"cannot read {x!r} as compositions of {self.components}") from None
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != self.n_components:
            raise _err(
                f"expected an array with {self.n_components} columns "
                f"({', '.join(self.components)}), got shape {np.shape(x)}"
            )
        return arr

    def _row(self, x: Any) -> np.ndarray:
        if isinstance(x, str) or hasattr(x, "get_el_amt_dict"):
            fr = parse_composition(x)
        elif isinstance(x, Mapping):
            fr = {}
            for k, v in x.items():
                name = str(getattr(k, "symbol", k)).strip()
                if not _is_number(v):
                    raise _err(f"fraction of {name} in {x!r} is not a number: {v!r}")
                fr[name] = float(v)
        elif isinstance(x, (Sequence, np.ndarray)) and not isinstance(x, (bytes, bytearray)):
            if not all(_is_number(v) for v in x):
                raise _err(f"cannot read {x!r} as a composition of {self.components}")
            return self._check_shape(list(x))[0]
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
            out.append("".join(f"{c}{_fmt(v, decimals)}"
                               for c, v in zip(self.components, row, strict=True) if v > 0))
        return out

    # ---------------------------------------------------------- exclusions
    def _keys(self, X: np.ndarray) -> list[tuple[int, ...]]:
        X = np.asarray(X, dtype=float)
        if self.step is not None and len(X):
            # points within float noise of the grid are keyed by their grid point
            u = X * self._n_units
            r = np.rint(u)
            X = np.where(np.abs(u - r) <= 1e-6 * self._n_units, r / self._n_units, X)
        return [tuple(r) for r in np.rint(X * 1e8).astype(np.int64).tolist()]

    def add_exclusions(self, compositions: Any) -> None:
        """Exclude compositions (e.g. ones already made) from membership and suggestions."""
        X = self.as_array(compositions)
        if not np.all(np.isfinite(X)):
            raise _err("cannot exclude compositions with NaN or infinite fractions")
        self._excluded.update(self._keys(X))

    def is_excluded(self, X: Any) -> np.ndarray:
        arr = self.as_array(X)
        if not self._excluded:
            return np.zeros(len(arr), dtype=bool)
        arr = np.where(np.isfinite(arr), arr, 0.0)
        return np.fromiter((k in self._excluded for k in self._keys(arr)), bool, len(arr))

    # ---------------------------------------------------------- membership
    def contains(self, x: Any, *, tol: float = 1e-6) -> bool | np.ndarray:
        """Whether compositions lie in the space (sum, bounds, grid, components, exclusions).

        Returns a bool for one composition (mapping, formula, 1-D array or list of numbers)
        and a bool array for several. A composition naming a component outside the space, or
        that cannot be read, is not contained. On a grid, a point within ``tol`` of a grid
        point is judged by that grid point, so membership agrees exactly with the grid.
        """
        if x is None or isinstance(x, (bool, int, float, bytes)):
            return False  # not a composition: not contained (never a TypeError)
        single = (
            isinstance(x, (str, Mapping))
            or hasattr(x, "get_el_amt_dict")
            or (isinstance(x, np.ndarray) and x.ndim == 1)
            or (isinstance(x, pd.Series) and all(isinstance(i, str) for i in x.index))
            or (isinstance(x, (list, tuple)) and len(x) > 0 and all(_is_number(v) for v in x))
        )
        if single:
            try:
                X = self.as_array(x)
            except CompositionError:
                return False
            return bool(self._contains_array(X, tol)[0])
        if isinstance(x, (pd.DataFrame, np.ndarray)):
            return self._contains_array(self.as_array(x), tol)
        try:
            items = list(x)
        except TypeError:
            return False
        try:
            return self._contains_array(self.as_array(items), tol)
        except (CompositionError, TypeError, ValueError):
            # judge row by row: the unreadable ones are not contained
            out = np.zeros(len(items), dtype=bool)
            for i, item in enumerate(items):
                try:
                    out[i] = self._contains_array(self._row(item)[None, :], tol)[0]
                except (CompositionError, TypeError, ValueError):
                    pass
            return out

    __contains__ = contains  # type: ignore[assignment]

    def _contains_array(self, X: np.ndarray, tol: float) -> np.ndarray:
        ok = np.all(np.isfinite(X), axis=1)
        Xs = np.where(np.isfinite(X), X, 0.0)
        if self.step is not None:
            N = self._n_units
            u = Xs * N
            r = np.rint(u)
            ok &= np.all(np.abs(u - r) <= tol * N, axis=1)
            ok &= r.sum(axis=1) == N
            ok &= np.all(r >= self._lo_units, axis=1) & np.all(r <= self._hi_units, axis=1)
            if self.max_components is not None:
                ok &= (r > 0).sum(axis=1) <= self.max_components
        else:
            ok &= np.abs(Xs.sum(axis=1) - 1) <= tol
            ok &= np.all(Xs >= self.lower - tol, axis=1) & np.all(Xs <= self.upper + tol, axis=1)
            if self.max_components is not None:
                ok &= (Xs > tol).sum(axis=1) <= self.max_components
        if self._excluded:
            ok &= ~self.is_excluded(Xs)
        return ok

    # ---------------------------------------------------------------- grid
    def _require_grid(self) -> None:
        if self.step is None:
            raise _err("this space is continuous (step=None); give step= to use its grid")

    def grid_size(self) -> int:
        """The exact number of grid compositions (before exclusions), without enumerating.

        Counted by inclusion-exclusion on the bounds with Python integers: the work does not
        grow with ``1 / step``, so a step of 1e-9 answers as fast as 0.01.
        """
        self._require_grid()
        m = self.max_components if self.max_components is not None else self.n_components
        return _count_bounded(self._lo_units.tolist(), self._hi_units.tolist(),
                              self._n_units, m)

    def _supports(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Integer (low, high) bounds per support pattern, covering the grid exactly once."""
        a, b = self._lo_units, self._hi_units
        if self.max_components is None:
            yield a.copy(), b.copy()
            return
        req = list(np.flatnonzero(self._required))
        opt = list(np.flatnonzero(self._optional))
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
