"""Price and supply risk of a composition, from the element tables that ship with pymatgen.

* **Price** (:func:`cost`): pymatgen's ``analysis/costdb_elements.csv``, USD per kg of each
  element with a BibTeX source per row (Wolfram Alpha and Wikipedia's "Prices of elements",
  mostly September 2013, a few rows August 2019). A composition costs the mass-weighted sum
  of its elements' prices, which is what pymatgen's ``CostAnalyzer`` gives with the element
  table (the cheapest decomposition of a mixture into elements is the elements themselves).
  These are raw-element estimates of their year, not quotes for a processed material.
* **Supply risk** (:func:`supply_risk`): the Herfindahl-Hirschman index (HHI, 0-10000) of the
  producing and of the reserve-holding countries per element (pymatgen's
  ``analysis/hhi_data.csv``; Gaultois et al., Chem. Mater. 25, 2911 (2013), USGS data of
  about 2011), weighted by mass fraction as in pymatgen's ``HHIModel``. Below 1500 is a
  dispersed market, above 2500 a concentrated one (US DoJ thresholds).

Both work on one composition, a list of them, or (vectorized, for screening) a fraction
matrix: :func:`cost_fractions`, :func:`supply_risk_fractions`, :func:`economics_fractions`.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .core.composition import parse_composition
from .core.elements import atomic_mass, is_element

__all__ = [
    "EconomicsError",
    "PriceTable",
    "composition_economics",
    "cost",
    "cost_fractions",
    "economics_fractions",
    "price_table",
    "supply_risk",
    "supply_risk_fractions",
]

#: Avogadro's number cancels; prices are per kg, molar masses in g/mol.
_G_PER_KG = 1000.0


class EconomicsError(ValueError):
    """A composition whose price or supply risk cannot be estimated (missing element data)."""


class PriceTable:
    """Element prices and HHI values with their sources.

    Attributes:
        price: ``{element: USD per kg}``.
        price_source: ``{element: "Wolfram Alpha (September 2013)"}``.
        price_year: ``{element: year}``.
        hhi_production: ``{element: HHI of production}``.
        hhi_reserve: ``{element: HHI of reserves}``.
        files: The two CSV files read.
    """

    def __init__(self) -> None:
        import pymatgen.analysis as pa

        folder = Path(next(iter(pa.__path__)))
        self.files = (folder / "costdb_elements.csv", folder / "hhi_data.csv")
        self.price: dict[str, float] = {}
        self.price_source: dict[str, str] = {}
        self.price_year: dict[str, int] = {}
        with open(self.files[0], encoding="utf-8") as fh:
            for row in csv.reader(fh, quotechar="|"):
                if not row or row[0].startswith("#") or not is_element(row[0].strip()):
                    continue
                el, bib = row[0].strip(), row[3] if len(row) > 3 else ""
                self.price[el] = float(row[1])
                title = re.search(r'title\s*=\s*"([^"]*)"', bib)
                month = re.search(r'month\s*=\s*"([^"]*)"', bib)
                year = re.search(r'year\s*=\s*"(\d{4})"', bib)
                self.price_year[el] = int(year.group(1)) if year else 0
                self.price_source[el] = (
                    f"{title.group(1) if title else 'unknown source'}"
                    f" ({month.group(1) + ' ' if month else ''}{year.group(1) if year else '?'})"
                )
        self.hhi_production: dict[str, float] = {}
        self.hhi_reserve: dict[str, float] = {}
        with open(self.files[1], encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("#") or not line.strip():
                    continue
                el, hp, hr = (t.strip() for t in line.split(","))
                self.hhi_production[el] = float(hp)
                self.hhi_reserve[el] = float(hr)


@lru_cache(maxsize=1)
def price_table() -> PriceTable:
    """The element price and HHI tables (read once)."""
    return PriceTable()


def _fractions(x: Any) -> dict[str, float]:
    try:
        return parse_composition(x)
    except ValueError as exc:
        raise EconomicsError(f"cannot estimate price or supply risk of {x!r}: {exc}") from None


def _check(els: Iterable[str], table: Mapping[str, float], what: str, where: str) -> None:
    missing = sorted(el for el in els if el not in table)
    if missing:
        have = ", ".join(sorted(table, key=lambda e: atomic_mass(e)))
        raise EconomicsError(
            f"no {what} data for {', '.join(missing)} in {where}; elements with data: {have}"
        )


def _weights(fr: Mapping[str, float]) -> tuple[dict[str, float], float]:
    """Mass fractions and the mean molar mass (g per mol of atoms)."""
    masses = {el: f * atomic_mass(el) for el, f in fr.items()}
    total = sum(masses.values())
    return {el: m / total for el, m in masses.items()}, total


def _one_cost(x: Any) -> dict[str, Any]:
    t = price_table()
    fr = _fractions(x)
    _check(fr, t.price, "price", "pymatgen's costdb_elements.csv")
    w, molar = _weights(fr)
    per_kg = sum(w[el] * t.price[el] for el in fr)
    years = sorted({t.price_year[el] for el in fr})
    return {
        "cost_per_kg": per_kg,
        "cost_per_mol": per_kg * molar / _G_PER_KG,
        "currency": "USD",
        "year": years[-1] if len(years) == 1 else f"{years[0]}-{years[-1]}",
        "sources": {el: t.price_source[el] for el in fr},
        "note": "estimate from raw-element prices of the year stated; per mol = per mole of atoms",
    }


def _one_risk(x: Any) -> dict[str, Any]:
    t = price_table()
    fr = _fractions(x)
    _check(fr, t.hhi_production, "HHI", "pymatgen's hhi_data.csv")
    w, _ = _weights(fr)
    return {
        "hhi_production": sum(w[el] * t.hhi_production[el] for el in fr),
        "hhi_reserve": sum(w[el] * t.hhi_reserve[el] for el in fr),
        "year": "about 2011 (USGS data in Gaultois et al. 2013)",
        "note": "mass-weighted Herfindahl-Hirschman index, 0-10000; >2500 is concentrated",
    }


def _is_batch(x: Any) -> bool:
    return not isinstance(x, (str, Mapping)) and isinstance(x, Iterable) and not hasattr(
        x, "get_el_amt_dict"
    )


def cost(composition: Any) -> dict[str, Any] | pd.DataFrame:
    """Estimated raw-material price of a composition.

    Args:
        composition: A formula (``"Fe0.7Cr0.2Ni0.1"``), a ``{element: amount}`` mapping, a
            pymatgen ``Composition``, or a list of those.

    Returns:
        For one composition a dict with ``cost_per_kg`` (USD/kg), ``cost_per_mol`` (USD per
        mole of atoms), ``currency``, ``year`` (of the price sources used), ``sources``
        (per element) and ``note``; for a list a DataFrame with one row each
        (``composition``, ``cost_per_kg``, ``cost_per_mol``, ``year``).

    Raises:
        EconomicsError: an element has no price in the table (named, with the elements
            that have one) or the composition does not parse.

    Examples:
        >>> round(cost("Fe")["cost_per_kg"], 4)  # pymatgen's 2013 table
        0.0297
    """
    if _is_batch(composition):
        rows = [_one_cost(c) for c in composition]
        return pd.DataFrame(
            {
                "composition": [str(c) for c in composition],
                "cost_per_kg": [r["cost_per_kg"] for r in rows],
                "cost_per_mol": [r["cost_per_mol"] for r in rows],
                "year": [r["year"] for r in rows],
            }
        )
    return _one_cost(composition)


def supply_risk(composition: Any) -> dict[str, Any] | pd.DataFrame:
    """Supply risk of a composition as the mass-weighted HHI of production and reserves.

    Args:
        composition: A formula, mapping, ``Composition``, or a list of those.

    Returns:
        For one composition a dict with ``hhi_production``, ``hhi_reserve`` (0-10000),
        ``year`` and ``note``; for a list a DataFrame with one row each.

    Raises:
        EconomicsError: an element has no HHI data (named) or the composition does not parse.
    """
    if _is_batch(composition):
        rows = [_one_risk(c) for c in composition]
        return pd.DataFrame(
            {
                "composition": [str(c) for c in composition],
                "hhi_production": [r["hhi_production"] for r in rows],
                "hhi_reserve": [r["hhi_reserve"] for r in rows],
            }
        )
    return _one_risk(composition)


def _matrix(X: Any, elements: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    els = [str(e) for e in elements]
    bad = [e for e in els if not is_element(e)]
    if bad:
        raise EconomicsError(f"elements {bad} are not chemical element symbols")
    A = np.asarray(X, dtype=float)
    if A.ndim == 1:
        A = A[None, :]
    if A.ndim != 2 or A.shape[1] != len(els):
        raise EconomicsError(
            f"X must be a (n, {len(els)}) matrix of fractions over {els}, got shape "
            f"{np.shape(X)}"
        )
    if not np.all(np.isfinite(A)) or np.any(A < 0):
        raise EconomicsError("X must hold finite fractions >= 0")
    return A, els


def _mass_fractions(A: np.ndarray, els: list[str]) -> tuple[np.ndarray, np.ndarray]:
    M = np.array([atomic_mass(e) for e in els])
    mass = A * M
    total = mass.sum(axis=1)
    n_atoms = A.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        W = mass / total[:, None]
        molar = total / n_atoms  # g per mole of atoms, whatever the rows sum to
    return W, molar


def _used(A: np.ndarray, els: list[str]) -> list[str]:
    return [e for e, used in zip(els, (A > 0).any(axis=0), strict=True) if used]


def cost_fractions(X: Any, elements: Sequence[str]) -> pd.DataFrame:
    """Vectorized :func:`cost` for a matrix of fractions (rows need not sum to 1).

    Args:
        X: ``(n, len(elements))`` atomic amounts.
        elements: Element symbols of the columns.

    Returns:
        DataFrame with ``cost_per_kg`` and ``cost_per_mol`` (USD; NaN for an all-zero row).

    Raises:
        EconomicsError: a column element that is used by some row has no price.
    """
    A, els = _matrix(X, elements)
    t = price_table()
    _check(_used(A, els), t.price, "price", "pymatgen's costdb_elements.csv")
    W, molar = _mass_fractions(A, els)
    p = np.array([t.price.get(e, 0.0) for e in els])
    per_kg = W @ p
    return pd.DataFrame({"cost_per_kg": per_kg, "cost_per_mol": per_kg * molar / _G_PER_KG})


def supply_risk_fractions(X: Any, elements: Sequence[str]) -> pd.DataFrame:
    """Vectorized :func:`supply_risk`: ``hhi_production`` and ``hhi_reserve`` per row.

    Raises:
        EconomicsError: a column element that is used by some row has no HHI data.
    """
    A, els = _matrix(X, elements)
    t = price_table()
    _check(_used(A, els), t.hhi_production, "HHI", "pymatgen's hhi_data.csv")
    W, _ = _mass_fractions(A, els)
    hp = np.array([t.hhi_production.get(e, 0.0) for e in els])
    hr = np.array([t.hhi_reserve.get(e, 0.0) for e in els])
    return pd.DataFrame({"hhi_production": W @ hp, "hhi_reserve": W @ hr})


#: Columns :func:`economics_fractions` can compute; ``hhi`` is ``hhi_production``.
ECONOMICS_COLUMNS = ("cost_per_kg", "cost_per_mol", "hhi", "hhi_production", "hhi_reserve")


def economics_fractions(
    X: Any, elements: Sequence[str], columns: Sequence[str] = ECONOMICS_COLUMNS
) -> pd.DataFrame:
    """The requested economics columns for a fraction matrix (see :data:`ECONOMICS_COLUMNS`).

    Raises:
        EconomicsError: an unknown column name, or an element without data.
    """
    bad = [c for c in columns if c not in ECONOMICS_COLUMNS]
    if bad:
        raise EconomicsError(f"unknown economics column(s) {bad}; known: {list(ECONOMICS_COLUMNS)}")
    out = pd.DataFrame(index=range(np.atleast_2d(np.asarray(X, dtype=float)).shape[0]))
    if {"cost_per_kg", "cost_per_mol"} & set(columns):
        out = out.join(cost_fractions(X, elements))
    if {"hhi", "hhi_production", "hhi_reserve"} & set(columns):
        risk = supply_risk_fractions(X, elements)
        out = out.join(risk)
        out["hhi"] = risk["hhi_production"]
    return out[list(columns)]


def composition_economics(fractions: Any, elements: Sequence[str] | None = None) -> dict[str, Any]:
    """Price and supply risk of one composition, for a live view such as the sliders.

    Never raises for missing data: a value that cannot be computed is ``None`` and ``error``
    says why, so a widget can show it next to the other numbers.

    Args:
        fractions: Fractions over ``elements`` (a sequence), or a formula / mapping when
            ``elements`` is None.
        elements: Element symbols of ``fractions``.

    Returns:
        dict with ``cost_per_kg``, ``cost_per_mol`` (USD), ``hhi_production``,
        ``hhi_reserve``, ``price_year``, ``error`` (None or a sentence) and ``label`` (a short
        text such as ``"$12.3/kg (2013 prices) · HHI 1830"``).
    """
    out: dict[str, Any] = dict.fromkeys(
        ("cost_per_kg", "cost_per_mol", "hhi_production", "hhi_reserve", "price_year")
    )
    errors = []
    comp: Any = fractions
    try:
        if elements is not None:
            comp = {str(e): float(f) for e, f in zip(elements, fractions, strict=True) if f > 0}
        c = _one_cost(comp)
        out.update(cost_per_kg=c["cost_per_kg"], cost_per_mol=c["cost_per_mol"])
        out["price_year"] = c["year"]
    except (ValueError, TypeError) as exc:
        errors.append(str(exc))
    try:
        r = _one_risk(comp)
        out.update(hhi_production=r["hhi_production"], hhi_reserve=r["hhi_reserve"])
    except (ValueError, TypeError) as exc:
        errors.append(str(exc))
    out["error"] = "; ".join(dict.fromkeys(errors)) or None
    parts = []
    if out["cost_per_kg"] is not None and math.isfinite(out["cost_per_kg"]):
        parts.append(f"${out['cost_per_kg']:.3g}/kg ({out['price_year']} prices)")
    if out["hhi_production"] is not None:
        parts.append(f"HHI {out['hhi_production']:.0f}")
    out["label"] = " · ".join(parts) or "price/HHI: n/a"
    return out


_OPS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}


def check_comparison(name: str, spec: Any) -> tuple[str, float]:
    """Validate a filter such as ``("<", 10.0)`` for column ``name``.

    Raises:
        EconomicsError: anything but ``(op, number)`` with op one of ``<``, ``<=``, ``>``,
            ``>=``.
    """
    ok = (
        isinstance(spec, (tuple, list))
        and len(spec) == 2
        and spec[0] in _OPS
        and isinstance(spec[1], (int, float))
        and not isinstance(spec[1], bool)
        and math.isfinite(float(spec[1]))
    )
    if not ok:
        raise EconomicsError(
            f"filter {name!r} must be (op, number) with op one of {', '.join(_OPS)}, e.g. "
            f"{{{name!r}: ('<', 10.0)}}; got {spec!r}"
        )
    return str(spec[0]), float(spec[1])


def comparison_mask(values: Any, spec: Any, name: str = "value") -> np.ndarray:
    """Rows of ``values`` that satisfy ``spec`` (see :func:`check_comparison`); NaN fails."""
    op, bound = check_comparison(name, spec)
    v = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.asarray(_OPS[op](v, bound), dtype=bool) & np.isfinite(v)


#: Campaign objectives computed from the composition instead of measured (``cost`` is the
#: price per kg).
KNOWN_OBJECTIVES = {"cost": "cost_per_kg", **{c: c for c in ECONOMICS_COLUMNS}}


def fill_known_objectives(
    objectives: Sequence[str], components: Sequence[str], X: Any, values: Any
) -> Any:
    """Add the values of known objectives (``cost``, ``hhi``...) that were not told.

    Args:
        objectives: The campaign's objective names, in order.
        components: Element symbols of the columns of ``X``.
        X: ``(n, k)`` fractions of the told compositions.
        values: What the user told: one column per objective (returned unchanged), or one
            per *measured* objective (a list/array, or a DataFrame lacking the known ones).

    Returns:
        ``values`` with every objective's column, in the campaign's order.

    Raises:
        EconomicsError: a component is not an element, or an element has no price/HHI data.
    """
    known = [o for o in objectives if o in KNOWN_OBJECTIVES]
    measured = [o for o in objectives if o not in KNOWN_OBJECTIVES]
    if not known:
        return values
    n = len(np.atleast_2d(np.asarray(X, dtype=float)))
    if isinstance(values, pd.DataFrame):
        if all(o in values.columns for o in objectives):
            return values
        given = values[[o for o in measured if o in values.columns]].to_numpy(dtype=float)
    else:
        arr = np.asarray(values, dtype=float)
        if arr.ndim == 2 and arr.shape[1] == len(objectives):
            return values
        given = arr.reshape(n, len(measured)) if arr.size == n * len(measured) else None
        if given is None:
            return values  # let the campaign's own check report the shape
    if given.shape[1] != len(measured):
        return values
    eco = economics_fractions(X, components, [KNOWN_OBJECTIVES[o] for o in known])
    out = np.empty((n, len(objectives)))
    for j, o in enumerate(objectives):
        out[:, j] = eco[KNOWN_OBJECTIVES[o]].to_numpy() if o in KNOWN_OBJECTIVES else given[
            :, measured.index(o)
        ]
    return out
