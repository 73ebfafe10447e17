"""Generative inverse design over compositions.

* :class:`CompositionGenerator`: a Wasserstein or variational autoencoder over composition
  vectors with a Gaussian mixture in its latent space (numpy; no extra needed).
* :func:`generation_report`: validity, uniqueness, novelty, distribution distances and
  enrichment of a set of generated candidates.
* :func:`rank_candidates`: Rao et al.'s ranking by a weighted sum of the ranks of the
  predicted mean and uncertainty, with plausibility, domain and novelty columns
  (what ``inverse_design(model, generator=gen, ...)`` returns).
"""

from __future__ import annotations

from .generator import CompositionGenerator, GenerateError, formulas

__all__ = ["CompositionGenerator", "GenerateError", "formulas", "generation_report",
           "rank_candidates"]


def __getattr__(name: str):  # noqa: ANN202 - lazy: the report and ranking pull in models
    if name == "generation_report":
        from .report import generation_report

        return generation_report
    if name == "rank_candidates":
        from .ranking import rank_candidates

        return rank_candidates
    raise AttributeError(name)
