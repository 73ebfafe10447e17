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

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._progress import as_progress
from ..core.elements import ATOMIC_NUMBER
from ..models.backends.xgboost import usable_cores as _usable_cores
from ..optimize.pareto import nondominated as _nondominated
from ._inputs import (
    _ECONOMICS,
    _FILTERS,
    _POST_FILTERS,
    MAX_CANDIDATES,
    MAX_TOP_K,
    ScreenError,
    _candidate_chunks,
    _check_model,
    _condition_values,
    _has_domain,
    _positive_int,
)
from ._job import (
    _Board,
    _filters_active,
    _Job,
    _merge,
    _merge_front,
    _run_chunk,
    _run_dask,
    _run_local,
    _topk_indices,
)
from ._prune import make_pruner

__all__ = ["ScreenError", "screen"]

# names other code and tests import from here: the module was split into _inputs and _job
_SPLIT_NAMES = (_nondominated, _Board, _run_chunk, _topk_indices)

Callback = Callable[[int, "int | None", str], None]

# Exact early exit of tree ensembles (see _prune): on for screens of at least this many
# candidates (reading the trees' leaf ranges costs a few tens of ms once).
_PRUNE = True
_PRUNE_MIN = 20_000


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
    top_k, max_candidates, chunk_size, n_jobs, filters, economics, pareto_signs = (
        _checked_options(objective, top_k, max_candidates, chunk_size, n_jobs, filters,
                         conditions, pareto, extra))
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
    counts, best, front, interrupted, elapsed = _stream(
        job, chunks, total, client=client, n_jobs=n_jobs, progress=progress, callback=callback)
    n_screened = counts["n_screened"]
    result = _to_frame(best, job)
    result.attrs.update(
        **counts,
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


def _checked_options(
    objective: str,
    top_k: int,
    max_candidates: int | None,
    chunk_size: int,
    n_jobs: int | None,
    filters: Mapping[str, Any] | None,
    conditions: Mapping[str, float] | None,
    pareto: Sequence[tuple[Any, str]] | None,
    extra: Sequence[str] | None,
) -> tuple[int, int | None, int, int | None, dict[str, Any], list[str], list[float]]:
    """The options of :func:`screen` checked: top_k, max_candidates, chunk_size, n_jobs,
    filters (a dict), the economics columns and the signs of the Pareto objectives."""
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
    return top_k, max_candidates, chunk_size, n_jobs, filters, economics, pareto_signs


def _stream(
    job: _Job,
    chunks: Any,
    total: int | None,
    *,
    client: Any,
    n_jobs: int | None,
    progress: bool,
    callback: Callback | None,
) -> tuple[dict[str, int], dict[str, np.ndarray] | None, dict[str, np.ndarray] | None, bool,
           float]:
    """Run every chunk (locally or on ``client``) and merge the results: the counts
    (``n_screened``, ``n_passed``, ``n_pruned``), the top-k rows, the Pareto front, whether
    a KeyboardInterrupt stopped it, and the seconds it took."""
    top_k, sign = job.top_k, job.sign
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
    counts = {"n_screened": n_screened, "n_passed": n_passed, "n_pruned": n_pruned}
    return counts, best, front, interrupted, elapsed


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
