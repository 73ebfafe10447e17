"""Solid-solution rules of (high-entropy) alloys, vectorized over fraction matrices.

Descriptors (definitions and element data in :mod:`jupyter_matopt.features.alloy`; element
data and the Miedema binary enthalpies of Takeuchi & Inoue, Mater. Trans. 46, 2817 (2005),
doi:10.2320/matertrans.46.2817, are the tables matminer ships):

* ``mixing_entropy`` ``S_mix = -R sum c_i ln c_i`` in J/(mol K);
* ``delta`` the atomic-size mismatch ``100 sqrt(sum c_i (1 - r_i/r_mean)^2)`` in %, Miracle radii;
* ``mixing_enthalpy`` ``sum_{i<j} 4 dH_ij c_i c_j`` in kJ/mol (NaN when a pair is untabulated);
* ``omega`` Yang's ``Tm S_mix / |dH_mix|``;
* ``vec`` the valence electron concentration.

Published thresholds, each a flag column:

* ``yang_solid_solution``: ``omega >= 1.1`` and ``delta <= 6.6 %`` — Yang & Zhang, Mater.
  Chem. Phys. 132, 233 (2012), doi:10.1016/j.matchemphys.2011.11.021.
* ``guo_solid_solution``: ``-22 <= dH_mix <= 7 kJ/mol``, ``delta <= 8.5 %`` and
  ``11 <= S_mix <= 19.5 J/(mol K)`` — Guo & Liu, Prog. Nat. Sci. 21, 433 (2011),
  doi:10.1016/S1002-0071(12)60080-X.
* ``vec_phase``: ``"fcc"`` for ``VEC >= 8.0``, ``"bcc"`` for ``VEC < 6.87``, else
  ``"fcc+bcc"`` — Guo, Ng, Lu & Liu, J. Appl. Phys. 109, 103505 (2011), doi:10.1063/1.3587228.

``solid_solution`` is the Yang & Zhang criterion (the one used for screening HEAs most often).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..core.composition import CompositionError
from ._inputs import RulesError, as_fractions

__all__ = ["alloy_rules", "THRESHOLDS"]

#: The thresholds used, with their sources.
THRESHOLDS: dict[str, Any] = {
    "yang_omega_min": 1.1,           # Yang & Zhang 2012
    "yang_delta_max": 6.6,           # Yang & Zhang 2012, %
    "guo_enthalpy_range": (-22.0, 7.0),   # Guo & Liu 2011, kJ/mol
    "guo_delta_max": 8.5,                 # Guo & Liu 2011, %
    "guo_entropy_range": (11.0, 19.5),    # Guo & Liu 2011, J/(mol K)
    "vec_fcc_min": 8.0,              # Guo et al. 2011
    "vec_bcc_max": 6.87,             # Guo et al. 2011
}


def alloy_rules(compositions: Any, elements: Sequence[str] | None = None) -> pd.DataFrame:
    """Solid-solution descriptors and the published single-phase criteria.

    Args:
        compositions: Formulas or mappings, a DataFrame with element columns, or an
            ``(n, k)`` fraction array with ``elements``.
        elements: Element symbols of the array's columns.

    Returns:
        DataFrame with ``mixing_entropy``, ``delta``, ``mixing_enthalpy``, ``omega``, ``vec``,
        ``yang_solid_solution``, ``guo_solid_solution``, ``vec_phase`` and
        ``solid_solution`` (see the module docstring).

    Raises:
        RulesError: for malformed compositions or an element without tabulated data.
    """
    from ..features import featurize_fractions

    X, els = as_fractions(compositions, elements)
    try:
        F = featurize_fractions(X, els, preset="alloy")
    except CompositionError as e:
        raise RulesError(str(e)) from None
    s, d, vec, _, _, h, om = (F[:, j] for j in range(7))
    t = THRESHOLDS
    with np.errstate(invalid="ignore"):
        yang = (om >= t["yang_omega_min"]) & (d <= t["yang_delta_max"])
        lo, hi = t["guo_enthalpy_range"]
        slo, shi = t["guo_entropy_range"]
        guo = (h >= lo) & (h <= hi) & (d <= t["guo_delta_max"]) & (s >= slo) & (s <= shi)
    phase = np.where(vec >= t["vec_fcc_min"], "fcc",
                     np.where(vec < t["vec_bcc_max"], "bcc", "fcc+bcc"))
    return pd.DataFrame({
        "mixing_entropy": s, "delta": d, "mixing_enthalpy": h, "omega": om, "vec": vec,
        "yang_solid_solution": yang, "guo_solid_solution": guo, "vec_phase": phase,
        "solid_solution": yang,
    })
