"""Screening inputs: candidate chunks from a space or an array, and the model adapter (checks
and one ``predict_fractions`` call per chunk, for any FractionModel)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core import CompositionError, CompositionSpace

__all__ = ["ScreenError", "MAX_TOP_K", "MAX_CANDIDATES"]

_FILTERS = ("in_domain", "max_std", "mean_range", "constraints", "where")
# Columns computed from the composition (jupyter_matopt.economics), as filters or extra=.
_ECONOMICS = ("cost_per_kg", "cost_per_mol", "hhi", "hhi_production", "hhi_reserve")
# Filter applied to the top-k after ranking: each candidate costs relaxations.
_POST_FILTERS = ("e_above_hull",)


class ScreenError(ValueError):
    """A screen that cannot run as asked (bad candidates, a model that does not fit them)."""


# --------------------------------------------------------------------------- candidates
#: Most candidates returned (``top_k``): more is not a ranking but a dump of the stream.
MAX_TOP_K = 1_000_000


#: Default ``max_candidates``: a larger grid is refused with its size instead of started.
MAX_CANDIDATES = 1_000_000_000


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ScreenError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _candidate_chunks(
    source: Any, chunk_size: int, n_samples: int | None, seed: int
) -> tuple[list[str], Iterator[np.ndarray], int | None, CompositionSpace | None]:
    """(components, chunk iterator, total or None, the space if one was given)."""
    if isinstance(source, CompositionSpace):
        if source.step is not None and n_samples is None:
            return source.components, source.iter_grid(chunk_size), source.grid_size(), source
        n = 1_000_000 if n_samples is None else _positive_int("n_samples", n_samples)
        rng = np.random.default_rng(seed)

        def sampled() -> Iterator[np.ndarray]:
            left = n
            while left > 0:
                m = min(chunk_size, left)
                yield source.sample(m, seed=rng)
                left -= m

        return source.components, sampled(), n, source

    if isinstance(source, pd.DataFrame):
        comps = [str(c) for c in source.columns]
        try:
            arr = source.to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise ScreenError(
                "every column of the candidate DataFrame must hold numeric fractions "
                f"(one column per element); got dtypes {dict(source.dtypes.astype(str))}"
            ) from None
    elif isinstance(source, tuple) and len(source) == 2 and not isinstance(source[0], str):
        try:
            arr = np.asarray(source[0], dtype=float)
        except (TypeError, ValueError):
            raise ScreenError("the candidate array must hold numeric fractions") from None
        if isinstance(source[1], str):
            raise ScreenError(
                f"elements must be a list of names, got the string {source[1]!r}"
            )
        comps = [str(c) for c in source[1]]
    elif isinstance(source, (pd.Series, list)) and len(source) and all(
        isinstance(s, str) for s in source
    ):
        from ..core.composition import fractions_matrix

        try:
            arr, comps = fractions_matrix(list(source))
        except CompositionError as exc:
            raise ScreenError(f"cannot read the candidate formulas: {exc}") from None
    else:
        raise ScreenError(
            "candidates must be a CompositionSpace, a DataFrame with one column per element, "
            f"an (array, elements) pair or a list of formulas; got {type(source).__name__}"
        )
    if arr.ndim != 2 or arr.shape[1] != len(comps) or not comps:
        raise ScreenError(
            f"candidate array has shape {arr.shape}, expected (n, {len(comps)}) for the "
            f"{len(comps)} element(s) {comps}"
        )
    if len(set(comps)) != len(comps):
        dup = sorted({c for c in comps if comps.count(c) > 1})
        raise ScreenError(f"candidate elements must be unique, but {dup} repeat")
    bad = ~np.isfinite(arr).all(axis=1) | (arr < 0).any(axis=1) | ~(arr.sum(axis=1) > 0)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise ScreenError(
            f"candidate row {r} ({arr[r].tolist()}) is invalid: fractions must be finite, "
            f"non-negative and not all zero ({int(bad.sum())} such row(s))"
        )

    def chunks() -> Iterator[np.ndarray]:
        for start in range(0, len(arr), chunk_size):
            yield arr[start:start + chunk_size]

    return comps, chunks(), len(arr), None


# ------------------------------------------------------------------------ model adapter
def _check_model(model: Any, elements: Sequence[str], conditions: Mapping[str, float] | None,
                 what: str = "model") -> None:
    if not hasattr(model, "predict_fractions"):
        raise ScreenError(
            f"{what} must be a fitted jupyter_matopt PropertyModel, got {type(model).__name__}"
        )
    known = getattr(model, "elements_", None)
    if known is None:
        raise ScreenError(f"the {what} is not fitted yet: call .fit(dataset) first")
    known = set(known)
    unseen = [e for e in elements if e not in known]
    if unseen:
        raise ScreenError(
            f"the {what} never saw {', '.join(unseen)} in training, so it cannot rank "
            f"compositions of {', '.join(elements)}; train on data containing them or "
            "remove them from the space"
        )
    needed = list(getattr(model, "conditions_", None) or [])
    missing = [c for c in needed if not conditions or c not in conditions]
    if missing:
        raise ScreenError(
            f"the {what} needs condition value(s) {missing}: pass "
            f"conditions={{'{missing[0]}': ...}}"
        )
    extra = [c for c in (conditions or {}) if c not in needed]
    if extra:
        raise ScreenError(
            f"conditions {extra} are not conditions of the {what} "
            f"(it was trained with {needed or 'none'})"
        )
    for name, value in (conditions or {}).items():
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
                or not np.isfinite(value):
            raise ScreenError(f"condition {name!r} must be a finite number, got {value!r}")


def _condition_values(model: Any, conditions: Mapping[str, float] | None
                      ) -> dict[str, float] | None:
    """The model's conditions as scalars (PropertyModel broadcasts them over the rows)."""
    needed = list(getattr(model, "conditions_", None) or [])
    if not needed:
        return None
    return {c: float(conditions[c]) for c in needed}  # type: ignore[index]


def _mean_std(model: Any, X: np.ndarray, elements: list[str],
              conditions: Mapping[str, float] | None, return_std: bool,
              return_domain: bool = False
              ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(mean, std or None, in_domain or None) of one chunk, in one model call."""
    cond = _condition_values(model, conditions)
    kw: dict[str, Any] = {"return_domain": True} if return_domain else {}
    res = model.predict_fractions(X, elements, conditions=cond, return_std=return_std, **kw)
    parts = list(res) if isinstance(res, tuple) else [res]
    mean = np.asarray(parts.pop(0), dtype=float).reshape(len(X))
    std = np.asarray(parts.pop(0), dtype=float).reshape(len(X)) if return_std else None
    inside = None
    if return_domain:
        inside = np.asarray(parts.pop(0)["in_domain"], dtype=bool).reshape(len(X))
    return mean, std, inside


def _has_domain(model: Any) -> bool:
    try:
        params = inspect.signature(model.predict_fractions).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return False
    return "return_domain" in params
