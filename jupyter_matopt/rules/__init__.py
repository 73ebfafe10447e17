"""Plausibility rules shared by generation, screening, campaigns and the sliders.

* Compounds: SMACT charge neutrality and electronegativity balance
  (:func:`compound_rules`, after converting fractions to the smallest integer formula).
* Alloys: mixing entropy, size mismatch, Yang's omega, VEC and Miedema mixing enthalpy with
  the published solid-solution thresholds (:func:`alloy_rules`).
* :func:`plausibility`: both, plus ``kind`` (``"alloy"`` or ``"compound"``) and one
  ``plausible`` flag.

Quick use::

    from jupyter_matopt.rules import plausibility
    plausibility(["NaCl", "Fe3O4", "CoCrFeMnNi"], mixed_valence=True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._inputs import RulesError, as_fractions
from .alloy import THRESHOLDS, alloy_rules
from .compound import (
    SMACT_CITATION,
    compound_rules,
    compound_validity,
    integer_formulas,
    oxidation_states,
)

__all__ = [
    "RulesError",
    "plausibility",
    "compound_rules",
    "compound_validity",
    "alloy_rules",
    "integer_formulas",
    "oxidation_states",
    "is_alloy",
    "THRESHOLDS",
    "SMACT_CITATION",
]

#: Largest atomic fraction of non-metals (C, N, Si, B, ... in SMACT's sense) in an "alloy":
#: steels and HEAs carry a few % of interstitials and metalloids.
NONMETAL_ALLOY_MAX = 0.1


def is_alloy(X: np.ndarray, elements: Sequence[str]) -> np.ndarray:
    """Rows whose non-metal fraction (SMACT's metal list) is at most 10 at.%."""
    from .compound import _metals

    metal = np.array([e in _metals() for e in elements])
    X = np.asarray(X, dtype=float)
    return X[:, ~metal].sum(axis=1) <= NONMETAL_ALLOY_MAX + 1e-12


def plausibility(
    compositions: Any,
    elements: Sequence[str] | None = None,
    *,
    mixed_valence: bool = False,
    tol: float = 0.01,
    max_atoms: int = 30,
) -> pd.DataFrame:
    """Compound and alloy rules for each composition.

    ``kind`` is ``"alloy"`` when non-metals make up at most 10 at.% (:func:`is_alloy`), else
    ``"compound"``. ``plausible`` is the solid-solution criterion (Yang & Zhang) for alloys
    (True for a pure element) and SMACT's charge neutrality with electronegativity balance
    for compounds.

    Args:
        compositions: Formulas or mappings, a DataFrame with element columns, or an
            ``(n, k)`` fraction array with ``elements``.
        elements: Element symbols of the array's columns.
        mixed_valence: As in :func:`compound_rules`.
        tol: Tolerance of the integer formula.
        max_atoms: Largest formula unit tried.

    Returns:
        The columns of :func:`compound_rules` and :func:`alloy_rules`, then ``kind`` and
        ``plausible``.

    Raises:
        RulesError: for malformed compositions or options.
    """
    X, els = as_fractions(compositions, elements)
    comp = compound_rules(X, els, mixed_valence=mixed_valence, tol=tol, max_atoms=max_atoms)
    alloy = alloy_rules(X, els)
    out = pd.concat([comp, alloy], axis=1)
    alloyish = is_alloy(X, els)
    out["kind"] = np.where(alloyish, "alloy", "compound")
    single = (X > 0).sum(axis=1) == 1  # a pure element: no mixing rule applies
    out["plausible"] = np.where(alloyish, out["solid_solution"] | single,
                                out["electronegativity_balanced"])
    return out

