"""Charge neutrality and electronegativity balance of compounds, with SMACT's tables.

The rules are those of SMACT's ``smact_validity`` (Davies et al., "SMACT: Semiconducting
Materials by Analogy and Chemical Theory", J. Open Source Softw. 4, 1361 (2019),
doi:10.21105/joss.01361; Davies et al., Chem 1, 617 (2016), doi:10.1016/j.chempr.2016.09.010):

* **charge neutrality**: some choice of one oxidation state per element (from SMACT's ICSD-2024
  table, states seen in at least 3 ICSD entries, SMACT's default) makes the formula's total
  charge zero. With ``mixed_valence=True`` the atoms of an element in SMACT's
  ``MIXED_VALENCE_ELEMENTS`` may take different states of the same sign (Fe3O4 = Fe2+ 2Fe3+).
* **electronegativity balance** (Pauling test): in such a neutral assignment every cation is
  less electronegative (Pauling scale, SMACT's table) than every anion
  (SMACT's ``eneg_states_test``).
* Pure elements and compositions made only of SMACT's metals pass both (SMACT's
  ``include_alloys``): alloys are judged by :mod:`jupyter_matopt.rules.alloy` instead.

SMACT works on integer formulas and truncates non-integer amounts (``int(2.5) == 2``), so
fractions are first turned into the smallest integer formula within a tolerance
(:func:`integer_formulas`); a composition with none (e.g. a steel with 0.1 % C) is reported
as such and counted as not charge-neutral.

SMACT (and its pymatgen dependency) is imported on first use.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache, lru_cache, reduce
from itertools import product
from typing import Any

import numpy as np
import pandas as pd

from ._inputs import RulesError, as_fractions

__all__ = ["integer_formulas", "compound_rules", "compound_validity", "oxidation_states",
           "SMACT_CITATION"]

SMACT_CITATION = (
    "@article{Davies2019SMACT, author={Davies, Daniel W. and Butler, Keith T. and Skelton, "
    "Jonathan M. and Xie, Congwei and Oganov, Artem R. and Walsh, Aron}, title={SMACT: "
    "Semiconducting Materials by Analogy and Chemical Theory}, journal={Journal of Open Source "
    "Software}, volume={4}, number={38}, pages={1361}, year={2019}, doi={10.21105/joss.01361}}"
)

_OX_SETS = ("icsd24", "icsd16", "smact14", "pymatgen_sp", "wiki")


def _smact() -> Any:
    try:
        import smact
        import smact.screening
    except ImportError:  # pragma: no cover - smact is a base dependency
        raise RulesError(
            "the compound rules need SMACT: pip install smact (a dependency of jupyter_matopt)"
        ) from None
    return smact


@cache
def _ox_table(oxidation_states_set: str) -> dict[str, tuple[int, ...]]:
    smact = _smact()
    if oxidation_states_set == "icsd24":
        from smact.utils.oxidation import ICSD24OxStatesFilter

        df = ICSD24OxStatesFilter().filter(consensus=3, include_zero=False, commonality="low")
        return {str(r.element): tuple(int(x) for x in str(r.oxidation_state).split())
                for r in df.itertuples()}
    attr = {"icsd16": "oxidation_states_icsd16", "smact14": "oxidation_states_smact14",
            "pymatgen_sp": "oxidation_states_sp", "wiki": "oxidation_states_wiki"}[
        oxidation_states_set]
    out: dict[str, tuple[int, ...]] = {}
    for sym in smact.ordered_elements(1, 103):
        try:
            states = getattr(smact.Element(sym), attr) or ()
        except Exception:  # noqa: BLE001 - an element SMACT lacks data for has no states
            states = ()
        out[sym] = tuple(int(s) for s in states if s != 0)
    return out


@cache
def pauling_electronegativity(symbol: str) -> float | None:
    """Pauling electronegativity from SMACT's tables, or None where SMACT has none."""
    return _eneg(symbol)


def _eneg(symbol: str) -> float | None:
    try:
        v = _smact().Element(symbol).pauling_eneg
    except Exception:  # noqa: BLE001 - SMACT has no entry: no electronegativity
        return None
    return None if v is None else float(v)


@cache
def _metals() -> frozenset[str]:
    return frozenset(_smact().metals)


@cache
def _mixed_valence_elements() -> frozenset[str]:
    return frozenset(_smact().screening.MIXED_VALENCE_ELEMENTS)


def oxidation_states(symbol: str, *, oxidation_states_set: str = "icsd24") -> tuple[int, ...]:
    """SMACT's non-zero oxidation states of ``symbol`` in the named set."""
    if oxidation_states_set not in _OX_SETS:
        raise RulesError(f"oxidation_states_set must be one of {_OX_SETS}, "
                         f"got {oxidation_states_set!r}")
    return _ox_table(oxidation_states_set).get(symbol, ())


def _support(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's non-zero columns (in column order, padded with -1) and their values
    (padded with 0), ``(n, m)`` for at most ``m`` non-zeros per row."""
    n = len(X)
    r, c = np.nonzero(X)
    per_row = np.bincount(r, minlength=n)
    m = int(per_row.max()) if n else 0
    slot = np.arange(len(r)) - (np.cumsum(per_row) - per_row)[r]
    cols = np.full((n, m), -1, dtype=np.int64)
    vals = np.zeros((n, m), dtype=X.dtype)
    cols[r, slot] = c
    vals[r, slot] = X[r, c]
    return cols, vals


def integer_formulas(X: np.ndarray, *, tol: float = 0.01, max_atoms: int = 30
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Smallest integer formulas of fraction rows, vectorized over rows.

    For ``N = 1, 2, ..., max_atoms`` the amounts ``round(N x)`` are tried; the first ``N``
    whose amounts keep every present element (count >= 1) and whose fractions differ from
    ``x`` by at most ``tol`` (absolute, per element) is taken, then divided by the counts' gcd.

    Args:
        X: ``(n, k)`` fractions (rows summing to 1).
        tol: Largest absolute difference allowed between a fraction and its integer
            formula's fraction.
        max_atoms: Largest number of atoms in the formula unit tried.

    Returns:
        ``(counts, ok)``: ``(n, k)`` integer counts (zeros where ``ok`` is False) and the
        boolean mask of rows that have such a formula.
    """
    X = np.asarray(X, dtype=float)
    n, k = X.shape
    m = int((X > 0).sum(axis=1).max()) if n else 0
    if n and k > 2 * m:
        # sparse rows (ternaries over 80+ elements): work on each row's present columns only,
        # gathered through np.nonzero (a partition of every row costs ~10x more)
        cols, vals = _support(X)
        c_top, ok_top = integer_formulas(vals, tol=tol, max_atoms=max_atoms)
        full = np.zeros((n, k), dtype=np.int64)
        r, s = np.nonzero(cols >= 0)
        full[r, cols[r, s]] = c_top[r, s]
        return full, ok_top
    counts = np.zeros((n, k), dtype=np.int64)
    ok = np.zeros(n, dtype=bool)
    present = X > 0
    todo = np.arange(n)
    for N in range(1, int(max_atoms) + 1):
        if not len(todo):
            break
        Xt = X[todo]
        C = np.rint(Xt * N)
        s = C.sum(axis=1, keepdims=True)
        good = (np.all((C >= 1) | ~present[todo], axis=1) & (s[:, 0] > 0))
        err = np.abs(C / np.maximum(s, 1) - Xt).max(axis=1)
        good &= err <= tol + 1e-12
        rows = todo[good]
        counts[rows] = C[good].astype(np.int64)
        ok[rows] = True
        todo = todo[~good]
    g = np.gcd.reduce(counts, axis=1)
    g[g == 0] = 1
    return counts // g[:, None], ok


def _reachable(states: Sequence[int], n: int, mixed: bool) -> dict[int, set[int]]:
    """Total charges of ``n`` atoms per sign: one shared state, or (mixed) any same-sign mix."""
    out: dict[int, set[int]] = {}
    for sign in (1, -1):
        ss = [s for s in states if s * sign > 0]
        if not ss:
            continue
        if not mixed or n == 1 or len(ss) == 1:
            out[sign] = {n * s for s in ss}
            continue
        cur = {0}
        for _ in range(n):
            cur = {c + s for c in cur for s in ss}
        out[sign] = cur
    return out


@lru_cache(maxsize=200_000)
def _check(formula: tuple[tuple[str, int], ...], mixed_valence: bool, ox_set: str
           ) -> tuple[bool, bool, str]:
    """``(charge_neutral, neutral_and_balanced, reason)`` of an integer formula."""
    symbols = [s for s, _ in formula]
    if len(symbols) == 1:
        return True, True, "element"
    if all(s in _metals() for s in symbols):
        return True, True, "metals only (alloy)"
    table = _ox_table(ox_set)
    mixed_ok = _mixed_valence_elements()
    options: list[dict[int, set[int]]] = []
    for sym, cnt in formula:
        states = table.get(sym, ())
        if not states:
            return False, False, f"{sym} has no oxidation state in SMACT's {ox_set} table"
        options.append(_reachable(states, cnt, mixed_valence and sym in mixed_ok))
    from smact.screening import eneg_states_test

    enegs = [pauling_electronegativity(s) for s in symbols]  # cached: Element() is slow

    def zero_sum(signs: tuple[int, ...]) -> bool:
        # 0 in A_1 + ... + A_m  <=>  (A_1 + ... + A_{m-1}) meets -A_m (saves the largest sumset)
        sets = [options[i][sg] for i, sg in enumerate(signs)]
        head = reduce(lambda acc, r: {a + b for a in acc for b in r}, sets[:-1], {0})
        return not head.isdisjoint({-b for b in sets[-1]})

    # non-zero states: a neutral assignment has both signs; balanced patterns first, so a
    # valid formula returns at its first neutral pattern
    patterns = [sg for sg in product(*[sorted(o) for o in options]) if 1 in sg and -1 in sg]
    balanced = [eneg_states_test(list(sg), enegs) for sg in patterns]
    if any(zero_sum(sg) for sg, b in zip(patterns, balanced, strict=True) if b):
        return True, True, ""
    if any(zero_sum(sg) for sg, b in zip(patterns, balanced, strict=True) if not b):
        return True, False, "charge-neutral only with a cation more electronegative than an anion"
    return False, False, "no charge-neutral assignment of oxidation states"


def compound_validity(
    X: np.ndarray,
    elements: Sequence[str],
    *,
    mixed_valence: bool = False,
    tol: float = 0.01,
    max_atoms: int = 30,
    oxidation_states_set: str = "icsd24",
) -> tuple[np.ndarray, np.ndarray]:
    """The verdicts of :func:`compound_rules` as two boolean masks, without the text columns.

    Vectorized for the generator's filter (tens of thousands of rows per ``sample``): the
    integer formulas are found for all rows at once, and SMACT's test runs once per distinct
    formula (and is cached across calls).

    Args:
        X: ``(n, k)`` fractions over ``elements`` (rows summing to 1).
        elements: Element symbols of the columns.
        mixed_valence, tol, max_atoms, oxidation_states_set: As in :func:`compound_rules`.

    Returns:
        ``(charge_neutral, neutral_and_balanced)``, boolean arrays of length ``n``.
    """
    X = np.asarray(X, dtype=float)
    els = list(elements)
    n = len(X)
    neutral = np.zeros(n, dtype=bool)
    balanced = np.zeros(n, dtype=bool)
    if not n:
        return neutral, balanced
    _smact()
    present = X > 0
    metal = np.array([e in _metals() for e in els], dtype=bool)
    # a pure element or metals only pass without a formula, as in compound_rules
    trivial = (present.sum(axis=1) <= 1) | ~(present & ~metal).any(axis=1)
    neutral[trivial] = balanced[trivial] = True
    todo = np.flatnonzero(~trivial)
    if not len(todo):
        return neutral, balanced
    counts, ok = integer_formulas(X[todo], tol=tol, max_atoms=int(max_atoms))
    todo, counts = todo[ok], counts[ok]
    if not len(todo):
        return neutral, balanced
    # the present columns of each row, in column order, then -1 (count 0) padding
    cols, cnt = _support(counts)
    m = cols.shape[1]
    key = np.ascontiguousarray(np.hstack([cols, cnt]).astype(np.int64))
    uniq, inv = np.unique(key.view(np.dtype((np.void, 8 * key.shape[1]))).ravel(),
                          return_inverse=True)
    res = np.zeros((len(uniq), 2), dtype=bool)
    for u, raw in enumerate(uniq):
        row = np.frombuffer(raw.tobytes(), dtype=np.int64)
        formula = tuple((els[int(j)], int(c)) for j, c in zip(row[:m], row[m:], strict=True)
                        if c > 0)
        res[u, 0], res[u, 1], _ = _check(formula, bool(mixed_valence), oxidation_states_set)
    neutral[todo] = res[inv.ravel(), 0]
    balanced[todo] = res[inv.ravel(), 1]
    return neutral, balanced


def compound_rules(
    compositions: Any,
    elements: Sequence[str] | None = None,
    *,
    mixed_valence: bool = False,
    tol: float = 0.01,
    max_atoms: int = 30,
    oxidation_states_set: str = "icsd24",
) -> pd.DataFrame:
    """SMACT charge neutrality and electronegativity balance, one row per composition.

    Args:
        compositions: Formulas or mappings, a DataFrame with element columns (or a
            ``formula`` column), or an ``(n, k)`` fraction array with ``elements``.
        elements: Element symbols of the array's columns.
        mixed_valence: Let atoms of SMACT's mixed-valence elements (Fe, Mn, Co, ...) take
            different oxidation states of one sign (needed for Fe3O4 or LiCo2O4).
        tol: Tolerance of the integer formula (see :func:`integer_formulas`).
        max_atoms: Largest formula unit tried.
        oxidation_states_set: SMACT's oxidation-state table: ``"icsd24"`` (default, as
            ``smact_validity``), ``"icsd16"``, ``"smact14"``, ``"pymatgen_sp"``, ``"wiki"``.

    Returns:
        DataFrame with ``integer_formula`` (None when there is none within ``tol``),
        ``charge_neutral``, ``electronegativity_balanced`` (neutral *and* balanced) and
        ``reason`` (empty when both pass).

    Raises:
        RulesError: for malformed compositions or options.
    """
    if oxidation_states_set not in _OX_SETS:
        raise RulesError(f"oxidation_states_set must be one of {_OX_SETS}, "
                         f"got {oxidation_states_set!r}")
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and 0 <= tol < 0.5):
        raise RulesError(f"tol must be a number in [0, 0.5), got {tol!r}")
    if isinstance(max_atoms, bool) or not isinstance(max_atoms, (int, np.integer)) \
            or max_atoms < 1:
        raise RulesError(f"max_atoms must be a positive integer, got {max_atoms!r}")
    X, els = as_fractions(compositions, elements)
    _smact()
    counts, ok = integer_formulas(X, tol=tol, max_atoms=int(max_atoms))
    metals = _metals()
    n = len(X)
    formula: list[str | None] = [None] * n
    neutral = np.zeros(n, dtype=bool)
    balanced = np.zeros(n, dtype=bool)
    reason = [""] * n
    present = X > 0
    for i in range(n):
        syms = [els[j] for j in np.flatnonzero(present[i])]
        if not ok[i]:
            if len(syms) == 1 or all(s in metals for s in syms):
                neutral[i] = balanced[i] = True
                reason[i] = "element" if len(syms) == 1 else "metals only (alloy)"
            else:
                reason[i] = (f"no integer formula with at most {max_atoms} atoms within "
                             f"{tol:g} of the fractions")
            continue
        key = tuple((els[j], int(counts[i, j])) for j in np.flatnonzero(present[i]))
        # cations first, as chemists write formulas (SMACT's Pauling scale, then Z)
        ordered = sorted(key, key=lambda sc: (pauling_electronegativity(sc[0]) or 99.0,
                                             els.index(sc[0])))
        formula[i] = "".join(f"{s}{c if c != 1 else ''}" for s, c in ordered)
        neutral[i], balanced[i], reason[i] = _check(key, bool(mixed_valence),
                                                    oxidation_states_set)
    return pd.DataFrame({"integer_formula": formula, "charge_neutral": neutral,
                         "electronegativity_balanced": balanced, "reason": reason})
