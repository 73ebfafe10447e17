"""Experimental composition datasets read from CSV files in a data folder.

* ``thermoelectric_sysTEm`` (Tang et al. 2026), file ``thermoelectric_sysTEm_dataset.csv``.
* ``mpea_hardness`` / ``mpea_yield`` / ``mpea_yield_temperature`` (Borg et al. 2020), file
  ``citrine_mpea_dataset.csv``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ._paths import read_csv_keep_formulas

__all__ = [
    "SYSTEM_FILE",
    "SYSTEM_TARGETS",
    "MPEA_FILE",
    "MPEA_TARGETS",
    "read_system_frame",
    "read_mpea_frame",
    "ROOM_TEMPERATURE_C",
]

SYSTEM_FILE = "thermoelectric_sysTEm_dataset.csv"
MPEA_FILE = "citrine_mpea_dataset.csv"

# Friendly target name -> (source column, units). Targets are renamed to the friendly name.
SYSTEM_TARGETS: dict[str, tuple[str, str]] = {
    "zT": ("zT", ""),
    "seebeck": ("Seebeck Coefficient (µV/K)", "µV/K"),
    "conductivity": ("Electrical Conductivity (S/cm)", "S/cm"),
    "power_factor": ("Power Factor (µW/cmK²)", "µW/(cm·K²)"),
    "kappa": ("Total Thermal Conductivity (W/mK)", "W/(m·K)"),
    "kappa_lattice": ("Lattice Thermal Conductivity (W/mK)", "W/(m·K)"),
    "kappa_electronic": ("Electronic Thermal Conductivity (W/mK)", "W/(m·K)"),
}

MPEA_TARGETS: dict[str, tuple[str, str]] = {
    "HV": ("PROPERTY: HV", "HV"),
    "yield_strength": ("PROPERTY: YS (MPa)", "MPa"),
    "uts": ("PROPERTY: UTS (MPa)", "MPa"),
    "elongation": ("PROPERTY: Elongation (%)", "%"),
    "elongation_plastic": ("PROPERTY: Elongation plastic (%)", "%"),
    "youngs_modulus": ("PROPERTY: Exp. Young modulus (GPa)", "GPa"),
}
_MPEA_RENAME = {
    "FORMULA": "composition",
    "PROPERTY: Type of test": "test_type",
    "PROPERTY: Test temperature ($^\\circ$C)": "test_temperature",
    "PROPERTY: Processing method": "processing",
    "PROPERTY: Microstructure": "microstructure",
    "PROPERTY: BCC/FCC/other": "phase",
    **{col: friendly for friendly, (col, _) in MPEA_TARGETS.items()},
}

# Test temperatures taken as room temperature for mpea_yield. The yield-strength rows at or
# near ambient are recorded as 20, 23, 24 or 25 °C; every YS row has a test temperature, so
# no rule is needed for a missing one.
ROOM_TEMPERATURE_C = (15.0, 30.0)


def read_system_frame(path: Path) -> tuple[pd.DataFrame, int]:
    """The sysTEm table without "Mixed Formula" rows, renamed; and how many rows were dropped.

    Mixed formulas (e.g. ``Te + 0.1 wt% InP3``) are physical mixtures whose
    ``Pymatgen Composition`` is an approximation, so they are not compositions to model.
    """
    frame = read_csv_keep_formulas(path, ["Pymatgen Composition"])
    mixed = frame["Type of Formula"].astype(str).str.strip().eq("Mixed Formula")
    frame = frame.loc[~mixed]
    rename = {col: friendly for friendly, (col, _) in SYSTEM_TARGETS.items()}
    rename.update({"Pymatgen Composition": "composition", "Temperature (K)": "temperature"})
    return frame.rename(columns=rename), int(mixed.sum())


def read_mpea_frame(path: Path) -> pd.DataFrame:
    """The MPEA table with the columns we use renamed (others kept as in the file)."""
    frame = read_csv_keep_formulas(path, ["FORMULA"])
    return frame.rename(columns=_MPEA_RENAME)
