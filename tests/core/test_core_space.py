"""CompositionSpace: specification errors, membership, grid, sampling and projection examples."""

from __future__ import annotations

import itertools
import json
import math
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Composition
from scipy import stats

from jupyter_matopt.core import CompositionError, CompositionSpace

FREE3 = ["A", "B", "C"]


# --------------------------------------------------------------------------- specifications
@pytest.mark.parametrize(
    ("components", "kwargs", "message"),
    [
        ({"A": (0.6, 1), "B": (0.5, 1)}, {}, r"minimum fractions add up to 1\.1 > 1"),
        ({"A": (0, 0.3), "B": (0, 0.3)}, {}, r"maximum fractions add up to 0\.6 < 1"),
        ({"A": 0.7, "B": 0.7}, {}, r"minimum fractions add up to 1\.4 > 1"),
        ({"A": (0.5, 0.2), "B": None}, {}, r"lower bound of A \(0\.5\) is above its upper"),
        ({"A": (-0.1, 0.5), "B": None}, {}, r"bounds of A must lie within \[0, 1\]"),
        ({"A": (0.2, 1.5), "B": None}, {}, r"bounds of A must lie within \[0, 1\]"),
        ({"A": 1.2, "B": None}, {}, r"bounds of A must lie within \[0, 1\]"),
        ({"A": (float("nan"), 0.5), "B": None}, {}, r"bounds of A must be finite"),
        ({"A": (0, float("inf")), "B": None}, {}, r"bounds of A must be finite"),
        ({"A": (0.1,), "B": None}, {}, r"bounds of A must be \(low, high\)"),
        ({"A": "0.5", "B": None}, {}, r"bounds of A must be \(low, high\)"),
        ({"A": (0.1, "x"), "B": None}, {}, r"bounds of A must be two numbers"),
        ({"A": True, "B": None}, {}, r"bounds of A must be \(low, high\)"),
        (FREE3, {"step": 0.3}, r"1/step must be a whole number, got step=0\.3"),
        (FREE3, {"step": 0.15}, r"1/step must be a whole number"),
        (FREE3, {"step": 0}, r"step must be a number in \(0, 1\]"),
        (FREE3, {"step": -0.1}, r"step must be a number in \(0, 1\]"),
        (FREE3, {"step": 1.5}, r"step must be a number in \(0, 1\]"),
        (FREE3, {"step": float("nan")}, r"step must be a number in \(0, 1\]"),
        (FREE3, {"step": "0.1"}, r"step must be a number in \(0, 1\]"),
        ({"A": 0.125, "B": None}, {"step": 0.01}, r"fixed fraction of A \(0\.125\) is not a "
                                                  r"multiple of step 0\.01"),
        ({"A": (0.101, 0.109), "B": None}, {"step": 0.01},
         r"no multiple of step 0\.01 lies within the bounds of A"),
        ({"A": (0.335, 1), "B": (0.335, 1), "C": (0.33, 1)}, {"step": 0.01},
         r"on the step-0\.01 grid the minimum fractions add up to 1\.01 > 1"),
        ({"A": (0, 0.335), "B": (0, 0.335), "C": (0, 0.335)}, {"step": 0.01},
         r"on the step-0\.01 grid the maximum fractions add up to 0\.99 < 1"),
        ({"A": (0.1, 1), "B": (0.1, 1), "C": (0.1, 1)}, {"max_components": 2},
         r"3 components have a positive minimum but max_components is 2"),
        ({"A": (0, 0.3), "B": (0, 0.3), "C": (0, 0.3), "D": (0, 0.3)}, {"max_components": 2},
         r"no 2 components can reach a total of 1 within their upper bounds$"),
        ({"A": (0.05, 0.3), "B": (0, 0.3), "C": (0, 0.3), "D": (0, 0.5)}, {"max_components": 2},
         r"no 2 components can reach a total of 1"),
        ({"A": (0, 0.335), "B": (0, 0.335), "C": (0, 0.335), "D": (0, 0.335)},
         {"step": 0.01, "max_components": 3},
         r"no 3 components can reach a total of 1 within their upper bounds on the step-0\.01 "
         r"grid"),
        (FREE3, {"max_components": 0}, r"max_components must be at least 1"),
        (FREE3, {"max_components": 2.0}, r"max_components must be a positive integer"),
        (FREE3, {"max_components": True}, r"max_components must be a positive integer"),
        ({}, {}, r"needs at least one component"),
        ([], {}, r"needs at least one component"),
        ("FeCr", {}, r"components must be a mapping or a list of names"),
        (42, {}, r"components must be a mapping or a list of names"),
        (["A", "A"], {}, r"component 'A' is given twice"),
        ({"A": None, " A": None}, {}, r"component 'A' is given twice"),
        (["A", ""], {}, r"component names must be non-empty strings"),
        ({1: None, "B": None}, {}, r"component names must be non-empty strings"),
    ],
)
def test_bad_specifications(components: Any, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(CompositionError, match=message) as info:
        CompositionSpace(components, **kwargs)
    assert isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)  # one sentence, no traceback-like dump


def test_good_specifications() -> None:
    space = CompositionSpace({"Fe": (0.5, 0.9), "Cr": (0.1, 0.3), "Ni": (0, 0.2), "Mo": 0.02},
                             step=0.005, max_components=4)
    assert space.components == ["Fe", "Cr", "Ni", "Mo"]
    assert space.fixed == {"Mo": 0.02}
    assert space.free == ["Fe", "Cr", "Ni"]
    assert space.max_components is None  # 4 of 4 is no constraint
    assert space.is_elemental and space.elements == space.components
    assert repr(space) == (
        "CompositionSpace(Fe=[0.5, 0.9], Cr=[0.1, 0.3], Ni=[0, 0.2], Mo=0.02, step=0.005)"
    )
    # edge cases that are feasible
    assert CompositionSpace({"A": (0.5, 0.5), "B": (0.5, 0.5)}).fixed == {"A": 0.5, "B": 0.5}
    one = CompositionSpace(["A"], step=0.1)
    assert one.grid_size() == 1 and one.enumerate_grid().tolist() == [[1.0]]
    assert CompositionSpace({"A": (0, 0.3), "B": (0, 0.3), "C": (0, 0.4)}).upper.sum() == 1.0
    # float noise in bounds and fixed values is not an error
    s = CompositionSpace({"A": (0.07, 0.29), "B": 0.1 + 0.2, "C": None}, step=0.01)
    assert s.fixed["B"] == 0.3
    assert s.contains({"A": 0.07, "B": 0.3, "C": 0.63})
    assert s.contains({"A": 0.29, "B": 0.3, "C": 0.41})
    # numpy numbers and arrays as bounds
    CompositionSpace({"A": np.array([0.1, 0.5]), "B": np.float32(0.5), "C": (np.int64(0), 1)})
    # steps such as 1/3 that are not decimal
    third = CompositionSpace(FREE3, step=1 / 3)
    assert third.grid_size() == 10


def test_fine_steps_are_accepted_quickly() -> None:
    """__init__ used to count the whole grid, which took ~20 s for step=1e-6."""
    # CPU time, not wall time: only catches the old whole-grid count (~20 s), not load
    start = time.process_time()
    space = CompositionSpace([f"E{i}" for i in range(8)], step=1e-6, max_components=5)
    assert time.process_time() - start < 5.0
    x = space.sample(5, seed=0)
    assert space.contains(x).all()


# --------------------------------------------------------------------------- membership
def test_contains_many_input_forms() -> None:
    space = CompositionSpace({"Fe": (0.5, 0.9), "Cr": (0.1, 0.3), "Ni": (0, 0.2)}, step=0.01)
    assert space.contains("Fe0.7Cr0.2Ni0.1") is True
    assert "Fe70Cr20Ni10" in space
    assert space.contains(Composition("Fe7Cr2Ni1")) is True
    assert space.contains({"Fe": 0.8, "Cr": 0.2}) is True  # missing names are zero
    assert space.contains({"Fe": 0.8, "Cr": 0.1, "Mo": 0.1}) is False  # outside the space
    assert space.contains("Fe0.8Cr0.1Mo0.1") is False
    assert space.contains("not a formula") is False
    assert space.contains({"Fe": "x"}) is False
    assert space.contains([0.7, 0.2, 0.1]) is True
    assert space.contains((0.7, 0.2, 0.1)) is True
    assert space.contains(np.array([0.7, 0.2, 0.1])) is True
    assert space.contains(pd.Series({"Ni": 0.1, "Fe": 0.7, "Cr": 0.2})) is True  # by name
    assert space.contains(pd.Series({"Ni": 0.1, "Fe": 0.7, "Mo": 0.2})) is False
    assert space.contains([0.7, 0.2, float("nan")]) is False
    assert space.contains([0.705, 0.195, 0.1]) is False  # off the grid
    assert space.contains([0.7, 0.2, 0.1000004]) is True  # within tol of the grid point
    assert space.contains([0.4, 0.4, 0.2]) is False  # Fe below 0.5
    assert space.contains([0.7, 0.2, 0.2]) is False  # sum
    rows = [[0.7, 0.2, 0.1], [0.4, 0.4, 0.2]]
    assert space.contains(rows).tolist() == [True, False]
    assert space.contains(np.array(rows)).tolist() == [True, False]
    assert space.contains([np.array(r) for r in rows]).tolist() == [True, False]
    assert space.contains(pd.DataFrame(rows, columns=["Fe", "Cr", "Ni"])).tolist() == [True, False]
    df = pd.DataFrame({"Cr": [0.2, 0.2], "Fe": [0.8, 0.7], "Ni": [0.0, 0.1], "target": [1, 2]})
    assert space.contains(df).tolist() == [True, True]  # extra non-component columns ignored
    mixed = ["Fe0.7Cr0.2Ni0.1", "Qq", {"Fe": 0.5, "Cr": 0.3, "Ni": 0.2}, "Fe0.5Mo0.5", [0.7, 0.2]]
    assert space.contains(mixed).tolist() == [True, False, True, False, False]
    assert space.contains(iter(rows)).tolist() == [True, False]
    assert space.contains([]).tolist() == []
    with pytest.raises(CompositionError, match="3 columns"):
        space.contains(np.zeros((2, 4)))


def test_contains_continuous_and_max_components() -> None:
    space = CompositionSpace({"A": (0, 0.5), "B": None, "C": None, "D": None}, max_components=2)
    assert space.contains([0.5, 0.5, 0, 0])
    assert not space.contains([0.4, 0.4, 0.2, 0])  # three non-zero
    assert space.contains([0.4, 0.6, 1e-9, 0])  # below tol counts as zero
    assert not space.contains([0.6, 0.4, 0, 0])
    assert space.contains([0.5 + 1e-7, 0.5 - 1e-7, 0, 0])  # within tol


def test_grid_membership_agrees_with_enumeration_at_awkward_bounds() -> None:
    """Bounds a hair off the grid: contains() used to admit points the grid left out."""
    space = CompositionSpace({"A": (0.1200005, 1), "B": None}, step=0.01)
    grid = space.enumerate_grid()
    assert grid[:, 0].min() == pytest.approx(0.13)
    assert not space.contains([0.12, 0.88])
    assert space.grid_size() == len(grid) == int(space.contains(
        np.column_stack([np.arange(101) / 100, 1 - np.arange(101) / 100])).sum())


def test_as_array_and_frames() -> None:
    space = CompositionSpace(["Fe", "Cr"])
    np.testing.assert_allclose(space.as_array("Fe3Cr1"), [[0.75, 0.25]])
    np.testing.assert_allclose(space.as_array([[0.5, 0.5], (0.2, 0.8)]), [[0.5, 0.5], [0.2, 0.8]])
    assert space.as_array([]).shape == (0, 2)
    with pytest.raises(CompositionError, match="not a component"):
        space.as_array({"Fe": 0.5, "Ni": 0.5})
    with pytest.raises(CompositionError, match="cannot read"):
        space.as_array([object()])
    with pytest.raises(CompositionError, match="cannot read"):
        space.as_array(3.5)
    with pytest.raises(CompositionError, match="not components"):
        space.as_array(pd.DataFrame({"Fe": [1.0], "Ni": [0.0]}))
    X = np.array([[0.25, 0.75]])
    frame = space.to_frame(X)
    assert list(frame.columns) == ["Fe", "Cr"]
    np.testing.assert_allclose(space.as_array(frame), X)
    assert space.to_formulas(X) == ["Fe0.25Cr0.75"]
    assert space.to_formulas([[1.0, 0.0]]) == ["Fe1"]


# --------------------------------------------------------------------------- grid
def test_grid_counts_known_values() -> None:
    # stars and bars: C(N + k - 1, k - 1)
    assert CompositionSpace(FREE3, step=0.01).grid_size() == math.comb(102, 2)
    assert CompositionSpace([f"E{i}" for i in range(6)], step=0.05).grid_size() == math.comb(25, 5)
    # at most two of four non-zero, step 0.1: 4 vertices + 6 edges * 9 interior points
    space = CompositionSpace(["A", "B", "C", "D"], step=0.1, max_components=2)
    assert space.grid_size() == 4 + 6 * 9 == len(space.enumerate_grid())
    big = CompositionSpace([f"E{i}" for i in range(10)], step=0.001)
    assert big.grid_size() == math.comb(1009, 9)  # exact, far beyond float precision
    with pytest.raises(CompositionError, match="more than max_points"):
        big.enumerate_grid()


def test_grid_needs_a_step() -> None:
    space = CompositionSpace(FREE3)
    for call in (space.grid_size, space.enumerate_grid, lambda: list(space.iter_grid())):
        with pytest.raises(CompositionError, match="continuous"):
            call()
    with pytest.raises(CompositionError, match="continuous"):
        space.project([0.2, 0.3, 0.5], on_grid=True)
    with pytest.raises(CompositionError, match="continuous"):
        space.sample(3, on_grid=True)


def test_iter_grid_chunks_cover_the_grid_once() -> None:
    space = CompositionSpace({"A": (0.1, 0.8), "B": None, "C": None, "D": (0, 0.3)}, step=0.02)
    chunks = list(space.iter_grid(chunk_size=500))
    assert all(len(c) <= 500 for c in chunks)
    X = np.vstack(chunks)
    assert len(X) == space.grid_size()
    assert len(np.unique(np.rint(X * 50).astype(int), axis=0)) == len(X)
    np.testing.assert_array_equal(X, space.enumerate_grid())


# --------------------------------------------------------------------------- exclusions
def test_exclusions() -> None:
    space = CompositionSpace(FREE3, step=0.5, exclude=[[0.5, 0.5, 0.0]])
    assert space.grid_size() == 6  # counted before exclusions
    grid = space.enumerate_grid()
    assert len(grid) == 5 and [0.5, 0.5, 0.0] not in grid.tolist()
    assert not space.contains([0.5, 0.5, 0])
    assert space.contains([0.5, 0.0, 0.5])
    space.add_exclusions([{"A": 0.5, "C": 0.5}, {"B": 1.0}])
    assert len(space.enumerate_grid()) == 3
    x = space.sample(200, seed=0)
    assert space.contains(x).all()
    assert {tuple(r) for r in x.tolist()} <= {tuple(r) for r in space.enumerate_grid().tolist()}
    # the nearest allowed point to an excluded one
    p = space.project([0.5, 0.5, 0.0])
    assert space.contains(p).all()
    assert p.tolist() in ([[1.0, 0.0, 0.0]], [[0.0, 0.5, 0.5]])
    with pytest.raises(CompositionError, match="NaN"):
        space.add_exclusions([[float("nan"), 0.5, 0.5]])


def test_exclusions_with_floating_noise_and_max_components() -> None:
    space = CompositionSpace(["A", "B", "C", "D"], step=0.1, max_components=2)
    space.add_exclusions([[0.1 + 0.2, 0.7, 0.0, 0.0]])  # 0.30000000000000004
    assert not space.contains([0.3, 0.7, 0, 0])
    p = space.project([0.3, 0.7, 0, 0])
    assert space.contains(p).all()
    assert np.abs(p - [0.3, 0.7, 0, 0]).sum() == pytest.approx(0.2)  # one unit moved


def test_every_point_excluded() -> None:
    space = CompositionSpace(["A", "B"], step=0.5)
    space.add_exclusions(space.enumerate_grid())
    assert space.enumerate_grid().shape == (0, 2)
    with pytest.raises(CompositionError, match="excluded"):
        space.sample(3, seed=0)
    with pytest.raises(CompositionError, match="excluded"):
        space.project([0.5, 0.5])


def test_continuous_exclusions_are_avoided() -> None:
    space = CompositionSpace(["A", "B"], exclude=[[0.5, 0.5]])
    p = space.project([0.6, 0.4])
    assert space.contains(p).all()
    q = space.project([0.5, 0.5])
    assert space.contains(q).all() and np.abs(q - 0.5).max() < 1e-6


# --------------------------------------------------------------------------- round trip
@pytest.mark.parametrize(
    ("components", "kwargs"),
    [
        ({"Fe": (0.5, 0.9), "Cr": (0.1, 0.3), "Ni": (0, 0.2), "Mo": 0.02}, {"step": 0.005}),
        ({"A": None, "B": None, "C": (0, 0.4), "D": 0.0}, {"max_components": 2}),
        (["x y", "P3HT", "CsPbI3"], {"step": 1 / 3}),
        (["A", "B", "C"], {"step": 0.1, "exclude": [[0.1, 0.2, 0.7], [1, 0, 0]]}),
    ],
)
def test_to_dict_round_trip(components: Any, kwargs: dict[str, Any]) -> None:
    space = CompositionSpace(components, **kwargs)
    d = space.to_dict()
    again = CompositionSpace.from_dict(json.loads(json.dumps(d)))
    assert again.to_dict() == d
    assert repr(again) == repr(space)
    assert again.components == space.components and again.fixed == space.fixed
    np.testing.assert_array_equal(again.lower, space.lower)
    np.testing.assert_array_equal(again.upper, space.upper)
    x = space.sample(100, seed=3)
    assert again.contains(x).all()
    np.testing.assert_array_equal(again.sample(100, seed=3), x)
    if space.step is not None:
        assert again.grid_size() == space.grid_size()
        np.testing.assert_array_equal(again.enumerate_grid(), space.enumerate_grid())


def test_from_dict_rejects_garbage() -> None:
    for bad in [{}, {"components": 3}, "x", {"components": {"A": None}, "exclude": [["x"]]},
                {"components": {"A": None, "B": None}, "exclude": [[1, 2, 3]]},
                {"components": {"A": (0, 0.2), "B": (0, 0.2)}}]:
        with pytest.raises(CompositionError):
            CompositionSpace.from_dict(bad)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- sampling
def test_sample_shapes_and_seeds() -> None:
    space = CompositionSpace(FREE3)
    assert space.sample(0).shape == (0, 3)
    a = space.sample(10, seed=1)
    np.testing.assert_array_equal(a, space.sample(10, seed=1))
    assert not np.array_equal(a, space.sample(10, seed=2))
    rng = np.random.default_rng(5)
    assert space.sample(4, seed=rng).shape == (4, 3)
    for bad in [-1, 2.5, True, "3"]:
        with pytest.raises(CompositionError, match="non-negative integer"):
            space.sample(bad)  # type: ignore[arg-type]


def test_sample_uniform_on_the_simplex() -> None:
    """On the unconstrained 3-simplex each marginal is Beta(1, 2)."""
    x = CompositionSpace(FREE3).sample(20_000, seed=0)
    for j in range(3):
        assert stats.kstest(x[:, j], "beta", args=(1, 2)).pvalue > 1e-3


def _rejection_reference(lower: np.ndarray, upper: np.ndarray, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = []
    total = 0
    while total < n:
        d = rng.dirichlet(np.ones(len(lower)), size=200_000)
        d = d[np.all((d >= lower) & (d <= upper), axis=1)]
        out.append(d)
        total += len(d)
    return np.vstack(out)[:n]


@pytest.mark.parametrize(
    ("lower", "upper"),
    [
        ([0.0, 0.0, 0.0], [0.5, 0.5, 0.5]),  # hexagon: most Dirichlet draws are rejected
        ([0.1, 0.0, 0.2, 0.0], [0.3, 0.6, 0.5, 0.25]),
        ([0.15] * 5, [0.25] * 5),  # tight box: the Gibbs chain does all the work
    ],
)
def test_sample_uniform_on_constrained_polytopes(lower: list[float], upper: list[float]) -> None:
    """Marginals match an (exact, slow) rejection sampler: two-sample KS p > 1e-3."""
    lo, hi = np.array(lower), np.array(upper)
    pairs = zip(lo, hi, strict=True)
    space = CompositionSpace({f"c{i}": (a, b) for i, (a, b) in enumerate(pairs)})
    x = space.sample(5000, seed=1)
    assert space.contains(x).all()
    ref = _rejection_reference(lo, hi, 5000, seed=2)
    for j in range(len(lo)):
        assert stats.ks_2samp(x[:, j], ref[:, j]).pvalue > 1e-3, j


def test_sample_high_dimensional_tight_space_completes() -> None:
    """k = 20 with tight bounds: rejection would stall; this must finish (well under 2 s)."""
    k = 20
    rng = np.random.default_rng(0)
    centre = rng.dirichlet(np.ones(k))
    spec = {f"E{i}": (max(0.0, c - 0.01), min(1.0, c + 0.01)) for i, c in enumerate(centre)}
    for step in (None, 0.001):
        space = CompositionSpace(spec, step=step)
        start = time.perf_counter()
        x = space.sample(10_000, seed=0)
        elapsed = time.perf_counter() - start
        assert x.shape == (10_000, k)
        assert space.contains(x).all()
        assert elapsed < 20  # not a benchmark: only catches stalling
        # the draws spread over the box instead of sitting at the starting point
        assert np.all(x.std(axis=0) > 1e-3)


def test_sample_on_grid_hits_every_grid_point() -> None:
    space = CompositionSpace(FREE3, step=0.1)
    x = space.sample(30_000, seed=0)
    assert space.contains(x).all()
    seen = {tuple(r) for r in np.rint(x * 10).astype(int).tolist()}
    assert len(seen) == space.grid_size() == 66


def test_sample_with_max_components_uses_varied_supports() -> None:
    space = CompositionSpace([f"E{i}" for i in range(6)], max_components=2)
    x = space.sample(3000, seed=0)
    assert space.contains(x).all()
    supports = {tuple(np.flatnonzero(r > 1e-12)) for r in x}
    assert len(supports) == math.comb(6, 2)


def test_sample_supports_that_cannot_reach_one_on_the_grid() -> None:
    """Three parts of 0.335 reach 1 as fractions but not on a 0.01 grid (33+33+33 units)."""
    space = CompositionSpace({"A": (0, 0.335), "B": (0, 0.335), "C": (0, 0.335), "D": (0, 0.5)},
                             step=0.01, max_components=3)
    x = space.sample(2000, seed=1)
    assert space.contains(x).all()
    assert np.all(x[:, 3] > 0)
    p = space.project([[0.34, 0.33, 0.33, 0.0]])
    assert space.contains(p).all()


# --------------------------------------------------------------------------- projection
def test_projection_examples() -> None:
    space = CompositionSpace(FREE3)
    np.testing.assert_allclose(space.project([1, 1, 1]), [[1 / 3, 1 / 3, 1 / 3]])
    # the nearest point to a point with a negative part (it used to be clipped first)
    np.testing.assert_allclose(space.project([-0.5, 0.2, 0.2]), [[0.0, 0.5, 0.5]])
    np.testing.assert_allclose(space.project({"A": 2.0}), [[1.0, 0.0, 0.0]])
    assert space.project(np.zeros((0, 3))).shape == (0, 3)
    with pytest.raises(CompositionError, match="NaN"):
        space.project([float("nan"), 0.5, 0.5])
    # max_components: the nearest support is not always the largest parts
    sparse = CompositionSpace({"A": (0, 0.1), "B": None, "C": None}, max_components=2)
    np.testing.assert_allclose(sparse.project([0.6, 0.35, 0.05]), [[0.0, 0.65, 0.35]])
    grid = CompositionSpace(FREE3, step=0.1)
    p = grid.project([0.34, 0.33, 0.33])
    assert grid.contains(p).all() and sorted(p[0].tolist()) == pytest.approx([0.3, 0.3, 0.4])
    np.testing.assert_allclose(grid.project([0.26, 0.26, 0.48]), [[0.3, 0.2, 0.5]])
    np.testing.assert_allclose(grid.project([0.26, 0.26, 0.48], on_grid=False),
                               [[0.26, 0.26, 0.48]])


def test_projection_with_many_support_patterns_uses_local_search() -> None:
    """C(12, 4) = 495 supports > 256: local search; still feasible, still close."""
    space = CompositionSpace({f"E{i}": (0, 0.35 if i % 3 else 1.0) for i in range(12)},
                             step=0.01, max_components=4)
    rng = np.random.default_rng(0)
    x = rng.dirichlet(np.ones(12), size=200)
    p = space.project(x)
    assert space.contains(p).all()
    ref = space.sample(3000, seed=1)
    d_p = ((p - x) ** 2).sum(axis=1)
    d_ref = ((ref[None, :, :] - x[:, None, :]) ** 2).sum(axis=2).min(axis=1)
    assert np.all(d_p <= d_ref + 1e-12)


def test_project_is_exactly_nearest_on_a_small_grid() -> None:
    space = CompositionSpace({"A": (0.1, 0.6), "B": (0, 0.3), "C": None, "D": 0.1, "E": None},
                             step=0.05, max_components=4)
    grid = space.enumerate_grid()
    rng = np.random.default_rng(0)
    x = np.vstack([rng.dirichlet(np.ones(5), size=300), rng.uniform(-0.3, 1.3, size=(300, 5))])
    p = space.project(x)
    best = ((grid[None, :, :] - x[:, None, :]) ** 2).sum(axis=2).min(axis=1)
    np.testing.assert_allclose(((p - x) ** 2).sum(axis=1), best, atol=1e-12)


def test_enumeration_brute_force_tiny() -> None:
    space = CompositionSpace({"A": (0.2, 0.7), "B": (0, 0.5), "C": None}, step=0.1)
    brute = [u for u in itertools.product(range(11), repeat=3) if sum(u) == 10
             and 2 <= u[0] <= 7 and u[1] <= 5]
    assert space.grid_size() == len(brute) == len(space.enumerate_grid())
