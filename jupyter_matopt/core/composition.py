"""Parsing, normalizing and validating compositions.

Every public function returns atomic fractions as ``dict[str, float]`` summing to 1 and
raises :class:`CompositionError` (a ``ValueError``) naming the input and the reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from .elements import ATOMIC_NUMBER

__all__ = [
    "CompositionError",
    "BatchParse",
    "parse_composition",
    "parse_compositions",
    "to_formula",
    "composition_key",
]


class CompositionError(ValueError):
    """A composition (or composition space) that cannot be accepted, with the reason.

    Attributes:
        input: The rejected input (None when the error is not about one input).
        reason: The reason alone, without the input (the message is ``str(error)``).
    """

    def __init__(self, message: str, *, input: Any = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.input = input
        self.reason = message if reason is None else reason


#: Longest formula text accepted (a 5 MB "formula" took 14 s and 842 MB to refuse); real
#: formulas, even of 20-component alloys with long decimals, stay far below it.
MAX_FORMULA_CHARS = 2_000
#: Deepest bracket nesting accepted (real formulas nest two or three levels).
MAX_NESTING = 32
# Whitespace between tokens: ASCII only. ``\s`` would accept NBSP, ideographic and other
# Unicode spaces, which look like separators but usually mean copy-paste damage.
_WS = r"[ \t\r\n\f\v]"
# ASCII digits only (``\d`` would accept e.g. Arabic-Indic digits, which float() reads), and
# every part unambiguous so that a failed fullmatch backtracks in linear, not exponential, time.
_NUM = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
# Fast path: flat formulas such as "Fe0.7Cr0.2Ni0.1", "Fe70Cr20Ni10" or "Al0.25 Co1 Fe1 Ni1".
_FLAT_RE = re.compile(rf"{_WS}*(?:[A-Z][a-z]?{_WS}*(?:{_NUM}{_WS}*(?:%{_WS}*)?)?)+")
_PAIR_RE = re.compile(rf"([A-Z][a-z]?){_WS}*({_NUM})?")
# General tokenizer for nested groups.
_TOKEN_RE = re.compile(
    rf"{_WS}*(?:(?P<el>[A-Z][a-z]?)|(?P<open>[(\[{{])|(?P<close>[)\]}}])){_WS}*"
    rf"(?:(?P<num>{_NUM}){_WS}*(?:%{_WS}*)?)?"
)
_CLOSING = {"(": ")", "[": "]", "{": "}"}


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 80 else text[:77] + "..."


def _fail(x: Any, reason: str) -> CompositionError:
    message = f"cannot parse composition {_short(x)}: {reason}"
    return CompositionError(message, input=x, reason=reason)


def _parse_flat(text: str) -> dict[str, float] | None:
    if _FLAT_RE.fullmatch(text) is None:
        return None
    amounts: dict[str, float] = {}
    known, inf = ATOMIC_NUMBER, math.inf  # locals: this loop is the hot path
    for sym, num in _PAIR_RE.findall(text):
        if sym not in known:
            raise _fail(text, f"unknown element {sym!r}")
        value = float(num) if num else 1.0
        if not 0.0 < value < inf:
            raise _fail(text, f"amount of {sym} must be a positive finite number, got {num!r}")
        if sym in amounts:
            amounts[sym] += value
        else:
            amounts[sym] = value
    return amounts


def _parse_nested(text: str) -> dict[str, float]:
    stack: list[tuple[str, dict[str, float]]] = [("", {})]
    pos, n = 0, len(text)
    while pos < n:
        m = _TOKEN_RE.match(text, pos)
        if m is None or m.end() == pos:
            rest = text[pos:].strip(" \t\r\n\f\v")
            if rest[:1].isspace():
                raise _fail(text, f"non-ASCII whitespace {rest[0]!r} at position {pos}; "
                                  "separate elements with plain spaces or nothing")
            if rest.startswith("-"):
                raise _fail(text, f"negative amount at {rest[:12]!r}")
            if rest[:3].lower() in ("nan", "inf"):
                raise _fail(text, f"amounts must be finite numbers, got {rest[:12]!r}")
            raise _fail(text, f"unexpected text {rest[:12]!r} at position {pos}")
        pos = m.end()
        num = m.group("num")
        mult = float(num) if num else 1.0
        if num is not None and (not mult > 0.0 or mult == math.inf):
            raise _fail(text, f"amounts must be positive finite numbers, got {num!r}")
        if m.group("el"):
            sym = m.group("el")
            if sym not in ATOMIC_NUMBER:
                raise _fail(text, f"unknown element {sym!r}")
            top = stack[-1][1]
            top[sym] = top.get(sym, 0.0) + mult
        elif m.group("open"):
            if num is not None:
                raise _fail(text, f"a number cannot follow an opening bracket ({m.group(0)!r})")
            if len(stack) > MAX_NESTING:
                raise _fail(text, f"brackets nested deeper than {MAX_NESTING} levels")
            stack.append((m.group("open"), {}))
        else:
            close = m.group("close")
            opener, group = stack.pop() if len(stack) > 1 else ("", None)
            if group is None or _CLOSING[opener] != close:
                raise _fail(text, f"unbalanced brackets: unexpected {close!r}")
            if not group:
                raise _fail(text, "empty brackets")
            top = stack[-1][1]
            for sym, value in group.items():
                if value * mult == 0.0:  # underflow: as much an absent element as Fe0
                    raise _fail(text, f"amount of {sym} underflows to zero ({value!r} x "
                                      f"{mult!r}); amounts must be positive")
                top[sym] = top.get(sym, 0.0) + value * mult
    if len(stack) > 1:
        raise _fail(text, f"unbalanced brackets: {stack[-1][0]!r} is never closed")
    return stack[0][1]


def _from_mapping(x: Mapping[Any, Any]) -> dict[str, float]:
    amounts: dict[str, float] = {}
    for key, raw in x.items():
        sym = getattr(key, "symbol", key)
        if not isinstance(sym, str):
            raise _fail(x, f"keys must be element symbols, got {key!r}")
        sym = sym.strip()
        if sym not in ATOMIC_NUMBER:
            raise _fail(x, f"unknown element {sym!r}")
        if isinstance(raw, (bool, bytes)):
            raise _fail(x, f"amount of {sym} is not a number: {raw!r}")
        try:
            value = float(raw)
        except Exception:  # TypeError, ValueError, OverflowError, or a custom __float__
            raise _fail(x, f"amount of {sym} is not a finite number: {_short(raw)}") from None
        if math.isnan(value) or math.isinf(value):
            raise _fail(x, f"amount of {sym} must be finite, got {raw!r}")
        if value < 0:
            raise _fail(x, f"amount of {sym} is negative ({raw!r})")
        if value > 0:  # zeros are absent elements (sliders produce them)
            amounts[sym] = amounts.get(sym, 0.0) + value
    return amounts


def parse_composition(
    x: Any, *, basis: Literal["atomic", "weight"] = "atomic"
) -> dict[str, float]:
    """Parse one composition into atomic fractions that sum to 1.

    Args:
        x: A formula (``"Fe0.7Cr0.2Ni0.1"``, ``"Fe70Cr20Ni10"``, ``"(Bi2Te3)0.9(Sb2Te3)0.1"``,
            ``"Al0.25 Co1 Fe1 Ni1"``, ``"Fe1e-3C"``), a mapping of element symbol to amount
            (zero amounts are dropped), or a pymatgen ``Composition``.
        basis: ``"atomic"`` (default) for molar amounts, or ``"weight"`` when the amounts are
            mass fractions or weight percent, which are converted to atomic fractions.

    Returns:
        Element symbol -> atomic fraction, in order of first appearance, summing to 1.

    Raises:
        CompositionError: for an unknown element, a negative, zero, NaN or infinite amount,
            empty or garbage text, or unbalanced brackets.
    """
    if isinstance(x, str):
        if len(x) > MAX_FORMULA_CHARS:
            raise CompositionError(
                f"cannot parse composition {_short(x)}: the formula is {len(x):,} characters "
                f"long; at most {MAX_FORMULA_CHARS:,} are accepted",
                input=x[:100], reason=f"longer than {MAX_FORMULA_CHARS} characters")
        if not x or x.isspace():
            raise _fail(x, "empty formula")
        # both parsers skip surrounding whitespace, so errors name and index the input as given
        amounts = _parse_flat(x)
        if amounts is None:
            amounts = _parse_nested(x)
    elif isinstance(x, Mapping):  # includes pymatgen Composition (keys are Element objects)
        amounts = _from_mapping(x)
    elif hasattr(x, "get_el_amt_dict"):  # Composition-like, without importing pymatgen
        amounts = _from_mapping(x.get_el_amt_dict())
    elif x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA or x is pd.NaT:
        raise _fail(x, "missing value")
    else:
        raise _fail(
            x, "expected a formula string, a mapping of element to amount, or a Composition"
        )
    if not amounts:
        raise _fail(x, "no elements with a positive amount")
    if basis == "weight":
        from .elements import atomic_mass

        amounts = {s: v / atomic_mass(s) for s, v in amounts.items()}
    elif basis != "atomic":
        raise CompositionError(f"basis must be 'atomic' or 'weight', got {basis!r}")
    try:
        total = math.fsum(amounts.values())
    except OverflowError:  # fsum raises where sum() would give inf
        total = math.inf
    if not (total > 0 and math.isfinite(total)):
        raise _fail(x, "amounts do not add up to a positive finite total")
    fractions = {s: v / total for s, v in amounts.items()}
    if 0.0 in fractions.values():  # amounts so small beside the others that they underflow
        fractions = {s: v for s, v in fractions.items() if v > 0.0}
    return fractions


@dataclass
class BatchParse:
    """Result of :func:`parse_compositions` with ``errors="report"``.

    Attributes:
        compositions: The valid rows, parsed.
        index: Position (or index label) of each valid row in the input.
        errors: One row per rejected input: ``index``, ``input``, ``reason``.
    """

    compositions: list[dict[str, float]]
    index: list[Any]
    errors: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["index", "input", "reason"])
    )

    @property
    def ok(self) -> bool:
        return len(self.errors) == 0


def parse_compositions(
    items: Iterable[Any],
    *,
    errors: Literal["raise", "skip", "report"] = "raise",
    basis: Literal["atomic", "weight"] = "atomic",
) -> list[dict[str, float]] | BatchParse:
    """Parse a column of compositions.

    Args:
        items: Formulas, mappings or Compositions (a pandas Series keeps its index labels).
        errors: ``"raise"`` raises one :class:`CompositionError` listing the bad rows (after
            looking at all of them); ``"skip"`` returns only the valid rows; ``"report"``
            returns a :class:`BatchParse` with the valid rows and a table of the bad ones.
        basis: See :func:`parse_composition`.

    Returns:
        A list of fraction dicts (``"raise"``/``"skip"``) or a :class:`BatchParse`.
    """
    if errors not in ("raise", "skip", "report"):
        raise ValueError(f"errors must be 'raise', 'skip' or 'report', got {errors!r}")
    if basis not in ("atomic", "weight"):
        raise CompositionError(f"basis must be 'atomic' or 'weight', got {basis!r}")
    if isinstance(items, (str, bytes, Mapping, pd.DataFrame)) or hasattr(items, "get_el_amt_dict"):
        raise CompositionError(
            f"parse_compositions expects a column (list, Series, array) of compositions, got "
            f"{type(items).__name__} {_short(items)}; use parse_composition for one composition",
            input=items,
        )
    labels: Iterable[Any]
    if isinstance(items, pd.Series):
        labels, values = list(items.index), list(items.values)
    else:
        values = list(items)
        labels = range(len(values))
    good: list[dict[str, float]] = []
    good_idx: list[Any] = []
    bad: list[tuple[Any, Any, str]] = []
    for label, value in zip(labels, values, strict=True):
        try:
            parsed = parse_composition(value, basis=basis)
        except CompositionError as exc:
            bad.append((label, value, exc.reason))
        except Exception as exc:  # a row must never stop the batch halfway (e.g. odd objects)
            bad.append((label, value, f"unexpected {type(exc).__name__}: {exc}"))
        else:
            good.append(parsed)
            good_idx.append(label)
    if errors == "raise":
        if bad:
            shown = "; ".join(f"row {i} {_short(v)}: {r}" for i, v, r in bad[:5])
            more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
            raise CompositionError(
                f"{len(bad)} of {len(values)} compositions are invalid: {shown}{more}"
            )
        return good
    if errors == "skip":
        return good
    table = pd.DataFrame(bad, columns=["index", "input", "reason"])
    return BatchParse(good, good_idx, table)


def _fmt(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    if text in ("", "0"):
        text = f"{value:.3g}"
    return text


def to_formula(fractions: Mapping[str, float] | Any, *, decimals: int = 4) -> str:
    """Format a composition as a fractional formula, e.g. ``"Fe0.7Cr0.2Ni0.1"``.

    A mapping is formatted as given (not renormalized, names not checked); amounts <= 0,
    such as -1e-17 left by arithmetic, are omitted; NaN, infinite or non-numeric amounts
    raise. Amounts of 1 are written out so that the text round-trips through
    :func:`parse_composition`. Other inputs are parsed first.

    Raises:
        CompositionError: for a bad amount or when no amount is positive.
    """
    if not isinstance(fractions, Mapping) or hasattr(fractions, "get_el_amt_dict"):
        fracs = parse_composition(fractions)
        return "".join(f"{s}{_fmt(v, decimals)}" for s, v in fracs.items())
    parts = []
    for key, raw in fractions.items():
        name = str(getattr(key, "symbol", key)).strip()
        try:
            value = float(raw) if not isinstance(raw, (bool, bytes)) else math.nan
        except Exception:
            value = math.nan
        if not math.isfinite(value):
            raise _fail(fractions, f"amount of {name} is not a finite number: {_short(raw)}")
        if value > 0:
            parts.append(f"{name}{_fmt(value, decimals)}")
    if not parts:
        raise _fail(fractions, "no elements with a positive amount")
    return "".join(parts)


def composition_key(x: Any, *, decimals: int = 6) -> str:
    """A canonical text key (elements sorted by Z, fractions rounded) for grouping duplicates.

    ``Fe2O3`` and ``Fe4O6`` share a key; used for group-aware splits and exclusions.
    """
    fracs = parse_composition(x)
    items = sorted(fracs.items(), key=lambda kv: ATOMIC_NUMBER[kv[0]])
    return "".join(
        f"{s}{round(v, decimals):.{decimals}f}".rstrip("0").rstrip(".") for s, v in items
    )


def fractions_matrix(
    compositions: Iterable[Mapping[str, float]], elements: list[str] | None = None
) -> tuple[np.ndarray, list[str]]:
    """Stack parsed compositions into an ``(n, k)`` fraction matrix over ``elements``.

    Entries that are not mappings (formulas, Compositions) are parsed first. When ``elements``
    is None the union of the elements present (ordered by Z) is used; a composition with an
    element outside a given ``elements`` list raises ``CompositionError``.
    """
    comps = [c if isinstance(c, Mapping) else parse_composition(c) for c in compositions]
    if elements is None:
        present: set[str] = set()
        for c in comps:
            present.update(c)
        elements = sorted(present, key=ATOMIC_NUMBER.__getitem__)
    col = {e: j for j, e in enumerate(elements)}
    X = np.zeros((len(comps), len(elements)))
    for i, c in enumerate(comps):
        for s, v in c.items():
            j = col.get(s)
            if j is None:
                raise CompositionError(
                    f"composition {to_formula(c)!r} contains {s}, which is not one of {elements}"
                )
            X[i, j] = v
    return X, list(elements)
