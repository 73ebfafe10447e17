"""Pareto fronts and exact hypervolumes against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from jupyter_matopt.optimize import hypervolume, hypervolume_improvement, pareto_front


def brute_front(Y: np.ndarray, sign: np.ndarray) -> np.ndarray:
    Z = Y * sign
    out = []
    for i in range(len(Z)):
        dominated = any(np.all(Z[j] >= Z[i]) and np.any(Z[j] > Z[i]) for j in range(len(Z)))
        out.append(not dominated)
    return np.array(out, dtype=bool)


def brute_hv(Y: np.ndarray, ref: np.ndarray, sign: np.ndarray) -> float:
    """Inclusion-exclusion over all subsets of the boxes [ref, y]."""
    Z = Y * sign
    r = ref * sign
    Z = [z for z in Z if np.all(z > r)]
    total = 0.0
    for k in range(1, len(Z) + 1):
        for S in itertools.combinations(Z, k):
            total += (-1) ** (k + 1) * float(np.prod(np.min(S, axis=0) - r))
    return total


def test_docstring_examples() -> None:
    assert pareto_front([[1, 2], [2, 1], [0, 0]], ["max", "max"]).tolist() == [True, True, False]
    assert hypervolume([[1, 2], [2, 1]], ref=[0, 0]) == 3.0
    assert hypervolume([[1, 2], [2, 1]], ref=[3, 3], directions="min") == 3.0


@settings(max_examples=150, deadline=None)
@given(
    m=st.integers(1, 3),
    n=st.integers(1, 9),
    data=st.data(),
)
def test_hypervolume_matches_inclusion_exclusion(m: int, n: int, data: st.DataObject) -> None:
    # coarse values so that ties and duplicates occur
    Y = data.draw(arrays(float, (n, m), elements=st.integers(0, 6).map(float)))
    dirs = data.draw(st.lists(st.sampled_from(["max", "min"]), min_size=m, max_size=m))
    sign = np.array([1.0 if d == "max" else -1.0 for d in dirs])
    ref = np.where(sign > 0, 0.5, 5.5)
    hv = hypervolume(Y, ref, dirs)
    assert hv == pytest.approx(brute_hv(Y, ref, sign), abs=1e-9)
    assert pareto_front(Y, dirs).tolist() == brute_front(Y, sign).tolist()
    P = data.draw(arrays(float, (3, m), elements=st.floats(0, 7, allow_nan=False)))
    hvi = hypervolume_improvement(P, Y, ref, dirs)
    expect = [hypervolume(np.vstack([Y, p]), ref, dirs) - hv for p in P]
    np.testing.assert_allclose(hvi, expect, atol=1e-9)


def test_random_continuous_3d() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        Y = rng.random((10, 3))
        ref = np.zeros(3)
        assert hypervolume(Y, ref) == pytest.approx(brute_hv(Y, ref, np.ones(3)), rel=1e-12)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="direction"):
        pareto_front([[1, 2]], ["max", "up"])
    with pytest.raises(ValueError, match="reference point"):
        hypervolume([[1, 2]], [0, 0, 0])
    assert hypervolume(np.zeros((0, 2)), [0, 0]) == 0.0
    assert not pareto_front([[np.nan, 1.0]]).any()
