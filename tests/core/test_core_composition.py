"""Composition parsing: accepted forms, agreement with pymatgen, errors, batches, formatting."""

from __future__ import annotations

import json
import math
import pickle
import timeit
import warnings
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Composition, Element

from jupyter_matopt.core import (
    BatchParse,
    CompositionError,
    atomic_mass,
    atomic_number,
    composition_key,
    fractions_matrix,
    is_element,
    parse_composition,
    parse_compositions,
    to_formula,
)


def pmg_fractions(formula: str) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        comp = Composition(formula).fractional_composition
    return {str(el): float(v) for el, v in comp.items()}


def assert_fractions(got: dict[str, float], want: dict[str, float], tol: float = 1e-12) -> None:
    assert set(got) == set(want), (got, want)
    for el, v in want.items():
        assert got[el] == pytest.approx(v, rel=tol, abs=tol), (el, got, want)
    assert math.fsum(got.values()) == pytest.approx(1.0, abs=1e-12)


# --------------------------------------------------------------------------- accepted forms
@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Fe0.7Cr0.2Ni0.1", {"Fe": 0.7, "Cr": 0.2, "Ni": 0.1}),
        ("Fe70Cr20Ni10", {"Fe": 0.7, "Cr": 0.2, "Ni": 0.1}),
        ("Fe70%Cr20%Ni10%", {"Fe": 0.7, "Cr": 0.2, "Ni": 0.1}),
        ("Fe 70 % Cr 20 % Ni 10 %", {"Fe": 0.7, "Cr": 0.2, "Ni": 0.1}),
        ("(Bi2Te3)0.9(Sb2Te3)0.1", {"Bi": 0.36, "Sb": 0.04, "Te": 0.6}),
        ("[Bi2Te3]0.9{Sb2Te3}0.1", {"Bi": 0.36, "Sb": 0.04, "Te": 0.6}),
        ("Al0.25 Co1 Fe1 Ni1", {"Al": 0.25 / 3.25, "Co": 1 / 3.25, "Fe": 1 / 3.25, "Ni": 1 / 3.25}),
        ("Fe1e-3C", {"Fe": 1e-3 / 1.001, "C": 1 / 1.001}),
        ("Fe2.5E-1O", {"Fe": 0.25 / 1.25, "O": 1 / 1.25}),
        ("Fe.5O.5", {"Fe": 0.5, "O": 0.5}),
        ("Fe2.O3", {"Fe": 0.4, "O": 0.6}),
        ("  Fe2O3\n", {"Fe": 0.4, "O": 0.6}),
        ("FeFe", {"Fe": 1.0}),
        ("Ca(OH)2", {"Ca": 0.2, "O": 0.4, "H": 0.4}),
        ("((Fe)2)3O", {"Fe": 6 / 7, "O": 1 / 7}),
        ("Ag(W3Br7)2", {"Ag": 1 / 21, "W": 6 / 21, "Br": 14 / 21}),
        ("O", {"O": 1.0}),
        ("Og1", {"Og": 1.0}),
    ],
)
def test_formulas(text: str, want: dict[str, float]) -> None:
    assert_fractions(parse_composition(text), want)


@pytest.mark.parametrize(
    "text",
    [
        "Fe0.7Cr0.2Ni0.1",
        "Fe70Cr20Ni10",
        "(Bi2Te3)0.9(Sb2Te3)0.1",
        "Al0.25 Co1 Fe1 Ni1",
        "Fe1e-3C",
        "Ca(OH)2",
        "Mg3(PO4)2",
        "K4[Fe(CN)6]",
        "Ag0.5Ge1Pb1.75S4",
        "Li7La3Zr2O12",
        "(Fe)0.5(O)1e1",
        "Fe2(O3)2.5",
    ],
)
def test_agrees_with_pymatgen(text: str) -> None:
    assert_fractions(parse_composition(text), pmg_fractions(text))


def test_order_of_first_appearance() -> None:
    assert list(parse_composition("Ni1Fe2Cr3")) == ["Ni", "Fe", "Cr"]
    assert list(parse_composition("(Bi2Te3)0.9(Sb2Te3)0.1")) == ["Bi", "Te", "Sb"]


def test_mappings_and_composition_objects() -> None:
    assert parse_composition({"Fe": 2, "O": 3}) == pytest.approx({"Fe": 0.4, "O": 0.6})
    # zero amounts are absent elements (sliders produce them)
    assert parse_composition({"Fe": 1, "Cr": 0.0, "Ni": 1}) == {"Fe": 0.5, "Ni": 0.5}
    assert parse_composition({" Fe ": np.float32(1), "O": np.int64(1)}) == {"Fe": 0.5, "O": 0.5}
    assert parse_composition({"Fe": Fraction(1, 3), "O": "0.6666666666666666"}) == (
        pytest.approx({"Fe": 1 / 3, "O": 2 / 3})
    )
    assert parse_composition({Element("Fe"): 1, Element("O"): 1}) == {"Fe": 0.5, "O": 0.5}
    comp = Composition("Fe2O3")
    assert_fractions(parse_composition(comp), {"Fe": 0.4, "O": 0.6})
    assert_fractions(parse_composition(Composition({"Fe2+": 2, "O2-": 3})), {"Fe": 0.4, "O": 0.6})
    assert isinstance(parse_composition(np.str_("Fe2O3")), dict)

    class Legacy:  # Composition-like, not a Mapping
        def get_el_amt_dict(self) -> dict[str, float]:
            return {"Fe": 1.0, "O": 3.0}

    assert parse_composition(Legacy()) == pytest.approx({"Fe": 0.25, "O": 0.75})


def test_output_is_plain_floats_summing_to_one() -> None:
    out = parse_composition("Fe1Cr1Ni1")
    assert all(type(v) is float for v in out.values())
    assert all(type(k) is str for k in out)
    assert math.fsum(out.values()) == pytest.approx(1.0, abs=1e-15)
    json.dumps(out)


def test_tiny_amounts_beside_huge_ones_do_not_leave_zero_fractions() -> None:
    out = parse_composition("Fe1e-300Cr1e300")
    assert out == {"Cr": 1.0}
    assert all(v > 0 for v in parse_composition("Fe1e-320Cr1").values())


# --------------------------------------------------------------------------- weight basis
def test_weight_percent_to_atomic() -> None:
    out = parse_composition("Fe50Cr50", basis="weight")
    m_fe, m_cr = Element("Fe").atomic_mass, Element("Cr").atomic_mass
    want_fe = (50 / m_fe) / (50 / m_fe + 50 / m_cr)
    assert out["Fe"] == pytest.approx(want_fe, rel=1e-12)
    assert math.fsum(out.values()) == pytest.approx(1.0)
    # Fe2O3 by weight is 69.94 % Fe: back to 2:3 atoms
    m_o = Element("O").atomic_mass
    w_fe = 2 * m_fe / (2 * m_fe + 3 * m_o)
    back = parse_composition({"Fe": w_fe, "O": 1 - w_fe}, basis="weight")
    assert back == pytest.approx({"Fe": 0.4, "O": 0.6}, rel=1e-9)
    # scale-free, like the atomic basis
    assert parse_composition("Fe0.5Cr0.5", basis="weight") == pytest.approx(out)


def test_weight_basis_agrees_with_pymatgen() -> None:
    from pymatgen.core import Composition as C

    wt = {"Ni": 60.0, "Cr": 20.0, "Mo": 10.0, "Fe": 10.0}
    ours = parse_composition(wt, basis="weight")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = C.from_weight_dict({k: v / 100 for k, v in wt.items()}).fractional_composition
    assert_fractions(ours, {str(e): float(v) for e, v in ref.items()}, tol=1e-9)


def test_bad_basis() -> None:
    with pytest.raises(CompositionError, match="basis"):
        parse_composition("Fe", basis="volume")  # type: ignore[arg-type]
    with pytest.raises(CompositionError, match="basis"):
        parse_compositions(["Fe"], basis="mole")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("", "empty"),
        ("   \t", "empty"),
        ("Xx2O3", "unknown element 'Xx'"),
        ("Fe2Q", "unknown element 'Q'"),
        ("(Xx)2", "unknown element 'Xx'"),
        ("Fe-1Cr2", "negative"),
        ("Fe2Cr-0.5", "negative"),
        ("Fe0Cr1", "positive"),
        ("Fe0.0", "positive"),
        ("(Fe)0", "positive"),
        ("Fe1e-400", "positive"),
        ("Fe1e400", "finite"),
        ("(Fe1e300)1e300Cr", "finite"),
        ("Fe1e308Cr1e308", "finite"),
        ("Fenan", "finite"),
        ("Fe nan Cr", "finite"),
        ("Fe inf", "finite"),
        ("Fe(Cr2", "unbalanced"),
        ("Fe)Cr2", "unbalanced"),
        ("(Fe]2", "unbalanced"),
        ("((Fe)", "unbalanced"),
        ("()2", "empty brackets"),
        ("(2Fe)", "number cannot follow"),
        ("fe2o3", "unexpected text"),
        ("2Fe", "unexpected text"),
        ("Fe2O3!", "unexpected text"),
        ("Fe%Cr%", "unexpected text"),
        ("Fe: 2", "unexpected text"),
        ("Fe2O3·H2O", "unexpected text"),
        ("Fe\u00a0Cr", "non-ASCII whitespace"),  # NBSP from a spreadsheet: refused (issue 16)
        ("(Fe1e-300)1e-300Cr", "underflows"),  # as absent as Fe0 (issue 16)
        ("Fe\u0663", "unexpected text"),  # Arabic-Indic digit: float() would read it
        ("Fe\U0001d7d8.5", "unexpected text"),  # mathematical bold digit
        ("Fe1.2.3", "unexpected text"),
        ("Fe+2", "unexpected text"),
        ("hello world", "unexpected text"),
    ],
)
def test_invalid_text(bad: str, reason: str) -> None:
    with pytest.raises(CompositionError) as info:
        parse_composition(bad)
    message = str(info.value)
    assert reason in message
    assert repr(bad)[:60] in message or repr(bad)[:77] in message  # names the input
    assert info.value.input == bad
    assert reason in info.value.reason
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({}, "no elements"),
        ({"Fe": 0, "O": 0.0}, "no elements"),
        ({"Xx": 1}, "unknown element"),
        ({"Fe": -1}, "negative"),
        ({"Fe": float("nan")}, "finite"),
        ({"Fe": float("inf")}, "finite"),
        ({"Fe": 10**400}, "not a finite number"),  # float() raises OverflowError
        ({"Fe": "abc"}, "not a finite number"),
        ({"Fe": "nan"}, "finite"),
        ({"Fe": None}, "not a finite number"),
        ({"Fe": [1, 2]}, "not a finite number"),
        ({"Fe": np.array([1.0, 2.0])}, "not a finite number"),
        ({"Fe": True}, "not a number"),
        ({"Fe": b"1"}, "not a number"),
        ({"Fe": 1e308, "O": 1e308}, "finite total"),
        ({3: 1.0}, "element symbols"),
        ({None: 1.0}, "element symbols"),
        (None, "missing value"),
        (float("nan"), "missing value"),
        (pd.NA, "missing value"),
        (42, "expected a formula"),
        (b"Fe2O3", "expected a formula"),
        (["Fe", "O"], "expected a formula"),
        (object(), "expected a formula"),
    ],
)
def test_invalid_objects(bad: object, reason: str) -> None:
    with pytest.raises(CompositionError, match=reason):
        parse_composition(bad)


def test_custom_float_that_raises_is_a_composition_error() -> None:
    class Weird:
        def __float__(self) -> float:
            raise RuntimeError("boom")

    with pytest.raises(CompositionError, match="not a finite number"):
        parse_composition({"Fe": Weird()})


def test_long_garbage_fails_fast() -> None:
    """The flat-formula regex used to backtrack exponentially (40 characters took 15 s)."""
    for text in ["Fe  " * 5000 + "!", "Fe11" * 5000 + "!", "Fe1.1" * 5000 + "?", "(" * 5000 + "Fe"]:
        seconds = timeit.timeit(
            lambda t=text: pytest.raises(CompositionError, parse_composition, t), number=1
        )
        # a hang detector, not a speed goal: exponential backtracking over 20,000 characters
        # would never finish, while the linear parser takes milliseconds
        assert seconds < 10.0, (text[:20], seconds)


def test_error_pickles() -> None:
    with pytest.raises(CompositionError) as info:
        parse_composition("Xx")
    again = pickle.loads(pickle.dumps(info.value))
    assert isinstance(again, CompositionError) and str(again) == str(info.value)


# --------------------------------------------------------------------------- batches
MIXED = ["Fe2O3", "Xx2", None, "Fe: 2", {"Fe": 10**400}, "Al0.25 Co1 Fe1 Ni1", "(Fe"]


def test_batch_raise_lists_bad_rows_after_looking_at_all() -> None:
    assert parse_compositions(["Fe2O3", "NiO"]) == [parse_composition("Fe2O3"),
                                                   parse_composition("NiO")]
    with pytest.raises(CompositionError) as info:
        parse_compositions(MIXED)
    message = str(info.value)
    assert message.startswith("5 of 7 compositions are invalid")
    assert "row 1 'Xx2': unknown element 'Xx'" in message
    assert "row 2 None: missing value" in message
    assert "(and 0 more)" not in message


def test_batch_skip() -> None:
    out = parse_compositions(MIXED, errors="skip")
    assert out == [parse_composition("Fe2O3"), parse_composition("Al0.25 Co1 Fe1 Ni1")]


def test_batch_report_reasons_are_exact() -> None:
    series = pd.Series(MIXED, index=[f"r{i}" for i in range(len(MIXED))])
    rep = parse_compositions(series, errors="report")
    assert isinstance(rep, BatchParse) and not rep.ok
    assert rep.index == ["r0", "r5"]
    assert len(rep.compositions) == 2
    reasons = dict(zip(rep.errors["index"], rep.errors["reason"], strict=True))
    assert reasons == {
        "r1": "unknown element 'Xx'",
        "r2": "missing value",
        # the input itself holds ": ", which used to cut the reason in two
        "r3": "unexpected text ': 2' at position 2",
        "r4": reasons["r4"],
        "r6": "unbalanced brackets: '(' is never closed",
    }
    assert reasons["r4"].startswith("amount of Fe is not a finite number")
    assert list(rep.errors.columns) == ["index", "input", "reason"]
    good = parse_compositions(["Fe"], errors="report")
    assert isinstance(good, BatchParse) and good.ok and good.index == [0]


def test_batch_survives_objects_that_raise_anything() -> None:
    class Hostile:
        def __getattr__(self, name: str) -> object:
            raise RuntimeError("no attributes for you")

    rep = parse_compositions(["Fe", Hostile(), "O"], errors="report")
    assert isinstance(rep, BatchParse)
    assert rep.index == [0, 2]
    assert len(rep.errors) == 1


def test_batch_rejects_a_single_composition_or_bad_mode() -> None:
    for one in ["Fe2O3", {"Fe": 1}, Composition("Fe2O3"), pd.DataFrame({"f": ["Fe"]})]:
        with pytest.raises(CompositionError, match="parse_composition"):
            parse_compositions(one)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="errors must be"):
        parse_compositions(["Fe"], errors="ignore")  # type: ignore[arg-type]


def test_batch_accepts_generators_arrays_and_empty() -> None:
    assert parse_compositions(f for f in ["Fe", "O"]) == [{"Fe": 1.0}, {"O": 1.0}]
    assert parse_compositions(np.array(["Fe", "O"])) == [{"Fe": 1.0}, {"O": 1.0}]
    assert parse_compositions([]) == []
    rep = parse_compositions(pd.Series([], dtype=object), errors="report")
    assert isinstance(rep, BatchParse) and rep.ok and rep.compositions == []


# --------------------------------------------------------------------------- formatting
def test_to_formula_round_trip() -> None:
    for text in ["Fe0.7Cr0.2Ni0.1", "(Bi2Te3)0.9(Sb2Te3)0.1", "Al0.25 Co1 Fe1 Ni1", "Fe1e-5Cr1"]:
        fr = parse_composition(text)
        again = parse_composition(to_formula(fr, decimals=12))
        assert again == pytest.approx(fr, abs=1e-11)
    assert to_formula({"Fe": 0.7, "Cr": 0.3}) == "Fe0.7Cr0.3"
    assert to_formula({"Fe": 1.0}) == "Fe1"
    assert to_formula({"Fe": 0.5, "Cr": 0.0, "Ni": 0.5}) == "Fe0.5Ni0.5"
    assert to_formula({"Fe": 2, "O": 3}) == "Fe2O3"  # formats, does not normalize
    assert to_formula("Fe2O3") == "Fe0.4O0.6"
    assert to_formula(Composition("Fe2O3")) == "Fe0.4O0.6"
    assert to_formula({"Fe": 1e-6, "O": 1}, decimals=4) == "Fe1e-06O1"
    assert parse_composition("Fe1e-06O1")["Fe"] == pytest.approx(1e-6 / (1 + 1e-6))
    assert to_formula({"Fe": 0.5, "Cr": -1e-17, "Ni": 0.5}) == "Fe0.5Ni0.5"  # noise is zero
    assert to_formula({"P3HT": 0.25, "PCBM": 0.75}) == "P3HT0.25PCBM0.75"  # display only
    for bad in [{}, {"Fe": 0.0}, {"Fe": -1}, {"Fe": float("nan")}, {"Fe": "x"}, {"Fe": None},
                {"Fe": float("inf"), "O": 1}]:
        with pytest.raises(CompositionError):
            to_formula(bad)


def test_composition_key() -> None:
    assert composition_key("Fe2O3") == composition_key("Fe4O6") == composition_key("O3Fe2")
    assert composition_key("Fe2O3") == "O0.6Fe0.4"  # ordered by atomic number
    assert composition_key("Fe0.1O0.2") == composition_key({"O": 2, "Fe": 1})
    assert composition_key("Fe2O3") != composition_key("Fe3O4")
    with pytest.raises(CompositionError):
        composition_key("nonsense")


def test_fractions_matrix() -> None:
    comps = [parse_composition("Fe2O3"), parse_composition("NiO")]
    X, els = fractions_matrix(comps)
    assert els == ["O", "Fe", "Ni"]  # by atomic number
    np.testing.assert_allclose(X, [[0.6, 0.4, 0.0], [0.5, 0.0, 0.5]])
    X2, els2 = fractions_matrix(["Fe2O3", "NiO"], elements=["Fe", "Ni", "O"])
    assert els2 == ["Fe", "Ni", "O"]
    np.testing.assert_allclose(X2, [[0.4, 0.0, 0.6], [0.0, 0.5, 0.5]])
    with pytest.raises(CompositionError, match="not one of"):
        fractions_matrix(comps, elements=["Fe", "O"])
    X3, els3 = fractions_matrix([])
    assert X3.shape == (0, 0) and els3 == []


def test_elements() -> None:
    assert is_element("Fe") and not is_element("fe") and not is_element("Xx")
    assert atomic_number("Og") == 118
    with pytest.raises(CompositionError, match="not a chemical element"):
        atomic_number("Xx")
    assert atomic_mass("Fe") == pytest.approx(55.845)
    with pytest.raises(CompositionError):
        atomic_mass("Xx")


def test_parse_speed_simple_formula() -> None:
    """A few microseconds on a simple formula; generous bound against a 10x regression."""
    n = 2000
    per_call = min(timeit.repeat(lambda: parse_composition("Fe0.7Cr0.2Ni0.1"), number=n,
                                 repeat=3)) / n
    assert per_call < 100e-6, per_call
