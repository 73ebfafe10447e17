"""The bulk parser for simple formulas gives exactly what ``parse_composition`` gives.

``featurize`` routes simple formulas (``"Fe0.4312Ni0.0871"``, ``"Ba2NdNb(CuO4)2"``) through
``features._fastparse`` and the rest through ``parse_composition``. Every test here compares
the two routes bit for bit: parsed fractions, packed batches, features, NaN rows, and the
type and message of errors.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_matopt.core import CompositionError
from jupyter_matopt.core.composition import parse_composition
from jupyter_matopt.core.elements import ATOMIC_NUMBER, SYMBOLS
from jupyter_matopt.features import MagpieFeaturizer, _fastparse, featurize
from jupyter_matopt.features._batch import batch_from_compositions
from jupyter_matopt.features._fastparse import _fsum_rows, parse_simple
from jupyter_matopt.features._tables import MAX_Z

MAGPIE = MagpieFeaturizer()


# ----- helpers ---------------------------------------------------------------------------
def _bits(a: np.ndarray) -> np.ndarray:
    """Bit patterns, so that 0.0 vs -0.0 and NaN payloads count as differences too."""
    return np.ascontiguousarray(a, dtype=np.float64).view(np.uint64)


def _outcome(fn: Any, *args: Any, **kwargs: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the type and message are compared
        return "error", (type(exc), str(exc))


def _both_routes(fn: Any, *args: Any, **kwargs: Any) -> tuple[tuple[str, Any], tuple[str, Any]]:
    """``fn`` with the bulk parser off, then on (for any number of rows)."""
    old = _fastparse.ENABLED, _fastparse.MIN_ROWS
    try:
        _fastparse.ENABLED = False
        slow = _outcome(fn, *args, **kwargs)
        _fastparse.ENABLED, _fastparse.MIN_ROWS = True, 1
        fast = _outcome(fn, *args, **kwargs)
    finally:
        _fastparse.ENABLED, _fastparse.MIN_ROWS = old
    return slow, fast


def assert_same_batches(items: list[Any]) -> None:
    """Packed batches, row maps and features agree bit for bit, or both raise the same."""
    for errors in ("raise", "nan"):
        slow, fast = _both_routes(batch_from_compositions, items, errors=errors)
        assert slow[0] == fast[0], (items, slow, fast)
        if slow[0] == "error":
            assert slow[1] == fast[1]
            continue
        a, b = slow[1], fast[1]
        np.testing.assert_array_equal(a.rows, b.rows)
        np.testing.assert_array_equal(a.batch.idx, b.batch.idx)
        np.testing.assert_array_equal(_bits(a.batch.frac), _bits(b.batch.frac))
    for ignore in (False, True):
        slow, fast = _both_routes(MAGPIE.featurize_many, items, ignore_errors=ignore)
        assert slow[0] == fast[0], (items, slow, fast)
        if slow[0] == "error":
            assert slow[1] == fast[1]
        else:
            np.testing.assert_array_equal(_bits(slow[1]), _bits(fast[1]))


def assert_parse_simple_exact(strings: list[str]) -> np.ndarray:
    """Every string parse_simple handles has parse_composition's exact fractions; returns
    the handled mask. A handled string must also be one parse_composition accepts."""
    res = parse_simple(strings)
    assert len(res.handled) == len(strings)
    assert np.all(np.diff(res.row) >= 0)
    for i in np.flatnonzero(res.handled):
        s = strings[i]
        expected = parse_composition(s)  # raises if the fast path accepted a bad formula
        assert all(ATOMIC_NUMBER[k] <= MAX_Z for k in expected), s
        sel = res.row == i
        got = dict(zip(res.sym[sel].tolist(), res.frac[sel].tolist(), strict=True))
        want = {ATOMIC_NUMBER[k] - 1: v for k, v in expected.items()}
        assert got.keys() == want.keys(), s
        for z, v in want.items():
            assert _bits(np.array(got[z])) == _bits(np.array(v)), (s, z, got[z], v)
        assert list(res.sym[sel]) == sorted(res.sym[sel]), "entries must be in Z order"
    assert not np.isin(res.row, np.flatnonzero(~res.handled)).any()
    return res.handled


# ----- strategies --------------------------------------------------------------------------
SUPPORTED = list(SYMBOLS[:MAX_Z])
BEYOND = list(SYMBOLS[MAX_Z:])  # known elements the Magpie tables do not cover
UNKNOWN = ["Xx", "E", "J", "Q", "Aa", "Zz", "Rr"]

digits = st.text("0123456789", min_size=1, max_size=6)
amount_text = st.one_of(
    st.just(""),
    st.just(""),
    digits,
    st.builds(lambda a, b: f"{a}.{b}", digits, digits),
    st.builds(lambda a: f"{a}.", digits),
    st.builds(lambda b: f".{b}", digits),
    st.floats(1e-6, 1e6).map(lambda x: f"{x:.4f}"),
    st.floats(1e-6, 1e6).map(repr).filter(lambda t: "e" not in t),  # up to 17 digits
    st.sampled_from(
        [
            "0",
            "0.0",
            "00",
            ".0",
            "1.5",
            "0.75",
            "12345678901234567890",  # > 18 digits: float() reads it
            "0." + "0" * 25 + "1",  # > 22 decimals
            "9007199254740993",  # > 2**53
            "9" * 400,  # inf
            "0." + "0" * 400 + "1",  # underflows to 0
            "1" + "0" * 70,  # beyond the bulk parser's range: left to parse_composition
        ]
    ),
)
symbol = st.one_of(
    st.sampled_from(SUPPORTED),
    st.sampled_from(["Fe", "Ni", "Cr", "O", "H", "C"]),  # repeats within a formula
    st.sampled_from(BEYOND + UNKNOWN),
)
token = st.builds(lambda s, a: s + a, symbol, amount_text)
flat = st.lists(token, min_size=1, max_size=7).map("".join)
group = st.builds(
    lambda toks, a: "(" + "".join(toks) + ")" + a,
    st.lists(token, min_size=1, max_size=4),
    amount_text,
)
bracketed = st.lists(st.one_of(token, group), min_size=1, max_size=5).map("".join)
garbage = st.text(
    st.sampled_from(list("FeNiOoCcx0123456789.()[]{} %-+eE\n\t") + ["٣", "é", "\udc80"]),
    max_size=14,
)


@st.composite
def mutated(draw: Any) -> str:
    """A formula with one character inserted, deleted or replaced."""
    text = draw(st.one_of(flat, bracketed))
    i = draw(st.integers(0, len(text)))
    ch = draw(st.sampled_from(list("().0 %-e\nX") + [""]))
    cut = draw(st.integers(0, 1))
    return text[:i] + ch + text[i + cut :]


formula = st.one_of(flat, flat, bracketed, bracketed, garbage, mutated())


@st.composite
def formula_lists(draw: Any) -> list[Any]:
    """Lists with repeats (dedup), np.str_ items, and sometimes non-strings."""
    pool = draw(st.lists(formula, min_size=1, max_size=12))
    picks = draw(st.lists(st.integers(0, len(pool) - 1), min_size=1, max_size=20))
    items: list[Any] = [pool[i] for i in picks]
    if draw(st.booleans()):
        items = [np.str_(x) if draw(st.booleans()) else x for x in items]
    if draw(st.integers(0, 4)) == 0:
        extra = draw(st.sampled_from([None, math.nan, {"Fe": 1}, 3.5]))
        items.insert(draw(st.integers(0, len(items))), extra)
    return items


# ----- property tests ----------------------------------------------------------------------
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(formula, min_size=1, max_size=30))
def test_parse_simple_matches_parse_composition(strings: list[str]) -> None:
    assert_parse_simple_exact(strings)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(formula_lists())
def test_fast_and_slow_routes_agree(items: list[Any]) -> None:
    assert_same_batches(items)


valid_token = st.builds(
    lambda s, a: s + a,
    st.sampled_from(SUPPORTED),
    st.one_of(
        st.just(""), st.integers(1, 99).map(str), st.floats(0.001, 50).map(lambda x: f"{x:.4f}")
    ),
)
valid_group = st.builds(
    lambda toks, a: "(" + "".join(toks) + ")" + a,
    st.lists(valid_token, min_size=1, max_size=3),
    st.one_of(st.just(""), st.integers(1, 12).map(str), st.just("0.5")),
)
valid_formula = st.lists(
    st.one_of(valid_token, valid_token, valid_group), min_size=1, max_size=6
).map("".join)


@settings(max_examples=200, deadline=None)
@given(st.lists(valid_formula, min_size=1, max_size=25))
def test_valid_simple_formulas_take_the_fast_route(strings: list[str]) -> None:
    assert assert_parse_simple_exact(strings).all()


# fsum: random sums, and sums built to sit exactly on or next to rounding ties
positive = st.floats(2.0**-200, 2.0**200)
near_one = st.integers(-60, 60).map(lambda k: math.ldexp(1.0, k))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(st.one_of(positive, near_one), min_size=1, max_size=9), min_size=1, max_size=20
    )
)
def test_fsum_rows_is_math_fsum(rows: list[list[float]]) -> None:
    width = max(map(len, rows))
    V = np.zeros((width, len(rows)))
    for i, r in enumerate(rows):
        V[: len(r), i] = r
    got = _fsum_rows(V)
    want = np.array([math.fsum(r) for r in rows])
    np.testing.assert_array_equal(_bits(got), _bits(want))


def test_fsum_rows_ties_and_near_ties() -> None:
    u = 2.0**-53
    rows = [
        [1.0, u],  # exact tie, rounds to even: 1.0
        [1.0 + 2 * u, u],  # exact tie, rounds to even: 1 + 4u
        [1.0, u, u * u],  # just above a tie: 1 + 2u
        [1.0, u, u * u, u * u],
        [u * u, u, 1.0],  # same values, other order
        [1.5, 0.75],  # exponents one apart: exact ties are common
        [0.1, 0.2, 0.3],
        [1e16, 1.0, 1.0],
        [3.0, 2.0**-200, 2.0**-200],
        [0.4312, 0.0871, 0.912, 1.0001, 0.0104, 0.7733],
    ]
    width = max(map(len, rows))
    V = np.zeros((width, len(rows)))
    for i, r in enumerate(rows):
        V[: len(r), i] = r
    want = np.array([math.fsum(r) for r in rows])
    np.testing.assert_array_equal(_bits(_fsum_rows(V)), _bits(want))


# ----- targeted cases ------------------------------------------------------------------------
CASES = [
    "Fe0.5Ni0.5",
    "Bi2Te3",
    "Li7La3Zr2O12",
    "FeFe0.5",  # repeated symbol: summed in order
    "Fe0.1Ni0.2Fe0.3Fe0.4Ni0.5",
    "CH3COOH",
    "CH3NH3PbI3",
    "Ba2NdNb(CuO4)2",
    "Fe(FeO)2",  # a group adds to an element already present
    "(FeO2)1.5(Fe2O)0.3Fe0.1",
    "Fe(Ni)0.5Fe",
    "(Fe)(Ni)",
    "C(H3)3",
    "Fe.5Ni5.",
    "Fe0.12345678901234567Ni0.87654321098765432",  # > 2**53 digits: float() path
    "Fe1" + "0" * 30 + "Ni1",
    "Fe0." + "0" * 30 + "1Ni",
    "H",
]
BAD_CASES = [
    "Xx2",  # unknown element
    "FeXx",
    "Og2Fe",  # beyond Lr: the unsupported-element message
    "FeRf",
    "Fe0",  # zero amount
    "Fe0.0Ni",
    "(FeNi)0",  # zero multiplier
    "Fe" + "9" * 400,  # infinite amount
    "fe",
    "",
    "Fe..5",
    "Fe.",
    "Fe()",
    "(2Fe)",
    "Fe)",
    "(Fe",
    "Fe2(",
    "((Fe))",  # nested: parse_composition's job
    "Fe\nNi",  # the separator inside a formula
    "Fe 2",  # whitespace
    "Fe2%",
    "Fe-2",
    "Fe2e3",
    "Fe٣",
    "Fé",
    "\udc80Fe",
]


def test_targeted_formulas_take_the_fast_route() -> None:
    assert assert_parse_simple_exact(CASES).all()


@pytest.mark.parametrize("bad", BAD_CASES)
def test_bad_formulas_behave_as_before(bad: str) -> None:
    handled = assert_parse_simple_exact([*CASES, bad, *CASES])
    if bad in ("Fe\nNi", "Fe 2", "((Fe))", "Fe2e3", "Og2Fe", "FeRf", "Fe" + "9" * 400):
        assert not handled[len(CASES)]
    assert_same_batches([*CASES, bad, "Fe2O3", bad])
    assert_same_batches([bad, *CASES])


def test_error_messages_name_the_rows() -> None:
    items = [*CASES, "Xx2", "Fe0", "Og2Fe", "Fe2O3", "Xx2"]
    slow, fast = _both_routes(featurize, items)
    assert slow == fast
    assert slow[0] == "error" and slow[1][0] is CompositionError
    message = slow[1][1]
    assert "3 invalid composition(s)" in message and "'Xx'" in message and "Og" in message


def test_long_batches_cross_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    pool = CASES + BAD_CASES
    items = [pool[i] for i in rng.integers(0, len(pool), 500)]
    items += [f"Fe{rng.random():.5f}Ni{rng.random():.3f}Co{i}" for i in range(300)]
    monkeypatch.setattr(_fastparse, "CHUNK", 7)
    assert_parse_simple_exact(items)
    assert_same_batches(items)


def _ricci_formulas() -> list[str]:
    from jupyter_matopt import load_dataset

    # shipped inside matminer, a runtime dependency: always present
    return list(load_dataset("ricci_transport", download=False).compositions)


def test_real_formulas_identical_and_all_fast() -> None:
    formulas = _ricci_formulas()
    assert len(formulas) > 40_000
    assert assert_parse_simple_exact(formulas).all()  # pretty formulas are all simple
    slow, fast = _both_routes(featurize, formulas)
    assert slow[0] == fast[0] == "ok"
    np.testing.assert_array_equal(_bits(slow[1].to_numpy()), _bits(fast[1].to_numpy()))


def _random_alloys(n: int) -> Iterator[str]:
    rng = np.random.default_rng(0)
    els = ["Al", "Co", "Cr", "Cu", "Fe", "Hf", "Mn", "Mo", "Nb", "Ni", "Ti", "V"]
    for _ in range(n):
        k = int(rng.integers(2, 7))
        pick = rng.choice(len(els), k, replace=False)
        yield "".join(f"{els[e]}{a:.4f}" for e, a in zip(pick, 0.01 + rng.random(k), strict=True))


def test_random_alloys_identical() -> None:
    alloys = list(_random_alloys(20_000))
    assert assert_parse_simple_exact(alloys[:3000]).all()
    slow, fast = _both_routes(featurize, alloys)
    assert slow[0] == fast[0] == "ok"
    np.testing.assert_array_equal(_bits(slow[1].to_numpy()), _bits(fast[1].to_numpy()))


def test_series_with_missing_values() -> None:
    import pandas as pd

    s = pd.Series(["Fe2O3", None, "NaCl", math.nan, "Fe2O3", "Xx"] * 5, index=range(10, 40))
    slow, fast = _both_routes(featurize, s, errors="nan")
    np.testing.assert_array_equal(_bits(slow[1].to_numpy()), _bits(fast[1].to_numpy()))
    slow, fast = _both_routes(featurize, s)
    assert slow == fast and slow[0] == "error"
