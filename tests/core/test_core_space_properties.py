"""Property tests of CompositionSpace over random feasible spaces.

Every returned composition is checked twice: by ``contains`` and by an independent check
written here from the specification alone (bounds, unit sum, grid, number of components).
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from jupyter_matopt.core import CompositionError, CompositionSpace

STEPS = [None, 0.1, 0.05, 0.02, 0.01, 0.005]
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass
class Spec:
    components: dict[str, Any]
    step: float | None
    max_components: int | None

    def build(self) -> CompositionSpace:
        return CompositionSpace(self.components, step=self.step,
                                max_components=self.max_components)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = [], []
        for b in self.components.values():
            if b is None:
                lo.append(0.0), hi.append(1.0)
            elif isinstance(b, tuple):
                lo.append(b[0]), hi.append(b[1])
            else:
                lo.append(b), hi.append(b)
        return np.array(lo), np.array(hi)

    def check(self, X: np.ndarray, *, on_grid: bool = True) -> None:
        """Feasibility from the specification alone, independent of CompositionSpace."""
        X = np.asarray(X)
        lo, hi = self.bounds()
        assert X.ndim == 2 and X.shape[1] == len(lo)
        assert np.all(np.isfinite(X))
        assert np.all(np.abs(X.sum(axis=1) - 1) <= 1e-9), X.sum(axis=1)
        assert np.all(X >= lo - 1e-9), (X.min(axis=0), lo)
        assert np.all(X <= hi + 1e-9), (X.max(axis=0), hi)
        if on_grid and self.step is not None:
            units = X / self.step
            assert np.all(np.abs(units - np.rint(units)) <= 1e-6)
        if self.max_components is not None:
            assert np.all((X > 0).sum(axis=1) <= self.max_components)


@st.composite
def specs(draw: st.DrawFn, max_k: int = 8, steps: list[float | None] = STEPS) -> Spec:
    """Random feasible specifications, built around a random feasible centre point."""
    k = draw(st.integers(2, max_k))
    step = draw(st.sampled_from(steps))
    weights = np.array(draw(st.lists(st.integers(0, 12), min_size=k, max_size=k).filter(any)),
                       dtype=float)
    if step is None:
        centre = weights / weights.sum()
    else:  # largest remainder onto the grid
        n_units = round(1 / step)
        raw = weights / weights.sum() * n_units
        units = np.floor(raw)
        order = np.argsort(-(raw - units), kind="stable")
        units[order[: int(n_units - units.sum())]] += 1
        centre = units / n_units
    components: dict[str, Any] = {}
    for i, c in enumerate(centre.tolist()):
        kind = draw(st.sampled_from(["free", "box", "box", "fixed", "upper", "lower"]))
        if kind == "free":
            components[f"c{i}"] = None
            continue
        if kind == "fixed":
            components[f"c{i}"] = c
            continue
        below = draw(st.floats(0, 0.6)) if kind in ("box", "lower") else 1.0
        above = draw(st.floats(0, 0.6)) if kind in ("box", "upper") else 1.0
        lo, hi = max(0.0, c - below), min(1.0, c + above)
        if draw(st.booleans()):  # round outwards to tidy numbers, keeping the centre inside
            lo, hi = math.floor(lo * 1000) / 1000, math.ceil(hi * 1000) / 1000
        components[f"c{i}"] = (lo, min(hi, 1.0))
    nnz = int((centre > 0).sum())
    max_components = draw(st.one_of(st.none(), st.integers(max(1, nnz), k)))
    return Spec(components, step, max_components)


def random_points(rng: np.random.Generator, k: int, n: int = 40) -> np.ndarray:
    sparse = rng.dirichlet(np.ones(k), size=n // 4) * (rng.random((n // 4, k)) < 0.4)
    return np.vstack([
        rng.dirichlet(np.ones(k), size=n // 4),
        rng.uniform(-0.5, 1.5, size=(n // 4, k)),
        sparse,
        np.eye(k)[rng.integers(0, k, n - 3 * (n // 4))],
    ])


@PROPS
@given(specs(), st.integers(0, 2**32 - 1))
def test_sample_is_always_feasible(spec: Spec, seed: int) -> None:
    space = spec.build()
    x = space.sample(64, seed=seed)
    assert x.shape == (64, len(spec.components))
    spec.check(x)
    assert space.contains(x).all()
    if spec.step is not None:  # the continuous draw behind a grid space is feasible too
        y = space.sample(32, seed=seed, on_grid=False)
        spec.check(y, on_grid=False)


@PROPS
@given(specs(), st.integers(0, 2**32 - 1))
def test_projection_is_feasible_and_nearest(spec: Spec, seed: int) -> None:
    space = spec.build()
    rng = np.random.default_rng(seed)
    x = random_points(rng, len(spec.components))
    p = space.project(x)
    spec.check(p)
    assert space.contains(p).all()
    d_p = ((p - x) ** 2).sum(axis=1)
    # at least as close as any feasible point we can find
    ref = space.sample(300, seed=seed)
    if spec.step is not None and space.grid_size() <= 3000:
        ref = space.enumerate_grid()  # then it must be exactly the nearest
    d_ref = ((ref[None, :, :] - x[:, None, :]) ** 2).sum(axis=2).min(axis=1)
    assert np.all(d_p <= d_ref + 1e-10), (d_p - d_ref).max()


@PROPS
@given(specs(), st.integers(0, 2**32 - 1))
def test_projection_keeps_feasible_points(spec: Spec, seed: int) -> None:
    space = spec.build()
    x = space.sample(32, seed=seed)
    p = space.project(x)
    if spec.step is not None:
        np.testing.assert_array_equal(p, x)  # grid points come back bit for bit
    else:
        np.testing.assert_allclose(p, x, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(specs(steps=[0.1, 0.05, 0.02, 0.01]))
def test_grid_size_matches_enumeration(spec: Spec) -> None:
    space = spec.build()
    size = space.grid_size()
    assert size >= 1
    if size > 30_000:
        return
    grid = space.enumerate_grid()
    assert len(grid) == size
    units = np.rint(grid / spec.step).astype(np.int64)
    assert len(np.unique(units, axis=0)) == size  # no duplicates
    spec.check(grid)
    assert space.contains(grid).all()


@settings(max_examples=100, deadline=None)
@given(specs(max_k=4, steps=[0.1, 0.05]))
def test_grid_matches_brute_force(spec: Spec) -> None:
    """Every integer vector summing to N, filtered by the independent check."""
    space = spec.build()
    n_units = round(1 / spec.step)
    k = len(spec.components)
    lo, hi = spec.bounds()
    brute = set()
    for head in itertools.product(range(n_units + 1), repeat=k - 1):
        last = n_units - sum(head)
        if last < 0:
            continue
        u = np.array([*head, last])
        x = u / n_units
        if np.any(x < lo - 1e-9) or np.any(x > hi + 1e-9):
            continue
        if spec.max_components is not None and (u > 0).sum() > spec.max_components:
            continue
        brute.add(tuple(u.tolist()))
    assert space.grid_size() == len(brute)
    got = {tuple(r) for r in np.rint(space.enumerate_grid() * n_units).astype(int).tolist()}
    assert got == brute


@settings(max_examples=100, deadline=None)
@given(specs())
def test_to_dict_round_trip(spec: Spec) -> None:
    space = spec.build()
    d = space.to_dict()
    again = CompositionSpace.from_dict(json.loads(json.dumps(d)))
    assert again.to_dict() == d
    np.testing.assert_array_equal(again.sample(16, seed=0), space.sample(16, seed=0))


@st.composite
def crowded_specs(draw: st.DrawFn) -> Spec:
    """max_components parts whose upper bounds barely reach 1 together, off the grid.

    A support can then reach 1 as fractions but not on the grid (e.g. 3 x 0.335 with step
    0.01 gives 99 units); sampling and projection used to return such infeasible points.
    """
    k = draw(st.integers(3, 7))
    m = draw(st.integers(2, k - 1))
    step = draw(st.sampled_from([0.1, 0.05, 0.02, 0.01, 0.005]))
    components: dict[str, Any] = {}
    for i in range(k):
        slack = draw(st.floats(0.0, 0.3))
        components[f"c{i}"] = (0.0, min(1.0, (1 + slack) / m))
    return Spec(components, step, m)


@settings(max_examples=100, deadline=None)
@given(crowded_specs(), st.integers(0, 2**32 - 1))
def test_crowded_supports_stay_feasible(spec: Spec, seed: int) -> None:
    try:
        space = spec.build()
    except CompositionError as exc:  # infeasible on the grid: refused, with the reason
        assert "infeasible" in str(exc)
        assume(False)
        return
    x = space.sample(64, seed=seed)
    spec.check(x)
    assert space.contains(x).all()
    rng = np.random.default_rng(seed)
    p = space.project(random_points(rng, len(spec.components)))
    spec.check(p)
    assert space.contains(p).all()
