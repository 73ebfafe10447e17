"""Ranking of generated candidates as in Rao et al., Science 378, 78 (2022): a weighted sum
of the ranks of the predicted mean and of the predicted uncertainty."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from ..core.composition import fractions_matrix, to_formula
from ..core.elements import ATOMIC_NUMBER
from .generator import GenerateError, _dataset_parts, formulas
from .report import composition_distance, composition_keys

__all__ = ["rank_candidates"]


def _parse_target(target: Any) -> Any:
    if isinstance(target, str):
        if target not in ("max", "min"):
            raise GenerateError(f"target must be 'max', 'min', a value or (low, high); "
                                f"got {target!r}")
        return target
    if isinstance(target, (tuple, list)):
        if len(target) != 2:
            raise GenerateError(f"target range must be (low, high), got {target!r}")
        lo, hi = float(target[0]), float(target[1])
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise GenerateError(f"target range must be finite with low < high, got {target!r}")
        return (lo, hi)
    try:
        t = float(target)
    except (TypeError, ValueError):
        raise GenerateError(f"target must be 'max', 'min', a value or (low, high); "
                            f"got {target!r}") from None
    if not math.isfinite(t):
        raise GenerateError(f"target must be finite, got {target!r}")
    return t


def _predict(model: Any, X: np.ndarray, elements: list[str],
             conditions: Mapping[str, float] | None
             ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame | None]:
    if hasattr(model, "predict_fractions"):
        cond = None
        if conditions:
            cond = {k: np.full(len(X), float(v)) for k, v in conditions.items()}
        try:
            out = model.predict_fractions(X, elements, cond, return_std=True,
                                          return_domain=True)
        except TypeError:  # a model without the domain option
            out = model.predict_fractions(X, elements, cond, return_std=True)
        mean, std = np.asarray(out[0], float).ravel(), np.asarray(out[1], float).ravel()
        dom = out[2] if len(out) > 2 else None
        return mean, std, dom
    if callable(model):
        out = model(X)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise GenerateError("a model given as a function must return (mean, std) for an "
                                "(n, k) array of fractions")
        return np.asarray(out[0], float).ravel(), np.asarray(out[1], float).ravel(), None
    raise GenerateError("model must be a fitted model with predict_fractions (FractionModel) "
                        f"or a function X -> (mean, std); got {type(model).__name__}")


def rank_candidates(
    model: Any,
    generator: Any,
    target: Any = "max",
    n: int = 20,
    *,
    diversity: float = 0.02,
    weights: tuple[float, float] = (1.0, 0.5),
    n_samples: int = 10_000,
    seed: int | None = 0,
    conditions: Mapping[str, float] | None = None,
    space: Any = None,
    training: Any = None,
    rules: bool = True,
    focus: str | None = "auto",
    callback: Callable[[str, int, int | None, str], None] | None = None,
) -> pd.DataFrame:
    """Draw candidates from a generator and rank them by mean and uncertainty.

    Each candidate gets ``rank_mean`` (1 = best predicted mean for ``target``) and
    ``rank_std`` (1 = smallest predicted std), both divided by the number of candidates;
    ``rank_score = (w_mean * rank_mean + w_std * rank_std) / (w_mean + |w_std|)``, lowest
    best. A negative ``w_std`` rewards uncertainty instead (``rank_std`` then counts from the
    largest std), for exploration. The best are taken greedily, skipping any candidate
    within ``diversity`` (largest absolute fraction difference) of one already taken.

    Args:
        model: A fitted model with ``predict_fractions`` (the FractionModel protocol), or a
            function ``X -> (mean, std)``.
        generator: Anything with ``elements`` and ``sample_fractions(n, *, seed)``
            (a fitted :class:`CompositionGenerator`, the box sampler, ...).
        target: ``"max"``, ``"min"``, a value, or a ``(low, high)`` range.
        n: Number of candidates returned.
        diversity: Smallest L-infinity distance between returned candidates (0: none).
        weights: ``(w_mean, w_std)``.
        n_samples: Candidates drawn.
        seed: Seed of the draw.
        conditions: Values of the model's conditions.
        space: A :class:`~jupyter_matopt.core.CompositionSpace` every candidate must lie in:
            a :class:`CompositionGenerator` projects its samples into it; other generators'
            samples are re-expressed over its components and those outside are dropped.
        training: Training compositions for the novelty columns (default: the generator's
            own training set when it has one).
        rules: Add the plausibility columns (:func:`jupyter_matopt.rules.plausibility`).
        focus: ``"auto"``: with ``target="max"``/``"min"`` and a CompositionGenerator fitted
            with the property, draw from its latent mixture of the best training rows
            (``sample(..., focus=target)``); None: from the whole mixture.
        callback: ``callback(event, done, total, message)`` progress hook.

    Returns:
        DataFrame, best first: one fraction column per element, ``formula``, ``mean``,
        ``std``, ``rank_mean``, ``rank_std``, ``rank_score``, ``in_domain`` /
        ``domain_reason`` (the model's applicability domain; missing when the model has
        none), ``charge_neutral``, ``electronegativity_balanced``, ``solid_solution``,
        ``plausible``, ``novel`` (reduced formula absent from training), ``nearest_training``
        and ``nearest_distance`` (share of atoms that differ from the nearest training
        composition).

    Raises:
        GenerateError: for a bad target, weights, ``n`` or model.
    """
    tgt = _parse_target(target)
    w_mean, w_std = _checked_options(n, diversity, weights)
    if not (hasattr(generator, "sample_fractions") and hasattr(generator, "elements")):
        raise GenerateError("generator must have `elements` and `sample_fractions(n, *, seed)` "
                            f"(a fitted CompositionGenerator); got {type(generator).__name__}")
    if callback:
        callback("candidates", 0, n_samples, "sampling")
    elements, X = _draw(generator, tgt, n_samples, seed, space, focus)
    if callback:
        callback("candidates", len(X), n_samples, f"{len(X)} candidates")
    if not len(X):
        raise GenerateError("the generator returned no candidates")
    mean, std, dom = _predict(model, X, elements, conditions)
    m = len(X)
    r_mean = rankdata(_target_key(mean, tgt), method="average") / m
    r_std = rankdata(std if w_std >= 0 else -std, method="average") / m
    score = (w_mean * r_mean + abs(w_std) * r_std) / (w_mean + abs(w_std))
    idx = _diverse_best(X, score, n, diversity)
    Xc = X[idx]
    df = pd.DataFrame(Xc, columns=elements)
    df["formula"] = formulas(Xc, elements, integer=bool(getattr(generator, "snap_", False)))
    df["mean"] = mean[idx]
    df["std"] = std[idx]
    df["rank_mean"] = r_mean[idx]
    df["rank_std"] = r_std[idx]
    df["rank_score"] = score[idx]
    if dom is not None and "in_domain" in dom:
        d = dom.iloc[idx].reset_index(drop=True)
        df["in_domain"] = d["in_domain"].to_numpy(bool)
        if "reason" in d:
            df["domain_reason"] = d["reason"].astype(str).to_numpy()
    if rules:
        from ..rules import plausibility

        pr = plausibility(Xc, elements)
        for c in ("charge_neutral", "electronegativity_balanced", "solid_solution",
                  "plausible"):
            df[c] = pr[c].to_numpy()
    _novelty_columns(df, Xc, elements, generator, training)
    df.attrs["weights"] = (w_mean, w_std)
    df.attrs["n_candidates"] = m
    if callback:
        callback("done", len(df), len(df), "ranked")
    return df


def _checked_options(n: Any, diversity: Any, weights: Any) -> tuple[float, float]:
    """Check ``n`` and ``diversity``; ``(w_mean, w_std)`` from ``weights``."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise GenerateError(f"n must be a positive integer, got {n!r}")
    if not (isinstance(diversity, (int, float)) and 0 <= diversity < 1):
        raise GenerateError(f"diversity must be in [0, 1), got {diversity!r}")
    try:
        w_mean, w_std = (float(w) for w in weights)
    except (TypeError, ValueError):
        raise GenerateError(f"weights must be two numbers (w_mean, w_std), got {weights!r}"
                            ) from None
    if not (math.isfinite(w_mean) and math.isfinite(w_std)) or w_mean < 0 or (
            w_mean == 0 and w_std == 0):
        raise GenerateError(f"weights must be finite, w_mean >= 0 and not both 0; "
                            f"got {weights!r}")
    return w_mean, w_std


def _draw(generator: Any, tgt: Any, n_samples: int, seed: int | None, space: Any,
          focus: str | None) -> tuple[list[str], np.ndarray]:
    """The candidates' element columns and fractions (inside ``space`` when given)."""
    ours = getattr(generator, "fitted_", False) and hasattr(generator, "focus_mixtures_")
    fkw: dict[str, Any] = {}
    if ours and focus == "auto" and tgt in generator.focus_mixtures_:
        fkw["focus"] = tgt
    elif ours and focus not in (None, "auto"):
        fkw["focus"] = focus
    if space is None:
        elements = list(generator.elements)
        X = np.asarray(generator.sample_fractions(int(n_samples), seed=seed, **fkw),
                       dtype=float)
    elif ours:
        elements = list(space.components)
        X = generator.sample_fractions(int(n_samples), seed=seed, space=space, **fkw)
    else:
        from ..optimize.generators import on_components

        elements = list(space.components)
        X = on_components(generator.sample_fractions(int(n_samples), seed=seed),
                          list(generator.elements), elements)
        X = X[np.asarray(space.contains(X), dtype=bool).reshape(len(X))]
    return elements, X


def _target_key(mean: np.ndarray, tgt: Any) -> np.ndarray:
    """Sort key of the predicted means for the target, lowest best."""
    if tgt == "max":
        key = -mean
    elif tgt == "min":
        key = mean
    elif isinstance(tgt, tuple):
        lo, hi = tgt
        key = np.maximum(lo - mean, 0) + np.maximum(mean - hi, 0) + 1e-9 * np.abs(
            mean - 0.5 * (lo + hi))
    else:
        key = np.abs(mean - tgt)
    return key


def _diverse_best(X: np.ndarray, score: np.ndarray, n: int, diversity: float) -> np.ndarray:
    """Indices of up to ``n`` best-scored rows, greedily skipping any row within
    ``diversity`` (L-infinity) of one already taken."""
    order = np.argsort(score, kind="stable")
    chosen: list[int] = []
    for i in order:
        if diversity > 0 and chosen and np.abs(X[chosen] - X[i]).max(axis=1).min() < diversity:
            continue
        chosen.append(int(i))
        if len(chosen) == n:
            break
    return np.asarray(chosen, dtype=int)


def _novelty_columns(df: pd.DataFrame, Xc: np.ndarray, elements: Sequence[str],
                     generator: Any, training: Any) -> None:
    if training is not None:
        comps, _, _ = _dataset_parts(training, None)
        Xt, els_t = fractions_matrix(comps)
        names = [c if isinstance(c, str) else to_formula(c) for c in comps]
    elif getattr(generator, "fitted_", False) and hasattr(generator, "training_X_"):
        Xt, els_t = generator.training_X_, list(generator.elements_)
        names = list(generator.training_formulas_)
    else:
        return
    els = sorted(set(els_t) | set(elements), key=ATOMIC_NUMBER.__getitem__)

    def widen(X: np.ndarray, cols: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(X), len(els)))
        pos = {e: j for j, e in enumerate(els)}
        for j, c in enumerate(cols):
            out[:, pos[c]] = X[:, j]
        s = out.sum(axis=1, keepdims=True)
        return out / np.where(s > 0, s, 1.0)

    A, T = widen(Xc, elements), widen(np.asarray(Xt, float), els_t)
    keys_t = set(composition_keys(T, els))
    df["novel"] = [k not in keys_t for k in composition_keys(A, els)]
    D = composition_distance(A, T)
    j = D.argmin(axis=1)
    df["nearest_training"] = [names[i] for i in j]
    df["nearest_distance"] = D[np.arange(len(A)), j]
