"""Composition spaces: fractions that sum to one, with bounds, fixed parts, a step and a
maximum number of components.

Components are usually chemical elements, but may be any named ingredients of a mixture
(``"CsPbI3"``, ``"P3HT"``, ``"D1 nanotube"``): the space only deals with fractions.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from ._simplex import _TOL, _bounded_compositions, _count_bounded, _err
from ._space_sampling import SamplingMixin
from .composition import CompositionError, parse_composition
from .elements import ATOMIC_NUMBER

__all__ = ["CompositionSpace"]

#: Finest grid step accepted: finer grids are continuous for every practical purpose, and
#: their unit counts would leave the int64 range of the grid machinery.
MIN_STEP = 1e-9


def _is_number(v: Any) -> bool:
    return isinstance(v, Real) and not isinstance(v, bool)


def _bound_pair(name: str, bound: Any) -> tuple[float, float]:
    """``(low, high)`` of one component's bound, checked."""
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
    return lo, hi


def _parse_components(
    components: Any,
) -> tuple[list[str], list[float], list[float], dict[str, float]]:
    """Names, lower and upper bounds and fixed fractions of a components specification."""
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
        lo, hi = _bound_pair(name, bound)
        if lo == hi:
            fixed[name] = lo
        names.append(name)
        lower.append(lo)
        upper.append(hi)
    return names, lower, upper, fixed


class CompositionSpace(SamplingMixin):
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
        names, lower, upper, fixed = _parse_components(components)
        self.components: list[str] = names
        self.lower = np.asarray(lower, dtype=float)
        self.upper = np.asarray(upper, dtype=float)
        self.fixed: dict[str, float] = fixed
        if self.lower.sum() > 1 + _TOL:
            raise _err(
                f"infeasible space: the minimum fractions add up to {self.lower.sum():.6g} > 1"
            )
        if self.upper.sum() < 1 - _TOL:
            raise _err(
                f"infeasible space: the maximum fractions add up to {self.upper.sum():.6g} < 1"
            )
        # the grid before max_components, whose check depends on it
        self._set_grid(step)
        self.max_components: int | None = self._checked_max_components(max_components)
        if self.max_components is not None and not self._can_reach_one():
            raise _err(
                f"infeasible space: no {self.max_components} components can reach a total of 1 "
                "within their upper bounds"
                + ("" if self.step is None else f" on the step-{self.step:g} grid")
            )
        self._excluded: set[tuple[int, ...]] = set()
        if exclude is not None:
            self.add_exclusions(exclude)

    def _set_grid(self, step: Any) -> None:
        """Check ``step`` and set the grid in integer units (snapping fixed fractions)."""
        k = len(self.components)
        self.step: float | None = None
        self._n_units = 0
        self._lo_units = np.zeros(k, dtype=np.int64)
        self._hi_units = np.zeros(k, dtype=np.int64)
        if step is None:
            return
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
        fixed = self.fixed
        for i, name in enumerate(self.components):
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
            n for n, a, b in zip(self.components, self._lo_units, self._hi_units, strict=True)
            if a > b
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

    def _checked_max_components(self, max_components: Any) -> int | None:
        """``max_components`` checked against the bounds; None when it does not bind."""
        if max_components is None:
            return None
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
        return None if max_components >= len(self.components) else max_components

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


