"""The table ``Campaign.suggest`` returns."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ._log import CampaignError

__all__ = ["Suggestions"]


class Suggestions(pd.DataFrame):
    """The DataFrame ``Campaign.suggest`` returns, with a ``compositions`` accessor.

    Columns: one per component (fractions, or pool inputs), one per condition, then the
    predicted ``mean`` and ``std`` (``mean_<name>``/``std_<name>`` per objective when there
    are several; NaN for random suggestions) and ``acquisition`` (its value when the row was
    picked, i.e. after the earlier picks of the batch were fantasized); pool campaigns add
    ``pool_index`` (the pool's index label of the row).
    """

    _metadata = ["_matopt_components", "_matopt_conditions", "_matopt_formulas"]

    @property
    def _constructor(self) -> type[Suggestions]:
        return Suggestions

    @property
    def compositions(self) -> list[Any]:
        """The suggested compositions in a form ``Campaign.tell`` accepts.

        Formulas (``"Fe0.7Cr0.2Ni0.08Mo0.02"``) for spaces of chemical elements without
        free conditions; otherwise one dict per row (components, and conditions if any).
        """
        comps = list(getattr(self, "_matopt_components", []) or [])
        conds = list(getattr(self, "_matopt_conditions", []) or [])
        if not comps:
            raise CampaignError("these suggestions carry no component names")
        if getattr(self, "_matopt_formulas", False) and not conds:
            from ..core import to_formula

            return [to_formula(dict(zip(comps, row, strict=True)), decimals=6)
                    for row in self[comps].to_numpy(dtype=float)]
        cols = comps + conds
        return [dict(zip(cols, map(float, row), strict=True))
                for row in self[cols].to_numpy(dtype=float)]
