"""Magpie element-property statistics (Ward et al. 2016), identical to matminer's preset."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.composition import CompositionError
from ._batch import Batch
from ._kernels import magpie_stats
from ._tables import MAGPIE_PROPERTIES, MAGPIE_STATS, magpie_property, magpie_table
from .base import BaseFeaturizer

__all__ = ["MagpieFeaturizer", "WARD_2016"]

WARD_2016 = (
    "@article{ward_agrawal_choudary_wolverton_2016, title={A general-purpose machine learning "
    "framework for predicting properties of inorganic materials}, volume={2}, "
    "DOI={10.1038/npjcompumats.2017.28}, number={1}, journal={npj Computational Materials}, "
    "author={Ward, Logan and Agrawal, Ankit and Choudhary, Alok and Wolverton, Christopher}, "
    "year={2016}}"
)


class MagpieFeaturizer(BaseFeaturizer):
    """Weighted statistics of Magpie elemental properties.

    With the defaults this reproduces matminer's
    ``ElementProperty.from_preset("magpie")``: 22 properties x (minimum, maximum, range,
    mean, avg_dev, mode) = 132 features, with the same labels (``"MagpieData mean Number"``),
    order and values (agreement to ~1e-12 relative; see ``tests/features``). Element data are
    matminer's Magpie tables with missing values imputed by the table mean, as matminer does.

    Statistics, with ``c_i`` the atomic fractions of the elements present:
        * ``minimum``/``maximum``/``range``: over the elements present (``c_i > 0``);
        * ``mean``: ``sum_i c_i x_i``;
        * ``avg_dev``: ``sum_i c_i |x_i - mean|``;
        * ``mode``: ``x`` of the element with the largest fraction; on ties (fractions
          ``np.isclose`` to the largest) the smallest of their values, as matminer.

    Supported elements: H..Lr (Z = 1-103).

    Args:
        properties: Magpie table names (any ``*.table`` in matminer's
            ``magpie_elementdata`` except ``OxidationStates``). Default: the 22 of the preset.
        stats: A subset of ``("minimum", "maximum", "range", "mean", "avg_dev", "mode")``.
    """

    def __init__(
        self,
        properties: Sequence[str] = MAGPIE_PROPERTIES,
        stats: Sequence[str] = MAGPIE_STATS,
    ) -> None:
        self.properties = properties
        self.stats = stats

    def _check(self) -> tuple[tuple[str, ...], list[int]]:
        props = (self.properties,) if isinstance(self.properties, str) else self.properties
        stats = (self.stats,) if isinstance(self.stats, str) else self.stats
        unknown = [s for s in stats if s not in MAGPIE_STATS]
        if unknown:
            raise CompositionError(
                f"unknown statistic(s) {unknown}; choose from {list(MAGPIE_STATS)}"
            )
        for p in props:
            magpie_property(p)  # raises ValueError naming the available tables
        return tuple(props), [MAGPIE_STATS.index(s) for s in stats]

    @classmethod
    def from_preset(cls, preset: str = "magpie") -> MagpieFeaturizer:
        """``"magpie"``: the 132 features of Ward et al. (2016), as in matminer."""
        if preset != "magpie":
            raise CompositionError(f"MagpieFeaturizer presets: 'magpie'; got {preset!r}")
        return cls()

    def feature_labels(self) -> list[str]:
        props, stat_idx = self._check()
        return [f"MagpieData {MAGPIE_STATS[s]} {p}" for p in props for s in stat_idx]

    def citations(self) -> list[str]:
        return [WARD_2016]

    def implementors(self) -> list[str]:
        return ["jupyter_matopt contributors (after matminer's ElementProperty by Logan Ward)"]

    def _compute(self, batch: Batch) -> np.ndarray:
        props, stat_idx = self._check()
        res = magpie_stats(batch, magpie_table(props))
        n_out = len(props) * len(stat_idx)
        if stat_idx == list(range(len(MAGPIE_STATS))):
            return res.reshape(len(batch), n_out)
        return res[:, :, stat_idx].reshape(len(batch), n_out)
