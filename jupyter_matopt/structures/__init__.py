"""Crystal structures for compositions: built-in prototypes, sources and decoration.

Backend only: pymatgen, no Jupyter import. :mod:`jupyter_matopt.widgets.structure` draws the
results.

* :func:`prototype` / :func:`list_prototypes` — fcc, bcc, hcp, sc, diamond, rocksalt, cscl,
  zincblende, wurtzite, fluorite, perovskite, spinel, bi2te3 (tetradymite), l12, l10, with
  lattice constants estimated from element data.
* :func:`structure_from` — a CIF path, a prototype name, a formula (prototype picked by
  :func:`guess_prototype`) or a ``Structure``.
* :func:`decorate` — partial occupancies or an ordered supercell approximant of a
  composition, on the sublattice each element belongs to.
"""

from __future__ import annotations

# Element radii, electronegativities and groups used to choose and decorate prototypes,
# public for the stability package.
from . import _elements as element_data
from .decorate import Sublattice, decorate, majority_structure, sublattices
from .errors import StructureError
from .prototypes import Prototype, get_prototype, list_prototypes, prototype
from .source import Guess, guess_prototype, structure_from

__all__ = [
    "element_data",
    "Guess",
    "Prototype",
    "StructureError",
    "Sublattice",
    "decorate",
    "get_prototype",
    "guess_prototype",
    "list_prototypes",
    "majority_structure",
    "prototype",
    "structure_from",
    "sublattices",
]
