"""Every suggestion honours every constraint of the space, across random spaces."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from jupyter_matopt.core import CompositionError, CompositionSpace
from jupyter_matopt.optimize import Campaign
from jupyter_matopt.optimize.candidates import row_keys

NAMES = ["Fe", "Cr", "Ni", "Co", "Mn", "Al", "CsPbI3", "P3HT", "D1"]


@st.composite
def spaces(draw: st.DrawFn) -> CompositionSpace:
    k = draw(st.integers(2, 6))
    names = draw(st.permutations(NAMES))[:k]
    step = draw(st.sampled_from([None, None, 0.1, 0.05, 0.02, 0.01, 0.005]))
    units = 20 if step is None else round(1 / step)
    comps: dict[str, object] = {}
    for name in names:
        kind = draw(st.sampled_from(["free", "free", "bounded", "bounded", "fixed"]))
        if kind == "free":
            comps[name] = None
        elif kind == "fixed":
            comps[name] = draw(st.integers(0, max(1, units // (2 * k)))) / units
        else:
            a = draw(st.integers(0, units // 2))
            b = draw(st.integers(a + 1, units))
            comps[name] = (a / units, b / units)
    max_c = draw(st.one_of(st.none(), st.integers(1, k)))
    try:
        space = CompositionSpace(comps, step=step, max_components=max_c)
    except CompositionError:
        assume(False)
    if step is not None:
        # exclude a few grid points as "already made elsewhere"
        sample = space.sample(3, seed=draw(st.integers(0, 2**16)))
        space.add_exclusions(sample)
        assume(space.grid_size() > 60)
    else:  # e.g. max_components=1 leaves only the corners of a continuous space
        assume(len(set(row_keys(space.sample(100, seed=0)))) > 60)
    return space


def _check(camp: Campaign, batch, told: set[bytes]) -> None:  # type: ignore[no-untyped-def]
    space = camp.space
    assert space is not None
    X = batch[space.components].to_numpy(dtype=float)
    assert np.all(space.contains(X)), batch
    np.testing.assert_allclose(X.sum(axis=1), 1.0, atol=1e-9)
    assert np.all(X >= space.lower - 1e-9) and np.all(X <= space.upper + 1e-9)
    for name, value in space.fixed.items():
        np.testing.assert_allclose(X[:, space.components.index(name)], value, atol=1e-9)
    if space.step is not None:
        u = X / space.step
        np.testing.assert_allclose(u, np.rint(u), atol=1e-6)
    if space.max_components is not None:
        assert np.all((X > 1e-9).sum(axis=1) <= space.max_components)
    assert not np.any(space.is_excluded(X))
    keys = row_keys(X)
    assert len(set(keys)) == len(keys), "duplicate suggestions in one batch"
    assert not (set(keys) & told), "suggested an already-told composition"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much,
                                                                 HealthCheck.too_slow])
@given(space=spaces(), seed=st.integers(0, 2**16), n=st.integers(1, 8))
def test_random_suggestions_are_feasible(space: CompositionSpace, seed: int, n: int) -> None:
    camp = Campaign(space, acquisition="random", seed=seed)
    told: set[bytes] = set()
    for _ in range(6):
        batch = camp.suggest(n)
        assert len(batch) == n
        _check(camp, batch, told)
        X = batch[space.components].to_numpy(dtype=float)
        camp.tell(batch.compositions, np.random.default_rng(seed).random(n))
        told.update(row_keys(X))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.filter_too_much,
                                                                 HealthCheck.too_slow])
@given(space=spaces(), seed=st.integers(0, 2**16),
       acq=st.sampled_from(["ei", "pi", "ucb", "greedy"]))
def test_model_suggestions_are_feasible(space: CompositionSpace, seed: int, acq: str) -> None:
    camp = Campaign(space, acquisition=acq, seed=seed)
    rng = np.random.default_rng(seed)
    w = rng.normal(size=space.n_components)
    X0 = space.sample(4, seed=seed)
    camp.tell(X0, X0 @ w)
    told = set(row_keys(X0))
    for _ in range(2):
        batch = camp.suggest(4)
        _check(camp, batch, told)
        X = batch[space.components].to_numpy(dtype=float)
        assert np.all(np.isfinite(batch["mean"])) and np.all(batch["std"] >= 0)
        camp.tell(batch, X @ w)
        told.update(row_keys(X))


def test_batches_are_diverse_in_a_continuous_space() -> None:
    space = CompositionSpace(["Fe", "Cr", "Ni", "Co", "Mn", "Al"])
    camp = Campaign(space, seed=0)
    X = space.sample(30, seed=0)
    camp.tell(X, np.sin(5 * X[:, 0]) + X[:, 1])
    batch = camp.suggest(5)
    F = batch[space.components].to_numpy()
    d = np.abs(F[:, None, :] - F[None, :, :]).max(axis=2)
    assert d[np.triu_indices(5, 1)].min() >= 0.02 - 1e-9


def test_exhausting_a_tiny_space() -> None:
    import pytest

    from jupyter_matopt.optimize import CampaignError

    space = CompositionSpace({"A": (0, 1), "B": (0, 1)}, step=0.25)  # 5 grid points
    camp = Campaign(space, seed=1)
    camp.tell(["A" if False else {"A": 1.0}, {"B": 1.0}], [1.0, 2.0])
    batch = camp.suggest(3)
    _check(camp, batch, set(row_keys(np.array([[1.0, 0.0], [0.0, 1.0]]))))
    camp.tell(batch, [0.5, 0.7, 0.9])
    with pytest.raises(CampaignError, match="untried"):
        camp.suggest(1)
