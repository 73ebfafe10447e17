"""Pool-style Bayesian-optimization datasets (mixtures and process parameters, not formulas).

These are the PV-Lab benchmark sets of Liang et al., npj Comput. Mater. 7, 188 (2021). As in
their notebooks, the inputs are every column but the last, the objective is the last column,
and repeated inputs are merged into one pool entry whose objective is the mean of the
distinct measured values (``groupby(inputs)[objective].agg(lambda x: x.unique().mean())``,
rows sorted by the inputs). P3HT/CNT, crossed barrel and AutoAM are maximized; perovskite and
AgNP are minimized.
"""

from __future__ import annotations

import difflib
import math
import os
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ._errors import DatasetError
from ._paths import Lookup, read_csv_checked
from .citations import CITATIONS

__all__ = ["Pool", "POOLS", "load_pool", "list_pools"]


@dataclass(frozen=True)
class _PoolInfo:
    name: str
    filename: str
    direction: Literal["max", "min"]
    unique: int
    citation_key: str
    aliases: tuple[str, ...] = ()
    description: str = ""


POOLS: dict[str, _PoolInfo] = {
    p.name: p
    for p in [
        _PoolInfo(
            "crossed_barrel",
            "pvlab_bo_crossed_barrel.csv",
            "max",
            600,
            "crossed_barrel",
            ("crossed barrel", "crossedbarrel"),
            "3D-printed crossed-barrel designs (n struts, twist angle theta, radius r, "
            "thickness t); objective: toughness, each design measured 3 times.",
        ),
        _PoolInfo(
            "agnp",
            "pvlab_bo_AgNP.csv",
            "min",
            164,
            "agnp",
            ("ag_np", "silver_nanoparticles"),
            "Silver-nanoparticle flow synthesis (flow-rate ratios in %, total flow uL/min); "
            "objective: spectrum-based loss.",
        ),
        _PoolInfo(
            "autoam",
            "pvlab_bo_AutoAM.csv",
            "max",
            100,
            "autoam",
            ("auto_am",),
            "Additive-manufacturing print parameters; objective: shape-fidelity score.",
        ),
        _PoolInfo(
            "p3ht",
            "pvlab_bo_P3HT_CNT.csv",
            "max",
            178,
            "p3ht",
            ("p3ht_cnt", "p3ht/cnt"),
            "P3HT / carbon-nanotube blends (mass %); objective: conductivity (S/cm).",
        ),
        _PoolInfo(
            "perovskite",
            "pvlab_bo_perovskite.csv",
            "min",
            94,
            "perovskite",
            (),
            "Cs/FA/MA lead-iodide perovskite fractions; objective: instability index.",
        ),
        _PoolInfo(
            "opv_pce10",
            "opv_blend_photo_pce10.csv",
            "min",
            1020,
            "opv",
            (),
            "PCE10/P3HT/PCBM/oIDTBR blend fractions; objective: photodegradation.",
        ),
        _PoolInfo(
            "opv_wf3",
            "opv_blend_photo_wf3.csv",
            "min",
            1020,
            "opv",
            (),
            "WF3/P3HT/PCBM/oIDTBR blend fractions; objective: photodegradation.",
        ),
    ]
}

_POOL_ALIASES: dict[str, str] = {}
for _p in POOLS.values():
    for _a in (_p.name, *_p.aliases):
        _POOL_ALIASES[_a.lower()] = _p.name


@dataclass
class Pool:
    """A finite candidate pool for pool-based Bayesian optimization.

    Attributes:
        name: Pool name.
        frame: One row per distinct input, sorted by the inputs, with the mean objective and
            ``n_measurements`` (how many raw rows were merged).
        inputs: Input columns.
        objective: Objective column.
        direction: ``"max"`` or ``"min"``.
        citation: Text to cite (dataset paper and benchmark paper).
        source: File the pool was read from.
        raw: The file as read, before merging repeated inputs.
        description: What the inputs and objective are.
    """

    name: str
    frame: pd.DataFrame
    inputs: list[str]
    objective: str
    direction: Literal["max", "min"]
    citation: str = ""
    source: str = ""
    raw: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    description: str = ""

    @classmethod
    def from_frame(
        cls,
        raw: pd.DataFrame,
        *,
        inputs: list[str] | None = None,
        objective: str | None = None,
        direction: Literal["max", "min"],
        name: str = "pool",
        citation: str = "",
        source: str = "DataFrame",
        description: str = "",
    ) -> Pool:
        """Build a pool, merging repeated inputs by the mean of their distinct objectives.

        Args:
            raw: Measurements, one row each.
            inputs: Input columns; default every column except ``objective``.
            objective: Objective column; default the last column.
            direction: ``"max"`` or ``"min"``.
            name: Pool name.
            citation: Text to cite.
            source: Where the data came from.
            description: What the inputs and objective are.
        """
        if direction not in ("max", "min"):
            raise DatasetError(f"direction must be 'max' or 'min', got {direction!r}")
        objective = raw.columns[-1] if objective is None else objective
        inputs = [c for c in raw.columns if c != objective] if inputs is None else list(inputs)
        missing = [c for c in [*inputs, objective] if c not in raw.columns]
        if missing:
            raise DatasetError(
                f"column(s) {missing} not in pool {name!r}; available columns: {list(raw.columns)}"
            )
        clean = raw.dropna(subset=[*inputs, objective])
        grouped = clean.groupby(inputs)[objective]
        # The mean of the *distinct* values, as Liang et al. do; it equals the plain mean
        # up to rounding on these files unless a replicate repeats a value exactly.
        frame = grouped.agg(lambda x: x.unique().mean()).to_frame()
        frame["n_measurements"] = grouped.size()
        frame = frame.reset_index()
        return cls(name, frame, inputs, objective, direction, citation, source, raw, description)

    @property
    def X(self) -> np.ndarray:
        """Inputs, ``(n, len(inputs))`` floats."""
        return self.frame[self.inputs].to_numpy(dtype=float)

    @property
    def y(self) -> np.ndarray:
        """Objective values (not negated; see ``direction``)."""
        return self.frame[self.objective].to_numpy(dtype=float)

    @property
    def best(self) -> float:
        """The best objective value in the pool, by ``direction``."""
        return float(self.y.max() if self.direction == "max" else self.y.min())

    def top_indices(self, fraction: float = 0.05) -> np.ndarray:
        """Positions of the best ``ceil(fraction * len(pool))`` entries, best first.

        Liang et al. count how many of the top 5 % a campaign has found ("Top%").
        """
        if not 0 < fraction <= 1:
            raise DatasetError(f"fraction must be in (0, 1], got {fraction!r}")
        n_top = int(math.ceil(len(self) * fraction))
        order = np.argsort(-self.y if self.direction == "max" else self.y, kind="stable")
        return order[:n_top]

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        return (
            f"Pool({self.name!r}: {len(self)} candidates from {len(self.raw)} rows, inputs "
            f"{self.inputs}, objective {self.objective!r} ({self.direction}))"
        )


def _resolve(name: str) -> _PoolInfo:
    key = str(name).strip().lower()
    if key in _POOL_ALIASES:
        return POOLS[_POOL_ALIASES[key]]
    close = difflib.get_close_matches(key, list(_POOL_ALIASES), n=3)
    hint = f" Did you mean {', '.join(repr(_POOL_ALIASES[c]) for c in close)}?" if close else ""
    raise DatasetError(f"unknown pool {name!r}; available: {sorted(POOLS)}.{hint}")


def load_pool(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Pool:
    """Load a Bayesian-optimization benchmark pool.

    Args:
        name: ``"crossed_barrel"``, ``"agnp"``, ``"autoam"``, ``"p3ht"``, ``"perovskite"``,
            ``"opv_pce10"`` or ``"opv_wf3"`` (case-insensitive; see :func:`list_pools`).
        data_dir: Folder holding the pool's CSV (or the file itself). Defaults to
            ``$MATOPT_DATA_DIR``, then the cache folder. Nothing is downloaded.
        cache_dir: Cache folder looked at after ``$MATOPT_DATA_DIR``.

    Returns:
        The :class:`Pool`.

    Raises:
        DatasetError: for an unknown name or a missing file (naming the path and options).
    """
    info = _resolve(name)
    lookup = Lookup.create(data_dir, cache_dir)
    path = lookup.find(info.filename)
    if path is None:
        raise lookup.not_found(info.name, info.filename, func="load_pool")
    raw = read_csv_checked(path)
    pool = Pool.from_frame(
        raw,
        direction=info.direction,
        name=info.name,
        citation=CITATIONS[info.citation_key],
        source=str(path),
        description=info.description,
    )
    return pool


def list_pools() -> pd.DataFrame:
    """One row per known pool: name, file, direction, unique (documented pool size)."""
    return pd.DataFrame(
        [
            {
                "name": p.name,
                "file": p.filename,
                "direction": p.direction,
                "unique": p.unique,
                "aliases": ", ".join(p.aliases),
            }
            for p in POOLS.values()
        ]
    )
