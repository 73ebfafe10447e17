"""Exact early exit for the top-k of a boosted-tree ensemble.

A candidate's ensemble mean is ``y_mean + y_scale * mean_i(margin_i)`` where member ``i``'s
margin is its base score plus one leaf per tree. After the first trees of every member the
rest can only add between the sums of the remaining trees' smallest and largest leaves, so a
candidate whose upper bound is below the k-th best score known (from the running top-k, or
from k lower bounds in the same chunk) can never enter the top-k: it is dropped without
evaluating the remaining trees. The survivors get the model's own full prediction, so the
values returned are bit-identical to evaluating every candidate, whatever was pruned.

Measured with the default model (4 members x 400 trees, stages after 100 and 200 trees) on
1M samples of a 7-element steel space: 96 % of the candidates stop early and a screen needs
1.3x less CPU end to end; on a dense 1.1M-point grid whose best predictions are crowded,
67 % stop early and the CPU saved is within the noise.

The pruner uses ``PropertyModel``'s public fast-path API (``members_``, ``task_``,
``y_mean_``, ``y_scale_``, :meth:`~jupyter_matopt.models.PropertyModel.fraction_features` and
:meth:`~jupyter_matopt.models.PropertyModel.staged_margins`); other models (any
``FractionModel``) are screened without pruning. :func:`make_pruner` checks on probe rows
that the staged margins still reproduce the model's prediction and otherwise returns None.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# float32 unit roundoff; XGBoost accumulates leaf values in float32
_EPS32 = float(np.finfo(np.float32).eps)
# fewer trees than this per member: nothing worth skipping
_MIN_TREES = 16


@dataclass
class Pruner:
    """Stage boundaries and leaf bounds of every member (all arrays small)."""

    stages: tuple[int, ...]     # trees evaluated after each stage, increasing, < n_trees
    tail_hi: np.ndarray         # (members, stages): sum of the largest leaf of later trees
    tail_lo: np.ndarray         # (members, stages): sum of the smallest leaf of later trees
    base: np.ndarray            # (members,): base margin XGBoost adds to every range
    slack: np.ndarray           # (members,): float32 rounding allowance of a margin
    y_mean: float
    y_scale: float

    def bounds(self, P: np.ndarray, stage: int, sign: float) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) bounds of ``sign * mean`` from partial margins ``P`` (members, n)."""
        a = sign * self.y_scale
        hi = (P + (self.tail_hi[:, stage] + self.slack)[:, None]).mean(axis=0)
        lo = (P + (self.tail_lo[:, stage] - self.slack)[:, None]).mean(axis=0)
        if a < 0:
            lo, hi = hi, lo
        off = sign * self.y_mean
        return off + a * lo, off + a * hi

    def top(self, model: Any, X: np.ndarray, elements: Sequence[str],
            conditions: Mapping[str, float] | None, k: int, tau: float, sign: float
            ) -> np.ndarray:
        """Positions of the rows of ``X`` that may still be among the k best (``> tau``
        excluded only when provably below it); sorted."""
        F = model.fraction_features(X, elements, conditions)[0]
        alive = np.arange(len(X))
        P = np.zeros((len(model.members_), len(X)))
        start = 0
        for s, stop in enumerate(self.stages):
            Fa = F if len(alive) == len(X) else F[alive]
            # every range adds the base score again: keep it once
            P += model.staged_margins(Fa, start, stop) - (self.base[:, None] if start else 0.0)
            start = stop
            lo, hi = self.bounds(P, s, sign)
            finite = np.isfinite(lo)
            if finite.sum() >= k:
                # k rows are sure to score at least their k-th lower bound
                tau = max(tau, float(np.partition(lo[finite], -k)[-k]))
            if not np.isfinite(tau):
                continue
            # NaN bounds (missing features) are kept: the full prediction decides
            keep = ~(hi < tau)
            alive, P = alive[keep], P[:, keep]
            if len(alive) == 0:
                break
        return alive


def _leaf_ranges(booster: Any) -> tuple[np.ndarray, np.ndarray, float, int]:
    """(min leaf, max leaf) per tree, base margin, trees per round, from the JSON model."""
    raw = json.loads(bytes(booster.save_raw("json")))
    learner = raw["learner"]
    trees = learner["gradient_booster"]["model"]["trees"]
    lo = np.empty(len(trees))
    hi = np.empty(len(trees))
    for t, tree in enumerate(trees):
        left = np.asarray(tree["left_children"])
        # a leaf's value is stored in split_conditions
        values = np.asarray(tree["split_conditions"], dtype=np.float64)[left == -1]
        lo[t], hi[t] = values.min(), values.max()
    base = float(str(learner["learner_model_param"]["base_score"]).strip("[]"))
    per_round = len(trees) // max(1, booster.num_boosted_rounds())
    return lo, hi, base, per_round


def make_pruner(model: Any, elements: Sequence[str], conditions: Mapping[str, float] | None
                ) -> Pruner | None:
    """A :class:`Pruner` for a regression ensemble of XGBoost boosters, or None."""
    try:
        members = list(model.members_)
        if getattr(model, "task_", None) != "regression" or not members:
            return None
        if getattr(model, "zero_inflated_", False):
            # the members are only the non-zero stage: their bounds do not bound the output
            return None
        y_mean, y_scale = float(model.y_mean_), float(model.y_scale_)
        ranges = [_leaf_ranges(b) for b in members]
    except Exception:  # noqa: BLE001 - any other model shape: just no pruning
        return None
    n_trees = {len(r[0]) for r in ranges}
    if len(n_trees) != 1 or any(r[3] != 1 for r in ranges):
        return None  # random forests grow all trees in one round
    (n,) = n_trees
    if n < _MIN_TREES or not np.isfinite(y_scale) or y_scale == 0:
        return None
    stages = (n // 4, n // 2)
    tail_hi = np.array([[r[1][s:].sum() for s in stages] for r in ranges])
    tail_lo = np.array([[r[0][s:].sum() for s in stages] for r in ranges])
    base = np.array([r[2] for r in ranges])
    # |error| of a float32 sum of n terms <= n * eps * sum|terms|; x4 for any order and the
    # ranges being summed separately
    mag = np.array([abs(r[2]) + np.maximum(abs(r[0]), abs(r[1])).sum() for r in ranges])
    slack = 4.0 * (n + 1) * _EPS32 * mag
    pruner = Pruner(stages, tail_hi, tail_lo, base, slack, y_mean, y_scale)
    return pruner if _reproduces(pruner, model, elements, conditions) else None


def _reproduces(pruner: Pruner, model: Any, elements: Sequence[str],
                conditions: Mapping[str, float] | None) -> bool:
    """Do the staged margins bracket the model's own prediction on probe rows?

    Guards against a change of the model's internals (features, aggregation) that this
    module would not know about: then it does not prune at all.
    """
    k = len(elements)
    X = np.vstack([np.eye(k), np.full((1, k), 1.0 / k), 0.5 * np.eye(k) + 0.5 / k])
    try:
        mean = np.asarray(model.predict_fractions(X, list(elements), conditions=conditions,
                                                  return_std=False), dtype=np.float64)
        F = model.fraction_features(X, list(elements), conditions)[0]
        P = np.zeros((len(model.members_), len(X)))
        rounds = min(b.num_boosted_rounds() for b in model.members_)
        start = 0
        for stop in (*pruner.stages, rounds):
            P += model.staged_margins(F, start, stop) - (pruner.base[:, None] if start else 0.0)
            start = stop
        # all trees evaluated: the bounds collapse onto the prediction (up to the slack)
        last = Pruner(pruner.stages, np.zeros_like(pruner.tail_hi), np.zeros_like(
            pruner.tail_lo), pruner.base, pruner.slack, pruner.y_mean, pruner.y_scale)
        lo, hi = last.bounds(P, 0, 1.0)
    except Exception:  # noqa: BLE001
        return False
    return bool(np.all(np.isfinite(mean)) and np.all((lo <= mean) & (mean <= hi)))
