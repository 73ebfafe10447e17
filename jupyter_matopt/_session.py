"""The one place that holds the current dataset, model, space and campaign.

The ``%matopt`` magics and the Python API share it: ``mo.session().model`` is the model the
last ``%matopt train`` fitted, and a model assigned here is the one ``%matopt predict`` uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Session", "SessionError", "session"]

_STATE = ("dataset", "model", "cv_report", "space", "campaign", "suggestions", "sliders",
          "screen_result")


class SessionError(ValueError):
    """A step was asked for before what it needs exists (e.g. ``train`` before ``load``)."""


@dataclass(repr=False)
class Session:
    """Current state of a notebook's composition study.

    Attributes:
        dataset: The loaded :class:`~jupyter_matopt.data.Dataset`.
        model: The fitted :class:`~jupyter_matopt.models.PropertyModel`.
        cv_report: The last cross-validation report.
        space: The :class:`~jupyter_matopt.core.CompositionSpace` being explored.
        campaign: The :class:`~jupyter_matopt.optimize.Campaign` in progress.
        suggestions: The last suggestions of the campaign (``%matopt tell 0=...`` refers to
            their rows).
        sliders: The last composition-sliders widget shown (structure views link to it).
        screen_result: The last screening result.
        extras: Free room for user code.
    """

    dataset: Any = None
    model: Any = None
    cv_report: Any = None
    space: Any = None
    campaign: Any = None
    suggestions: Any = None
    sliders: Any = None
    screen_result: Any = None
    extras: dict[str, Any] = field(default_factory=dict)

    def require(self, name: str, hint: str) -> Any:
        """The attribute ``name``, or a :class:`SessionError` saying how to get it."""
        value = getattr(self, name)
        if value is None:
            raise SessionError(f"no {name.replace('_', ' ')} yet: {hint}")
        return value

    def reset(self) -> None:
        """Forget everything (a fresh start without restarting the kernel)."""
        for name in _STATE:
            setattr(self, name, None)
        self.extras.clear()

    def summary(self) -> str:
        """What is loaded, one line per item, with the command that would fill a gap."""
        ds, model, camp = self.dataset, self.model, self.campaign
        if ds is not None:
            units = f" / {ds.units}" if getattr(ds, "units", "") else ""
            data = f"{ds.name} ({len(ds):,} rows, target {ds.target}{units})"
        else:
            data = "none (`%matopt load <name or CSV>`)"
        if model is not None:
            fitted = getattr(model, "target_", None)
            mod = (f"{type(model).__name__} on {fitted}" if fitted is not None
                   else f"{type(model).__name__} (not fitted)")
        else:
            mod = "none (`%matopt train`)"
        cv = repr(self.cv_report) if self.cv_report is not None else "none (`%matopt cv`)"
        space = str(self.space) if self.space is not None else "none (`%matopt space ...`)"
        if camp is not None:
            where = f", file {camp.path}" if getattr(camp, "path", None) else ", in memory"
            pairs = zip(camp.objectives, camp.directions, strict=False)
            objs = ", ".join(f"{o} ({d})" for o, d in pairs)
            cmp = (f"{camp.n_observations} measurement(s), objective {objs}, "
                   f"acquisition {camp.acquisition}{where}")
        else:
            cmp = "none (`%matopt suggest`)"
        lines = [f"dataset : {data}", f"model   : {mod}", f"cv      : {cv}",
                 f"space   : {space}", f"campaign: {cmp}"]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "Session\n" + "\n".join("  " + line for line in self.summary().splitlines())


_SESSION = Session()


def session() -> Session:
    """The session shared by the magics and the Python API in this process."""
    return _SESSION
