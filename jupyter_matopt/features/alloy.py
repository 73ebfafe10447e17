"""Empirical descriptors of (high-entropy) alloys: entropy, size mismatch, VEC, ...

Definitions (``c_i`` atomic fractions of the elements present, which sum to 1):

=================================  ======================================================  ========
label                              definition                                              unit
=================================  ======================================================  ========
``alloy mixing entropy``           ``-R sum_i c_i ln c_i``, ``R = 8.314462618``            J/(mol K)
``alloy size mismatch delta``      ``100 sqrt(sum_i c_i (1 - r_i / r_mean)^2)``            %
``alloy VEC``                      ``sum_i c_i VEC_i``                                     e/atom
``alloy electronegativity delta``  ``sqrt(sum_i c_i (chi_i - chi_mean)^2)``                Pauling
``alloy mean melting T``           ``sum_i c_i Tm_i``                                      K
``alloy mixing enthalpy``          ``sum_{i<j} 4 dH_ij c_i c_j``                           kJ/mol
``alloy Yang omega``               ``Tm_mean S_mix / |dH_mix|``                            1
=================================  ======================================================  ========

Element data (all from matminer's package data, missing entries imputed by the table mean
exactly as matminer's ``MagpieData`` does):

* ``r_i``: Magpie ``MiracleRadius`` (pm), the radii compiled by Miracle et al., Int. Mater.
  Rev. 55, 218 (2010), the same as matminer's ``YangSolidSolution``; so ``delta`` equals 100x
  matminer's "Yang delta". Pass ``radius_property="CovalentRadius"`` (or another Magpie
  table) to change it. Imputed: H, the halogens F-At, the noble gases, Fr-Ac and Am-Lr.
* ``VEC_i``: Magpie ``NValence`` (s + p + d + f valence electrons; for transition metals the
  s + d count used by Guo et al. 2011).
* ``chi_i``: Magpie ``Electronegativity`` (Pauling); He, Ne, Ar, Rn and Lr are imputed.
* ``Tm_i``: Magpie ``MeltingT`` (K); He and Fr are imputed.
* ``dH_ij``: Miedema-model liquid binary mixing enthalpies tabulated by Takeuchi & Inoue,
  Mater. Trans. 46, 2817 (2005) (matminer's ``MiedemaLiquidDeltaHf.tsv``). If a pair of
  present elements is not tabulated, the enthalpy and omega are NaN (matminer's
  ``YangSolidSolution`` silently uses 1e-6 kJ/mol there instead).

``Yang omega`` follows Yang & Zhang (2012) and matminer: ``S_mix`` converted to kJ/(mol K),
``|dH_mix|`` floored at 1e-6 kJ/mol, 0 for a pure element. It differs from matminer's value
by the factor ``8.314462618 / 8.314`` (matminer rounds R).
"""

from __future__ import annotations

import numpy as np

from ..core.composition import CompositionError
from ._batch import Batch
from ._kernels import ALLOY_LABELS, GAS_CONSTANT, alloy_descriptors
from ._tables import magpie_property
from .base import BaseFeaturizer
from .magpie import WARD_2016

__all__ = ["AlloyFeaturizer", "ALLOY_UNITS", "GAS_CONSTANT"]

#: Unit of each alloy feature.
ALLOY_UNITS: dict[str, str] = dict(
    zip(ALLOY_LABELS, ("J/(mol K)", "%", "e/atom", "Pauling", "K", "kJ/mol", "1"), strict=True)
)

_CITATIONS = [
    "@article{Yang2012, author={Yang, X. and Zhang, Y.}, title={Prediction of high-entropy "
    "stabilized solid-solution in multi-component alloys}, journal={Materials Chemistry and "
    "Physics}, volume={132}, number={2-3}, pages={233--238}, year={2012}, "
    "doi={10.1016/j.matchemphys.2011.11.021}}",
    "@article{Guo2011VEC, author={Guo, Sheng and Ng, Chun and Lu, Jian and Liu, C. T.}, "
    "title={Effect of valence electron concentration on stability of fcc or bcc phase in high "
    "entropy alloys}, journal={Journal of Applied Physics}, volume={109}, number={10}, "
    "pages={103505}, year={2011}, doi={10.1063/1.3587228}}",
    "@article{Guo2011Phase, author={Guo, Sheng and Liu, C. T.}, title={Phase stability in high "
    "entropy alloys: Formation of solid-solution phase or amorphous phase}, journal={Progress "
    "in Natural Science: Materials International}, volume={21}, number={6}, pages={433--446}, "
    "year={2011}, doi={10.1016/S1002-0071(12)60080-X}}",
    "@article{Takeuchi2005, author={Takeuchi, Akira and Inoue, Akihisa}, title={Classification "
    "of Bulk Metallic Glasses by Atomic Size Difference, Heat of Mixing and Period of "
    "Constituent Elements and Its Application to Characterization of the Main Alloying "
    "Element}, journal={Materials Transactions}, volume={46}, number={12}, pages={2817--2829}, "
    "year={2005}, doi={10.2320/matertrans.46.2817}}",
    "@article{Miracle2010, author={Miracle, D. B. and Louzguine-Luzgin, D. V. and "
    "Louzguina-Luzgina, L. V. and Inoue, A.}, title={An assessment of binary metallic glasses: "
    "correlations between structure, glass forming ability and stability}, "
    "journal={International Materials Reviews}, volume={55}, number={4}, pages={218--256}, "
    "year={2010}, doi={10.1179/095066010X12646898728200}}",
    WARD_2016,
]


class AlloyFeaturizer(BaseFeaturizer):
    """Mixing entropy, size mismatch, VEC, electronegativity spread, mean melting point,
    Miedema mixing enthalpy and Yang's omega; see the module docstring for definitions,
    units and data sources (:data:`ALLOY_UNITS` maps labels to units).

    Args:
        radius_property: Magpie table for the atomic radii in the size mismatch
            (default ``"MiracleRadius"``, as matminer's ``YangSolidSolution``).
    """

    def __init__(self, radius_property: str = "MiracleRadius") -> None:
        self.radius_property = radius_property

    @classmethod
    def from_preset(cls, preset: str = "alloy") -> AlloyFeaturizer:
        """``"alloy"``: the descriptors of Yang & Zhang (2012) and Guo et al. (2011)."""
        if preset != "alloy":
            raise CompositionError(f"AlloyFeaturizer presets: 'alloy'; got {preset!r}")
        return cls()

    def feature_labels(self) -> list[str]:
        return list(ALLOY_LABELS)

    def citations(self) -> list[str]:
        return list(_CITATIONS)

    def implementors(self) -> list[str]:
        return ["jupyter_matopt contributors"]

    def _compute(self, batch: Batch) -> np.ndarray:
        magpie_property(self.radius_property)  # clear error for an unknown table
        return alloy_descriptors(batch, self.radius_property)
