"""Bayesian optimization of compositions: acquisition functions, ask/tell campaigns,
candidate generation, Pareto fronts and inverse design.

Quick use::

    space = CompositionSpace({"Fe": (0.5, 0.9), "Cr": (0.1, 0.3), "Ni": (0, 0.2), "Mo": 0.02},
                             step=0.005, max_components=4)
    camp = Campaign(space, objective="max", path="steel_campaign.json", seed=0)
    camp.tell(formulas, values)
    batch = camp.suggest(5)
    camp.tell(batch.compositions, measured)
    camp = Campaign.load("steel_campaign.json")
"""

from __future__ import annotations

from ._log import CampaignError, CampaignWarning
from .acquisition import (
    ACQUISITIONS,
    DEFAULT_ACQUISITION,
    Acquisition,
    expected_improvement,
    probability_of_improvement,
    register_acquisition,
    upper_confidence_bound,
)
from .campaign import Campaign, Suggestions
from .generators import CandidateGenerator, SpaceSampler
from .gp import GaussianProcess
from .inverse import inverse_design
from .pareto import hypervolume, hypervolume_improvement, pareto_front

__all__ = [
    "ACQUISITIONS",
    "Acquisition",
    "CandidateGenerator",
    "DEFAULT_ACQUISITION",
    "SpaceSampler",
    "Campaign",
    "CampaignError",
    "CampaignWarning",
    "GaussianProcess",
    "Suggestions",
    "expected_improvement",
    "hypervolume",
    "hypervolume_improvement",
    "inverse_design",
    "pareto_front",
    "probability_of_improvement",
    "register_acquisition",
    "upper_confidence_bound",
]
