"""Composing OPTIMADE filter strings (spec v1.2, section "API Filtering Format").

Strings are double-quoted with ``\\`` and ``"`` escaped; property names must match the
grammar's ``[a-z_][a-z_0-9]*``; numbers are written in a form the grammar accepts (no
``nan``/``inf``, no ``1e+03`` plus sign ambiguity: Python's ``repr`` of a float is valid).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ...core.elements import SYMBOLS, is_element
from .._errors import DatasetError

__all__ = ["OptimadeFilterError", "quote", "compose_filter"]

_IDENTIFIER = re.compile(r"^[a-z_][a-z_0-9]*$")
ELEMENT_MATCH = ("only", "all", "any")


class OptimadeFilterError(DatasetError):
    """A filter that is malformed here, or that the server rejected (its message quoted)."""


def quote(text: str) -> str:
    """``text`` as an OPTIMADE string literal: ``"..."`` with ``\\`` and ``"`` escaped."""
    if not isinstance(text, str):
        raise OptimadeFilterError(f"expected a string to quote, got {type(text).__name__}")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _number(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise OptimadeFilterError(f"{what} must be a number, got {value!r}")
    if isinstance(value, numbers.Integral):
        return str(int(value))
    x = float(value)
    if not math.isfinite(x):
        raise OptimadeFilterError(f"{what} must be finite, got {value!r}")
    return repr(x)


def _identifier(name: Any) -> str:
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise OptimadeFilterError(
            f"property name {name!r} is not an OPTIMADE identifier (lower case letters, digits "
            "and underscores, not starting with a digit, e.g. 'nsites' or '_oqmd_delta_e')"
        )
    return name


def _range(name: str, spec: Any) -> list[str]:
    """``name`` between bounds: a number (equality) or ``(lo, hi)`` with None for open."""
    prop = _identifier(name)
    if isinstance(spec, numbers.Real) and not isinstance(spec, bool):
        return [f"{prop}={_number(spec, name)}"]
    if isinstance(spec, Sequence) and not isinstance(spec, str) and len(spec) == 2:
        lo, hi = spec
        if lo is None and hi is None:
            raise OptimadeFilterError(f"range for {name!r} has no bound: {spec!r}")
        parts = []
        if lo is not None:
            parts.append(f"{prop}>={_number(lo, f'lower bound of {name}')}")
        if hi is not None:
            parts.append(f"{prop}<={_number(hi, f'upper bound of {name}')}")
        if lo is not None and hi is not None and float(lo) > float(hi):
            raise OptimadeFilterError(f"range for {name!r} has lower > upper: {spec!r}")
        return parts
    raise OptimadeFilterError(
        f"range for {name!r} must be a number or a (low, high) pair (None for an open end), "
        f"got {spec!r}"
    )


def _elements(elements: Iterable[Any], match: str) -> str:
    if isinstance(elements, str):
        elements = re.split(r"[\s,\-]+", elements.strip())
    symbols = list(dict.fromkeys(elements))
    bad = [e for e in symbols if not (isinstance(e, str) and is_element(e))]
    if bad or not symbols:
        raise OptimadeFilterError(
            f"elements must be chemical element symbols such as ['Bi', 'Te'], got "
            f"{bad or symbols!r}"
        )
    if match not in ELEMENT_MATCH:
        raise OptimadeFilterError(f"element_match must be one of {ELEMENT_MATCH}, got {match!r}")
    listed = ",".join(quote(e) for e in sorted(symbols))
    if match == "all":
        return f"elements HAS ALL {listed}"
    if match == "any":
        return f"elements HAS ANY {listed}"
    # The chemical system: entries made only of these elements. HAS ONLY is an OPTIONAL
    # operator in the spec (several providers reject it), so it is written with the
    # mandatory HAS ANY and NOT instead.
    others = ",".join(quote(e) for e in SYMBOLS if e not in symbols)
    return f"elements HAS ANY {listed} AND NOT elements HAS ANY {others}"


def compose_filter(
    raw: str | None = None,
    *,
    elements: Iterable[str] | str | None = None,
    nelements: int | Sequence[int | None] | None = None,
    ranges: Mapping[str, Any] | None = None,
    element_match: str = "only",
) -> str | None:
    """One OPTIMADE filter from a raw filter and structured conditions, joined with AND.

    Args:
        raw: A filter string passed through unchanged (parenthesized when combined).
        elements: Element symbols (list, or text such as ``"Bi Sb Te"``/``"Bi-Sb-Te"``).
        nelements: An exact count or an inclusive ``(low, high)`` range.
        ranges: ``{property: value or (low, high)}``; None leaves an end open.
        element_match: ``"only"`` (the chemical system: entries made of these elements
            only), ``"all"`` (entries containing all of them) or ``"any"``.

    Returns:
        The filter, or None when there is no condition at all.
    """
    parts: list[str] = []
    if raw is not None:
        if not isinstance(raw, str):
            raise OptimadeFilterError(f"filter must be a string, got {type(raw).__name__}")
        if raw.strip():
            parts.append(raw.strip())
    if elements is not None:
        parts.append(_elements(elements, element_match))
    if nelements is not None:
        parts.extend(_range("nelements", nelements))
    for name, spec in (ranges or {}).items():
        parts.extend(_range(name, spec))
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    # the raw filter may hold an OR, which AND would otherwise bind into
    if raw is not None and raw.strip():
        parts[0] = f"({parts[0]})"
    return " AND ".join(parts)
