"""Stream candidate compositions through the fast featurizer and the model, keeping a
running top-k (and optionally a Pareto set) in bounded memory.

The same call runs on a Dask cluster when given ``client=``: chunks travel as arrays, the
model is scattered to the workers once, and the merge is the same deterministic merge as the
local run (ties broken by the candidate's position in the stream), so results are identical.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core import CompositionSpace

__all__ = ["ScreenError", "screen"]

Callback = Callable[[int, int | None, str], None]


class ScreenError(ValueError):
    """A screen that cannot run as asked (bad candidates, a model that does not fit them)."""


# --------------------------------------------------------------------------- candidates
def _candidate_chunks(
    source: Any, chunk_size: int, n_samples: int | None, seed: int
) -> tuple[list[str], Iterator[np.ndarray], int | None, CompositionSpace | None]:
    if isinstance(source, CompositionSpace):
        if source.step is not None and n_samples is None:
            return source.components, source.iter_grid(chunk_size), source.grid_size(), source
        n = int(n_samples or 1_000_000)
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
        arr = source.to_numpy(dtype=float)
    elif isinstance(source, tuple) and len(source) == 2:
        arr = np.asarray(source[0], dtype=float)
        comps = [str(c) for c in source[1]]
    else:
        raise ScreenError(
            "candidates must be a CompositionSpace, a DataFrame with one column per element, "
            f"or an (array, elements) pair; got {type(source).__name__}"
        )
    if arr.ndim != 2 or arr.shape[1] != len(comps):
        raise ScreenError(f"candidate array has shape {arr.shape}, expected (n, {len(comps)})")
    if not np.all(np.isfinite(arr)) or (arr < 0).any():
        raise ScreenError("candidate fractions must be finite and non-negative")

    def chunks() -> Iterator[np.ndarray]:
        for start in range(0, len(arr), chunk_size):
            yield arr[start:start + chunk_size]

    return comps, chunks(), len(arr), None


def _check_model(model: Any, elements: Sequence[str], conditions: Mapping[str, float] | None
                 ) -> None:
    if not hasattr(model, "predict_fractions"):
        raise ScreenError(
            f"model must be a fitted jupyter_matopt PropertyModel, got {type(model).__name__}"
        )
    known = getattr(model, "elements_", None)
    if known is None:
        raise ScreenError("the model is not fitted yet: call model.fit(dataset) first")
    unseen = [e for e in elements if e not in set(known)]
    if unseen:
        raise ScreenError(
            f"the model never saw {', '.join(unseen)} in training, so it cannot rank "
            f"compositions of {', '.join(elements)}; train on data containing them or "
            "remove them from the space"
        )
    needed = list(getattr(model, "conditions_", []) or [])
    missing = [c for c in needed if not conditions or c not in conditions]
    if missing:
        raise ScreenError(
            f"the model needs condition value(s) {missing}: pass conditions={{'{missing[0]}': ...}}"
        )


# ------------------------------------------------------------------------ per-chunk work
def _evaluate(
    X: np.ndarray,
    model: Any,
    elements: list[str],
    conditions: Mapping[str, float] | None,
    filters: Mapping[str, Any],
    pareto: Sequence[tuple[Any, str]] | None,
) -> dict[str, np.ndarray]:
    cond = None
    if conditions:
        cond = pd.DataFrame({k: np.full(len(X), float(v)) for k, v in conditions.items()})
    mean, std = model.predict_fractions(X, elements, conditions=cond, return_std=True)
    mean = np.asarray(mean, dtype=float)
    std = np.asarray(std, dtype=float)
    keep = np.isfinite(mean)
    out: dict[str, np.ndarray] = {"mean": mean, "std": std}
    if filters.get("in_domain"):
        dom = model.predict_domain_fractions(X, elements, conditions=cond)
        inside = np.asarray(dom["in_domain"], dtype=bool)
        keep &= inside
        out["in_domain"] = inside
    if "max_std" in filters:
        keep &= std <= float(filters["max_std"])
    if "mean_range" in filters:
        lo, hi = filters["mean_range"]
        keep &= (mean >= lo) & (mean <= hi)
    for i, (other, lo, hi) in enumerate(filters.get("constraints", ())):
        m2 = np.asarray(other.predict_fractions(X, elements, conditions=cond,
                                                return_std=False), dtype=float)
        m2 = m2[0] if isinstance(m2, tuple) else m2
        keep &= (m2 >= (-np.inf if lo is None else lo)) & (m2 <= (np.inf if hi is None else hi))
        out[f"constraint_{i}"] = m2
    if callable(filters.get("where")):
        keep &= np.asarray(filters["where"](X, mean, std), dtype=bool)
    for j, (other, _direction) in enumerate(pareto or ()):
        res = other.predict_fractions(X, elements, conditions=cond, return_std=False)
        out[f"objective_{j + 1}"] = np.asarray(res[0] if isinstance(res, tuple) else res, float)
    out["keep"] = keep
    return out


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
    """Mask of rows not dominated (all objectives maximized)."""
    n = len(Y)
    mask = np.ones(n, dtype=bool)
    order = np.argsort(-Y[:, 0], kind="stable")
    for pos, i in enumerate(order):
        if not mask[i]:
            continue
        rest = order[pos + 1:]
        rest = rest[mask[rest]]
        dominated = np.all(Y[rest] <= Y[i], axis=1) & np.any(Y[rest] < Y[i], axis=1)
        mask[rest[dominated]] = False
    return mask


def _chunk_best(
    X: np.ndarray,
    start: int,
    model: Any,
    elements: list[str],
    conditions: Mapping[str, float] | None,
    filters: Mapping[str, Any],
    pareto: Sequence[tuple[Any, str]] | None,
    top_k: int,
    sign: float,
    pareto_signs: Sequence[float],
) -> dict[str, Any]:
    """Evaluate one chunk and keep only its best rows (what a worker sends back)."""
    ev = _evaluate(X, model, elements, conditions, filters, pareto)
    keep = np.flatnonzero(ev["keep"])
    index = start + keep
    score = sign * ev["mean"][keep]
    top = _topk_indices(score, index, top_k)
    cols = {k: v[keep] for k, v in ev.items() if k != "keep"}
    best = {"X": X[keep][top], "index": index[top], **{k: v[top] for k, v in cols.items()}}
    front = None
    if pareto:
        Y = np.column_stack([sign * cols["mean"]] +
                            [s * cols[f"objective_{j + 1}"] for j, s in enumerate(pareto_signs)])
        nd = _nondominated(Y) if len(Y) else np.zeros(0, dtype=bool)
        front = {"X": X[keep][nd], "index": index[nd], **{k: v[nd] for k, v in cols.items()}}
    return {"n": len(X), "n_passed": len(keep), "best": best, "front": front}


def _merge(acc: dict[str, np.ndarray] | None, new: dict[str, np.ndarray], k: int, sign: float
           ) -> dict[str, np.ndarray]:
    if acc is None:
        return new
    both = {key: np.concatenate([acc[key], new[key]]) for key in acc}
    top = _topk_indices(sign * both["mean"], both["index"], k)
    return {key: v[top] for key, v in both.items()}


def _merge_front(acc: dict[str, np.ndarray] | None, new: dict[str, np.ndarray] | None,
                 sign: float, signs: Sequence[float]) -> dict[str, np.ndarray] | None:
    if new is None:
        return acc
    both = new if acc is None else {k: np.concatenate([acc[k], new[k]]) for k in acc}
    Y = np.column_stack([sign * both["mean"]] +
                        [s * both[f"objective_{j + 1}"] for j, s in enumerate(signs)])
    nd = _nondominated(Y) if len(Y) else np.zeros(0, dtype=bool)
    order = np.argsort(both["index"][nd], kind="stable")
    return {k: v[nd][order] for k, v in both.items()}


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
    chunk_size: int = 131_072,
    n_samples: int | None = None,
    seed: int = 0,
    progress: bool = False,
    callback: Callback | None = None,
) -> pd.DataFrame:
    """Rank every candidate composition by the model's prediction, in bounded memory.

    Args:
        space_or_candidates: A :class:`CompositionSpace` (its grid is streamed when it has a
            step, otherwise ``n_samples`` uniform samples), a DataFrame with one column per
            element, or an ``(array, elements)`` pair.
        model: A fitted :class:`~jupyter_matopt.models.PropertyModel` that knows the elements.
        top_k: How many of the best candidates to return (default 100).
        objective: ``"max"`` or ``"min"`` of the predicted mean.
        filters: Optional ``{"in_domain": True}`` (applicability domain), ``"max_std"``,
            ``"mean_range": (lo, hi)``, ``"constraints": [(other_model, lo, hi), ...]`` (bounds on
            other predicted properties) and ``"where": f(X, mean, std) -> mask``.
        conditions: Fixed condition values for models trained with conditions
            (e.g. ``{"temperature": 600}``).
        pareto: Other objectives ``[(other_model, "max"|"min"), ...]``: also keep the Pareto set
            of (this model, others), returned in ``result.attrs["pareto"]``.
        client: A ``dask.distributed.Client``; the screen then runs on its workers.
        chunk_size: Candidates per chunk (memory ~ chunk_size x features x 8 bytes).
        n_samples: Number of samples for a continuous space (default 1,000,000).
        seed: Seed of the sampling.
        progress: Show a ``tqdm.auto`` progress bar.
        callback: ``callback(done, total, message)`` after each chunk.

    Returns:
        The top-k candidates, best first, with one column per element, ``formula`` (elemental
        spaces), ``mean``, ``std`` and ``rank``. ``attrs`` holds ``n_screened``,
        ``n_passed``, ``elapsed_s``, ``throughput_per_s``, ``interrupted`` and ``pareto``.
        A KeyboardInterrupt stops the screen and returns what it has (``interrupted=True``).
    """
    if objective not in ("max", "min"):
        raise ScreenError(f"objective must be 'max' or 'min', got {objective!r}")
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ScreenError(f"top_k must be a positive integer, got {top_k!r}")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ScreenError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    filters = dict(filters or {})
    unknown = set(filters) - {"in_domain", "max_std", "mean_range", "constraints", "where"}
    if unknown:
        raise ScreenError(
            f"unknown filter(s) {sorted(unknown)}: use in_domain, max_std, mean_range, "
            "constraints or where"
        )
    pareto_signs = []
    for item in pareto or ():
        if not (isinstance(item, (tuple, list)) and len(item) == 2 and item[1] in ("max", "min")):
            raise ScreenError("pareto must be a list of (model, 'max'|'min') pairs")
        pareto_signs.append(1.0 if item[1] == "max" else -1.0)
    elements, chunks, total, space = _candidate_chunks(
        space_or_candidates, int(chunk_size), n_samples, seed)
    _check_model(model, elements, conditions)
    sign = 1.0 if objective == "max" else -1.0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, unit="comp", unit_scale=True, desc="screening")

    n_screened = n_passed = 0
    best: dict[str, np.ndarray] | None = None
    front: dict[str, np.ndarray] | None = None
    interrupted = False
    t0 = time.perf_counter()

    def absorb(res: dict[str, Any]) -> None:
        nonlocal n_screened, n_passed, best, front
        n_screened += res["n"]
        n_passed += res["n_passed"]
        best = _merge(best, res["best"], int(top_k), sign)
        front = _merge_front(front, res["front"], sign, pareto_signs)
        if bar is not None:
            bar.update(res["n"])
        if callback is not None:
            callback(n_screened, total, f"{n_screened:,} screened")

    args = (elements, conditions, filters, pareto, int(top_k), sign, pareto_signs)
    try:
        if client is None:
            start = 0
            for X in chunks:
                absorb(_chunk_best(X, start, model, *args))
                start += len(X)
        else:
            _run_dask(client, chunks, model, args, absorb)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if bar is not None:
            bar.close()
    elapsed = time.perf_counter() - t0
    result = _to_frame(best, elements, space)
    result.attrs.update(
        n_screened=n_screened,
        n_passed=n_passed,
        n_total=total,
        elapsed_s=elapsed,
        throughput_per_s=n_screened / elapsed if elapsed > 0 else float("nan"),
        interrupted=interrupted,
        objective=objective,
        pareto=_to_frame(front, elements, space) if pareto else None,
    )
    return result


def _run_dask(client: Any, chunks: Iterator[np.ndarray], model: Any, args: tuple[Any, ...],
              absorb: Callable[[dict[str, Any]], None]) -> None:
    from dask.distributed import as_completed

    model_future = client.scatter(model, broadcast=True)  # shipped once, not per chunk
    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    in_flight = 2 * n_workers  # bounded: the client never holds the whole stream
    pending: dict[Any, int] = {}
    results: dict[int, dict[str, Any]] = {}
    next_to_absorb = 0
    seq = 0
    start = 0
    ac = as_completed()
    it = iter(chunks)
    exhausted = False

    def submit_one() -> bool:
        nonlocal seq, start
        try:
            X = next(it)
        except StopIteration:
            return False
        fut = client.submit(_chunk_best, X, start, model_future, *args, pure=False)
        pending[fut] = seq
        ac.add(fut)
        seq += 1
        start += len(X)
        return True

    try:
        for _ in range(in_flight):
            if not submit_one():
                exhausted = True
                break
        for fut in ac:
            results[pending.pop(fut)] = fut.result()
            fut.release()
            # absorb in stream order so that progress and partial results match a local run
            while next_to_absorb in results:
                absorb(results.pop(next_to_absorb))
                next_to_absorb += 1
            if not exhausted and not submit_one():
                exhausted = True
    except KeyboardInterrupt:
        for fut in list(pending):
            fut.cancel()
        raise


def _to_frame(best: dict[str, np.ndarray] | None, elements: list[str],
              space: CompositionSpace | None) -> pd.DataFrame:
    if best is None:
        frame = pd.DataFrame(columns=[*elements, "mean", "std"])
        return frame
    frame = pd.DataFrame(best["X"], columns=elements)
    if all(e[:1].isupper() for e in elements):
        from ..core.composition import _fmt

        frame.insert(0, "formula", ["".join(f"{e}{_fmt(v, 4)}" for e, v in zip(elements, row)
                                            if v > 0) for row in best["X"]])
    for key, values in best.items():
        if key not in ("X",):
            frame[key if key != "index" else "candidate"] = values
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    return frame
