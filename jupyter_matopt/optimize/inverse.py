"""Inverse design: compositions whose predicted property is near a target or inside a range."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

from .._progress import LEGACY_EVENT_INFO, as_progress
from ..core import CompositionSpace
from ._log import CampaignError
from .candidates import row_keys
from .generators import CandidateGenerator, SpaceSampler, as_generator, search

__all__ = ["inverse_design"]

Predictor = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def _predictor(model: Any, space: CompositionSpace, conditions: Mapping[str, float] | None
               ) -> Predictor:
    from .campaign import Campaign

    if isinstance(model, Campaign):
        return _campaign_predictor(model, space, conditions)
    if hasattr(model, "predict_fractions"):
        elements = list(space.components)

        def f(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            kw: dict[str, Any] = {"return_std": True}
            if conditions:
                kw["conditions"] = {k: np.full(len(X), float(v)) for k, v in conditions.items()}
            mean, std = model.predict_fractions(X, elements, **kw)
            return np.asarray(mean, float).ravel(), np.asarray(std, float).ravel()

        return f
    if callable(model):
        def g(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            out = model(X)
            if not (isinstance(out, tuple) and len(out) == 2):
                raise CampaignError(
                    "a model given as a function must return (mean, std) arrays for an (n, k) "
                    "array of fractions"
                )
            return np.asarray(out[0], float).ravel(), np.asarray(out[1], float).ravel()

        return g
    raise CampaignError(
        "model must be a fitted PropertyModel (predict_fractions), a Campaign with "
        f"measurements, or a function X -> (mean, std); got {type(model).__name__}"
    )


def _campaign_predictor(camp: Any, space: CompositionSpace,
                        conditions: Mapping[str, float] | None) -> Predictor:
    if camp.space is None or list(camp.space.components) != list(space.components):
        raise CampaignError("the campaign's space must have the same components as `space`")
    if len(camp.objectives) != 1:
        raise CampaignError("inverse design needs a single-objective campaign")
    if camp.n_observations < 2:
        raise CampaignError("the campaign needs at least 2 measurements to predict")
    models = camp.fit_surrogates(np.random.default_rng(camp.seed))
    cond = camp.condition_spec.at(conditions)
    sign = float(camp.signs[0])

    def f(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Z = np.hstack([X, np.broadcast_to(cond, (len(X), len(cond)))])
        mu, sd = models[0].predict(camp.features(Z), Z)
        return mu * sign, sd

    return f


def _score(mu: np.ndarray, sd: np.ndarray, target: Any, tolerance: float | None
           ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    sd = np.maximum(sd, 1e-12)
    if isinstance(target, tuple):
        lo, hi = target
        p = ndtr((hi - mu) / sd) - ndtr((lo - mu) / sd)
        dist = np.maximum(lo - mu, 0) + np.maximum(mu - hi, 0)
        # probability first; among (near) certain ones, the one deepest inside the range
        centre = 0.5 * (lo + hi)
        score = p - 1e-6 * np.abs(mu - centre) / max(hi - lo, 1e-12)
        return score, {"distance": dist, "probability": p}
    t = float(target)
    dist = np.abs(mu - t)
    dev = np.sqrt((mu - t) ** 2 + sd**2)
    cols = {"distance": dist, "expected_deviation": dev}
    if tolerance is not None:
        p = ndtr((t + tolerance - mu) / sd) - ndtr((t - tolerance - mu) / sd)
        cols["probability"] = p
        return p - 1e-9 * dev, cols
    return -dev, cols


def inverse_design(
    model: Any,
    space: CompositionSpace | None = None,
    target: float | tuple[float, float] | str = "max",
    n: int = 10,
    *,
    tolerance: float | None = None,
    conditions: Mapping[str, float] | None = None,
    candidates: Any = None,
    n_samples: int = 5000,
    seed: int | None = 0,
    callback: Callable[[str, dict[str, Any]], None] | None = None,
    generator: CandidateGenerator | None = None,
    diversity: float = 0.02,
    weights: tuple[float, float] = (1.0, 0.5),
) -> pd.DataFrame:
    """Find compositions whose predicted property is nearest ``target`` or inside a range.

    Args:
        model: A fitted :class:`~jupyter_matopt.models.PropertyModel` (its
            ``predict_fractions`` with ``return_std=True``), a single-objective
            :class:`Campaign` over a space with the same components (its surrogate), or a
            function mapping an ``(n, k)`` fraction array to ``(mean, std)``.
        space: Where to look; every returned composition satisfies its constraints.
        target: A value, or a ``(low, high)`` range.
        n: Number of compositions to return.
        tolerance: With a value target, also rank by the probability of lying within
            ``target +- tolerance``.
        conditions: Values of the model's conditions (e.g. ``{"temperature": 600}``).
        candidates: Compositions to rank instead of searching the space (infeasible ones
            are dropped).
        n_samples: Samples drawn when the space is continuous or its grid exceeds 50,000
            points (the best are then refined by local moves).
        seed: Seed of the sampling.
        callback: Progress, ``callback(event, done, total, message)`` or the older
            ``callback(event, info)``.
        generator: Where candidates come from (default: uniform samples of the space, or its
            whole grid when small); any
            :class:`~jupyter_matopt.optimize.generators.CandidateGenerator`, e.g. a
            generative model. Its proposals outside the space are dropped.

    With ``target="max"``/``"min"``, or with a generator and no space, the candidates are
    ranked as in Rao et al. (2022) instead, by a weighted sum of the ranks of the mean and
    the std (``weights``; see :func:`jupyter_matopt.generate.rank_candidates`, whose table
    of plausibility, domain and novelty columns is returned), keeping proposals at least
    ``diversity`` apart in every fraction.

    Returns:
        A DataFrame, best first, with one column per component, then ``mean``, ``std``,
        ``distance`` (from the target, or outside the range; 0 inside), and
        ``probability`` (Gaussian predictive probability of lying in the range or within the
        tolerance) and/or ``expected_deviation`` (``sqrt((mean - target)**2 + std**2)``,
        the ranking for a value target without tolerance, so an uncertain prediction ranks
        below an equally close certain one).

    Raises:
        CampaignError: for a malformed target, ``n`` or model.
    """
    if space is None or isinstance(target, str):
        from ..generate.ranking import rank_candidates

        if space is None and generator is None:
            raise CampaignError("give a space to search, or generator= to draw candidates from")
        return rank_candidates(
            model, SpaceSampler(space) if generator is None else generator, target, n,
            diversity=diversity, weights=weights, n_samples=n_samples, seed=seed,
            conditions=conditions, space=None if generator is None else space,
            callback=as_progress(callback, legacy=LEGACY_EVENT_INFO, error=CampaignError))
    tgt = _value_target(target)
    if tolerance is not None and not (math.isfinite(tolerance) and tolerance > 0):
        raise CampaignError(f"tolerance must be a positive number, got {tolerance!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise CampaignError(f"n must be a positive integer, got {n!r}")
    predict = _predictor(model, space, conditions)
    rng = np.random.default_rng(seed)

    def score(X: np.ndarray) -> np.ndarray:
        mu, sd = predict(X)
        return _score(mu, sd, tgt, tolerance)[0]

    start = None
    if candidates is not None:
        try:
            X = space.as_array(candidates)
        except ValueError as e:
            raise CampaignError(str(e)) from None
        start = X[np.asarray(space.contains(X), dtype=bool).reshape(len(X))]
    gen = as_generator(generator, space)
    exhaustive = start is not None or (isinstance(gen, SpaceSampler) and space.step is not None
                                       and space.grid_size() <= gen.grid_limit)

    progress = as_progress(callback, legacy=LEGACY_EVENT_INFO, error=CampaignError)

    def first_score(Z: np.ndarray) -> np.ndarray:
        # the drawn (or given) candidates, before refinement
        progress("candidates", len(Z), None, f"{len(Z)} candidates",
                 {"n_candidates": len(Z), "exhaustive": exhaustive})
        return score(Z)

    X, s, _ = search(space, score, rng, generator=gen, n_samples=n_samples, n_refine=32,
                     start=start, first_score=first_score, dedupe=False)
    Xc = X[_distinct_best(X, s, space, n)]
    mu, sd = predict(Xc) if len(Xc) else (np.zeros(0), np.zeros(0))
    _, cols = _score(mu, sd, tgt, tolerance)
    df = space.to_frame(Xc)
    df["mean"] = mu
    df["std"] = sd
    for k, v in cols.items():
        df[k] = v
    progress("done", len(df), len(df), f"{len(df)} compositions", {"n": len(df)})
    return df.reset_index(drop=True)


def _value_target(target: Any) -> float | tuple[float, float]:
    """A finite value or a ``(low, high)`` range with low < high, from ``target``."""
    if isinstance(target, (list, tuple)):
        if len(target) != 2:
            raise CampaignError(f"target range must be (low, high), got {target!r}")
        lo, hi = float(target[0]), float(target[1])
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise CampaignError(f"target range must be finite with low < high, got {target!r}")
        return (lo, hi)
    try:
        tgt = float(target)
    except (TypeError, ValueError):
        raise CampaignError(f"target must be a number or (low, high), got {target!r}") from None
    if not math.isfinite(tgt):
        raise CampaignError(f"target must be finite, got {target!r}")
    return tgt


def _distinct_best(X: np.ndarray, s: np.ndarray, space: CompositionSpace, n: int) -> list[int]:
    """Up to ``n`` row indices, best score first; of rows that agree to ~1e-8 (row_keys) the
    best-scoring one is kept, and in a continuous space no near-copies."""
    order = np.argsort(-s, kind="stable")
    chosen: list[int] = []
    seen: set[bytes] = set()
    keys = row_keys(X)
    width = np.where(space.upper > space.lower, space.upper - space.lower, 1.0)
    for i in order:
        if keys[i] in seen:
            continue
        if space.step is None and chosen and np.min(
                np.abs((X[chosen] - X[i]) / width).max(axis=1)) < 0.02:
            continue  # a continuous space: no near-copies
        seen.add(keys[i])
        chosen.append(int(i))
        if len(chosen) == n:
            break
    return chosen
