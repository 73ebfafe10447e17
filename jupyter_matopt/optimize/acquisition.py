"""Acquisition functions, written for maximization.

A campaign that minimizes negates its objective before it reaches these functions, so
"improvement" always means "larger". Every function takes the predictive mean and standard
deviation of a Gaussian posterior and returns one score per candidate (larger is better).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

__all__ = [
    "expected_improvement",
    "probability_of_improvement",
    "upper_confidence_bound",
    "ACQUISITIONS",
]

#: Names accepted by ``Campaign(acquisition=...)``.
ACQUISITIONS = ("ei", "pi", "ucb", "lcb", "greedy", "random", "ehvi")

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def _normal_pdf(z: np.ndarray) -> np.ndarray:
    return _INV_SQRT_2PI * np.exp(-0.5 * z * z)


def _arrays(mean: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu = np.asarray(mean, dtype=float)
    sd = np.maximum(np.asarray(std, dtype=float), 0.0)
    return np.broadcast_arrays(mu, sd)  # type: ignore[return-value]


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float, *,
                         xi: float = 0.0) -> np.ndarray:
    """Expected improvement over ``best + xi`` of a Gaussian ``N(mean, std**2)``.

    ``EI = (mean - best - xi) * Phi(z) + std * phi(z)`` with ``z = (mean - best - xi) / std``
    (Jones et al. 1998); where ``std == 0`` it is ``max(mean - best - xi, 0)``.

    Args:
        mean: Predictive means.
        std: Predictive standard deviations (same shape as ``mean``).
        best: The incumbent (largest value observed so far).
        xi: Extra margin that favours exploration (in the units of ``mean``).

    Returns:
        Non-negative scores, one per candidate.
    """
    mu, sd = _arrays(mean, std)
    imp = mu - float(best) - float(xi)
    pos = sd > 0
    # beyond |z| = 40 the normal tails are 0 or 1 in double precision anyway
    z = np.clip(np.divide(imp, sd, out=np.zeros_like(imp), where=pos), -40.0, 40.0)
    ei = imp * ndtr(z) + sd * _normal_pdf(z)
    return np.where(pos, np.maximum(ei, 0.0), np.maximum(imp, 0.0))


def probability_of_improvement(mean: np.ndarray, std: np.ndarray, best: float, *,
                               xi: float = 0.0) -> np.ndarray:
    """Probability that a Gaussian ``N(mean, std**2)`` exceeds ``best + xi`` (Kushner 1964).

    ``PI = Phi((mean - best - xi) / std)``; where ``std == 0`` it is 1 if ``mean`` exceeds
    ``best + xi`` and 0 otherwise.

    Args:
        mean: Predictive means.
        std: Predictive standard deviations.
        best: The incumbent.
        xi: Margin above the incumbent.

    Returns:
        Probabilities in ``[0, 1]``.
    """
    mu, sd = _arrays(mean, std)
    imp = mu - float(best) - float(xi)
    pos = sd > 0
    z = np.divide(imp, sd, out=np.zeros_like(imp), where=pos)
    return np.where(pos, ndtr(z), (imp > 0).astype(float))


def upper_confidence_bound(mean: np.ndarray, std: np.ndarray, *,
                           kappa: float = 2.0) -> np.ndarray:
    """Optimistic confidence bound ``mean + kappa * std`` (Srinivas et al. 2010).

    For a minimized objective the campaign negates the values first, so this is the lower
    confidence bound ``mean - kappa * std`` of the original objective ("lcb").

    Args:
        mean: Predictive means.
        std: Predictive standard deviations.
        kappa: Weight of the uncertainty (``sqrt(beta)``).

    Returns:
        Scores, one per candidate.
    """
    mu, sd = _arrays(mean, std)
    return mu + float(kappa) * sd
