"""Presets, their combinations, ElementFraction, invariants under random inputs, the bench."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_matopt.core import CompositionError
from jupyter_matopt.features import (
    ELEMENTS,
    PRESETS,
    AlloyFeaturizer,
    ElementFractionFeaturizer,
    MagpieFeaturizer,
    MultipleFeaturizer,
    feature_labels,
    featurize,
    featurize_fractions,
    featurizer_from_preset,
)

REPO = Path(__file__).resolve().parents[2]


def test_preset_names_and_labels() -> None:
    assert PRESETS == ("magpie", "element_fraction", "alloy")
    assert len(feature_labels("magpie")) == 132
    assert feature_labels("element_fraction") == list(ELEMENTS)
    assert len(ELEMENTS) == 103 and ELEMENTS[0] == "H" and ELEMENTS[-1] == "Lr"
    combined = feature_labels("magpie+alloy")
    assert combined == feature_labels("magpie") + feature_labels("alloy")
    assert feature_labels(["alloy", "magpie"]) == feature_labels("alloy") + feature_labels("magpie")
    assert feature_labels(" magpie + element_fraction ") == feature_labels(
        ["magpie", "element_fraction"]
    )


@pytest.mark.parametrize("bad", ["deml", "magpie+nope", "", "magpie+magpie", []])
def test_unknown_presets(bad: object) -> None:
    with pytest.raises(CompositionError, match="preset"):
        featurizer_from_preset(bad)  # type: ignore[arg-type]


def test_featurizer_from_preset_types() -> None:
    assert isinstance(featurizer_from_preset("magpie"), MagpieFeaturizer)
    assert isinstance(featurizer_from_preset("alloy"), AlloyFeaturizer)
    assert isinstance(featurizer_from_preset("element_fraction"), ElementFractionFeaturizer)
    assert isinstance(featurizer_from_preset("magpie+alloy"), MultipleFeaturizer)


def test_combined_preset_equals_concatenation() -> None:
    comps = pd.Series(["Fe2O3", "Al0.5 Co1 Fe1 Ni1", "NaCl"], index=[10, 20, 30])
    both = featurize(comps, preset="magpie+alloy+element_fraction")
    parts = [featurize(comps, preset=p) for p in ("magpie", "alloy", "element_fraction")]
    pd.testing.assert_frame_equal(both, pd.concat(parts, axis=1))
    assert list(both.index) == [10, 20, 30]
    X = np.array([[0.5, 0.3, 0.2], [1.0, 0.0, 3.0]])
    fast = featurize_fractions(X, ["Ni", "Al", "Cr"], preset=["magpie", "alloy"])
    np.testing.assert_array_equal(
        fast,
        np.hstack(
            [featurize_fractions(X, ["Ni", "Al", "Cr"], preset=p) for p in ("magpie", "alloy")]
        ),
    )


def test_element_fraction_equals_matminer() -> None:
    from matminer.featurizers.composition import ElementFraction
    from pymatgen.core import Composition

    comps = ["Fe2O3", "Al0.5 Co1 Fe1 Ni1", "Lr", "H2O", "Fe0.620C0.000953Mn0.000521"]
    ef = ElementFraction()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = np.array([ef.featurize(Composition(c)) for c in comps])[:, :103]
        assert ef.feature_labels()[:103] == feature_labels("element_fraction")
    np.testing.assert_allclose(
        featurize(comps, "element_fraction").to_numpy(), ref, rtol=1e-15, atol=0
    )


def test_element_fraction_fast_path() -> None:
    X = np.array([[2.0, 0.0, 6.0], [0.0, 1.0, 0.0]])
    out = featurize_fractions(X, ["O", "Na", "Fe"], preset="element_fraction")
    assert out.shape == (2, 103)
    assert out[0, 7] == 0.25 and out[0, 25] == 0.75 and out[1, 10] == 1.0
    assert out.sum() == 2.0


# ----- property-based: random element sets and fractions ------------------------------------

_element_sets = st.lists(st.sampled_from(ELEMENTS), min_size=1, max_size=12, unique=True)


@st.composite
def fraction_matrices(draw: st.DrawFn) -> tuple[np.ndarray, list[str]]:
    elements = draw(_element_sets)
    n = draw(st.integers(1, 12))
    cells = st.one_of(st.just(0.0), st.floats(1e-6, 1e3, allow_nan=False))
    X = np.array([[draw(cells) for _ in elements] for _ in range(n)])
    X[X.sum(axis=1) == 0, 0] = 1.0
    return X, elements


def assert_close_paths(a: np.ndarray, b: np.ndarray) -> None:
    """Equal up to the last bits of the row normalization.

    Magpie statistics and fractions are well conditioned (1e-12). The entropy and omega of a
    composition with a trace element (c ~ 1e-7) amplify a 1-ulp change of the major
    fraction ~1e9-fold (c ln c near c = 1), so the alloy columns get 1e-6.
    """
    alloy = slice(132, 139)
    np.testing.assert_allclose(a[:, :132], b[:, :132], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(a[:, alloy], b[:, alloy], rtol=1e-6, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(a[:, 139:], b[:, 139:], rtol=1e-12, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(fraction_matrices(), st.floats(1e-3, 1e3))
def test_invariants(data: tuple[np.ndarray, list[str]], scale: float) -> None:
    X, elements = data
    preset = "magpie+alloy+element_fraction"
    fast = featurize_fractions(X, elements, preset=preset)
    assert fast.shape == (len(X), len(feature_labels(preset)))
    # the dict path agrees up to the last bit of the row normalization (core normalizes
    # dicts itself); one row alone or inside a batch gives bit-identical features
    dicts = [{e: v for e, v in zip(elements, row, strict=True) if v > 0} for row in X]
    batch = featurize(dicts, preset=preset).to_numpy()
    assert_close_paths(fast, batch)
    for i in (0, len(X) - 1):
        np.testing.assert_array_equal(
            featurize(dicts[i : i + 1], preset=preset).to_numpy()[0], batch[i]
        )
        np.testing.assert_array_equal(
            featurize_fractions(X[i : i + 1], elements, preset=preset)[0], fast[i]
        )
    # column order and overall scale do not matter (up to rounding of the normalization)
    perm = np.random.default_rng(0).permutation(len(elements))
    permuted = featurize_fractions(X[:, perm] * scale, [elements[i] for i in perm], preset)
    assert_close_paths(permuted, fast)
    # magpie: min <= mode, mean <= max; avg_dev >= 0; range = max - min
    magpie = fast[:, :132].reshape(len(X), 22, 6)
    assert (magpie[:, :, 0] <= magpie[:, :, 5]).all() and (magpie[:, :, 5] <= magpie[:, :, 1]).all()
    assert (magpie[:, :, 0] <= magpie[:, :, 3] + 1e-9 * np.abs(magpie[:, :, 3])).all()
    assert (magpie[:, :, 3] <= magpie[:, :, 1] + 1e-9 * np.abs(magpie[:, :, 3])).all()
    assert (magpie[:, :, 4] >= 0).all()
    np.testing.assert_array_equal(magpie[:, :, 2], magpie[:, :, 1] - magpie[:, :, 0])


@pytest.mark.slow
def test_bench_script_runs_quick() -> None:
    """``bench/featurize.py --quick`` still runs and agrees with matminer (~3-9 s)."""
    out = subprocess.run(
        [sys.executable, str(REPO / "bench" / "featurize.py"), "--quick"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    assert "values outside 1e-9 rel + 1e-12 scale: 0 of" in out
    assert "ours featurize_fractions" in out
