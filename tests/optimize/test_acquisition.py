"""Acquisition formulas against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jupyter_matopt.optimize import (
    expected_improvement,
    probability_of_improvement,
    upper_confidence_bound,
)

PHI_1 = 0.8413447460685429  # standard normal CDF at 1
pdf_1 = math.exp(-0.5) / math.sqrt(2 * math.pi)  # 0.24197072451914337


def test_ei_hand_values() -> None:
    # mean 1, std 1, best 0: z = 1, EI = 1 * Phi(1) + 1 * phi(1)
    assert expected_improvement(np.array([1.0]), np.array([1.0]), 0.0)[0] == pytest.approx(
        PHI_1 + pdf_1, rel=1e-12)
    # mean 0, std 2, best 1: z = -0.5, EI = -Phi(-0.5) + 2 phi(0.5) = 0.395593...
    v = expected_improvement(np.array([0.0]), np.array([2.0]), 1.0)[0]
    assert v == pytest.approx(-0.3085375387259869 + 2 * 0.3520653267642995, rel=1e-12)
    assert v == pytest.approx(0.39559311480259, rel=1e-10)
    # xi shifts the incumbent: same as best + xi
    a = expected_improvement(np.array([0.3]), np.array([0.7]), 0.1, xi=0.2)
    b = expected_improvement(np.array([0.3]), np.array([0.7]), 0.3)
    assert a[0] == pytest.approx(b[0])


def test_ei_zero_std_and_limits() -> None:
    ei = expected_improvement(np.array([2.0, -1.0, 5.0]), np.array([0.0, 0.0, 1e-300]), 1.0)
    assert ei.tolist()[:2] == [1.0, 0.0]
    assert ei[2] == pytest.approx(4.0)
    # far below the incumbent: tiny but never negative
    assert expected_improvement(np.array([-50.0]), np.array([1.0]), 0.0)[0] >= 0.0


def test_ei_matches_numerical_integral() -> None:
    mu, sd, best = 0.4, 0.9, 0.7
    y = np.linspace(mu - 12 * sd, mu + 12 * sd, 400_001)
    dens = np.exp(-0.5 * ((y - mu) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))
    numeric = np.trapezoid(np.maximum(y - best, 0) * dens, y)
    assert expected_improvement(np.array([mu]), np.array([sd]), best)[0] == pytest.approx(
        numeric, rel=1e-7)


def test_pi_hand_values() -> None:
    pi = probability_of_improvement
    a = np.array
    assert pi(a([1.0]), a([1.0]), 0.0)[0] == pytest.approx(PHI_1)
    assert pi(a([0.0]), a([1.0]), 0.0)[0] == 0.5
    assert pi(a([1.0, 0.0]), a([0.0, 0.0]), 0.5).tolist() == [1.0, 0.0]
    # xi: Phi((0 - 0 - 1) / 1) = 1 - Phi(1)
    assert pi(a([0.0]), a([1.0]), 0.0, xi=1.0)[0] == pytest.approx(1 - PHI_1)


def test_ucb() -> None:
    a = np.array
    assert upper_confidence_bound(a([1.0, 2.0]), a([0.5, 0.0]), kappa=2.0).tolist() == [2.0, 2.0]
    assert upper_confidence_bound(a([1.0]), a([3.0]), kappa=0.0).tolist() == [1.0]
