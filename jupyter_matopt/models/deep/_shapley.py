"""Exact Shapley values over the elements present (and condition columns), numpy only.

Players are the elements present in a composition plus the condition columns. The value of a
coalition ``S`` is the model's prediction on the *sub-composition* of the elements in ``S``
(renormalized to sum to one), with the conditions in ``S`` at the row's values and the others at
their training means; a coalition with no element has the value ``base`` (the mean prediction
over the training rows), since no composition is left to predict. The contributions therefore
sum to ``prediction - base`` exactly, for every backend that uses this module.

With ``p`` players this costs ``2^p - 1`` predictions in one batch: 255 for eight players.
Beyond :data:`EXACT_MAX_PLAYERS` the values are estimated from :data:`PERMUTATIONS` seeded
random permutations, half of them the reverses of the other half (antithetic pairs lower the
variance); each permutation telescopes, so the sum is still exact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import factorial

import numpy as np

__all__ = [
    "EXACT_MAX_PLAYERS",
    "PERMUTATIONS",
    "CoalitionPlan",
    "coalition_inputs",
    "coalition_plan",
    "finish_plan",
    "shapley_from_values",
    "shapley_row",
]

EXACT_MAX_PLAYERS = 8
PERMUTATIONS = 64


def coalition_inputs(
    x: np.ndarray, c: np.ndarray, c_base: np.ndarray, masks: np.ndarray, n_el: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fractions and conditions of the coalitions in ``masks`` (bool ``(m, n_el + n_cond)``).

    Returns the renormalized fraction rows over the present elements, the condition rows,
    and a bool vector: which coalitions contain at least one element.
    """
    em = masks[:, :n_el]
    X = np.where(em, x[None, :], 0.0)
    tot = X.sum(axis=1, keepdims=True)
    has = tot[:, 0] > 0
    X = np.divide(X, tot, out=np.zeros_like(X), where=tot > 0)
    C = np.where(masks[:, n_el:], c[None, :], c_base[None, :])
    return X, C, has


def _all_masks(p: int) -> np.ndarray:
    codes = np.arange(1 << p, dtype=np.int64)
    return ((codes[:, None] >> np.arange(p)) & 1).astype(bool)


def shapley_from_values(v: np.ndarray, p: int) -> np.ndarray:
    """Exact Shapley values from ``v[code]`` for all ``2^p`` coalition bit codes."""
    masks = _all_masks(p)
    size = masks.sum(axis=1)
    w = np.array([factorial(s) * factorial(p - s - 1) / factorial(p) for s in range(p)])
    phi = np.zeros(p)
    codes = np.arange(1 << p)
    for i in range(p):
        without = codes[~masks[:, i]]
        phi[i] = float(np.sum(w[size[without]] * (v[without | (1 << i)] - v[without])))
    return phi


@dataclass
class CoalitionPlan:
    """The coalitions of one row: which to predict, and how to combine their values.

    Attributes:
        present: Column indices (into the row's ``k`` fractions) of the elements present.
        X: ``(r, len(present))`` renormalized fractions of the coalitions that hold at least
            one element (the only ones the model sees); ``C`` their condition rows.
        masks: ``(m, p)`` all coalitions; ``rows`` maps each to its row of ``X`` (-1: no
            element, value ``base``).
        exact: Exact enumeration (else permutation sampling: ``perms`` of shape
            ``(P, p)`` and ``masks`` ordered permutation by permutation, ``p + 1`` each).
        full_row: Row of ``X`` holding the whole composition.
    """

    present: np.ndarray
    X: np.ndarray
    C: np.ndarray
    masks: np.ndarray
    rows: np.ndarray
    exact: bool
    perms: np.ndarray
    full_row: int

    @property
    def n_rows(self) -> int:
        return int(len(self.X))

    def X_full(self, k: int) -> np.ndarray:
        """``X`` scattered back onto all ``k`` columns of the row."""
        out = np.zeros((len(self.X), k))
        out[:, self.present] = self.X
        return out


def coalition_plan(
    x: np.ndarray, c: np.ndarray, c_base: np.ndarray, *, seed: int = 0
) -> CoalitionPlan:
    """Plan the coalitions of a row ``x`` (fractions over ``k`` columns, zeros = absent)."""
    x = np.asarray(x, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    present = np.flatnonzero(x > 0)
    xp = x[present] / x[present].sum() if present.size else x[present]
    n_el = len(present)
    p = n_el + len(c)
    if p <= EXACT_MAX_PLAYERS:
        masks = _all_masks(p)
        perms = np.zeros((0, p), dtype=np.int64)
    else:
        rng = np.random.default_rng(seed)
        half = np.array([rng.permutation(p) for _ in range(PERMUTATIONS // 2)])
        perms = np.vstack([half, half[:, ::-1]])
        steps = np.zeros((len(perms), p + 1, p), dtype=bool)
        for j in range(1, p + 1):
            steps[:, j] = steps[:, j - 1]
            steps[np.arange(len(perms)), j, perms[:, j - 1]] = True
        masks = steps.reshape(-1, p)
    # predict each distinct coalition once (permutations repeat the small and full ones)
    uniq, inverse = np.unique(masks, axis=0, return_inverse=True)
    Xu, Cu, has = coalition_inputs(xp, c, c_base, uniq, n_el)
    row_of_uniq = np.full(len(uniq), -1)
    row_of_uniq[has] = np.arange(int(has.sum()))
    rows = row_of_uniq[np.asarray(inverse).ravel()]
    full = np.flatnonzero(uniq.all(axis=1))
    full_row = int(row_of_uniq[full[0]]) if len(full) else -1
    return CoalitionPlan(present, Xu[has], Cu[has], masks, rows, p <= EXACT_MAX_PLAYERS,
                         perms, full_row)


def finish_plan(
    plan: CoalitionPlan, values: np.ndarray, base: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """``(element_phi, condition_phi, prediction)`` from the model's values of ``plan.X``."""
    v_rows = np.asarray(values, dtype=np.float64)
    v = np.where(plan.rows >= 0, v_rows[np.maximum(plan.rows, 0)] if len(v_rows) else base,
                 float(base))
    n_el = len(plan.present)
    p = plan.masks.shape[1]
    if p == 0:
        return np.zeros(0), np.zeros(0), float(base)
    if plan.exact:
        phi = shapley_from_values(v, p)
    else:
        P = len(plan.perms)
        gains = np.diff(v.reshape(P, p + 1), axis=1)
        phi = np.zeros(p)
        for j in range(p):
            np.add.at(phi, plan.perms[:, j], gains[:, j])
        phi /= P
    pred = float(v_rows[plan.full_row]) if plan.full_row >= 0 else float(base)
    return phi[:n_el], phi[n_el:], pred


def shapley_row(
    predict: Callable[[np.ndarray, np.ndarray], np.ndarray],
    x: np.ndarray,
    c: np.ndarray,
    c_base: np.ndarray,
    base: float,
    *,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, float, str]:
    """Shapley values of one row whose fractions ``x`` are all present (> 0).

    Args:
        predict: ``predict(X, C) -> outputs`` for fraction rows over the columns of ``x``
            and condition rows.
        x: Fractions; ``c`` the row's conditions, ``c_base`` their training means.
        base: Value of a coalition without elements.

    Returns:
        ``(element_phi, condition_phi, prediction, method)``; the values sum to
        ``prediction - base``.
    """
    plan = coalition_plan(x, c, c_base, seed=seed)
    values = predict(plan.X_full(len(x)), plan.C) if plan.n_rows else np.zeros(0)
    e, cc, pred = finish_plan(plan, values, base)
    p = plan.masks.shape[1]
    method = (f"exact Shapley over {p} players" if plan.exact else
              f"Shapley estimated from {len(plan.perms)} seeded permutations over {p} players")
    full_e = np.zeros(len(x))
    full_e[plan.present] = e
    return full_e, cc, pred, method
