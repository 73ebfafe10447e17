"""Stream candidate compositions through the fast featurizer and the model, keeping a
running top-k (and optionally a Pareto set) in bounded memory.

The same call runs on a Dask cluster when given ``client=``: chunks travel as arrays, the
model (with everything else a chunk needs) is scattered to the workers once, and the merge
is the same deterministic merge as the local run (ties broken by the candidate's position
in the stream, results absorbed in stream order), so the results are identical. A worker
costs about what a local thread does per chunk: its early exit also knows the chunks it
finished itself (:class:`_Board`), and glibc reuses freed memory while chunks run despite
Dask's ``MALLOC_TRIM_THRESHOLD_`` (:mod:`._malloc`).
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._progress import as_progress
from ..core import CompositionError, CompositionSpace
from ..core.elements import ATOMIC_NUMBER
from ._malloc import reuse_freed_memory
from ._prune import Pruner, make_pruner

__all__ = ["ScreenError", "screen"]

Callback = Callable[[int, "int | None", str], None]

_FILTERS = ("in_domain", "max_std", "mean_range", "constraints", "where")
# Columns computed from the composition (jupyter_matopt.economics), as filters or extra=.
_ECONOMICS = ("cost_per_kg", "cost_per_mol", "hhi", "hhi_production", "hhi_reserve")
# Filter applied to the top-k after ranking: each candidate costs relaxations.
_POST_FILTERS = ("e_above_hull",)
# Points of the Pareto sweep compared at once (a block x front boolean matrix per step).
_PARETO_BLOCK = 1024
_PARETO_CELLS = 4_000_000
# Exact early exit of tree ensembles (see _prune): on for screens of at least this many
# candidates (reading the trees' leaf ranges costs a few tens of ms once).
_PRUNE = True
_PRUNE_MIN = 20_000


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


# ------------------------------------------------------------------------ per-chunk work
class _Board:
    """The best scores of the chunks already finished in this process (by local threads, or
    by one Dask worker), for the early exit of the chunks still to run.

    The client's threshold only covers the chunks merged so far in stream order, several
    chunks behind; the board knows the chunks finished here at once. A chunk may only use
    chunks *before* it in the stream: an interrupted screen returns the exact top-k of the
    prefix it merged, so no row may be dropped because of a later one. Any k distinct
    candidates before a chunk bound its threshold from below, so the result is the same
    whatever the board holds; entries are deduplicated by stream position (a re-run task
    offers its rows again). It keeps at most ``_MAX_ENTRIES`` top-k lists, folding the oldest
    together (labelled by the later chunk: only ever weaker, never wrong). It travels empty: a
    Dask worker starts its own from the scattered job.
    """

    _MAX_ENTRIES = 8

    def __init__(self, k: int) -> None:
        self.k = k
        self._lock = threading.Lock()
        # (start of the last chunk covered, scores, stream positions), sorted by start
        self._entries: list[tuple[int, np.ndarray, np.ndarray]] = []

    def _top(self, scores: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The k best distinct candidates of (scores, index)."""
        index, first = np.unique(index, return_index=True)
        scores = scores[first]
        if len(scores) > self.k:
            part = np.argpartition(scores, len(scores) - self.k)[-self.k:]
            scores, index = scores[part], index[part]
        return scores, index

    def tau(self, start: int) -> float:
        """The k-th best score of the candidates of finished chunks before ``start``."""
        with self._lock:
            parts = [(sc, ix) for s, sc, ix in self._entries if s < start]
        if not parts:
            return -np.inf
        scores, _ = self._top(np.concatenate([p[0] for p in parts]),
                              np.concatenate([p[1] for p in parts]))
        return float(scores.min()) if len(scores) >= self.k else -np.inf

    def offer(self, start: int, scores: np.ndarray, index: np.ndarray) -> None:
        """The best rows of the chunk starting at ``start``."""
        ok = np.isfinite(scores)
        entry = (start, *self._top(scores[ok], index[ok]))
        with self._lock:
            entries = sorted([*self._entries, entry], key=lambda e: e[0])
            while len(entries) > self._MAX_ENTRIES:
                (_, sc0, ix0), (start1, sc1, ix1) = entries[0], entries[1]
                entries[:2] = [(start1, *self._top(np.concatenate([sc0, sc1]),
                                                   np.concatenate([ix0, ix1])))]
            self._entries = entries

    def __getstate__(self) -> dict[str, Any]:
        return {"k": self.k}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["k"])  # type: ignore[misc]


@dataclass
class _Job:
    """Everything a chunk needs besides its rows: scattered to Dask workers once."""

    model: Any
    elements: list[str]
    conditions: Mapping[str, float] | None
    filters: Mapping[str, Any]
    pareto: Sequence[tuple[Any, str]] = ()
    top_k: int = 100
    sign: float = 1.0
    pareto_signs: Sequence[float] = field(default_factory=list)
    pruner: Pruner | None = None
    economics: Sequence[str] = ()
    board: _Board = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.board = _Board(self.top_k)

    def evaluate(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Per-row predictions and the mask of rows that pass the filters."""
        filters = self.filters
        # the domain comes from the same call, so each chunk is featurized once
        mean, std, inside = _mean_std(self.model, X, self.elements, self.conditions, True,
                                      bool(filters.get("in_domain")))
        assert std is not None
        keep = np.isfinite(mean)
        out: dict[str, np.ndarray] = {"mean": mean, "std": std}
        if inside is not None:
            keep &= inside
            out["in_domain"] = inside
        if filters.get("max_std") is not None:
            keep &= std <= float(filters["max_std"])
        if filters.get("mean_range") is not None:
            lo, hi = filters["mean_range"]
            keep &= (mean >= (-np.inf if lo is None else lo)) & (
                mean <= (np.inf if hi is None else hi))
        for i, (other, lo, hi) in enumerate(filters.get("constraints") or ()):
            m2, _, _ = _mean_std(other, X, self.elements, self.conditions, False)
            keep &= (m2 >= (-np.inf if lo is None else lo)) & (
                m2 <= (np.inf if hi is None else hi))
            out[f"constraint_{i}"] = m2
        if callable(filters.get("where")):
            mask = np.asarray(filters["where"](X, mean, std), dtype=bool)
            if mask.shape != (len(X),):
                raise ScreenError(
                    f"filters['where'] must return one boolean per candidate, got shape "
                    f"{mask.shape} for {len(X)} candidates"
                )
            keep &= mask
        if self.economics:
            from ..economics import comparison_mask, economics_fractions

            eco = economics_fractions(X, self.elements, list(self.economics))
            for col in self.economics:
                out[col] = eco[col].to_numpy()
                if col in filters:
                    keep &= comparison_mask(out[col], filters[col], col)
        for j, (other, _direction) in enumerate(self.pareto):
            m2, _, _ = _mean_std(other, X, self.elements, self.conditions, False)
            keep &= np.isfinite(m2)
            out[f"objective_{j + 1}"] = m2
        out["keep"] = keep
        return out

    def with_threads(self, threads: int) -> _Job:
        """The same job with every model predicting on ``threads`` threads."""
        return dataclasses.replace(
            self,
            model=_with_threads(self.model, threads),
            filters={**self.filters, "constraints": [
                (_with_threads(m, threads), lo, hi)
                for m, lo, hi in self.filters.get("constraints") or ()]},
            pareto=[(_with_threads(m, threads), d) for m, d in self.pareto],
        )

    def objectives(self, rows: Mapping[str, np.ndarray]) -> np.ndarray:
        """The Pareto objectives of ``rows``, all turned into maximization."""
        return np.column_stack(
            [self.sign * rows["mean"]]
            + [s * rows[f"objective_{j + 1}"] for j, s in enumerate(self.pareto_signs)])

    def run(self, X: np.ndarray, start: int, tau: float = -np.inf) -> dict[str, Any]:
        """Evaluate one chunk and keep only its best rows (what a worker sends back).

        ``tau`` is the k-th best score (``sign * mean``) of the candidates merged before this
        chunk, or -inf; the k best scores of the chunks already finished in this process
        (see :class:`_Board`) may raise it. With a pruner, rows that provably score below it
        are never fully evaluated (they can enter neither the top-k nor, without filters,
        change ``n_passed``).
        """
        with reuse_freed_memory():
            return self._run(X, start, tau)

    def _run(self, X: np.ndarray, start: int, tau: float) -> dict[str, Any]:
        pos = None
        n_pruned = 0
        if self.pruner is not None and len(X):
            tau = max(tau, self.board.tau(start))
            pos = self.pruner.top(self.model, X, self.elements,
                                  _condition_values(self.model, self.conditions), self.top_k,
                                  tau, self.sign)
            n_pruned = len(X) - len(pos)
        Xe = X if pos is None else X[pos]
        ev = self.evaluate(Xe)
        keep = np.flatnonzero(ev.pop("keep"))
        index = start + (keep if pos is None else pos[keep])
        rows = {"X": Xe[keep], "index": index, **{k: v[keep] for k, v in ev.items()}}
        top = _topk_indices(self.sign * rows["mean"], rows["index"], self.top_k)
        best = {k: v[top] for k, v in rows.items()}
        if self.pruner is not None:
            self.board.offer(start, self.sign * best["mean"], best["index"])
        front = None
        if self.pareto:
            nd = _nondominated(self.objectives(rows))
            front = {k: v[nd] for k, v in rows.items()}
        # pruned rows had finite bounds, so finite means: without filters they pass
        return {"n": len(X), "n_passed": len(keep) + n_pruned, "n_pruned": n_pruned,
                "best": best, "front": front}


def _run_chunk(job: _Job, X: np.ndarray, start: int, tau: float = -np.inf) -> dict[str, Any]:
    return job.run(X, start, tau)


def _filters_active(filters: Mapping[str, Any]) -> bool:
    return bool(filters.get("in_domain")) or any(
        filters.get(key) is not None for key in ("max_std", "mean_range", "where", *_ECONOMICS)
    ) or bool(filters.get("constraints"))


def _topk_indices(score: np.ndarray, index: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k best (highest score; ties -> lowest stream index), best first."""
    if len(score) > k:
        part = np.argpartition(-score, k - 1)[:k]
        kth = score[part].min()
        # argpartition breaks ties arbitrarily: take every tie, then order deterministically
        cand = np.flatnonzero(score >= kth)
    else:
        cand = np.arange(len(score))
    order = np.lexsort((index[cand], -score[cand]))
    return cand[order][:k]


def _nondominated(Y: np.ndarray) -> np.ndarray:
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
        block = int(np.clip(_PARETO_CELLS // ((len(front) + 1) * Y.shape[1]), 16, _PARETO_BLOCK))
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


def _merge(acc: dict[str, np.ndarray] | None, new: dict[str, np.ndarray], k: int, sign: float
           ) -> dict[str, np.ndarray]:
    if acc is None:
        return new
    both = {key: np.concatenate([acc[key], new[key]]) for key in acc}
    top = _topk_indices(sign * both["mean"], both["index"], k)
    return {key: v[top] for key, v in both.items()}


def _merge_front(acc: dict[str, np.ndarray] | None, new: dict[str, np.ndarray] | None,
                 job: _Job) -> dict[str, np.ndarray] | None:
    if new is None:
        return acc
    both = new if acc is None else {k: np.concatenate([acc[k], new[k]]) for k in acc}
    nd = _nondominated(job.objectives(both))
    # best first on the screened objective, ties by stream position (deterministic)
    sel = np.flatnonzero(nd)
    sel = sel[np.lexsort((both["index"][sel], -job.sign * both["mean"][sel]))]
    return {k: v[sel] for k, v in both.items()}


# ------------------------------------------------------------------------------- public
def screen(
    space_or_candidates: Any,
    model: Any,
    *,
    top_k: int = 100,
    objective: str = "max",
    filters: Mapping[str, Any] | None = None,
    conditions: Mapping[str, float] | None = None,
    pareto: Sequence[tuple[Any, str]] | None = None,
    client: Any = None,
    chunk_size: int = 32_768,
    n_samples: int | None = None,
    max_candidates: int | None = MAX_CANDIDATES,
    seed: int = 0,
    n_jobs: int | None = None,
    progress: bool = False,
    callback: Callback | None = None,
    extra: Sequence[str] | None = None,
    stability_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Rank every candidate composition by the model's prediction, in bounded memory.

    Args:
        space_or_candidates: A :class:`CompositionSpace` (its grid is streamed when it has a
            step, otherwise ``n_samples`` uniform samples), a DataFrame with one column per
            element, an ``(array, elements)`` pair, or a list of formulas.
        model: A fitted :class:`~jupyter_matopt.models.PropertyModel` that knows the elements.
        top_k: How many of the best candidates to return (default 100).
        objective: ``"max"`` or ``"min"`` of the predicted mean.
        filters: Optional ``{"in_domain": True}`` (applicability domain), ``"max_std"``,
            ``"mean_range": (lo, hi)``, ``"constraints": [(other_model, lo, hi), ...]`` (bounds
            on other predicted properties; ``None`` for an open end),
            ``"where": f(X, mean, std) -> mask``, price and supply risk bounds such as
            ``"cost_per_kg": ("<", 20)`` or ``"hhi": ("<", 2500)`` (any column of
            ``extra``), and ``"e_above_hull": ("<", 0.05)``: a stability estimate
            (:func:`jupyter_matopt.stability`, extra ``mlip``) run on the top-k *after* the
            ranking, since each candidate costs relaxations; rows failing it are dropped and
            ``e_above_hull``, ``stability_error`` columns are added.
        conditions: Fixed condition values for models trained with conditions
            (e.g. ``{"temperature": 600}``).
        pareto: Other objectives ``[(other_model, "max"|"min"), ...]``: also keep the Pareto set
            of (this model, others), returned in ``result.attrs["pareto"]``.
        client: A ``dask.distributed.Client``; the screen then runs on its workers.
        chunk_size: Candidates per chunk (memory ~ chunk_size x features x 8 bytes each,
            about 64 MB for the default model; a few chunks are in flight at once).
        n_samples: Number of samples for a continuous space (default 1,000,000), or to sample
            a grid instead of enumerating it.
        max_candidates: Refuse (ScreenError, stating the count) a grid or sample larger than
            this before evaluating anything (default 1e9); None screens any size.
        seed: Seed of the sampling.
        n_jobs: Chunks evaluated at once by local threads (default: the usable cores).
        progress: Show a ``tqdm.auto`` progress bar.
        callback: ``callback(event, done, total, message)`` after each chunk (see
            :mod:`jupyter_matopt._progress`; ``callback(done, total, message)`` also works).
        extra: Columns computed from each candidate's composition: ``cost_per_kg``,
            ``cost_per_mol`` (USD, pymatgen's element prices), ``hhi``
            (= ``hhi_production``), ``hhi_reserve`` (supply risk); see
            :mod:`jupyter_matopt.economics`.
        stability_options: Keyword arguments of :func:`jupyter_matopt.stability` for the
            ``e_above_hull`` filter (``potential``, ``n_jobs``, ``reference``...).

    Returns:
        The top-k candidates, best first: ``rank``, ``formula`` (elemental candidates), one
        column per element, ``mean``, ``std``, ``candidate`` (position in the stream) and
        the filter columns. ``attrs`` holds ``n_screened``, ``n_passed``, ``n_total``,
        ``elapsed_s``, ``throughput_per_s``, ``interrupted``, ``objective`` and ``pareto``
        (the Pareto set as a DataFrame, or None), and ``n_pruned``: candidates that an exact
        bound on the remaining trees excluded from the top-k before all trees were
        evaluated (screens of boosted-tree models without filters or Pareto objectives;
        it depends on the order chunks finish in, the result does not). A KeyboardInterrupt
        stops the screen and returns what it has (``interrupted=True``).

    Raises:
        ScreenError: invalid candidates or options, or a model that does not fit them.
    """
    if objective not in ("max", "min"):
        raise ScreenError(f"objective must be 'max' or 'min', got {objective!r}")
    top_k = _positive_int("top_k", top_k)
    if top_k > MAX_TOP_K:
        raise ScreenError(f"top_k must be at most {MAX_TOP_K:,}, got {top_k:,}")
    if max_candidates is not None:
        max_candidates = _positive_int("max_candidates", max_candidates)
    chunk_size = _positive_int("chunk_size", chunk_size)
    if n_jobs is not None:
        n_jobs = _positive_int("n_jobs", n_jobs)
    if filters is not None and not isinstance(filters, Mapping):
        raise ScreenError(f"filters must be a dict such as {{'in_domain': True}}, got {filters!r}")
    filters = dict(filters or {})
    unknown = set(filters) - set(_FILTERS) - set(_ECONOMICS) - set(_POST_FILTERS)
    if unknown:
        raise ScreenError(
            f"unknown filter(s) {sorted(unknown)}: use "
            f"{', '.join((*_FILTERS, *_ECONOMICS, *_POST_FILTERS))}"
        )
    economics = _economics_columns(filters, extra)
    if conditions is not None and not isinstance(conditions, Mapping):
        raise ScreenError(f"conditions must be a dict such as {{'T': 600}}, got {conditions!r}")
    pareto_signs = []
    for item in pareto or ():
        if not (isinstance(item, (tuple, list)) and len(item) == 2 and item[1] in ("max", "min")):
            raise ScreenError("pareto must be a list of (model, 'max'|'min') pairs")
        pareto_signs.append(1.0 if item[1] == "max" else -1.0)
    elements, chunks, total, space = _candidate_chunks(
        space_or_candidates, chunk_size, n_samples, seed)
    if max_candidates is not None and total is not None and total > max_candidates:
        raise ScreenError(
            f"{total:,} candidates to screen, more than max_candidates={max_candidates:,} "
            f"(at a million per second that is {total / 1e6 / 3600:,.1f} hours); sample it "
            "with n_samples=, use a coarser step, or pass max_candidates=None"
        )
    _check_model(model, elements, conditions)
    _check_filters(filters, model, elements, conditions)
    for i, (other, _d) in enumerate(pareto or ()):
        _check_model(other, elements, conditions, what=f"pareto[{i}] model")

    sign = 1.0 if objective == "max" else -1.0
    pruner = None
    if _PRUNE and not pareto and not _filters_active(filters) and (
            total is None or total >= _PRUNE_MIN):
        pruner = make_pruner(model, elements, _condition_values(model, conditions))
    job = _Job(model, list(elements), dict(conditions) if conditions else None, filters,
               [tuple(p) for p in (pareto or ())], top_k, sign, pareto_signs, pruner,
               economics)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, unit="comp", unit_scale=True, desc="screening")

    n_screened = n_passed = n_pruned = 0
    best: dict[str, np.ndarray] | None = None
    front: dict[str, np.ndarray] | None = None
    interrupted = False
    t0 = time.perf_counter()

    def threshold() -> float:
        """The k-th best score so far (what a new chunk must beat), or -inf."""
        if best is None or len(best["mean"]) < top_k:
            return -np.inf
        return float(sign * best["mean"][-1])

    def absorb(res: dict[str, Any]) -> None:
        nonlocal n_screened, n_passed, n_pruned, best, front
        n_screened += res["n"]
        n_passed += res["n_passed"]
        n_pruned += res["n_pruned"]
        best = _merge(best, res["best"], top_k, sign)
        front = _merge_front(front, res["front"], job)
        if bar is not None:
            bar.update(res["n"])
        if callback is not None:  # the one progress protocol (older 3-argument form too)
            as_progress(callback)("screen", n_screened, total, f"{n_screened:,} screened")

    try:
        if client is not None:
            _run_dask(client, chunks, job, absorb, threshold)
        else:
            _run_local(chunks, job, absorb, threshold, n_jobs or _usable_cores())
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if bar is not None:
            bar.close()
    elapsed = time.perf_counter() - t0
    result = _to_frame(best, job)
    result.attrs.update(
        n_screened=n_screened,
        n_passed=n_passed,
        n_pruned=n_pruned,
        n_total=total,
        elapsed_s=elapsed,
        throughput_per_s=n_screened / elapsed if elapsed > 0 else float("nan"),
        interrupted=interrupted,
        objective=objective,
        pareto=_to_frame(front, job) if pareto else None,
    )
    if "e_above_hull" in filters:
        result = _stability_filter(result, filters["e_above_hull"], stability_options)
    return result


def _economics_columns(filters: Mapping[str, Any], extra: Sequence[str] | None) -> list[str]:
    """Validated economics columns to compute: those asked for in ``extra`` or filtered on."""
    from ..economics import check_comparison

    if extra is not None and (isinstance(extra, str) or not all(
            isinstance(c, str) for c in extra)):
        raise ScreenError(f"extra must be a list of column names such as ['cost_per_kg'], "
                          f"got {extra!r}")
    bad = [c for c in extra or () if c not in _ECONOMICS]
    if bad:
        raise ScreenError(f"unknown extra column(s) {bad}: use {', '.join(_ECONOMICS)}")
    for name in (*_ECONOMICS, *_POST_FILTERS):
        if name in filters:
            try:
                check_comparison(name, filters[name])
            except ValueError as exc:
                raise ScreenError(str(exc)) from None
    return list(dict.fromkeys([*(extra or ()), *(c for c in _ECONOMICS if c in filters)]))


def _stability_filter(result: pd.DataFrame, spec: Any,
                      options: Mapping[str, Any] | None) -> pd.DataFrame:
    """Keep the ranked rows whose estimated energy above the hull satisfies ``spec``."""
    from ..economics import comparison_mask
    from ..stability import stability

    if result.empty or "formula" not in result.columns:
        return result
    table = stability(list(result["formula"]), **dict(options or {}))
    out = result.copy()
    out["e_above_hull"] = table["e_above_hull"].to_numpy()
    out["stability_error"] = table["error"].to_numpy()
    out = out[comparison_mask(out["e_above_hull"], spec, "e_above_hull")].reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    out.attrs = {**result.attrs, "n_stability_checked": len(result)}
    return out


def _check_filters(filters: Mapping[str, Any], model: Any, elements: list[str],
                   conditions: Mapping[str, float] | None) -> None:
    if filters.get("in_domain") and not _has_domain(model):
        raise ScreenError(
            f"filters={{'in_domain': True}} needs a model with an applicability domain "
            f"(predict_fractions(..., return_domain=True)); {type(model).__name__} has none"
        )
    max_std = filters.get("max_std")
    if max_std is not None and (isinstance(max_std, bool) or not isinstance(
            max_std, (int, float, np.number)) or not max_std >= 0):
        raise ScreenError(f"filters['max_std'] must be a number >= 0, got {max_std!r}")
    rng = filters.get("mean_range")
    if rng is not None and not (isinstance(rng, (tuple, list)) and len(rng) == 2):
        raise ScreenError(f"filters['mean_range'] must be (low, high), got {rng!r}")
    cons = filters.get("constraints") or ()
    if not isinstance(cons, (list, tuple)):
        raise ScreenError("filters['constraints'] must be a list of (model, low, high)")
    for i, item in enumerate(cons):
        if not (isinstance(item, (tuple, list)) and len(item) == 3):
            raise ScreenError(
                f"filters['constraints'][{i}] must be (model, low, high) with None for an "
                f"open end, got {item!r}"
            )
        _check_model(item[0], elements, conditions, what=f"constraints[{i}] model")
    where = filters.get("where")
    if where is not None and not callable(where):
        raise ScreenError("filters['where'] must be a function f(X, mean, std) -> mask")


def _usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _with_threads(model: Any, threads: int) -> Any:
    """A shallow copy of a PropertyModel whose XGBoost predictions use ``threads`` threads.

    Screens run one chunk per core already; members predicting with several OpenMP threads
    each would oversubscribe the cores. The copy shares the boosters (no memory), and its
    thread setting only ever changes them to ``threads``.
    """
    if not (hasattr(model, "members_") and hasattr(model, "n_jobs")):
        return model
    clone = copy.copy(model)
    clone.n_jobs = threads
    return clone


def _run_local(chunks: Iterator[np.ndarray], job: _Job,
               absorb: Callable[[dict[str, Any]], None], threshold: Callable[[], float],
               n_jobs: int) -> None:
    if n_jobs == 1:
        start = 0
        for X in chunks:
            absorb(job.run(X, start, threshold()))
            start += len(X)
        return
    from concurrent.futures import ThreadPoolExecutor

    job = job.with_threads(1)
    # The first chunk runs alone: it settles the boosters' thread setting before any two
    # chunks predict at the same time.
    first = next(chunks, None)
    if first is None:
        return
    absorb(job.run(first, 0))
    # numpy and XGBoost release the GIL in their kernels, so chunks overlap on threads
    pool = ThreadPoolExecutor(n_jobs, thread_name_prefix="matopt-screen")
    try:
        _pipeline(chunks, lambda X, start: pool.submit(job.run, X, start, threshold()),
                  absorb, n_jobs + 1, start=len(first))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _pipeline(chunks: Iterator[np.ndarray], submit: Callable[[np.ndarray, int], Any],
              absorb: Callable[[dict[str, Any]], None], in_flight: int, start: int = 0
              ) -> None:
    """Keep ``in_flight`` chunks submitted; absorb results in stream order.

    Absorbing in stream order makes progress, interruption and the merge identical to the
    sequential run; a bounded window keeps the caller from holding the whole stream.
    """
    pending: deque[Any] = deque()
    try:
        for X in chunks:
            pending.append(submit(X, start))
            start += len(X)
            if len(pending) >= in_flight:
                absorb(pending.popleft().result())
        while pending:
            absorb(pending.popleft().result())
    finally:
        for fut in pending:  # interrupted or failed: drop what has not been absorbed
            fut.cancel()


def _run_dask(client: Any, chunks: Iterator[np.ndarray], job: _Job,
              absorb: Callable[[dict[str, Any]], None], threshold: Callable[[], float]
              ) -> None:
    nthreads = list(client.nthreads().values())
    if not nthreads:
        raise ScreenError("the Dask client has no workers: start a cluster with workers first")
    # the models (screened, filters, pareto) travel once, each predicting on as many threads
    # as a worker runs tasks at once
    job_future = client.scatter(job.with_threads(max(1, min(nthreads))), broadcast=True,
                                hash=False)
    try:
        _pipeline(
            chunks,
            lambda X, start: client.submit(_run_chunk, job_future, X, start, threshold(),
                                           pure=False),
            absorb,
            2 * sum(nthreads),  # keeps every worker busy while bounding what is in memory
        )
    finally:
        job_future.release()


def _to_frame(rows: dict[str, np.ndarray] | None, job: _Job) -> pd.DataFrame:
    elements = job.elements
    extra = ["in_domain"] if job.filters.get("in_domain") else []
    extra += [f"constraint_{i}" for i in range(len(job.filters.get("constraints") or ()))]
    extra += [f"objective_{j + 1}" for j in range(len(job.pareto))]
    extra += list(job.economics)
    formula = all(e in ATOMIC_NUMBER for e in elements)
    if rows is None:
        cols = ["rank", *(["formula"] if formula else []), *elements, "mean", "std",
                "candidate", *extra]
        frame = pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
        return frame.astype({"rank": np.int64, "candidate": np.int64})
    frame = pd.DataFrame(rows["X"], columns=elements)
    if formula:
        from ..core import to_formula

        frame.insert(0, "formula", [to_formula(dict(zip(elements, row, strict=True)))
                                    for row in rows["X"].tolist()])
    frame["mean"] = rows["mean"]
    frame["std"] = rows["std"]
    frame["candidate"] = rows["index"].astype(np.int64)
    for key in extra:
        frame[key] = rows[key]
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    return frame
