"""generation_report fields and Rao-style ranking of generated candidates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_matopt.generate import GenerateError, generation_report, rank_candidates
from jupyter_matopt.generate.report import RandomSampler, composition_distance, frechet_distance


def _al_share(gen):  # type: ignore[no-untyped-def]
    """A transparent 'model': mean = Al fraction, std = Ni fraction."""
    al, ni = gen.elements.index("Al"), gen.elements.index("Ni")

    def model(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return X[:, al], X[:, ni]

    return model


def test_report_fields_and_oracle_enrichment(gen, mpea) -> None:  # type: ignore[no-untyped-def]
    cands = gen.sample(400, seed=0)

    def oracle(X: np.ndarray, elements: list[str]) -> np.ndarray:
        return X[:, elements.index("Al")]

    rep = generation_report(cands, mpea, oracle=oracle, seed=1)
    m = rep.metrics
    for key in ("charge_neutral", "charge_neutral_and_balanced", "alloy_solid_solution",
                "plausible", "uniqueness", "novelty", "frechet_magpie",
                "frechet_magpie_baseline", "element_count_tv", "share_above_q",
                "share_above_q_baseline", "enrichment"):
        assert key in m, key
    assert m["n"] == 400
    assert 0 <= m["novelty"] <= 1 and m["uniqueness"] == 1.0  # sample() deduplicates
    # all-metal HEAs pass SMACT's alloy shortcut; the share is the per-row table's mean
    import smact

    els = [c for c in cands.columns if c != "formula"]
    X = cands[els].to_numpy()
    metal_only = np.array([all(e in smact.metals for e, v in zip(els, r, strict=True) if v > 0)
                           for r in X])
    assert metal_only.any() and rep.rules["charge_neutral"][metal_only].all()
    assert m["charge_neutral"] == pytest.approx(rep.rules["charge_neutral"].mean())
    assert m["alloy_share"] > 0.9
    # the threshold is the training 95th percentile of the property; the share is recomputed
    assert m["threshold"] == pytest.approx(np.quantile(mpea.y, 0.95))
    assert m["share_above_q"] == pytest.approx(np.mean(cands["Al"].to_numpy() > m["threshold"]))
    if m["share_above_q_baseline"] > 0:
        assert m["enrichment"] == pytest.approx(m["share_above_q"] / m["share_above_q_baseline"])
    ec = rep.element_counts
    assert set(ec.columns) == {"training", "candidates", "baseline"}
    assert np.allclose(ec.sum(), 1.0)
    assert rep["novelty"] == m["novelty"]
    assert "<table" in rep._repr_html_()


def test_report_on_training_itself_is_not_novel(mpea) -> None:  # type: ignore[no-untyped-def]
    comps = list(np.random.default_rng(0).choice(mpea.compositions, 265, replace=False))
    rep = generation_report(comps, mpea)
    assert rep["novelty"] == 0.0
    # a random half of the training set is far closer to it than random compositions are
    assert rep["frechet_magpie"] < 0.25 * rep["frechet_magpie_baseline"]
    assert "share_above_q" not in rep.metrics
    assert generation_report(comps, mpea, baseline=None).metrics.keys().isdisjoint(
        {"frechet_magpie_baseline"})


def test_frechet_and_distance_helpers() -> None:
    rng = np.random.default_rng(0)
    A = rng.normal(size=(2000, 3))
    assert frechet_distance(A, A) == pytest.approx(0.0, abs=1e-6)
    # two unit Gaussians 2 apart along one axis: distance = 4
    assert frechet_distance(A, A + [2.0, 0, 0]) == pytest.approx(4.0, rel=1e-6)
    D = composition_distance(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0], [0.5, 0.5]]))
    assert D.tolist() == [[1.0, 0.5]]


def test_random_sampler_matches_element_counts() -> None:
    X = np.array([[0.5, 0.5, 0, 0], [0.2, 0.3, 0.5, 0], [0, 0.5, 0, 0.5]])
    S = RandomSampler(X, ["Fe", "Cr", "Ni", "Co"]).sample_fractions(3000, seed=0)
    counts = (S > 0).sum(axis=1)
    assert set(np.unique(counts)) == {2, 3}
    assert np.mean(counts == 2) == pytest.approx(2 / 3, abs=0.03)
    assert np.allclose(S.sum(axis=1), 1.0)


def test_rank_candidates_orders_by_weighted_ranks(gen) -> None:  # type: ignore[no-untyped-def]
    model = _al_share(gen)
    out = rank_candidates(model, gen, "max", 15, n_samples=600, seed=0, diversity=0.0,
                          weights=(1.0, 0.0), focus=None)
    assert list(out["rank_score"]) == sorted(out["rank_score"])
    # mean weight only: the best are the largest Al shares of the same draw
    X = gen.sample_fractions(600, seed=0)
    best = np.sort(X[:, gen.elements.index("Al")])[::-1][:15]
    assert np.allclose(np.sort(out["mean"].to_numpy())[::-1], best)
    for col in ("formula", "std", "rank_mean", "rank_std", "plausible", "solid_solution",
                "novel", "nearest_training", "nearest_distance"):
        assert col in out, col
    assert out["nearest_distance"].between(0, 1).all()
    # an uncertainty weight changes the order; a negative one rewards uncertainty
    careful = rank_candidates(model, gen, "max", 15, n_samples=600, seed=0, diversity=0.0,
                              weights=(1.0, 1.0))
    bold = rank_candidates(model, gen, "max", 15, n_samples=600, seed=0, diversity=0.0,
                           weights=(1.0, -1.0))
    assert careful["std"].mean() < bold["std"].mean()


def test_rank_candidates_diversity_and_targets(gen) -> None:  # type: ignore[no-untyped-def]
    model = _al_share(gen)
    out = rank_candidates(model, gen, 0.1, 10, n_samples=500, seed=1, diversity=0.05)
    X = out[list(gen.elements)].to_numpy()
    for i in range(len(X)):
        for j in range(i):
            assert np.abs(X[i] - X[j]).max() >= 0.05
    rng_out = rank_candidates(model, gen, (0.05, 0.1), 5, n_samples=500, seed=1)
    assert len(rng_out) == 5
    low = rank_candidates(model, gen, "min", 5, n_samples=500, seed=1, weights=(1, 0))
    assert (low["mean"] <= out["mean"].max()).all()
    with pytest.raises(GenerateError, match="target"):
        rank_candidates(model, gen, "best", 5)
    with pytest.raises(GenerateError, match="weights"):
        rank_candidates(model, gen, "max", 5, weights=(0, 0))
    with pytest.raises(GenerateError, match="generator"):
        rank_candidates(model, object(), "max", 5)


def test_rank_candidates_with_a_property_model(gen, mpea) -> None:  # type: ignore[no-untyped-def]
    from jupyter_matopt import PropertyModel

    model = PropertyModel(n_ensemble=2, params={"n_estimators": 40}).fit(mpea)
    out = rank_candidates(model, gen, "max", 8, n_samples=400, seed=0)
    assert len(out) == 8
    assert out["in_domain"].dtype == bool
    assert isinstance(out, pd.DataFrame) and (out["std"] >= 0).all()


def test_rank_candidates_inside_a_space(gen) -> None:  # type: ignore[no-untyped-def]
    from jupyter_matopt import CompositionSpace

    space = CompositionSpace({"Al": (0, 0.1), "Co": None, "Cr": None, "Fe": None, "Ni": None},
                             step=0.05)
    al = 0

    def model(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return X[:, al], np.full(len(X), 0.1)

    out = rank_candidates(model, gen, "max", 6, n_samples=300, seed=0, space=space)
    X = out[space.components].to_numpy()
    assert np.asarray(space.contains(X), dtype=bool).all()
    assert len(out) == 6
