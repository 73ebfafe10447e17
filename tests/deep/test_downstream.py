"""The attention backend through the downstream entry points: ternary map, screening,
campaigns with the model as prior, and inverse design. Each result is checked against the
model's own predictions, so a backend that the entry point silently ignored would fail."""

from __future__ import annotations

import numpy as np
import pytest

import jupyter_matopt as mo

SPACE = {"Fe": (0.6, 0.9), "Cr": (0.05, 0.3), "Ni": (0.0, 0.2)}


def test_ternary_map_predicts_with_the_attention_model(attention_model):
    from jupyter_matopt.widgets.ternary import TernaryMap

    tm = TernaryMap(attention_model, elements=("Fe", "Cr", "Ni"), resolution=6)
    grid = tm.compute()
    finite = np.isfinite(grid.mean)
    assert finite.sum() == len(grid.mean) == 28
    i = int(np.argmax(grid.mean))
    point = dict(zip(grid.elements, grid.X[i], strict=True))
    formula = mo.to_formula({e: v for e, v in point.items() if v > 0}, decimals=12)
    mean, std = attention_model.predict([formula], return_std=True)
    assert grid.mean[i] == pytest.approx(float(mean[0]), rel=1e-5)
    assert grid.std[i] == pytest.approx(float(std[0]), rel=1e-5)


def test_screen_ranks_by_the_attention_predictions(attention_model):
    space = mo.CompositionSpace(SPACE, step=0.05)
    top = mo.screen(space, attention_model, top_k=5, objective="max")
    assert len(top) == 5
    mean, _ = attention_model.predict(list(top["formula"]), return_std=True)
    np.testing.assert_allclose(top["mean"].to_numpy(), mean, rtol=1e-5)
    assert list(top["mean"]) == sorted(top["mean"], reverse=True)


def test_campaign_with_the_attention_model_as_prior(attention_model):
    space = mo.CompositionSpace(SPACE)
    camp = mo.Campaign(space, objective="max", prior=attention_model, seed=0)
    batch = camp.suggest(3)
    assert len(batch) == 3
    fr = batch[["Fe", "Cr", "Ni"]].to_numpy(float)
    np.testing.assert_allclose(fr.sum(axis=1), 1.0, atol=1e-9)
    # before any measurement the campaign's mean is the prior model's own prediction
    prior_mean, _ = attention_model.predict_fractions(fr, ["Fe", "Cr", "Ni"])
    np.testing.assert_allclose(batch["mean"].to_numpy(float), prior_mean, rtol=1e-6)
    camp.tell(batch.iloc[:2], [1000.0, 1100.0])
    assert len(camp.suggest(2)) == 2


def test_inverse_design_reaches_for_the_attention_model_maximum(attention_model):
    space = mo.CompositionSpace(SPACE)
    out = mo.inverse_design(attention_model, space, target="max", n=3, n_samples=400, seed=0)
    assert len(out) == 3
    # the formula column is rounded for display: score the exact fractions
    mean, _ = attention_model.predict_fractions(out[["Fe", "Cr", "Ni"]].to_numpy(float),
                                                ["Fe", "Cr", "Ni"])
    np.testing.assert_allclose(out["mean"].to_numpy(), mean, rtol=1e-6)
    # the designs beat a random sample of the same space under the same model
    rng = np.random.default_rng(1)
    fr = rng.dirichlet(np.ones(3), 200)
    rand = [mo.to_formula(dict(zip(("Fe", "Cr", "Ni"), row, strict=True)), decimals=6)
            for row in fr]
    rand_mean, _ = attention_model.predict(rand, return_std=True)
    assert out["mean"].max() >= np.median(rand_mean)
