"""Scoring candidates and choosing a batch: the acquisition over fitted surrogates, and the
sequential (kriging-believer) choice of ``n`` suggestions."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .acquisition import AcquisitionContext, get_acquisition
from .pareto import _hvi_max, _nondominated_max
from .surrogates import Surrogate

__all__ = ["Scorer", "select_batch", "BATCH_POOL", "BATCH_POOL_MULTI", "MIN_SEPARATION",
           "EHVI_SAMPLES"]

#: Candidates kept for the sequential (kriging-believer) choice of a batch.
BATCH_POOL = 2000
#: Candidates kept for the EHVI of a batch (EHVI costs samples x boxes per candidate).
BATCH_POOL_MULTI = 256
#: Smallest distance (max over the scaled inputs) between suggestions of one batch in a
#: continuous space, so that a batch holds no near-copies.
MIN_SEPARATION = 0.02
#: Latin-hypercube samples of the expected hypervolume improvement.
EHVI_SAMPLES = 32

Features = Callable[[np.ndarray], np.ndarray]


def normal_base(m: int, rng: np.random.Generator) -> np.ndarray:
    """Latin-hypercube standard normal samples: lower variance than plain Monte Carlo."""
    from scipy.special import ndtri

    S = EHVI_SAMPLES
    u = (np.argsort(rng.random((S, m)), axis=0) + rng.random((S, m))) / S
    return ndtri(np.clip(u, 1e-9, 1 - 1e-9))


def ref_point(Ys: np.ndarray) -> np.ndarray:
    """Hypervolume reference point: 10 % of each objective's span below its worst value."""
    lo, hi = Ys.min(axis=0), Ys.max(axis=0)
    span = np.where(hi > lo, hi - lo, np.maximum(np.abs(hi), 1.0))
    return lo - 0.1 * span


def ehvi(mu: np.ndarray, sd: np.ndarray, front: np.ndarray, ref: np.ndarray,
         base: np.ndarray) -> np.ndarray:
    """Monte-Carlo expected hypervolume improvement of each candidate."""
    S = len(base)
    P = (mu[:, None, :] + sd[:, None, :] * base[None, :, :]).reshape(-1, mu.shape[1])
    return _hvi_max(P, front, ref).reshape(len(mu), S).mean(axis=1)


class Scorer:
    """The acquisition of rows ``Z`` (fractions, conditions) under fitted surrogates.

    Args:
        acquisition: Registry name.
        models: One fitted surrogate per objective.
        Ys: Observed values, sign-adjusted so that larger is better.
        features: Maps rows ``Z`` to the surrogates' scaled inputs.
        kappa, xi: Acquisition parameters.
        rng: Draws the EHVI base samples.
    """

    def __init__(self, acquisition: str, models: list[Surrogate], Ys: np.ndarray,
                 features: Features, *, kappa: float, xi: float,
                 rng: np.random.Generator) -> None:
        self.name = acquisition
        self.acq = get_acquisition(acquisition)
        self.models = models
        self.features = features
        self.kappa = kappa
        self.Ys = Ys
        self.multi = len(models) > 1
        if not self.multi:
            # no measurement yet (possible with a prior model): no incumbent to improve on
            best = float(Ys[:, 0].max()) if len(Ys) else -math.inf
            sd_y = (float(Ys[:, 0].std()) if len(Ys) else 0.0) or 1.0
            self.ctx = AcquisitionContext(best=best, sd_y=sd_y, kappa=kappa, xi=xi)
        else:
            self.base = normal_base(len(models), rng)
            self.ref = ref_point(Ys)
            self.front = Ys[_nondominated_max(Ys)]

    def predict(self, Z: np.ndarray, models: list[Surrogate] | None = None,
                F: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(mu, sd)``, one column per objective."""
        F = self.features(Z) if F is None else F
        pred = [m.predict(F, Z) for m in (models or self.models)]
        return np.column_stack([p[0] for p in pred]), np.column_stack([p[1] for p in pred])

    def values(self, mu: np.ndarray, sd: np.ndarray, *, best: float | None = None,
               front: np.ndarray | None = None, base: np.ndarray | None = None
               ) -> np.ndarray:
        """Acquisition values of predictions (``best``/``front`` override the incumbent,
        ``base`` the EHVI samples)."""
        if not self.multi:
            ctx = self.ctx
            if best is not None:
                ctx = AcquisitionContext(best=best, sd_y=ctx.sd_y, kappa=ctx.kappa, xi=ctx.xi)
            if self.acq.needs_incumbent and not math.isfinite(ctx.best):
                return np.asarray(mu[:, 0], dtype=float)  # nothing to improve on yet
            return self.acq.score(mu[:, 0], sd[:, 0], ctx)
        front = self.front if front is None else front
        if self.name == "greedy":
            return _hvi_max(mu, front, self.ref)
        return ehvi(mu, sd, front, self.ref, self.base if base is None else base)

    def __call__(self, Z: np.ndarray) -> np.ndarray:
        return self.values(*self.predict(Z))

    def screened(self, Z: np.ndarray) -> np.ndarray:
        """Score all candidates; with several objectives, MC-EHVI only on a pre-screened set."""
        if not self.multi or self.name == "greedy" or len(Z) <= 256:
            return self(Z) if len(Z) else np.zeros(0)
        mu, sd = self.predict(Z)
        opt = _hvi_max(mu + sd, self.front, self.ref)
        keep = np.argsort(-opt, kind="stable")[:256]
        s = np.full(len(Z), -np.inf)
        s[keep] = self(Z[keep])
        return s

    def argbest(self, s: np.ndarray, Z: np.ndarray, models: list[Surrogate]) -> np.intp:
        """Argmax, breaking a flat acquisition (e.g. EI underflow) by the confidence bound."""
        finite = np.isfinite(s)
        if not finite.any():
            return np.intp(0)
        top = s[finite].max()
        if top > 0 or self.acq.optimistic or not models:
            return np.argmax(np.where(finite, s, -np.inf))
        F = self.features(Z)
        pred = [m.predict(F, Z) for m in models]
        ucb = sum(p[0] + self.kappa * p[1] for p in pred)
        tie = finite & (s >= top)
        return np.argmax(np.where(tie, ucb, -np.inf))


def select_batch(scorer: Scorer, Z: np.ndarray, scores: np.ndarray, n: int, *,
                 continuous: bool, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Pick ``n`` rows sequentially, conditioning the models on each pick.

    After each pick the surrogates are "fantasized" at it (the GP conditioned on its
    predicted mean, the ensemble's std shrunk nearby), so the next pick goes elsewhere; in
    a continuous space picks also keep ``MIN_SEPARATION`` apart when possible.

    Returns:
        The picked positions and the acquisition value of each when it was picked.
    """
    models = scorer.models
    if len(Z) == 0:
        return np.zeros(0, dtype=int), np.zeros(0)
    if n == 1:
        one = int(scorer.argbest(scores, Z, models))
        return np.array([one]), scores[[one]]
    order = np.argsort(-scores, kind="stable")
    top = order[: max(BATCH_POOL if len(models) == 1 else BATCH_POOL_MULTI, n)]
    Zt = Z[top]
    Ft = scorer.features(Zt)
    st = scores[top].copy()
    chosen: list[int] = []
    cur: list[Any] = list(models)
    if len(scorer.Ys):
        best = scorer.Ys.max(axis=0)
    else:  # a prior model suggests before any measurement (one objective only)
        best = np.full(len(models), -np.inf)
    front = scorer.front if scorer.multi else None
    base = normal_base(len(models), rng)  # fresh EHVI samples for the fantasized rounds
    blocked = np.zeros(len(Zt), dtype=bool)
    near = np.zeros(len(Zt), dtype=bool)
    values: list[float] = []
    for b in range(n):
        if b > 0:
            mu, sd = scorer.predict(Zt, cur, Ft)
            st = scorer.values(mu, sd, best=float(best[0]), front=front, base=base)
        st = np.where(blocked, -np.inf, st)
        # keeping apart is a preference: when only near-copies are left (e.g. a short
        # list of given candidates), they are still better than an incomplete batch
        sn = np.where(near, -np.inf, st)
        if np.isfinite(sn).any():
            st = sn
        i = int(scorer.argbest(st, Zt, cur))
        if not np.isfinite(st[i]):
            break
        chosen.append(i)
        values.append(float(st[i]))
        blocked[i] = True
        if continuous:  # no near-copies: keep 2 % of each scaled range apart
            near |= np.abs(Ft - Ft[i]).max(axis=1) < MIN_SEPARATION
        mu_i = np.array([m.predict(Ft[i:i + 1], Zt[i:i + 1])[0][0] for m in cur])
        cur = [m.fantasize(Ft[i:i + 1], Zt[i:i + 1]) for m in cur]
        best = np.maximum(best, mu_i)
        if front is not None:
            front = np.vstack([front, mu_i[None, :]])
            front = front[_nondominated_max(front)]
    return top[np.asarray(chosen, dtype=int)], np.asarray(values)
