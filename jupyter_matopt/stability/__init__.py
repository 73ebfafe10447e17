"""Is a composition stable? A universal potential against a DFT reference hull.

:func:`stability` relaxes a handful of prototype structures of a composition with a
universal interatomic potential whose weights ship in its wheel (SevenNet 0.13 ``7net-l3i5``
by default, CHGNet 0.4.2 as the smaller alternative; optional extra ``mlip``) and places the
lowest energy against the convex hull of DFT formation energies of its chemical system.

Importing this package loads neither torch nor the potentials; the first call that needs
one raises :class:`StabilityError` naming the extra ``mlip`` when it is missing.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

from .core import StabilityResult, stability
from .errors import StabilityError
from .reference import REFERENCE_SOURCES, ReferenceHull, load_reference, reference_hull

__all__ = [
    "REFERENCE_SOURCES",
    "ReferenceHull",
    "StabilityError",
    "StabilityResult",
    "load_reference",
    "reference_hull",
    "stability",
]


class _CallableModule(type(sys.modules[__name__])):  # type: ignore[misc]
    """``jupyter_matopt.stability`` names both this package and its main function, and Python
    sets a parent package's attribute to a submodule when that is imported, so whichever came
    second would shadow the other (``mo.stability`` a module, or ``import
    jupyter_matopt.stability as S`` a function). The package is made callable instead: it *is*
    the function, in every import order."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _stability(*args, **kwargs)


_stability = stability
__signature__ = inspect.signature(_stability)
__doc__ = f"{__doc__}\n``stability(...)``:\n\n{_stability.__doc__}"
sys.modules[__name__].__class__ = _CallableModule
stability = sys.modules[__name__]  # type: ignore[assignment]  # see _CallableModule
