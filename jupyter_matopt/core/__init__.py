"""Compositions: parsing, normalizing, validation, element lookups and composition spaces."""

from __future__ import annotations

from .composition import (
    BatchParse,
    CompositionError,
    composition_key,
    fractions_matrix,
    parse_composition,
    parse_compositions,
    to_formula,
)
from .elements import ATOMIC_NUMBER, SYMBOLS, atomic_mass, atomic_number, is_element
from .space import CompositionSpace

__all__ = [
    "ATOMIC_NUMBER",
    "BatchParse",
    "CompositionError",
    "CompositionSpace",
    "SYMBOLS",
    "atomic_mass",
    "atomic_number",
    "composition_key",
    "fractions_matrix",
    "is_element",
    "parse_composition",
    "parse_compositions",
    "to_formula",
]
