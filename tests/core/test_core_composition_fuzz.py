"""Fuzzing the parser: garbage only ever raises CompositionError; valid formulas match pymatgen."""

from __future__ import annotations

import math
import warnings
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymatgen.core import Composition

from jupyter_matopt.core import (
    SYMBOLS,
    BatchParse,
    CompositionError,
    parse_composition,
    parse_compositions,
)

FUZZ = settings(max_examples=3000, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

COMMON = ["H", "B", "C", "N", "O", "F", "Al", "Si", "P", "S", "Ti", "V", "Cr", "Mn", "Fe", "Co",
          "Ni", "Cu", "Zn", "Mo", "Nb", "Ta", "W", "Bi", "Te", "Sb", "La", "Og", "I", "U", "Y"]
TOKENS = [
    *COMMON, "Xx", "Q", "J", "fe", "FE", "e", "E", "Ee",
    *"0123456789", "0", "00", "1.", ".5", "1e3", "1E-2", "1e400", "1e-400", "1e308", "9" * 40,
    ".", "..", "e", "+", "-", "--", "*", "/", ",", ":", ";", "=", "#", "_", "'", '"', "\\",
    "(", ")", "[", "]", "{", "}", "((", "))", "%", "%%",
    " ", "  ", "\t", "\n", "\r", "\u00a0", "\u2009", "\u200b", "\x00", "\x0c",
    "nan", "NaN", "inf", "Inf", "-inf", "Infinity", "None", "null",
    "\u0663", "\u00b2", "\u2082", "\U0001d7d8", "\u00b5", "\u00e9", "\u00b7", "\u2212", "\u00bd",
    "\u0130", "\u212a", "\U0001f600", "\ufeff",
]

garbage = st.one_of(
    st.lists(st.sampled_from(TOKENS), max_size=24).map("".join),
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from("FeCrNiO()[]{}0123456789.e-+% \t"), max_size=30),
)


def check_valid_output(out: Any) -> None:
    assert isinstance(out, dict) and out
    for el, v in out.items():
        assert type(el) is str and el in SYMBOLS
        assert type(v) is float and 0.0 < v <= 1.0 and math.isfinite(v)
    assert math.fsum(out.values()) == pytest.approx(1.0, abs=1e-9)


@FUZZ
@given(garbage)
def test_strings_parse_or_raise_composition_error(text: str) -> None:
    try:
        out = parse_composition(text)
    except CompositionError as exc:
        message = str(exc)
        assert exc.input == text
        assert message.startswith("cannot parse composition ")
        assert exc.reason and exc.reason in message
        assert repr(text)[:60] in message  # names the input (repr is cut at 77 characters)
    else:
        check_valid_output(out)


@settings(max_examples=800, deadline=None)
@given(garbage, st.sampled_from(["atomic", "weight"]))
def test_strings_in_both_bases(text: str, basis: str) -> None:
    try:
        out = parse_composition(text, basis=basis)  # type: ignore[arg-type]
    except CompositionError:
        return
    check_valid_output(out)


amounts = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.sampled_from([10**400, -(10**400), 2**1024]),  # float() raises OverflowError
    st.fractions(),
    st.text(max_size=8),
    st.booleans(),
    st.none(),
    st.binary(max_size=4),
    st.lists(st.floats(), max_size=2),
)
keys = st.one_of(st.sampled_from([*COMMON, "Xx", " Fe", "fe", ""]), st.integers(), st.none())


@settings(max_examples=600, deadline=None)
@given(st.dictionaries(keys, amounts, max_size=6))
def test_mappings_parse_or_raise_composition_error(d: dict[Any, Any]) -> None:
    try:
        out = parse_composition(d)
    except CompositionError as exc:
        assert str(exc).startswith("cannot parse composition ")
    else:
        check_valid_output(out)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(garbage, st.dictionaries(keys, amounts, max_size=3), st.none(),
                          st.floats(), st.integers()), max_size=12),
       st.sampled_from(["skip", "report", "raise"]))
def test_batches_never_die_halfway(items: list[Any], errors: str) -> None:
    try:
        out = parse_compositions(items, errors=errors)  # type: ignore[arg-type]
    except CompositionError as exc:
        assert errors == "raise"
        assert "compositions are invalid" in str(exc)
        return
    if errors == "report":
        assert isinstance(out, BatchParse)
        assert len(out.compositions) + len(out.errors) == len(items)
        assert sorted(out.index + list(out.errors["index"])) == list(range(len(items)))
        assert all(isinstance(r, str) and r for r in out.errors["reason"])
    else:
        assert isinstance(out, list)
    comps = out.compositions if isinstance(out, BatchParse) else out
    for c in comps:
        check_valid_output(c)


# ---------------------------------------------------------------- valid formulas vs pymatgen
plain_number = st.one_of(
    st.just(""),
    st.integers(1, 200).map(str),
    # pymatgen drops amounts below 1e-8, so nested products must stay above that
    st.decimals(min_value="0.05", max_value="150", places=3, allow_nan=False,
                allow_infinity=False).map(str),
)
# pymatgen reads scientific notation after an element but not after a bracket
number = st.one_of(
    plain_number,
    st.builds(lambda m, e: f"{m}e{e}", st.integers(1, 9), st.integers(-2, 2)),
)
element = st.sampled_from(COMMON)


def groups(depth: int) -> st.SearchStrategy[str]:
    atom = st.builds(lambda e, n: e + n, element, number)
    if depth == 0:
        return atom
    bracket = st.sampled_from(["()", "[]", "{}"])
    inner = st.lists(groups(depth - 1), min_size=1, max_size=3).map("".join)
    group = st.builds(lambda b, body, n: f"{b[0]}{body}{b[1]}{n}", bracket, inner, plain_number)
    return st.one_of(atom, atom, group)


formulas = st.lists(groups(2), min_size=1, max_size=5).map("".join)
spaced = st.lists(st.builds(lambda e, n: e + n, element, number.filter(bool)), min_size=1,
                  max_size=6).map(" ".join)


def pmg(formula: str) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        comp = Composition(formula).fractional_composition
    return {str(el): float(v) for el, v in comp.items()}


@settings(max_examples=400, deadline=None)
@given(st.one_of(formulas, spaced))
def test_valid_formulas_agree_with_pymatgen(formula: str) -> None:
    ours = parse_composition(formula)
    check_valid_output(ours)
    ref = pmg(formula)
    # pymatgen drops fractions below its amount tolerance (1e-8); we keep them
    assert set(ref) <= set(ours), (formula, ours, ref)
    for el, v in ours.items():
        assert v == pytest.approx(ref.get(el, 0.0), rel=1e-9, abs=2e-8), (formula, el)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(element, st.floats(1e-3, 1e3), min_size=1, max_size=6))
def test_mappings_agree_with_pymatgen(d: dict[str, float]) -> None:
    ours = parse_composition(d)
    assert ours == pytest.approx(pmg_dict(d), rel=1e-9)
    assert parse_composition(Composition(d)) == pytest.approx(ours, rel=1e-9)


def pmg_dict(d: dict[str, float]) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        comp = Composition(d).fractional_composition
    return {str(el): float(v) for el, v in comp.items()}


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(formulas, spaced), min_size=1, max_size=8))
def test_batch_matches_one_by_one(items: list[str]) -> None:
    series = pd.Series(items)
    assert parse_compositions(series) == [parse_composition(f) for f in items]
