"""The per-chunk work of a screen and its runners: the shared best-score board, the job run
on each chunk (filters, pruning, top-k and Pareto merges), local threads and Dask."""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..optimize.pareto import nondominated as _nondominated
from ._inputs import _ECONOMICS, ScreenError, _condition_values, _mean_std
from ._malloc import reuse_freed_memory
from ._prune import Pruner

__all__ = ["_Board", "_Job", "_run_chunk", "_run_local", "_run_dask"]


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
