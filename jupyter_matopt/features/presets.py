"""One-call featurization by preset name: :func:`featurize`, :func:`featurize_fractions`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..core.composition import CompositionError
from ._batch import as_items, batch_from_fractions
from .alloy import AlloyFeaturizer
from .base import BaseFeaturizer, MultipleFeaturizer
from .element_fraction import ElementFractionFeaturizer
from .magpie import MagpieFeaturizer

__all__ = [
    "PRESETS",
    "featurizer_from_preset",
    "featurize",
    "featurize_fractions",
    "feature_labels",
]

_FACTORIES: dict[str, Callable[[], BaseFeaturizer]] = {
    "magpie": MagpieFeaturizer,
    "element_fraction": ElementFractionFeaturizer,
    "alloy": AlloyFeaturizer,
}

#: Preset names; combine them with a list or ``"+"`` (``"magpie+alloy"``).
PRESETS: tuple[str, ...] = tuple(_FACTORIES)

Preset = str | Sequence[str]


def _preset_names(preset: Preset) -> list[str]:
    names = preset.split("+") if isinstance(preset, str) else list(preset)
    names = [n.strip() for n in names]
    unknown = [n for n in names if n not in _FACTORIES]
    if not names or unknown:
        raise CompositionError(
            f"unknown feature preset {unknown[0] if unknown else preset!r}; choose from "
            f"{list(PRESETS)} or a '+'-joined combination such as 'magpie+alloy'"
        )
    if len(set(names)) != len(names):
        raise CompositionError(f"feature preset {preset!r} repeats a name")
    return names


def featurizer_from_preset(preset: Preset = "magpie") -> BaseFeaturizer:
    """The featurizer for a preset name, a list of names, or a ``"+"``-joined combination."""
    names = _preset_names(preset)
    if len(names) == 1:
        return _FACTORIES[names[0]]()
    return MultipleFeaturizer([_FACTORIES[n]() for n in names])


def feature_labels(preset: Preset = "magpie") -> list[str]:
    """Column labels that :func:`featurize` returns for ``preset``."""
    return featurizer_from_preset(preset).feature_labels()


def featurize(
    compositions: Any,
    preset: Preset = "magpie",
    *,
    errors: Literal["raise", "nan"] = "raise",
) -> pd.DataFrame:
    """Featurize compositions into a DataFrame.

    With ``preset="magpie"`` the columns, their order and their values are those of
    matminer's ``ElementProperty.from_preset("magpie")`` (132 columns), computed about two
    orders of magnitude faster.

    Args:
        compositions: Formula strings, mappings of element to amount or pymatgen
            Compositions, as a list/tuple/array/Series (a single one is one row).
        preset: ``"magpie"``, ``"element_fraction"``, ``"alloy"``, or a combination as a
            list or ``"+"``-joined string (``"magpie+alloy"``).
        errors: ``"raise"`` (default) raises one ``CompositionError`` naming the invalid rows;
            ``"nan"`` returns NaN features for them.

    Returns:
        One row per input; the index is the input Series' index, else the position.

    Raises:
        CompositionError: invalid or unsupported (Z > 103) compositions, unknown preset.
    """
    featurizer = featurizer_from_preset(preset)
    items, index = as_items(compositions)
    values = featurizer.featurize_many(items, ignore_errors=errors == "nan", labels=index)
    return pd.DataFrame(values, index=index, columns=featurizer.feature_labels())


def featurize_fractions(
    X: Any,
    elements: Sequence[str] | None = None,
    preset: Preset = "magpie",
) -> np.ndarray:
    """Fast path: features of an ``(n, k)`` fraction matrix over a fixed element list.

    Rows are normalized to sum to 1; a zero means the element is absent. No per-row Python
    runs: the ``(k, p)`` property submatrix is gathered once and rows are processed in
    cache-sized chunks. The result equals :func:`featurize` on the same compositions.

    Args:
        X: ``(n, k)`` nonnegative amounts (array-like, or a DataFrame whose columns are the
            element symbols when ``elements`` is None).
        elements: The ``k`` element symbols, one per column.
        preset: As in :func:`featurize`.

    Returns:
        ``(n, n_features)`` float64 array; columns as ``feature_labels(preset)``.

    Raises:
        CompositionError: unsupported element, shape mismatch, or a row that is negative,
            non-finite or all zero.
    """
    featurizer = featurizer_from_preset(preset)
    return featurizer._compute(batch_from_fractions(X, elements))
