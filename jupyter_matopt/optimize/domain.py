"""Where a campaign searches: a composition space or a finite candidate pool.

:class:`SpaceDomain` and :class:`PoolDomain` answer the questions on which ``Campaign`` used to
branch: the component names, the scaled model inputs, reading told compositions, which rows
are inside, the candidates of a pool, and how the domain is stored in the log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..core import CompositionError, CompositionSpace
from ._log import CampaignError
from .candidates import row_keys

__all__ = ["SearchDomain", "SpaceDomain", "PoolDomain", "make_domain", "is_pool"]


def is_pool(obj: Any) -> bool:
    """A :class:`~jupyter_matopt.data.Pool` (duck-typed)."""
    return hasattr(obj, "inputs") and hasattr(obj, "frame")


class SearchDomain:
    """Common interface (see the module docs)."""

    components: list[str]
    free: np.ndarray        # inputs that vary (scaled into the model features)
    x_lo: np.ndarray        # their lower bounds
    x_width: np.ndarray     # and widths
    formulas: bool          # suggestions are formulas (elemental spaces)
    space: CompositionSpace | None = None
    pool: pd.DataFrame | None = None

    @property
    def k(self) -> int:
        """Number of components (inputs)."""
        return len(self.components)

    def scaled(self, X: np.ndarray) -> np.ndarray:
        """The free inputs of ``X`` min-max scaled."""
        return (X[:, self.free] - self.x_lo) / self.x_width

    def inside(self, X: np.ndarray) -> np.ndarray:
        """Rows inside the space's bounds (or entries of the pool)."""
        raise NotImplementedError

    def feasible(self, X: np.ndarray) -> np.ndarray:
        """Rows a suggestion may be (all of a pool's rows; ``space.contains`` of a space)."""
        return np.ones(len(X), dtype=bool)

    def element_matrix(self) -> tuple[np.ndarray, list[str]] | None:
        """``(A, elements)`` with ``A[i]`` the atomic fractions of component ``i`` when every
        component is a chemical formula (and a pool holds no negative amounts), else None.
        Computed once."""
        cached = self.__dict__.get("_element_matrix", False)
        if cached is not False:
            return cached  # type: ignore[no-any-return]
        from .featurize import element_matrix

        mode = element_matrix(list(self.components))
        if mode is not None and self.pool is not None and np.any(self.pool.to_numpy() < 0):
            mode = None  # negative entries: not amounts
        self.__dict__["_element_matrix"] = mode
        return mode

    def parse_x(self, items: Any) -> np.ndarray:
        """Told compositions as an ``(n, k)`` array."""
        raise NotImplementedError


class SpaceDomain(SearchDomain):
    """A :class:`CompositionSpace`: fractions of its components."""

    def __init__(self, space: CompositionSpace) -> None:
        self.space = space
        self.components = list(space.components)
        plain = space.to_dict()
        plain["exclude"] = []
        # measurements are "inside" when within the bounds, excluded compositions or not
        self._plain = CompositionSpace.from_dict(plain)
        self.free = np.array([c not in space.fixed and hi > lo for c, lo, hi in
                              zip(space.components, space.lower, space.upper, strict=False)])
        self.x_lo = space.lower[self.free]
        self.x_width = (space.upper - space.lower)[self.free]
        self.formulas = bool(space.is_elemental)

    def inside(self, X: np.ndarray) -> np.ndarray:
        if len(X) == 0:
            return np.zeros(0, dtype=bool)
        return np.asarray(self._plain.contains(X), dtype=bool).reshape(len(X))

    def feasible(self, X: np.ndarray) -> np.ndarray:
        assert self.space is not None
        return np.asarray(self.space.contains(X), dtype=bool).reshape(len(X))

    def parse_x(self, items: Any) -> np.ndarray:
        space = self.space
        assert space is not None
        if not space.is_elemental:
            # in a mixture of ingredients, "PEG" or "CsPbI3" alone means that ingredient
            # pure, not its elements (which the space does not have)
            names = set(self.components)
            if isinstance(items, str) and items.strip() in names:
                items = [{items.strip(): 1.0}]
            elif isinstance(items, (list, tuple)):
                items = [{it.strip(): 1.0} if isinstance(it, str) and it.strip() in names
                         else it for it in items]
        try:
            X = space.as_array(items)
        except CompositionError as e:
            raise CampaignError(str(e)) from None
        except (TypeError, ValueError) as e:
            raise CampaignError(f"cannot read the compositions: {e}") from None
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.k:
            raise CampaignError(f"expected compositions of {self.components}, got shape {X.shape}")
        if not np.all(np.isfinite(X)):
            rows = np.flatnonzero(~np.all(np.isfinite(X), axis=1))[:5].tolist()
            raise CampaignError(f"compositions in rows {rows} have missing or infinite fractions")
        if np.any(X < 0):
            rows = np.flatnonzero(np.any(X < 0, axis=1))[:5].tolist()
            raise CampaignError(f"compositions in rows {rows} have negative amounts")
        tot = X.sum(axis=1)
        if np.any(tot <= 0):
            rows = np.flatnonzero(tot <= 0)[:5].tolist()
            raise CampaignError(
                f"compositions in rows {rows} contain none of the components {self.components}"
            )
        return X / tot[:, None]


class PoolDomain(SearchDomain):
    """A finite pool of candidates: a numeric DataFrame, one column per input."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.pool = check_pool(frame)
        self.components = [str(c) for c in self.pool.columns]
        P = self.pool.to_numpy(dtype=float)
        lo, hi = P.min(axis=0), P.max(axis=0)
        self.free = hi > lo
        self.x_lo = lo[self.free]
        self.x_width = (hi - lo)[self.free]
        self.formulas = False
        self.keys: dict[bytes, int] = {}
        for i, key in enumerate(row_keys(P)):
            self.keys.setdefault(key, i)

    def rows(self) -> np.ndarray:
        """The pool as an ``(N, k)`` array."""
        assert self.pool is not None
        return self.pool.to_numpy(dtype=float)

    def index_of(self, Z: np.ndarray) -> list[Any]:
        """The pool's index label of each row (None for rows not in the pool)."""
        assert self.pool is not None
        idx = [self.keys.get(k) for k in row_keys(Z)]
        return [self.pool.index[i] if i is not None else None for i in idx]

    def inside(self, X: np.ndarray) -> np.ndarray:
        if len(X) == 0:
            return np.zeros(0, dtype=bool)
        return np.array([k in self.keys for k in row_keys(X)], dtype=bool)

    def header(self) -> dict[str, Any]:
        """The pool as stored in the campaign log."""
        assert self.pool is not None
        return {
            "columns": self.components,
            "index": [i if isinstance(i, (int, str)) else str(i)
                      for i in self.pool.index.tolist()],
            "data": self.pool.to_numpy(dtype=float).tolist(),
        }

    def parse_x(self, items: Any) -> np.ndarray:
        if isinstance(items, pd.DataFrame):
            missing = [c for c in self.components if c not in items.columns]
            if missing:
                raise CampaignError(
                    f"the DataFrame lacks pool column(s) {missing}; pool columns are "
                    f"{self.components}"
                )
            raw: Any = items[self.components]
        elif isinstance(items, list) and items and all(isinstance(d, Mapping) for d in items):
            for d in items:
                unknown = [k for k in d if k not in self.components]
                missing = [c for c in self.components if c not in d]
                if unknown or missing:
                    raise CampaignError(
                        f"pool entry {dict(d)!r} must give exactly the pool columns "
                        f"{self.components}"
                        + (f" (unknown: {unknown})" if unknown else "")
                        + (f" (missing: {missing})" if missing else "")
                    )
            raw = [[d[c] for c in self.components] for d in items]
        else:
            raw = items
        try:
            X = np.asarray(raw, dtype=float)
        except (TypeError, ValueError):
            raise CampaignError(
                f"pool entries must be numeric rows with columns {self.components}"
            ) from None
        if X.ndim == 1 and len(X) == self.k:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != self.k:
            raise CampaignError(
                f"pool entries must have {self.k} columns ({', '.join(self.components)}), "
                f"got shape {X.shape}"
            )
        if not np.all(np.isfinite(X)):
            raise CampaignError("pool entries must be finite numbers")
        return X


def check_pool(frame: pd.DataFrame) -> pd.DataFrame:
    """A float copy of a candidate pool, or one clear error."""
    if len(frame) == 0 or frame.shape[1] == 0:
        raise CampaignError("the candidate pool is empty")
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        raise CampaignError(f"pool columns must have distinct names, got {names}")
    bad = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])
           or pd.api.types.is_bool_dtype(frame[c])]
    if bad:
        raise CampaignError(
            f"pool column(s) {[str(b) for b in bad]} are not numeric; encode them as numbers"
        )
    if frame.index.has_duplicates:
        dup = frame.index[frame.index.duplicated()].unique()[:5].tolist()
        raise CampaignError(
            f"the pool's index has duplicate labels {dup}, so pool_index could not name a "
            "row; give each row its own label (e.g. frame.reset_index(drop=True))"
        )
    arr = frame.to_numpy(dtype=float)
    if not np.all(np.isfinite(arr)):
        rows = np.flatnonzero(~np.all(np.isfinite(arr), axis=1))[:5].tolist()
        raise CampaignError(f"the pool has missing or infinite values (rows {rows})")
    return pd.DataFrame(arr, columns=names, index=frame.index)


def make_domain(space_or_pool: Any, *, has_conditions: bool) -> SearchDomain:
    """The domain of ``Campaign(space_or_pool)``.

    Raises:
        CampaignError: for anything but a space, a DataFrame or a Pool, or conditions given
            with a pool.
    """
    if isinstance(space_or_pool, CompositionSpace):
        return SpaceDomain(space_or_pool)
    if isinstance(space_or_pool, pd.DataFrame) or is_pool(space_or_pool):
        if has_conditions:
            raise CampaignError(
                "conditions are for composition spaces; in a pool they are just columns "
                "of the pool"
            )
        frame = (space_or_pool if isinstance(space_or_pool, pd.DataFrame)
                 else space_or_pool.frame[list(space_or_pool.inputs)])
        return PoolDomain(frame)
    raise CampaignError(
        "a campaign needs a CompositionSpace or a candidate pool (a DataFrame with one "
        f"numeric column per input, or a Pool), got {type(space_or_pool).__name__}"
    )
