"""A campaign's append-only log: its header (settings, space or pool), attaching to an
existing file, ``Campaign.load`` and ``save``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..core import CompositionSpace
from ._log import FORMAT, CampaignError, create_log, dumps, identity, read_identity, read_log
from ._tell import now as _now
from ._validate import check_header
from .acquisition import DEFAULT_KAPPA, DEFAULT_XI
from .conditions import ConditionSpec
from .domain import PoolDomain

if TYPE_CHECKING:
    from .campaign import Campaign
    from .generators import CandidateGenerator

__all__ = ["LogMixin"]

Callback = Callable[..., Any]


class LogMixin:
    """Log header, attach, ``load`` and ``save`` of :class:`~jupyter_matopt.optimize.Campaign`."""

    def _settings(self) -> dict[str, Any]:
        return {
            "objectives": self.objectives,
            "directions": self.directions,
            "acquisition": self.acquisition,
            "surrogate": self.surrogate,
            "seed": self.seed,
            "conditions": self._cond_spec.to_json(),
            "xi": self.xi,
            "kappa": self.kappa,
        }

    def _header(self) -> dict[str, Any]:
        pool = self.domain.header() if isinstance(self.domain, PoolDomain) else None
        return {
            "kind": FORMAT,
            "version": 1,
            "created": _now(),
            "settings": self._settings(),
            "space": self.space.to_dict() if self.space is not None else None,
            "pool": pool,
        }

    @staticmethod
    def _comparable(header: dict[str, Any]) -> str:
        return dumps({k: header.get(k) for k in ("settings", "space", "pool")})

    def _attach(self, path: Path) -> None:
        header = self._header()
        if path.exists():
            old_header, records = read_log(path)
            check_header(old_header, path)
            if not self._seed_given:  # resume the log's campaign with its seed
                self.seed = int(old_header["settings"]["seed"])
                header = self._header()
            if self._comparable(old_header) != self._comparable(header):
                raise CampaignError(
                    f"{str(path)!r} already holds a campaign with other settings (space, pool, "
                    "objectives, acquisition, surrogate, seed or conditions); resume it with "
                    "Campaign.load(path) or choose another path"
                )
            for rec in records:
                self._apply_record(rec)
        else:
            if not path.parent.exists():
                raise CampaignError(
                    f"folder {str(path.parent)!r} of the campaign file does not exist")
            create_log(path, header)
        self.path = path
        self._log_identity = read_identity(path)

    @classmethod
    def load(cls, path: str | Path, *, callback: Callback | None = None,
             prior: Any = None, generator: CandidateGenerator | None = None) -> Campaign:
        """Resume a campaign from its log.

        The state (measurements, settings, seed) is restored exactly, so the next
        ``suggest`` gives what it would have given before the restart (given the same
        ``prior`` model, which the log does not hold). An incomplete last
        line left by a process killed during ``tell`` is dropped with a
        :class:`CampaignWarning` naming it.

        Raises:
            CampaignError: if the file is missing, not a campaign log, or damaged elsewhere
                than in its last line.
        """
        path = Path(path)
        header, records = read_log(path)
        check_header(header, path)
        if header.get("version") != 1:
            raise CampaignError(
                f"{str(path)!r} has campaign format version {header.get('version')!r}; this "
                "jupyter_matopt reads version 1"
            )
        s = header["settings"]
        if header.get("space") is not None:
            target: Any = CompositionSpace.from_dict(header["space"])
        else:
            p = header["pool"]
            target = pd.DataFrame(p["data"], columns=p["columns"], index=p["index"])
        conds = ConditionSpec.to_user_form(s.get("conditions", {}))
        objective: Any = dict(zip(s["objectives"], s["directions"], strict=False))
        if len(s["objectives"]) == 1:
            objective = s["directions"][0]
        camp = cls(target, objective=objective, acquisition=s["acquisition"],
                   surrogate=s["surrogate"], seed=s["seed"], conditions=conds or None,
                   callback=callback, xi=s.get("xi", DEFAULT_XI),
                   kappa=s.get("kappa", DEFAULT_KAPPA),
                   prior=prior, generator=generator)
        camp.objectives = list(s["objectives"])
        for rec in records:
            camp._apply_record(rec)
        camp.path = path
        camp._log_identity = identity(header)
        return camp

    def save(self, path: str | Path) -> None:
        """Write the whole campaign to a new log (atomically) and keep appending there."""
        path = Path(path)
        if self.path is not None and path.resolve() == self.path.resolve():
            return
        if path.exists():
            raise CampaignError(f"{str(path)!r} exists; choose a new file to save to")
        create_log(path, self._header(), self._records())
        self.path = path
        self._log_identity = read_identity(path)

    def _records(self) -> list[dict[str, Any]]:
        out = []
        for b in range(self._n_tells):
            idx = np.flatnonzero(self._batch == b)
            out.append(self._make_record(self._X[idx], self._C[idx], self._Y[idx],
                                         self._times[idx[0]] if len(idx) else _now()))
        return out
