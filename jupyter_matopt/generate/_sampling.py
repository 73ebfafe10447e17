"""The fast sampling path of :class:`~.generator.CompositionGenerator` and its plausibility
filter (split from :mod:`.generator` so each module stays short).

``sample(10_000)`` must take well under a second, so everything per candidate is vectorized:
latent draws grouped by mixture component, a float32 copy of the decoder, rule verdicts
computed once per distinct integer formula (:func:`~jupyter_matopt.rules.compound_validity`),
and duplicates removed through a byte view of the quantized rows.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ._common import GenerateError
from ._nn import softmax

if TYPE_CHECKING:
    from ..core import CompositionSpace
    from .generator import CompositionGenerator

__all__ = ["RULES", "latent_draw", "decode_fast", "rule_mask", "fit_rules", "draw"]

#: Accepted values of ``CompositionGenerator(rules=...)``.
RULES = ("auto", "compound", "alloy", None)

#: ``rules="auto"`` filters with the compound rules when at least this share of the training
#: rows are compounds (more than 10 at.% non-metals, :func:`~jupyter_matopt.rules.is_alloy`):
#: OQMD ternaries 27 %, sysTEm 73 %; MPEA 4 %, steels 0.3 % (alloys, left unfiltered).
COMPOUND_SHARE_MIN = 0.1


def latent_draw(rng: np.random.Generator, w: np.ndarray, mu: np.ndarray, chol: np.ndarray,
                n: int) -> np.ndarray:
    """``n`` draws of a Gaussian mixture (weights, means, Cholesky factors), one matrix
    product per component instead of one small product per row."""
    comp = rng.choice(len(w), size=n, p=w)
    eps = rng.standard_normal((n, mu.shape[1]))
    out = np.empty_like(eps)
    for c in range(len(w)):
        sel = comp == c
        if sel.any():
            out[sel] = mu[c] + eps[sel] @ chol[c].T
    return out


def decode_fast(gen: CompositionGenerator, Z: np.ndarray, condition: float | None
                ) -> np.ndarray:
    """The decoder in float32 (half the time of float64 at the same candidates to ~1e-7);
    fractions returned as float64."""
    params = gen.decoder_.params
    if getattr(gen, "_dec32_src", None) is not params:  # refit or loaded: new arrays
        gen._dec32 = [p.astype(np.float32) for p in params]
        gen._dec32_src = params
    h = np.hstack([Z, gen._cond_column(len(Z), condition)]).astype(np.float32)
    layers = len(gen._dec32) // 2
    for i in range(layers):
        h = h @ gen._dec32[2 * i]
        h += gen._dec32[2 * i + 1]
        if i < layers - 1:
            np.tanh(h, out=h)
    return softmax(h).astype(np.float64)


def rule_mask(X: np.ndarray, elements: list[str], rules: str | None) -> np.ndarray:
    """Rows that pass the plausibility rules as :func:`generation_report` judges them:
    ``"compound"``: SMACT charge-neutral and electronegativity-balanced (metals-only rows
    pass, as in SMACT); ``"alloy"``: :func:`~jupyter_matopt.rules.plausibility`'s
    ``plausible`` (solid solution for alloys, the compound rules for compounds)."""
    if rules is None or not len(X):
        return np.ones(len(X), dtype=bool)
    from ..rules import alloy_rules, compound_validity, is_alloy

    _, balanced = compound_validity(X, elements)
    if rules == "compound":
        return balanced
    alloy = is_alloy(X, elements)
    ok = balanced & ~alloy
    rows = np.flatnonzero(alloy)
    if len(rows):
        single = (X[rows] > 0).sum(axis=1) == 1
        ss = alloy_rules(X[rows], elements)["solid_solution"].to_numpy(bool)
        ok[rows] = ss | single
    return ok


def fit_rules(X: np.ndarray, elements: list[str], rules: str | None
              ) -> tuple[str | None, dict[str, float]]:
    """The filter to use (``rules`` resolved from ``"auto"``) and the training set's own
    validity, the ceiling for the candidates' when no filter is used."""
    from ..rules import RulesError, alloy_rules, compound_validity, is_alloy

    neutral, balanced = compound_validity(X, elements)
    alloy = is_alloy(X, elements)
    ss = float("nan")
    if alloy.any():
        try:
            ss = float(alloy_rules(X[alloy], elements)["solid_solution"].mean())
        except RulesError as e:
            if rules == "alloy":
                raise GenerateError(f"rules='alloy' needs alloy data for every training "
                                    f"element: {e}") from None
    validity = {"charge_neutral": float(neutral.mean()),
                "charge_neutral_and_balanced": float(balanced.mean()),
                "alloy_share": float(alloy.mean()), "alloy_solid_solution": ss}
    if rules == "auto":
        rules = "compound" if 1.0 - alloy.mean() >= COMPOUND_SHARE_MIN else None
    return rules, validity


def _row_bytes(X: np.ndarray) -> np.ndarray:
    """One hashable void item per row: fractions rounded to 0.001, the resolution at which
    :func:`~jupyter_matopt.generate.report.composition_keys` tells compositions apart (rows
    closer than 0.1 at.% are one candidate)."""
    Q = np.ascontiguousarray(np.rint(X * 1e3).astype(np.int64))
    return Q.view(np.dtype((np.void, 8 * Q.shape[1]))).ravel()


def draw(gen: CompositionGenerator, n: int, rng: np.random.Generator,
         condition: float | None, space: CompositionSpace | None, focus: str | None,
         rate: float) -> tuple[np.ndarray, dict[str, Any]]:
    """Up to ``n`` distinct candidates that pass ``gen.rules_``, with the draw's statistics.

    Rounds decode ``need / rate`` latent points, ``rate`` being the share of decoded points
    that became new candidates so far (at first the estimate measured at fit time), so one
    or two rounds usually suffice. At most ``max(30 n, 50_000)`` points are decoded in all
    (a tight space or a strict filter may admit fewer than ``n`` distinct candidates).
    """
    cols = list(space.components) if space is not None else list(gen.elements_)
    out: list[np.ndarray] = []
    seen: set[bytes] = set()
    drawn = built = rejected = kept = 0
    budget = max(30 * n, 50_000)
    while drawn < budget:
        need = n - kept
        m = int(min(200_000, budget - drawn, math.ceil(need / max(rate, 0.01) * 1.15) + 32))
        Z = gen.sample_latent(m, seed=rng, focus=focus)
        X = gen._postprocess(decode_fast(gen, Z, condition), space)
        drawn += m
        built += len(X)
        ok = rule_mask(X, cols, gen.rules_)
        rejected += int((~ok).sum())
        X = X[ok]
        if len(X):
            keys = _row_bytes(X)
            _, first = np.unique(keys, return_index=True)
            first.sort()  # keep the draw order
            new = []
            for i, k in zip(first.tolist(), keys[first].tolist(), strict=True):
                if k not in seen:
                    seen.add(k)
                    new.append(i)
            X = X[new[:need]]
            out.append(X)
            kept += len(X)
        if kept >= n:
            break
        rate = max(kept / drawn, 1e-3)
    stats = {"drawn": drawn, "returned": kept, "rules": gen.rules_,
             "rejected_by_rules": rejected,
             "rejection_rate": rejected / built if built else 0.0}
    X = np.vstack(out) if out else np.zeros((0, len(cols)))
    return X, stats
