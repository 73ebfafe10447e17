"""Composition featurizers in matminer's shape, vectorized with numpy.

Quick use::

    from jupyter_matopt.features import featurize, featurize_fractions

    df = featurize(["Fe2O3", "Al0.5 Co1 Fe1 Ni1"])              # 132 Magpie columns
    df = featurize(series, preset="magpie+alloy")                # combined presets
    X = featurize_fractions(fractions, ["Fe", "Cr", "Ni"])       # fast path, ndarray

Featurizer classes (scikit-learn transformers, matminer-style API): :class:`MagpieFeaturizer`,
:class:`ElementFractionFeaturizer`, :class:`AlloyFeaturizer`, :class:`MultipleFeaturizer`.
Element data come from matminer's package data, loaded lazily on first use.
"""

from __future__ import annotations

from ._tables import ELEMENTS, MAGPIE_PROPERTIES, MAGPIE_STATS, MAX_Z
from .alloy import ALLOY_UNITS, AlloyFeaturizer
from .base import BaseFeaturizer, MultipleFeaturizer
from .element_fraction import ElementFractionFeaturizer
from .magpie import MagpieFeaturizer
from .presets import PRESETS, feature_labels, featurize, featurize_fractions, featurizer_from_preset

__all__ = [
    "featurize",
    "featurize_fractions",
    "feature_labels",
    "featurizer_from_preset",
    "PRESETS",
    "BaseFeaturizer",
    "MultipleFeaturizer",
    "MagpieFeaturizer",
    "ElementFractionFeaturizer",
    "AlloyFeaturizer",
    "ALLOY_UNITS",
    "ELEMENTS",
    "MAGPIE_PROPERTIES",
    "MAGPIE_STATS",
    "MAX_Z",
]
