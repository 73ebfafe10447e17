"""The field's metrics for a set of generated compositions.

Validity follows MatGAN (Dan et al., npj Comput. Mater. 6, 84 (2020)) and Materials
Transformers (Fu et al., 2022): SMACT charge neutrality, and neutrality with electronegativity
balance; uniqueness and novelty are by reduced formula; the distribution distance is the
Fréchet distance (as in the Fréchet ChemNet/Inception distances) between Gaussian fits of
Magpie features standardized over the sets compared (Ward et al., npj Comput. Mater. 2,
16028 (2016)).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..core.composition import CompositionError, fractions_matrix
from ..core.elements import ATOMIC_NUMBER
from .generator import GenerateError, _dataset_parts

__all__ = ["generation_report", "GenerationReport", "RandomSampler", "composition_keys",
           "frechet_distance", "composition_distance"]


@dataclass
class GenerationReport:
    """Metrics of generated candidates against a training set (see :func:`generation_report`).

    Attributes:
        metrics: Name -> value (shares in [0, 1], distances, counts).
        element_counts: Share of rows with 1, 2, ... elements, candidates vs training
            (and the random sampler when computed).
        rules: The per-candidate plausibility table.
    """

    metrics: dict[str, float]
    element_counts: pd.DataFrame
    rules: pd.DataFrame = field(repr=False)

    def __getitem__(self, key: str) -> float:
        return self.metrics[key]

    def to_series(self) -> pd.Series:
        return pd.Series(self.metrics, name="value")

    def __repr__(self) -> str:
        lines = [f"  {k}: {v:.4g}" if isinstance(v, float) else f"  {k}: {v}"
                 for k, v in self.metrics.items()]
        return "GenerationReport\n" + "\n".join(lines)

    def _repr_html_(self) -> str:
        # pandas escapes cell text in to_html by default
        return (self.to_series().to_frame().to_html()
                + "<p>element counts</p>" + self.element_counts.to_html())


class RandomSampler:
    """Random compositions over a training set's elements (the baseline for enrichment).

    Each row draws its number of elements from the training set's element-count
    distribution, that many elements uniformly from the training elements, and fractions
    uniformly on their simplex (Dirichlet(1)); with ``integer`` rows are snapped to the
    nearest integer formula with at most ``max_atoms`` atoms (those without one are redrawn).
    It has ``elements`` and ``sample_fractions`` (the CandidateGenerator protocol).
    """

    def __init__(self, X_train: np.ndarray, elements: Sequence[str], *, integer: bool = False,
                 max_atoms: int = 12, snap_tol: float = 0.03) -> None:
        self.elements = tuple(elements)
        counts = (np.asarray(X_train) > 0).sum(axis=1)
        vals, freq = np.unique(counts, return_counts=True)
        self._m_vals = vals
        self._m_p = freq / freq.sum()
        self.integer = integer
        self.max_atoms = max_atoms
        self.snap_tol = snap_tol

    def sample_fractions(self, n: int, *, seed: int | np.random.Generator | None = None
                         ) -> np.ndarray:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        k = len(self.elements)
        out: list[np.ndarray] = []
        got = 0
        for _ in range(50):
            m = int(1.5 * (n - got)) + 8
            sizes = np.minimum(rng.choice(self._m_vals, size=m, p=self._m_p), k)
            order = np.argsort(rng.random((m, k)), axis=1)
            mask = np.argsort(order, axis=1) < sizes[:, None]
            G = rng.gamma(1.0, size=(m, k)) * mask
            X = G / G.sum(axis=1, keepdims=True)
            if self.integer:
                from ..rules import integer_formulas

                c, ok = integer_formulas(X, tol=self.snap_tol, max_atoms=self.max_atoms)
                X = c[ok] / c[ok].sum(axis=1, keepdims=True)
            out.append(X[: n - got])
            got += len(out[-1])
            if got >= n:
                break
        return np.vstack(out)


def composition_keys(X: np.ndarray, elements: Sequence[str], *, decimals: int = 3) -> list[str]:
    """Reduced-formula keys of fraction rows: fractions rounded to ``decimals`` (so Fe2O3 and
    Fe4O6 share a key, and alloys closer than 0.1 at.% do too with the default)."""
    els = list(elements)
    order = sorted(range(len(els)), key=lambda j: ATOMIC_NUMBER[els[j]])
    R = np.round(np.asarray(X, dtype=float)[:, order], decimals) + 0.0
    names = [els[j] for j in order]
    return ["".join(f"{names[j]}{row[j]:g}" for j in np.flatnonzero(row > 0)) for row in R]


def composition_distance(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Pairwise distances ``0.5 * sum |a - b|`` (the share of atoms that must change element),
    ``(len(A), len(B))``; A and B are fractions over the same columns."""
    A = np.asarray(A, dtype=float)
    B = np.asarray(B, dtype=float)
    out = np.empty((len(A), len(B)))
    step = max(1, 2_000_000 // max(1, len(B) * A.shape[1]))
    for s in range(0, len(A), step):
        out[s:s + step] = 0.5 * np.abs(A[s:s + step, None, :] - B[None, :, :]).sum(axis=2)
    return out


def frechet_distance(F1: np.ndarray, F2: np.ndarray) -> float:
    """Fréchet distance between Gaussian fits of two feature sets (rows are samples)."""
    m1, m2 = F1.mean(axis=0), F2.mean(axis=0)
    S1 = np.atleast_2d(np.cov(F1, rowvar=False))
    S2 = np.atleast_2d(np.cov(F2, rowvar=False))
    # Tr sqrt(S1 S2) = sum sqrt(eig(S1^1/2 S2 S1^1/2)): symmetric, so it stays well defined
    # (no complex round-off) when the covariances are singular
    w, V = np.linalg.eigh(S1)
    r1 = (V * np.sqrt(np.clip(w, 0, None))) @ V.T
    ev = np.linalg.eigvalsh(r1 @ S2 @ r1)
    tr = float(np.sqrt(np.clip(ev, 0, None)).sum())
    return float(((m1 - m2) ** 2).sum() + np.trace(S1) + np.trace(S2) - 2.0 * tr)


def _union_matrix(cands: Any, training: Any) -> tuple[np.ndarray, np.ndarray, list[str],
                                                      np.ndarray | None]:
    comps_t, y_t, _ = _dataset_parts(training, None)
    if isinstance(cands, pd.DataFrame):
        from ..core.elements import is_element

        cols = [c for c in cands.columns if isinstance(c, str) and is_element(c)]
        if cols:
            Xc = cands[cols].to_numpy(float)
            rows_c: list[Any] = [{c: v for c, v in zip(cols, r, strict=True) if v > 0}
                                 for r in Xc]
        elif "formula" in cands.columns:
            rows_c = list(cands["formula"])
        else:
            raise GenerateError("candidates need element columns or a 'formula' column")
    elif isinstance(cands, (str, bytes)):
        raise GenerateError("candidates must be many compositions, got one string")
    else:
        rows_c = list(cands)
    if not rows_c:
        raise GenerateError("no candidates to report on")
    try:
        Xt, els_t = fractions_matrix(comps_t)
        Xc, els_c = fractions_matrix(rows_c)
    except CompositionError as e:
        raise GenerateError(str(e)) from None
    els = sorted(set(els_t) | set(els_c), key=ATOMIC_NUMBER.__getitem__)
    Xt, _ = fractions_matrix(comps_t, els)
    Xc, _ = fractions_matrix(rows_c, els)
    Xt = Xt / Xt.sum(axis=1, keepdims=True)
    Xc = Xc / Xc.sum(axis=1, keepdims=True)
    return Xc, Xt, els, y_t


def _oracle_values(oracle: Any, X: np.ndarray, elements: list[str]) -> np.ndarray:
    if hasattr(oracle, "predict_fractions"):
        out = oracle.predict_fractions(X, elements, return_std=False)
        out = out[0] if isinstance(out, tuple) else out
    elif callable(oracle):
        out = oracle(X, elements)
        out = out[0] if isinstance(out, tuple) else out
    else:
        raise GenerateError("oracle must be a fitted model (predict_fractions) or a function "
                            f"(X, elements) -> values; got {type(oracle).__name__}")
    return np.asarray(out, dtype=float).ravel()


def generation_report(
    cands: Any,
    training: Any,
    *,
    oracle: Any = None,
    baseline: Any = "random",
    mixed_valence: bool = False,
    decimals: int = 3,
    quantile: float = 0.95,
    seed: int = 0,
    max_frechet_rows: int = 5000,
) -> GenerationReport:
    """Validity, uniqueness, novelty, distribution distances and enrichment of candidates.

    Args:
        cands: Generated compositions: a DataFrame from :meth:`CompositionGenerator.sample`
            (element columns or ``formula``), or a list of formulas or mappings.
        training: The training :class:`~jupyter_matopt.data.Dataset` (or formulas).
        oracle: An independent model trained on all the data (``predict_fractions``) or a
            function ``(X, elements) -> values``; with it the report gives the share of
            candidates predicted above the training set's ``quantile`` and the enrichment
            over ``baseline``.
        baseline: ``"random"`` (a :class:`RandomSampler` over the training elements, integer
            formulas when most candidates are), another generator with ``elements`` and
            ``sample_fractions``, or None.
        mixed_valence: Allow mixed valence in the charge-neutrality test.
        decimals: Rounding of fractions in the reduced-formula keys.
        quantile: Quantile of the training property for the "above" share.
        seed: Seed of the baseline's draw and of subsampling for the Fréchet distance.
        max_frechet_rows: Rows used per set in the Fréchet distance.

    Returns:
        A :class:`GenerationReport`. Metrics: ``n``, ``charge_neutral``,
        ``charge_neutral_and_balanced``, ``alloy_share``, ``alloy_solid_solution`` (share of
        alloy rows meeting Yang & Zhang; NaN without alloys), ``plausible``, ``uniqueness``,
        ``novelty`` (unique candidates absent from training), ``frechet_magpie`` (and
        ``frechet_magpie_baseline``), ``element_count_tv`` (total variation between the
        element-count histograms), and with an oracle ``share_above_q`` (``_baseline``),
        ``enrichment``.

    Raises:
        GenerateError: for empty or malformed inputs or a bad oracle.
    """
    from ..features import featurize_fractions
    from ..rules import plausibility

    Xc, Xt, els, y_t = _union_matrix(cands, training)
    rng = np.random.default_rng(seed)
    n = len(Xc)
    rules = plausibility(Xc, els, mixed_valence=mixed_valence)
    alloy = (rules["kind"] == "alloy").to_numpy()
    keys_c = composition_keys(Xc, els, decimals=decimals)
    keys_t = set(composition_keys(Xt, els, decimals=decimals))
    uniq = set(keys_c)
    metrics: dict[str, float] = {
        "n": float(n),
        "charge_neutral": float(rules["charge_neutral"].mean()),
        "charge_neutral_and_balanced": float(rules["electronegativity_balanced"].mean()),
        "alloy_share": float(alloy.mean()),
        "alloy_solid_solution": float(rules["solid_solution"][alloy].mean())
        if alloy.any() else float("nan"),
        "plausible": float(rules["plausible"].mean()),
        "uniqueness": len(uniq) / n,
        "novelty": float(np.mean([k not in keys_t for k in uniq])),
    }
    base_X = _baseline_matrix(baseline, Xt, els, n, rules, alloy, seed=seed, rng=rng)

    def feats(X: np.ndarray) -> np.ndarray:
        if len(X) > max_frechet_rows:
            X = X[rng.choice(len(X), max_frechet_rows, replace=False)]
        return np.nan_to_num(featurize_fractions(X, els, preset="magpie"))

    sets = [feats(Xt), feats(Xc)] + ([feats(base_X)] if base_X is not None else [])
    # features standardized by their spread over all sets pooled: a feature nearly constant
    # in training (so a tiny training std) must not blow the distance up by 1e8
    pooled = np.vstack(sets)
    mu, sd = pooled.mean(axis=0), pooled.std(axis=0)
    keep = sd > 1e-12
    Ft, Fc = ((F[:, keep] - mu[keep]) / sd[keep] for F in sets[:2])
    metrics["frechet_magpie"] = frechet_distance(Ft, Fc)
    if base_X is not None:
        Fb = (sets[2][:, keep] - mu[keep]) / sd[keep]
        metrics["frechet_magpie_baseline"] = frechet_distance(Ft, Fb)
    hist = {"training": np.bincount((Xt > 0).sum(axis=1), minlength=len(els) + 1),
            "candidates": np.bincount((Xc > 0).sum(axis=1), minlength=len(els) + 1)}
    if base_X is not None:
        hist["baseline"] = np.bincount((base_X > 0).sum(axis=1), minlength=len(els) + 1)
    counts = pd.DataFrame({k: v / v.sum() for k, v in hist.items()})
    counts.index.name = "n_elements"
    counts = counts.loc[(counts > 0).any(axis=1)]
    metrics["element_count_tv"] = float(0.5 * np.abs(counts["training"]
                                                     - counts["candidates"]).sum())
    if oracle is not None:
        if y_t is None:
            raise GenerateError("the enrichment needs the training property: pass a Dataset")
        thr = float(np.nanquantile(y_t, quantile))
        share = float(np.mean(_oracle_values(oracle, Xc, els) > thr))
        metrics["threshold"] = thr
        metrics["share_above_q"] = share
        if base_X is not None:
            sb = float(np.mean(_oracle_values(oracle, base_X, els) > thr))
            metrics["share_above_q_baseline"] = sb
            metrics["enrichment"] = share / sb if sb > 0 else (float("inf") if share > 0
                                                               else float("nan"))
    return GenerationReport(metrics=metrics, element_counts=counts, rules=rules)


def _baseline_matrix(baseline: Any, Xt: np.ndarray, els: list[str], n: int,
                     rules: pd.DataFrame, alloy: np.ndarray, *, seed: int,
                     rng: np.random.Generator) -> np.ndarray | None:
    """``n`` baseline rows over ``els`` (None without a baseline)."""
    if baseline is None:
        return None
    if isinstance(baseline, str):
        if baseline != "random":
            raise GenerateError(f"baseline must be 'random', a generator or None, "
                                f"got {baseline!r}")
        integer = bool(np.mean(rules["integer_formula"].notna() & ~alloy) > 0.5)
        sampler: Any = RandomSampler(Xt, els, integer=integer)
        return sampler.sample_fractions(n, seed=rng)
    if hasattr(baseline, "sample_fractions"):
        B = np.asarray(baseline.sample_fractions(n, seed=seed), dtype=float)
        bels = list(baseline.elements)
        base_X = np.zeros((len(B), len(els)))
        for j, e in enumerate(bels):
            if e not in els:
                raise GenerateError(f"baseline element {e} is not among {els}")
            base_X[:, els.index(e)] = B[:, j]
        return base_X
    raise GenerateError("baseline must be 'random', a generator with sample_fractions, "
                        "or None")


Oracle = Callable[[np.ndarray, list[str]], np.ndarray]
