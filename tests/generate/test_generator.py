"""CompositionGenerator contracts: softmax decoder, constraints, sampling, gradients."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_matopt import CompositionSpace
from jupyter_matopt.generate import CompositionGenerator, GenerateError
from jupyter_matopt.generate._nn import MLP, imq_mmd, softmax


def test_mlp_gradients_match_finite_differences() -> None:
    rng = np.random.default_rng(0)
    net = MLP([5, 7, 3], rng)
    x = rng.normal(size=(4, 5))
    t = rng.dirichlet(np.ones(3), size=4)

    def loss() -> float:
        return float(-(t * np.log(softmax(net.forward(x)))).sum())

    p = softmax(net.forward(x, store=True))
    gx, grads = net.backward(p - t)
    eps = 1e-6
    for P, G in zip(net.params, grads, strict=True):
        idx = tuple(rng.integers(0, s) for s in P.shape)
        old = P[idx]
        P[idx] = old + eps
        up = loss()
        P[idx] = old - eps
        down = loss()
        P[idx] = old
        assert (up - down) / (2 * eps) == pytest.approx(G[idx], rel=1e-4, abs=1e-7)
    x0 = x.copy()
    x[1, 2] += eps
    up = loss()
    x[:] = x0
    assert gx.shape == x.shape
    assert (up - loss()) / eps == pytest.approx(gx[1, 2], rel=1e-3, abs=1e-6)


def test_mmd_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(1)
    z, p = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    v, g = imq_mmd(z, p, 1.0)
    for i, j in [(0, 0), (3, 2), (5, 1)]:
        z2 = z.copy()
        z2[i, j] += 1e-6
        assert (imq_mmd(z2, p, 1.0)[0] - v) / 1e-6 == pytest.approx(g[i, j], rel=1e-3)


@pytest.mark.parametrize("kind", ["wae", "vae"])
def test_decoder_rows_sum_to_one(mpea, kind) -> None:  # type: ignore[no-untyped-def]
    g = CompositionGenerator(kind=kind, n_steps=60, latent_dim=3).fit(mpea)
    Z = np.random.default_rng(0).normal(scale=3.0, size=(500, 3))
    P = g.decode(Z)
    assert P.shape == (500, len(g.elements_))
    assert np.allclose(P.sum(axis=1), 1.0)
    assert (P >= 0).all()
    assert g.encode(mpea.compositions[:7]).shape == (7, 3)


def test_training_reduces_reconstruction_loss(gen) -> None:  # type: ignore[no-untyped-def]
    h = gen.history_[:, 0]
    assert h[-20:].mean() < 0.8 * h[:20].mean()


def test_sample_frame_and_protocol(gen) -> None:  # type: ignore[no-untyped-def]
    df = gen.sample(300, seed=3)
    assert list(df.columns) == [*gen.elements, "formula"]
    X = df[list(gen.elements)].to_numpy()
    assert len(df) == 300
    assert np.allclose(X.sum(axis=1), 1.0)
    assert (X >= 0).all()
    # no duplicates, and at most as many elements as the most complex training alloy
    assert len({r.tobytes() for r in np.round(X, 10)}) == 300
    assert (X > 0).sum(axis=1).max() <= gen.max_components_
    # reproducible, and sample_fractions is the same draw
    assert np.array_equal(gen.sample_fractions(300, seed=3), X)
    from jupyter_matopt.optimize.generators import CandidateGenerator

    assert isinstance(gen, CandidateGenerator)


def _space_cases() -> list[CompositionSpace]:
    return [
        CompositionSpace({"Co": (0.1, 0.3), "Cr": (0.1, 0.3), "Fe": (0.1, 0.4),
                          "Ni": (0.1, 0.4), "Mn": (0.0, 0.2)}),
        CompositionSpace({"Al": (0, 0.2), "Co": None, "Cr": None, "Fe": None, "Ni": 0.2},
                         step=0.05, max_components=4),
        CompositionSpace({"Ti": (0, 0.5), "Zr": (0, 0.5), "Nb": (0, 0.5), "Hf": (0, 0.5),
                          "Ta": (0, 0.5), "Mo": (0, 0.3)}, step=0.01, max_components=3),
    ]


@pytest.mark.parametrize("case", range(3))
def test_every_candidate_satisfies_the_space(gen, case) -> None:  # type: ignore[no-untyped-def]
    space = _space_cases()[case]
    for seed in range(5):
        df = gen.sample(120, seed=seed, space=space)
        X = df[space.components].to_numpy()
        assert len(X) > 0
        assert np.asarray(space.contains(X), dtype=bool).all()
        assert len({r.tobytes() for r in np.round(X, 9)}) == len(X)


def test_space_given_at_construction(mpea) -> None:  # type: ignore[no-untyped-def]
    space = _space_cases()[1]
    g = CompositionGenerator(n_steps=40, space=space).fit(mpea)
    assert g.elements == tuple(space.components)
    X = g.sample_fractions(100, seed=0)
    assert X.shape[1] == 5
    assert np.asarray(space.contains(X), dtype=bool).all()


def test_interpolate_endpoints(gen) -> None:  # type: ignore[no-untyped-def]
    df = gen.interpolate("CoCrFeMnNi", "Al0.5CoCrFeNi", n=5)
    assert df["t"].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    X = df[list(gen.elements_)].to_numpy()
    assert np.allclose(X.sum(axis=1), 1.0)
    assert isinstance(df["formula"].iloc[0], str)


def test_conditional_generation(mpea) -> None:  # type: ignore[no-untyped-def]
    g = CompositionGenerator(conditional=True, n_steps=60).fit(mpea)
    lo, hi = g.sample(50, seed=0, condition=100.0), g.sample(50, seed=0, condition=900.0)
    assert len(lo) == len(hi) == 50
    assert not np.allclose(lo[list(g.elements)].to_numpy(), hi[list(g.elements)].to_numpy())
    with pytest.raises(GenerateError, match="property"):
        CompositionGenerator(conditional=True).fit(mpea.compositions)


def test_stoichiometric_training_snaps_to_integer_formulas() -> None:
    comps = ["NaCl", "KCl", "MgO", "CaO", "Na2O", "K2O", "MgCl2", "CaCl2", "LiCl", "Li2O",
             "NaBr", "KBr", "MgBr2", "LiBr", "CaBr2"]
    g = CompositionGenerator(n_steps=200, seed=0).fit(comps)
    assert g.snap_
    df = g.sample(40, seed=0)
    from jupyter_matopt.rules import integer_formulas

    X = df[list(g.elements)].to_numpy()
    _, ok = integer_formulas(X, tol=1e-9, max_atoms=g.max_atoms_)
    assert ok.all()
    assert not df["formula"].str.contains(r"\.").any()


def test_bad_input_errors(mpea) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(GenerateError, match="kind"):
        CompositionGenerator(kind="gan")
    with pytest.raises(GenerateError, match="latent_dim"):
        CompositionGenerator(latent_dim=0)
    with pytest.raises(GenerateError, match="not fitted"):
        CompositionGenerator().sample(3)
    with pytest.raises(GenerateError, match="at least 10"):
        CompositionGenerator().fit(["NaCl", "KCl"])
    with pytest.raises(GenerateError, match="element symbols"):
        CompositionGenerator(space=CompositionSpace(["A", "B"]))
    g = CompositionGenerator(n_steps=5).fit(mpea)
    with pytest.raises(GenerateError, match="columns"):
        g.decode(np.zeros((2, 3)))
    with pytest.raises(GenerateError, match="training elements"):
        g.encode(["UO2"])
    with pytest.raises(GenerateError, match="positive integer"):
        g.sample(0)
    assert isinstance(g.sample(5, seed=1), pd.DataFrame)


def test_focused_sampling_moves_towards_the_best_rows(mpea) -> None:  # type: ignore[no-untyped-def]
    from jupyter_matopt.core.composition import fractions_matrix

    X, els = fractions_matrix(mpea.compositions)
    al = X[:, els.index("Al")] / X.sum(axis=1)  # a transparent property: the Al share
    g = CompositionGenerator(n_steps=150, seed=0).fit(mpea.compositions, y=al)
    plain = g.sample(400, seed=0)["Al"].mean()
    high = g.sample(400, seed=0, focus="max")["Al"].mean()
    low = g.sample(400, seed=0, focus="min")["Al"].mean()
    assert low < plain < high
    with pytest.raises(GenerateError, match="focus"):
        g.sample(5, focus="best")
