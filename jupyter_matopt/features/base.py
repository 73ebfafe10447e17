"""The featurizer base class, in the shape of matminer's ``BaseFeaturizer``.

A featurizer turns compositions into a fixed-length float vector. Following matminer:
every option is an ``__init__`` keyword (stored unchanged, so scikit-learn's ``get_params``
and ``clone`` work); no method changes the featurizer's state (``fit`` returns ``self``);
``feature_labels``, ``citations`` and ``implementors`` describe the output; ``from_preset``
builds literature settings. Unlike matminer, the batch methods are vectorized: subclasses
implement :meth:`BaseFeaturizer._compute` on a whole :class:`~._batch.Batch` at once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from ..core.composition import CompositionError
from ._batch import Batch, as_items, batch_from_compositions, batch_from_fractions

__all__ = ["BaseFeaturizer", "MultipleFeaturizer"]


class BaseFeaturizer(BaseEstimator, TransformerMixin, ABC):  # type: ignore[misc]
    """Base class for composition featurizers.

    Subclasses implement :meth:`feature_labels`, :meth:`citations`, :meth:`implementors`,
    :meth:`_compute` and, where literature settings exist, :meth:`from_preset`.

    Accepted compositions everywhere: formula strings (``"Fe2O3"``, ``"Al0.5 Co1 Fe1 Ni1"``),
    mappings of element to amount, and pymatgen ``Composition`` objects; amounts are
    normalized, so ``Fe0.5O0.5`` and ``Fe2O2`` give the same features.
    """

    # ----- to implement -------------------------------------------------------------------
    @abstractmethod
    def feature_labels(self) -> list[str]:
        """Names of the features, in output order."""

    @abstractmethod
    def citations(self) -> list[str]:
        """BibTeX entries to cite when using these features."""

    @abstractmethod
    def implementors(self) -> list[str]:
        """Who implemented this featurizer."""

    @abstractmethod
    def _compute(self, batch: Batch) -> np.ndarray:
        """Features of a batch as an ``(n, n_features)`` float64 array."""

    @classmethod
    def from_preset(cls, preset: str) -> BaseFeaturizer:
        """A featurizer with literature settings; see each subclass for the names."""
        raise CompositionError(f"{cls.__name__} has no preset {preset!r}")

    # ----- single and batch featurization ---------------------------------------------------
    def featurize(self, comp: Any) -> list[float]:
        """Features of one composition as a list of floats.

        Raises:
            CompositionError: for an unparsable composition or an unsupported element.
        """
        return self.featurize_many([comp])[0].tolist()

    def featurize_many(
        self,
        entries: Any,
        *,
        ignore_errors: bool = False,
        labels: Sequence[Any] | None = None,
    ) -> np.ndarray:
        """Features of many compositions as an ``(n, n_features)`` float64 array.

        Args:
            entries: A list, tuple, array or Series of compositions.
            ignore_errors: If True, rows that cannot be featurized are NaN instead of raising.
            labels: Row labels for error messages (default: a Series' index, else positions).

        Raises:
            CompositionError: naming the invalid rows (unless ``ignore_errors``).
        """
        items, index = as_items(entries)
        parsed = batch_from_compositions(
            items, index if labels is None else labels, errors="nan" if ignore_errors else "raise"
        )
        values = self._compute(parsed.batch)
        if parsed.rows.size and (parsed.rows < 0).any():
            padded = np.vstack([values, np.full((1, values.shape[1]), np.nan)])
            return padded[parsed.rows]  # -1 picks the NaN row
        if len(parsed.batch) == parsed.n_inputs and np.array_equal(
            parsed.rows, np.arange(parsed.n_inputs)
        ):
            return values  # no duplicates: skip the row gather (a full copy)
        return values[parsed.rows]

    def featurize_fractions(self, X: Any, elements: Sequence[str] | None = None) -> np.ndarray:
        """Fast path: features from an ``(n, k)`` fraction matrix over ``elements``.

        Rows are normalized to sum to 1; zero entries mean the element is absent.
        """
        return self._compute(batch_from_fractions(X, elements))

    def featurize_dataframe(
        self,
        df: pd.DataFrame,
        col_id: str,
        *,
        ignore_errors: bool = False,
        inplace: bool = False,
    ) -> pd.DataFrame | None:
        """Add the features of ``df[col_id]`` as new columns.

        Args:
            df: Input table.
            col_id: Column holding the compositions.
            ignore_errors: NaN features for invalid rows instead of raising.
            inplace: Add the columns to ``df`` and return None, like pandas.

        Raises:
            ValueError: if a feature label already is a column of ``df`` (as matminer).
        """
        labels = self.feature_labels()
        clash = [c for c in labels if c in df.columns]
        if clash:
            raise ValueError(f"{clash[0]!r} is already a column of the DataFrame")
        values = self.featurize_many(df[col_id], ignore_errors=ignore_errors)
        features = pd.DataFrame(values, index=df.index, columns=labels)
        if inplace:
            df[labels] = features
            return None
        return pd.concat([df, features], axis=1)

    # ----- scikit-learn transformer -------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> BaseFeaturizer:
        """Nothing to learn: returns ``self`` unchanged."""
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Features of a list (or Series, or one-column frame) of compositions."""
        return self.featurize_many(X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Feature labels as an object array (scikit-learn's ``set_output`` uses them)."""
        return np.asarray(self.feature_labels(), dtype=object)

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags

    @property
    def n_features(self) -> int:
        """Number of output columns."""
        return len(self.feature_labels())


class MultipleFeaturizer(BaseFeaturizer):
    """Concatenates the features of several featurizers (parsing the input once).

    Args:
        featurizers: The featurizers, in output order.
    """

    def __init__(self, featurizers: Sequence[BaseFeaturizer] = ()) -> None:
        self.featurizers = featurizers

    def feature_labels(self) -> list[str]:
        return [label for f in self.featurizers for label in f.feature_labels()]

    def citations(self) -> list[str]:
        return list(dict.fromkeys(c for f in self.featurizers for c in f.citations()))

    def implementors(self) -> list[str]:
        return list(dict.fromkeys(i for f in self.featurizers for i in f.implementors()))

    def _compute(self, batch: Batch) -> np.ndarray:
        if not self.featurizers:
            return np.empty((len(batch), 0))
        return np.hstack([f._compute(batch) for f in self.featurizers])

    @classmethod
    def from_preset(cls, preset: str | Sequence[str]) -> BaseFeaturizer:
        """Combination of presets, as a list or ``"+"``-joined (``"magpie+alloy"``)."""
        from .presets import featurizer_from_preset

        return featurizer_from_preset(preset)
