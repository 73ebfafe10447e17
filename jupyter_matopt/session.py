"""The one place that holds the current dataset, model, space and campaign.

The ``%matopt`` magics and the Python API share it: ``mo.session().model`` is the model the
last ``%matopt train`` fitted, and a model assigned here is the one ``%matopt predict`` uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Session", "SessionError", "session"]


class SessionError(ValueError):
    """A step was asked for before what it needs exists (e.g. ``train`` before ``load``)."""


@dataclass
class Session:
    """Current state of a notebook's composition study.

    Attributes:
        dataset: The loaded :class:`~jupyter_matopt.data.Dataset`.
        model: The fitted :class:`~jupyter_matopt.models.PropertyModel`.
        cv_report: The last cross-validation report.
        space: The :class:`~jupyter_matopt.core.CompositionSpace` being explored.
        campaign: The :class:`~jupyter_matopt.optimize.Campaign` in progress.
        sliders: The last composition-sliders widget shown (structure views link to it).
        screen_result: The last screening result.
    """

    dataset: Any = None
    model: Any = None
    cv_report: Any = None
    space: Any = None
    campaign: Any = None
    sliders: Any = None
    screen_result: Any = None
    extras: dict[str, Any] = field(default_factory=dict)

    def require(self, name: str, hint: str) -> Any:
        value = getattr(self, name)
        if value is None:
            raise SessionError(f"no {name.replace('_', ' ')} yet: {hint}")
        return value

    def reset(self) -> None:
        for name in ("dataset", "model", "cv_report", "space", "campaign", "sliders",
                     "screen_result"):
            setattr(self, name, None)
        self.extras.clear()


_SESSION = Session()


def session() -> Session:
    """The session shared by the magics and the Python API in this process."""
    return _SESSION
