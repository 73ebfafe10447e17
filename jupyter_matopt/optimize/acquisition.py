"""Acquisition functions, written for maximization, and the registry of their names.

A campaign that minimizes negates its objective before it reaches these functions, so
"improvement" always means "larger". Every function takes the predictive mean and standard
deviation of a Gaussian posterior and returns one score per candidate (larger is better).

How to add an acquisition (one class): subclass :class:`Acquisition`, set ``name`` (and
``multi_objective``), implement :meth:`Acquisition.score`, and decorate it with
:func:`register_acquisition`. ``Campaign(acquisition=name)``, the ``%matopt suggest
--acquisition`` choices and :data:`ACQUISITIONS` all read this registry; the defaults
(:data:`DEFAULT_ACQUISITION`, :data:`DEFAULT_KAPPA`, :data:`DEFAULT_XI`) live here only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.special import ndtr

__all__ = [
    "expected_improvement",
    "probability_of_improvement",
    "upper_confidence_bound",
    "ACQUISITIONS",
    "Acquisition",
    "AcquisitionContext",
    "DEFAULT_ACQUISITION",
    "DEFAULT_MULTI_ACQUISITION",
    "DEFAULT_KAPPA",
    "DEFAULT_XI",
    "acquisition_names",
    "describe_acquisitions",
    "get_acquisition",
    "register_acquisition",
]

#: The acquisition of a single-objective campaign. Why UCB: in the pool benchmark
#: (``bench/bo.py``, Liang et al. 2021 protocol, 6 pools) it found more of the top 5 % than EI
#: on every pool (e.g. MPEA hardness 0.94 vs 0.36, thermoelectric zT 0.92 vs 0.78 at a 30 %
#: budget, 10 seeds): EI settles near the incumbent when the data are noisy.
DEFAULT_ACQUISITION = "ucb"
#: The acquisition of a campaign with 2-3 objectives.
DEFAULT_MULTI_ACQUISITION = "ehvi"
#: Weight of the std in UCB/LCB. Why 1: on seeds kept apart from the benchmark's, kappa=1
#: found as much of the top 5 % as kappa=2 or more on 5 of the 6 pools (AutoAM 0.64 vs 0.37,
#: 30 seeds) and kappa 0.5, 1.5 and 3 did not do better.
DEFAULT_KAPPA = 1.0
#: Margin of EI/PI, in units of the standard deviation of the observed values.
DEFAULT_XI = 0.0

_REGISTRY: dict[str, type[Acquisition]] = {}


@dataclass
class AcquisitionContext:
    """What an acquisition may use besides the predictions (maximization frame).

    Attributes:
        best: The incumbent (largest observed value of the objective, sign-adjusted).
        sd_y: Standard deviation of the observed values (1 when they are all equal).
        kappa: UCB weight. xi: EI/PI margin in units of ``sd_y``.
    """

    best: float = 0.0
    sd_y: float = 1.0
    kappa: float = DEFAULT_KAPPA
    xi: float = DEFAULT_XI


class Acquisition:
    """One acquisition function (single objective unless ``multi_objective``).

    Class attributes: ``name`` (registry key), ``aliases``, ``single_objective`` and
    ``multi_objective`` (where it is allowed), ``uses_model`` (False: no surrogate is
    fitted, e.g. random), ``optimistic`` (ties of a flat score need no extra breaking),
    ``needs_incumbent``, ``summary`` (one line for help texts).
    """

    name: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    single_objective: ClassVar[bool] = True
    multi_objective: ClassVar[bool] = False
    uses_model: ClassVar[bool] = True
    optimistic: ClassVar[bool] = False
    #: Scores improvement over the incumbent: without measurements (a campaign ranked by a
    #: prior model) the predicted mean is used instead.
    needs_incumbent: ClassVar[bool] = False
    summary: ClassVar[str] = ""

    def score(self, mean: np.ndarray, std: np.ndarray, ctx: AcquisitionContext) -> np.ndarray:
        """Scores of single-objective predictions (larger is better)."""
        raise NotImplementedError(f"{self.name} has no single-objective score")


def register_acquisition(cls: type[Acquisition]) -> type[Acquisition]:
    """Class decorator: make ``cls`` (and its aliases) available by name."""
    for key in (cls.name, *cls.aliases):
        _REGISTRY[key] = cls
    return cls


def get_acquisition(name: str) -> Acquisition:
    """A new instance of the acquisition registered as ``name``.

    Raises:
        KeyError: for an unknown name (``Campaign`` turns it into a CampaignError).
    """
    return _REGISTRY[str(name).lower()]()


def acquisition_names(*, objectives: int | None = None) -> tuple[str, ...]:
    """Registered names (aliases included) in registration order; with ``objectives``, only
    those allowed for that many objectives."""
    out = []
    for key, cls in _REGISTRY.items():
        if objectives is None or (cls.single_objective if objectives == 1
                                  else cls.multi_objective):
            out.append(key)
    return tuple(out)


def describe_acquisitions(*, objectives: int = 1) -> str:
    """``"ucb/lcb, optimistic ...; ei, ..."``: the names and summaries, for help texts."""
    seen: dict[type[Acquisition], list[str]] = {}
    for key in acquisition_names(objectives=objectives):
        seen.setdefault(_REGISTRY[key], []).append(key)
    return "; ".join(f"{'/'.join(keys)}, {cls.summary}" for cls, keys in seen.items())

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


# --------------------------------------------------------------------------- the registry
@register_acquisition
class ExpectedImprovement(Acquisition):
    name = "ei"
    needs_incumbent = True
    summary = "expected improvement"

    def score(self, mean: np.ndarray, std: np.ndarray, ctx: AcquisitionContext) -> np.ndarray:
        return expected_improvement(mean, std, ctx.best, xi=ctx.xi * ctx.sd_y)


@register_acquisition
class ProbabilityOfImprovement(Acquisition):
    name = "pi"
    needs_incumbent = True
    summary = "probability of improvement"

    def score(self, mean: np.ndarray, std: np.ndarray, ctx: AcquisitionContext) -> np.ndarray:
        return probability_of_improvement(mean, std, ctx.best, xi=ctx.xi * ctx.sd_y)


@register_acquisition
class UpperConfidenceBound(Acquisition):
    # "lcb" is the same score: a minimized objective is negated before it gets here
    name = "ucb"
    aliases = ("lcb",)
    optimistic = True
    summary = "optimistic confidence bound mean +- kappa * std"

    def score(self, mean: np.ndarray, std: np.ndarray, ctx: AcquisitionContext) -> np.ndarray:
        return upper_confidence_bound(mean, std, kappa=ctx.kappa)


@register_acquisition
class Greedy(Acquisition):
    name = "greedy"
    multi_objective = True  # the hypervolume improvement of the predicted means
    optimistic = True
    summary = "predicted mean"

    def score(self, mean: np.ndarray, std: np.ndarray, ctx: AcquisitionContext) -> np.ndarray:
        return np.asarray(mean, dtype=float)


@register_acquisition
class RandomChoice(Acquisition):
    name = "random"
    multi_objective = True
    uses_model = False
    summary = "uniform random baseline"


@register_acquisition
class ExpectedHypervolumeImprovement(Acquisition):
    name = "ehvi"
    single_objective = False
    multi_objective = True
    summary = "Monte-Carlo expected hypervolume improvement"


#: Names accepted by ``Campaign(acquisition=...)`` (from the registry).
ACQUISITIONS: tuple[str, ...] = acquisition_names()
