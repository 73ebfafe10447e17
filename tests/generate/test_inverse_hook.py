"""``inverse_design(model, generator=gen, ...)`` routes to the generative ranking."""

from __future__ import annotations

import numpy as np

import jupyter_matopt as mo


def test_inverse_design_with_a_generator(gen) -> None:  # type: ignore[no-untyped-def]
    al = gen.elements.index("Al")

    def model(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return X[:, al], np.full(len(X), 0.1)

    ranked = mo.inverse_design(model, generator=gen, target="max", n=7, diversity=0.02,
                               n_samples=500, seed=0)
    assert len(ranked) == 7
    assert {"formula", "mean", "std", "rank_score", "novel", "nearest_training"} <= set(ranked)
    assert list(ranked["rank_score"]) == sorted(ranked["rank_score"])
    X = ranked[list(gen.elements)].to_numpy()
    assert np.allclose(X.sum(axis=1), 1.0)
    # equal stds: the ranking is by the mean alone, so the proposals have the most Al
    assert ranked["mean"].iloc[0] == ranked["mean"].max()
