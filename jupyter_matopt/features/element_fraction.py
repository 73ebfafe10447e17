"""Atomic fraction of each element, one column per element (as matminer's ElementFraction)."""

from __future__ import annotations

import numpy as np

from ..core.composition import CompositionError
from ._batch import Batch
from ._kernels import element_fractions
from ._tables import ELEMENTS
from .base import BaseFeaturizer

__all__ = ["ElementFractionFeaturizer"]


class ElementFractionFeaturizer(BaseFeaturizer):
    """Atomic fraction of each element H..Lr; labels are the element symbols.

    matminer's ``ElementFraction`` has the same labels and values for its first 103 columns
    (it continues to Og); we stop at Lr, the last element with Magpie data.
    """

    def __init__(self) -> None:
        pass

    @classmethod
    def from_preset(cls, preset: str = "element_fraction") -> ElementFractionFeaturizer:
        """``"element_fraction"``: the only preset."""
        if preset != "element_fraction":
            raise CompositionError(
                f"ElementFractionFeaturizer presets: 'element_fraction'; got {preset!r}"
            )
        return cls()

    def feature_labels(self) -> list[str]:
        return list(ELEMENTS)

    def citations(self) -> list[str]:
        return []

    def implementors(self) -> list[str]:
        return ["jupyter_matopt contributors (after matminer's ElementFraction)"]

    def _compute(self, batch: Batch) -> np.ndarray:
        return element_fractions(batch)
