"""Element symbols and cheap lookups that need no heavy import."""

from __future__ import annotations

from functools import cache

# Z = 1..118 in order; index + 1 is the atomic number.
SYMBOLS: tuple[str, ...] = (
    "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na", "Mg", "Al", "Si", "P", "S",
    "Cl", "Ar", "K", "Ca", "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga",
    "Ge", "As", "Se", "Br", "Kr", "Rb", "Sr", "Y", "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd",
    "Ag", "Cd", "In", "Sn", "Sb", "Te", "I", "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm",
    "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W", "Re", "Os",
    "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th", "Pa",
    "U", "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md", "No", "Lr", "Rf", "Db", "Sg",
    "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh", "Fl", "Mc", "Lv", "Ts", "Og",
)  # fmt: skip

ATOMIC_NUMBER: dict[str, int] = {s: i + 1 for i, s in enumerate(SYMBOLS)}


def is_element(symbol: str) -> bool:
    """Return True when ``symbol`` is a chemical element symbol (case-sensitive)."""
    return symbol in ATOMIC_NUMBER


def atomic_number(symbol: str) -> int:
    """Atomic number of ``symbol``; raises ``CompositionError`` for an unknown symbol."""
    try:
        return ATOMIC_NUMBER[symbol]
    except KeyError:
        from .composition import CompositionError

        raise CompositionError(f"{symbol!r} is not a chemical element symbol") from None


@cache
def atomic_mass(symbol: str) -> float:
    """Standard atomic mass in g/mol (from pymatgen, imported on first use)."""
    atomic_number(symbol)
    from pymatgen.core.periodic_table import Element

    return float(Element(symbol).atomic_mass)
