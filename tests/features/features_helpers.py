"""Helpers shared by the featurizer tests (a plain module: conftest is not importable)."""

from __future__ import annotations

import warnings

import numpy as np


def matminer_magpie(compositions: list) -> np.ndarray:
    """matminer's ElementProperty.from_preset('magpie') on pymatgen Compositions."""
    from matminer.featurizers.composition import ElementProperty
    from pymatgen.core import Composition

    ep = ElementProperty.from_preset("magpie")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # matminer/pymatgen deprecation chatter
        return np.array([ep.featurize(Composition(c)) for c in compositions], dtype=float)


def property_scale() -> np.ndarray:
    """Per-column magnitude of the Magpie properties, for an absolute tolerance floor.

    A statistic that is zero up to rounding (avg_dev or range of equal values) has no
    meaningful relative error; matminer's own weighted sums carry ~1e-16 x magnitude noise.
    """
    from jupyter_matopt.features._tables import magpie_table

    return np.repeat(np.abs(magpie_table()).max(axis=0), 6)


def assert_matches_matminer(ours: np.ndarray, ref: np.ndarray, rtol: float = 1e-9) -> None:
    """``|ours - ref| <= rtol * |ref| + 1e-12 * scale`` elementwise, with a helpful message."""
    from jupyter_matopt.features import feature_labels

    ours, ref = np.atleast_2d(ours), np.atleast_2d(ref)
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    bad = ~(np.abs(ours - ref) <= rtol * np.abs(ref) + 1e-12 * property_scale())
    if bad.any():
        rows, cols = np.nonzero(bad)
        labels = feature_labels("magpie")
        shown = [
            f"row {r} {labels[c]!r}: ours {ours[r, c]!r} matminer {ref[r, c]!r}"
            for r, c in zip(rows[:10], cols[:10], strict=True)
        ]
        raise AssertionError(f"{bad.sum()} values differ from matminer:\n" + "\n".join(shown))
