"""OPTIMADE entries -> DataFrame rows: clean provider-field columns, units, structures."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ...core.elements import is_element
from .._errors import DatasetError
from ._providers import FIELD_MAP, STANDARD_COLUMNS, FieldSpec

__all__ = ["field_columns", "entries_frame", "pick_target", "to_structure"]


def _dig(value: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _stripped(field: str) -> str:
    """``_oqmd_delta_e`` -> ``delta_e``; standard fields unchanged."""
    if field.startswith("_"):
        parts = field[1:].split("_", 1)
        if len(parts) == 2 and parts[1]:
            return parts[1]
    return field


def _field_units(fields_info: Mapping[str, Any] | None, field: str) -> str:
    props = (fields_info or {}).get("properties")
    unit = props.get(field, {}).get("unit") if isinstance(props, Mapping) else None
    return unit if isinstance(unit, str) else ""


def field_columns(
    properties: Sequence[str], fields_info: Mapping[str, Any] | None
) -> dict[str, list]:
    """Requested field -> [(spec, final column)], clean names made unique."""
    taken = {"composition", "entry_id", "provider", "chemsys", "structure"}
    taken.update(col for col, _ in STANDARD_COLUMNS.values())
    out: dict[str, list] = {}
    for field in properties:
        specs = FIELD_MAP.get(field) or (
            FieldSpec(_stripped(field), _field_units(fields_info, field)),
        )
        out[field] = []
        for spec in specs:
            col = spec.column
            if col in taken:  # two fields mapping to one name: keep both, the later prefixed
                col = f"{field.lstrip('_')}" if spec.path == () else f"{field.lstrip('_')}_{col}"
            taken.add(col)
            out[field].append((spec, col))
    return out


def _cell(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_structure(attrs: Mapping[str, Any]) -> Any:
    """A pymatgen ``Structure`` from OPTIMADE structure attributes, or None without a cell.

    Handles disorder and vacancies through ``species[].concentration`` (``"vacancy"``/``"X"``
    symbols leave a partial occupancy). Molecules (no periodic dimension) give None.
    """
    lattice = attrs.get("lattice_vectors")
    positions = attrs.get("cartesian_site_positions")
    at_sites = attrs.get("species_at_sites")
    if not lattice or not positions or not at_sites:
        return None
    if any(v is None for row in lattice for v in row):
        return None
    periodic = attrs.get("nperiodic_dimensions")
    dims = attrs.get("dimension_types")
    if periodic == 0 or (isinstance(dims, list) and dims and not any(dims)):
        return None
    from pymatgen.core import Lattice, Structure

    species = {s.get("name"): s for s in attrs.get("species") or [] if isinstance(s, Mapping)}
    occupancies = []
    for name in at_sites:
        sp = species.get(name)
        if sp is None:
            if not is_element(name):
                raise ValueError(f"site species {name!r} is neither listed nor an element")
            occupancies.append({name: 1.0})
            continue
        occ = {
            sym: float(c)
            for sym, c in zip(
                sp.get("chemical_symbols", []), sp.get("concentration", []), strict=True
            )
            if sym not in ("vacancy", "X")
        }
        occupancies.append(occ)
    return Structure(Lattice(lattice), occupancies, positions, coords_are_cartesian=True)


def entries_frame(
    entries: list[dict],
    label: str,
    properties: Sequence[str],
    specs: Mapping[str, list],
    structures: bool,
) -> tuple[pd.DataFrame, int]:
    rows = []
    n_bad_structures = 0
    for entry in entries:
        a = entry["attributes"]
        elements = a.get("elements")
        row: dict[str, Any] = {
            "composition": a.get("chemical_formula_reduced")
            or a.get("chemical_formula_descriptive"),
            "provider": label,
            "entry_id": entry["id"],
            "chemsys": "-".join(sorted(elements)) if isinstance(elements, list) else None,
        }
        for field, (col, _) in STANDARD_COLUMNS.items():
            if field in a:
                row[col] = a[field]
        for field in properties:
            for spec, col in specs[field]:
                row[col] = _cell(_dig(a.get(field), spec.path))
        if structures:
            try:
                row["structure"] = to_structure(a)
            except (ValueError, TypeError, KeyError):
                # one malformed cell should not lose the other entries; counted in attrs
                row["structure"] = None
                n_bad_structures += 1
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        frame = pd.DataFrame(columns=["composition", "provider", "entry_id", "chemsys"])
    return frame, n_bad_structures


def pick_target(
    target: str | None, properties: Sequence[str], specs: Mapping[str, list], frame: pd.DataFrame
) -> str:
    if target is None:
        for field in properties:
            for _, col in specs[field]:
                if col in frame and pd.to_numeric(frame[col], errors="coerce").notna().any():
                    return col
        return "nelements"
    if target in specs:
        return specs[target][0][1]
    columns = {str(c).lower(): c for c in frame.columns}
    if target.lower() in columns:
        return columns[target.lower()]
    known = [col for f in properties for _, col in specs[f]]
    raise DatasetError(
        f"target {target!r} is neither a requested property ({list(properties)}) nor one of "
        f"their columns ({known})"
    )
