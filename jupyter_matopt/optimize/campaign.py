"""Ask/tell Bayesian-optimization campaigns over composition spaces and candidate pools."""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core import CompositionError, CompositionSpace
from ._log import (
    FORMAT,
    CampaignError,
    append_record,
    create_log,
    dumps,
    identity,
    read_identity,
    read_log,
)
from ._validate import check_header, check_record_arrays
from .acquisition import (
    expected_improvement,
    probability_of_improvement,
    upper_confidence_bound,
)
from .candidates import GRID_LIMIT, refine_candidates, row_keys, space_candidates, tidy
from .pareto import _hvi_max, _nondominated_max, pareto_front
from .surrogates import Surrogate, check_prior, choose_surrogate, make_surrogate

__all__ = ["Campaign", "Suggestions"]

Callback = Callable[[str, dict[str, Any]], None]

_SINGLE_ACQ = ("ei", "pi", "ucb", "lcb", "greedy", "random")
_MULTI_ACQ = ("ehvi", "greedy", "random")
_SURROGATES = ("auto", "gp", "ensemble", "model")
#: Candidates kept for the sequential (kriging-believer) choice of a batch.
_BATCH_POOL = 2000
#: Smallest distance (max over the scaled inputs) between suggestions of one batch in a
#: continuous space, so that a batch holds no near-copies.
_MIN_SEPARATION = 0.02
#: Columns that ``suggest`` and ``history`` add beside the inputs.
_RESERVED = ("mean", "std", "acquisition", "pool_index", "in_space", "batch", "time")
#: Latin-hypercube samples of the expected hypervolume improvement.
_EHVI_SAMPLES = 32
#: Candidates kept for the EHVI of a batch (EHVI costs samples x boxes per candidate).
_BATCH_POOL_MULTI = 256


# --------------------------------------------------------------------------- suggestions
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
            from ..core.composition import _fmt

            return ["".join(f"{c}{_fmt(float(v), 6)}"
                            for c, v in zip(comps, row, strict=True) if v > 0)
                    for row in self[comps].to_numpy(dtype=float)]
        cols = comps + conds
        return [dict(zip(cols, map(float, row), strict=True))
                for row in self[cols].to_numpy(dtype=float)]


# --------------------------------------------------------------------------- helpers
def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _parse_objectives(objective: Any) -> tuple[list[str], list[str]]:
    if isinstance(objective, str):
        items = [("y", objective)]
    elif isinstance(objective, Mapping):
        items = [(str(k), v) for k, v in objective.items()]
    elif isinstance(objective, Sequence):
        items = [(f"y{i}", v) for i, v in enumerate(objective)]
    else:
        raise CampaignError(
            f"objective must be 'max', 'min', a list of them or a {{name: 'max'|'min'}} "
            f"mapping, got {objective!r}"
        )
    if not 1 <= len(items) <= 3:
        raise CampaignError(f"a campaign has 1 to 3 objectives, got {len(items)}")
    for name, d in items:
        if d not in ("max", "min"):
            raise CampaignError(f"objective {name!r} must be 'max' or 'min', got {d!r}")
    names = [n for n, _ in items]
    if len(set(names)) != len(names):
        raise CampaignError(f"objective names must be distinct, got {names}")
    return names, [d for _, d in items]


def _parse_conditions(conditions: Any) -> dict[str, Any]:
    """``{name: value | (lo, hi) | [choices]}`` -> JSON-able spec."""
    if conditions is None:
        return {}
    if not isinstance(conditions, Mapping):
        raise CampaignError(
            "conditions must be a mapping such as {'temperature': 600} (fixed), "
            "{'temperature': (300, 900)} (a range to search) or {'temperature': [300, 600]} "
            f"(choices), got {conditions!r}"
        )
    spec: dict[str, Any] = {}
    for name, v in conditions.items():
        name = str(name)
        if isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
            if not math.isfinite(float(v)):
                raise CampaignError(f"condition {name!r} must be finite, got {v!r}")
            spec[name] = {"fixed": float(v)}
        elif isinstance(v, tuple) and len(v) == 2:
            lo, hi = float(v[0]), float(v[1])
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise CampaignError(f"range of condition {name!r} must be (low < high), got {v!r}")
            spec[name] = {"range": [lo, hi]}
        elif isinstance(v, (list, np.ndarray)) and len(v) > 0:
            vals = sorted({float(a) for a in v})
            if not all(math.isfinite(a) for a in vals):
                raise CampaignError(f"choices of condition {name!r} must be finite numbers")
            spec[name] = {"choices": vals}
        else:
            raise CampaignError(
                f"condition {name!r} must be a number (fixed), a (low, high) tuple or a list "
                f"of choices, got {v!r}"
            )
    return spec


def _normal_base(m: int, rng: np.random.Generator) -> np.ndarray:
    """Latin-hypercube standard normal samples: lower variance than plain Monte Carlo."""
    from scipy.special import ndtri

    S = _EHVI_SAMPLES
    u = (np.argsort(rng.random((S, m)), axis=0) + rng.random((S, m))) / S
    return ndtri(np.clip(u, 1e-9, 1 - 1e-9))


def _is_pool(obj: Any) -> bool:
    return hasattr(obj, "inputs") and hasattr(obj, "frame")


# --------------------------------------------------------------------------- campaign
class Campaign:
    """An ask/tell Bayesian-optimization campaign.

    ``suggest(n)`` proposes ``n`` new compositions (or pool entries) from a surrogate model and
    an acquisition function; ``tell(compositions, values)`` records measurements. With
    ``path=`` every ``tell`` is appended to a JSON-Lines log and fsynced before it returns, so
    ``Campaign.load(path)`` resumes after a kernel restart with the same state and the same
    suggestions.

    Args:
        space_or_pool: A :class:`~jupyter_matopt.core.CompositionSpace`; or a finite pool of
            candidates: a DataFrame with one numeric column per input (fractions of components
            or any process parameters) or a :class:`~jupyter_matopt.data.Pool` (only its
            inputs are used, never its objective).
        objective: ``"max"`` or ``"min"``; for 2-3 objectives a list (``["max", "min"]``) or
            a mapping ``{"hardness": "max", "density": "min"}``.
        acquisition: ``"ucb"``/``"lcb"`` (the optimistic confidence bound
            ``mean +- kappa * std`` in the objective's direction; the two names are synonyms;
            default for one objective), ``"ei"`` (expected improvement), ``"pi"``
            (probability of improvement),
            ``"greedy"`` (predicted mean), ``"random"`` (uniform baseline), ``"ehvi"``
            (Monte-Carlo expected hypervolume improvement, default for several objectives).
            Why UCB by default: in the pool benchmark (``bench/bo.py``, Liang et al. 2021
            protocol, 6 pools) UCB found more of the top 5 % than EI on every pool (e.g.
            MPEA hardness 0.94 vs 0.36, thermoelectric zT 0.92 vs 0.78 at a 30 % budget,
            10 seeds): EI settles near the incumbent when the data are noisy.
        surrogate: ``"gp"``: a Gaussian process with a Matern-5/2 kernel and one length scale
            per input (ARD) on min-max-scaled inputs (the free fractions, then the
            conditions) and standardized targets, hyperparameters by MAP with a
            dimension-scaled length-scale prior. ``"ensemble"``: the
            :class:`~jupyter_matopt.models.PropertyModel` ensemble (XGBoost members; elemental
            Magpie features when the components are elements or formulas such as CsPbI3,
            fractions otherwise), uncertainty from the members' spread. ``"auto"`` (default)
            uses the GP up to 500 observations and the ensemble beyond. Why: with tens to
            hundreds of measurements, the usual size of an experimental campaign, a GP's
            uncertainty is calibrated and it interpolates smoothly between few points, where
            tree ensembles are piecewise constant and overconfident; its cost grows like n^3,
            and with many observations trees fit fast and featurization pays off.
        path: File for the append-only log (any extension; ``"steel_campaign.json"`` is fine).
            When it already holds a campaign with the same settings, that campaign is resumed.
        seed: Seed of the suggestions; the same seed and the same measurements give the same
            suggestions, in this process or after ``load``. ``None`` draws one (and saves it).
        conditions: Experimental conditions that are model inputs besides the fractions,
            e.g. ``{"temperature": 600}`` (suggest at 600, measurements may be at others),
            ``{"temperature": (300, 900)}`` (search that range too) or
            ``{"temperature": [300, 600, 900]}`` (choices). Not for pools: there they are
            simply pool columns.
        callback: ``callback(event, info)`` for progress: events ``"tell"``, ``"fit"``,
            ``"candidates"``, ``"refine"`` and ``"suggest"``, each with a dict of figures.
        xi: Margin of EI/PI in units of the standard deviation of the observed values.
        kappa: Weight of the standard deviation in UCB/LCB. Why 1 by default: on seeds
            kept apart from the benchmark's, ``kappa=1`` found as much of the top 5 % as
            ``kappa=2`` or more on 5 of the 6 pools (AutoAM 0.64 vs 0.37, 30 seeds) and
            ``kappa`` 0.5, 1.5 and 3 did not do better; larger values keep exploring after
            the surrogate has found the good region.
        prior: A trained model (a fitted :class:`~jupyter_matopt.models.PropertyModel` or any
            ``FractionModel``) of the objective, for compositions. With it the ``"gp"``
            surrogate is fitted to the residuals ``y - model(x)`` (the model is the GP's
            prior mean), ``"model"`` uses the model as it is, and ``"auto"`` uses the model
            below 3 observations and the residual GP from then on (see
            :func:`~jupyter_matopt.optimize.surrogates.choose_surrogate`). The model is not
            written to the campaign's log: pass it again after ``load``.

    Raises:
        CampaignError: for an unknown setting, an empty or non-numeric pool, or a ``path``
            that holds a different campaign.

    Example:
        >>> space = CompositionSpace({"Fe": (0.5, 0.9), "Cr": (0.1, 0.3), "Ni": (0, 0.2),
        ...                           "Mo": 0.02}, step=0.005, max_components=4)
        >>> camp = Campaign(space, objective="max", seed=0)
        >>> camp.tell(["Fe0.78Cr0.15Ni0.05Mo0.02", "Fe0.7Cr0.2Ni0.08Mo0.02"], [1210.0, 1350.0])
        >>> batch = camp.suggest(5)
        >>> camp.tell(batch.compositions, [1300.0, 1280.0, 1400.0, 1250.0, 1330.0])
    """

    def __init__(
        self,
        space_or_pool: CompositionSpace | pd.DataFrame | Any,
        *,
        objective: str | Sequence[str] | Mapping[str, str] = "max",
        acquisition: str | None = None,
        surrogate: str = "auto",
        path: str | Path | None = None,
        seed: int | None = None,
        conditions: Mapping[str, Any] | None = None,
        callback: Callback | None = None,
        xi: float = 0.0,
        kappa: float = 1.0,
        prior: Any = None,
    ) -> None:
        self.objectives, self.directions = _parse_objectives(objective)
        m = len(self.objectives)
        if acquisition is None:
            acquisition = "ucb" if m == 1 else "ehvi"
        acquisition = str(acquisition).lower()
        allowed = _SINGLE_ACQ if m == 1 else _MULTI_ACQ
        if acquisition not in allowed:
            kind = "one objective" if m == 1 else f"{m} objectives"
            raise CampaignError(
                f"acquisition {acquisition!r} is not available with {kind}; choose from "
                f"{list(allowed)}"
            )
        surrogate = str(surrogate).lower()
        if surrogate not in _SURROGATES:
            raise CampaignError(f"surrogate must be one of {list(_SURROGATES)}, got {surrogate!r}")
        self._seed_given = seed is not None  # else an existing log at `path` supplies it
        if seed is None:
            seed = secrets.randbelow(2**31)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise CampaignError(f"seed must be a non-negative integer or None, got {seed!r}")
        for name, v in (("xi", xi), ("kappa", kappa)):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise CampaignError(f"{name} must be a non-negative number, got {v!r}")
        self.acquisition = acquisition
        self.surrogate = surrogate
        self.seed = int(seed)
        self.xi = float(xi)
        self.kappa = float(kappa)
        self.prior = prior
        self.callback = callback
        self._cond_spec = _parse_conditions(conditions)
        self.conditions = list(self._cond_spec)

        self.space: CompositionSpace | None = None
        self.pool: pd.DataFrame | None = None
        if isinstance(space_or_pool, CompositionSpace):
            self.space = space_or_pool
            self.components = list(space_or_pool.components)
            plain = space_or_pool.to_dict()
            plain["exclude"] = []
            self._space_plain = CompositionSpace.from_dict(plain)
        elif isinstance(space_or_pool, pd.DataFrame) or _is_pool(space_or_pool):
            if self._cond_spec:
                raise CampaignError(
                    "conditions are for composition spaces; in a pool they are just columns "
                    "of the pool"
                )
            frame = (space_or_pool if isinstance(space_or_pool, pd.DataFrame)
                     else space_or_pool.frame[list(space_or_pool.inputs)])
            self.pool = self._check_pool(frame)
            self.components = [str(c) for c in self.pool.columns]
        else:
            raise CampaignError(
                "a campaign needs a CompositionSpace or a candidate pool (a DataFrame with one "
                f"numeric column per input, or a Pool), got {type(space_or_pool).__name__}"
            )
        names = self.components + self.conditions
        clash = [c for c in names if c in _RESERVED or c in self.objectives
                 or c.startswith(("mean_", "std_"))]
        if clash or len(set(names)) != len(names):
            raise CampaignError(
                f"input name(s) {clash or names} clash with each other, an objective or a "
                f"column of the suggestions ({', '.join(_RESERVED)}, mean_*/std_*); rename them, "
                "or name the objective, e.g. objective={'hardness': 'max'}"
            )
        self._setup_derived()
        check_prior(self)
        self._reset_state()
        self.path: Path | None = None
        if path is not None:
            self._attach(Path(path))

    # ------------------------------------------------------------------ construction
    @staticmethod
    def _check_pool(frame: pd.DataFrame) -> pd.DataFrame:
        if len(frame) == 0 or frame.shape[1] == 0:
            raise CampaignError("the candidate pool is empty")
        names = [str(c) for c in frame.columns]
        if len(set(names)) != len(names):
            raise CampaignError(f"pool columns must have distinct names, got {names}")
        bad = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])
               or pd.api.types.is_bool_dtype(frame[c])]
        if bad:
            raise CampaignError(
                f"pool column(s) {[str(b) for b in bad]} are not numeric; encode them as numbers"
            )
        if frame.index.has_duplicates:
            dup = frame.index[frame.index.duplicated()].unique()[:5].tolist()
            raise CampaignError(
                f"the pool's index has duplicate labels {dup}, so pool_index could not name a "
                "row; give each row its own label (e.g. frame.reset_index(drop=True))"
            )
        arr = frame.to_numpy(dtype=float)
        if not np.all(np.isfinite(arr)):
            rows = np.flatnonzero(~np.all(np.isfinite(arr), axis=1))[:5].tolist()
            raise CampaignError(f"the pool has missing or infinite values (rows {rows})")
        out = pd.DataFrame(arr, columns=names, index=frame.index)
        return out

    def _setup_derived(self) -> None:
        self._sign = np.array([1.0 if d == "max" else -1.0 for d in self.directions])
        self._k = len(self.components)
        self._c = len(self.conditions)
        if self.space is not None:
            sp = self.space
            self._free = np.array([c not in sp.fixed and hi > lo for c, lo, hi in
                                   zip(sp.components, sp.lower, sp.upper, strict=False)])
            self._x_lo = sp.lower[self._free]
            self._x_width = (sp.upper - sp.lower)[self._free]
            self._formulas = bool(sp.is_elemental)
        else:
            assert self.pool is not None
            P = self.pool.to_numpy(dtype=float)
            lo, hi = P.min(axis=0), P.max(axis=0)
            self._free = hi > lo
            self._x_lo = lo[self._free]
            self._x_width = (hi - lo)[self._free]
            self._formulas = False
            keys = row_keys(P)
            self._pool_keys: dict[bytes, int] = {}
            for i, k in enumerate(keys):
                self._pool_keys.setdefault(k, i)

    def _reset_state(self) -> None:
        m = len(self.objectives)
        self._X = np.zeros((0, self._k))
        self._C = np.zeros((0, self._c))
        self._Y = np.zeros((0, m))
        self._in_space = np.zeros(0, dtype=bool)
        self._batch = np.zeros(0, dtype=int)
        self._times: list[str] = []
        self._told: set[bytes] = set()
        self._n_tells = 0
        self._theta_cache: dict[Any, np.ndarray] = {}

    def _settings(self) -> dict[str, Any]:
        return {
            "objectives": self.objectives,
            "directions": self.directions,
            "acquisition": self.acquisition,
            "surrogate": self.surrogate,
            "seed": self.seed,
            "conditions": self._cond_spec,
            "xi": self.xi,
            "kappa": self.kappa,
        }

    def _header(self) -> dict[str, Any]:
        pool = None
        if self.pool is not None:
            pool = {
                "columns": self.components,
                "index": [i if isinstance(i, (int, str)) else str(i)
                          for i in self.pool.index.tolist()],
                "data": self.pool.to_numpy(dtype=float).tolist(),
            }
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
             prior: Any = None) -> Campaign:
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
        conds = {}
        for name, spec in s.get("conditions", {}).items():
            if "fixed" in spec:
                conds[name] = spec["fixed"]
            elif "range" in spec:
                conds[name] = tuple(spec["range"])
            else:
                conds[name] = list(spec["choices"])
        objective: Any = dict(zip(s["objectives"], s["directions"], strict=False))
        if len(s["objectives"]) == 1:
            objective = s["directions"][0]
        camp = cls(target, objective=objective, acquisition=s["acquisition"],
                   surrogate=s["surrogate"], seed=s["seed"], conditions=conds or None,
                   callback=callback, xi=s.get("xi", 0.0), kappa=s.get("kappa", 2.0),
                   prior=prior)
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

    # ------------------------------------------------------------------ state views
    @property
    def n_observations(self) -> int:
        """Number of measurements told so far."""
        return len(self._Y)

    def __len__(self) -> int:
        return self.n_observations

    @property
    def history(self) -> pd.DataFrame:
        """All measurements: components, conditions, objective values, ``in_space`` (inside
        the space's bounds, or a pool entry), ``batch`` (which ``tell``) and ``time``."""
        df = pd.DataFrame(self._X, columns=self.components)
        for j, c in enumerate(self.conditions):
            df[c] = self._C[:, j]
        for j, name in enumerate(self.objectives):
            df[name] = self._Y[:, j]
        df["in_space"] = self._in_space
        df["batch"] = self._batch
        df["time"] = self._times
        return df

    @property
    def best(self) -> pd.Series:
        """The best measurement so far (single objective)."""
        if len(self.objectives) != 1:
            raise CampaignError("best is for one objective; use pareto() with several")
        if self.n_observations == 0:
            raise CampaignError("no measurements yet: tell() some first")
        i = int(np.argmax(self._Y[:, 0] * self._sign[0]))
        return self.history.iloc[i]

    def pareto(self) -> pd.DataFrame:
        """The measurements on the current Pareto front (all rows for one objective: the best)."""
        hist = self.history
        if self.n_observations == 0:
            return hist
        mask = pareto_front(self._Y, self.directions)
        return hist[mask]

    def __repr__(self) -> str:
        target = repr(self.space) if self.space is not None else f"pool of {len(self.pool)}"  # type: ignore[arg-type]
        objectives = dict(zip(self.objectives, self.directions, strict=True))
        path = str(self.path) if self.path else None
        return (f"Campaign({target}, objectives={objectives}, "
                f"acquisition={self.acquisition!r}, surrogate={self.surrogate!r}, "
                f"n_observations={self.n_observations}, path={path!r})")

    # ------------------------------------------------------------------ tell
    def _emit(self, event: str, info: dict[str, Any]) -> None:
        if self.callback is not None:
            self.callback(event, info)

    def tell(self, compositions: Any, values: Any, *, conditions: Any = None) -> None:
        """Record measurements.

        Args:
            compositions: What was measured: formulas or ``{component: amount}`` dicts (a
                list, or one), a DataFrame with one column per component (extra columns such
                as ``mean`` are ignored; condition columns are read), an ``(n, k)`` array in
                component order, or the ``Suggestions`` from ``suggest``. Amounts are
                normalized to fractions. Compositions outside the space's bounds are
                accepted (real data are worth learning from) and flagged ``in_space=False``
                in ``history``; components the space does not have are refused. For a pool
                campaign: rows with the pool's columns, inside the pool or not.
            values: One value per composition (``(n,)``), or ``(n, m)`` for ``m``
                objectives; finite numbers only.
            conditions: Per-measurement conditions when the campaign has any: a mapping
                ``{name: value or array}`` or a DataFrame. Default: read from the
                compositions, else the campaign's fixed values.

        Raises:
            CampaignError: for NaN/infinite values, a length mismatch, unknown components,
                negative amounts or missing conditions. Nothing is changed then, neither in
                memory nor on disk.
        """
        X, C = self._parse_inputs(compositions, conditions)
        Y = self._parse_values(values, len(X))
        t = _now()
        record = self._make_record(X, C, Y, t)
        if self.path is not None:
            try:
                append_record(self.path, record, expect=getattr(self, "_log_identity", None))
            except OSError as e:
                raise CampaignError(f"could not write to {str(self.path)!r}: {e}") from e
        self._apply_record(record)
        info: dict[str, Any] = {
            "n_new": len(X),
            "n_observations": self.n_observations,
            "n_outside": int((~self._in_space[-len(X):]).sum()),
        }
        if len(self.objectives) == 1:
            info["best"] = float((self._Y[:, 0] * self._sign[0]).max() * self._sign[0])
        self._emit("tell", info)

    def _make_record(self, X: np.ndarray, C: np.ndarray, Y: np.ndarray, t: str
                     ) -> dict[str, Any]:
        return {
            "kind": "tell",
            "time": t,
            "x": np.asarray(X, float).tolist(),
            "conditions": np.asarray(C, float).tolist() if self._c else None,
            "y": np.asarray(Y, float).tolist(),
        }

    def _apply_record(self, rec: dict[str, Any]) -> None:
        try:
            X = np.asarray(rec["x"], dtype=float).reshape(-1, self._k)
            Y = np.asarray(rec["y"], dtype=float).reshape(len(X), len(self.objectives))
            C = (np.asarray(rec["conditions"], dtype=float).reshape(len(X), self._c)
                 if self._c else np.zeros((len(X), 0)))
        except (KeyError, ValueError, TypeError) as e:
            raise CampaignError(f"a tell record does not fit this campaign: {e}") from None
        X = check_record_arrays(X, C, Y, fractions=self.space is not None)
        self._X = np.vstack([self._X, X])
        self._C = np.vstack([self._C, C])
        self._Y = np.vstack([self._Y, Y])
        self._in_space = np.concatenate([self._in_space, self._inside(X)])
        self._batch = np.concatenate([self._batch, np.full(len(X), self._n_tells)])
        self._times.extend([rec.get("time", "")] * len(X))
        self._told.update(row_keys(np.hstack([X, C])))
        self._n_tells += 1

    def _inside(self, X: np.ndarray) -> np.ndarray:
        if len(X) == 0:
            return np.zeros(0, dtype=bool)
        if self.space is not None:
            return np.asarray(self._space_plain.contains(X), dtype=bool).reshape(len(X))
        return np.array([k in self._pool_keys for k in row_keys(X)], dtype=bool)

    def _parse_values(self, values: Any, n: int) -> np.ndarray:
        m = len(self.objectives)
        if isinstance(values, pd.DataFrame):
            if m > 1 and all(o in values.columns for o in self.objectives):
                values = values[self.objectives]
            values = values.to_numpy()
        try:
            Y = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            raise CampaignError(f"values must be numbers, got {values!r:.80}") from None
        if Y.ndim == 0:
            Y = Y.reshape(1, 1)
        if m == 1 and Y.ndim == 1:
            Y = Y[:, None]
        elif m > 1 and Y.ndim == 1 and len(Y) == m and n == 1:
            Y = Y[None, :]
        if Y.ndim != 2 or Y.shape[1] != m:
            raise CampaignError(
                f"values must have shape ({n},{'' if m == 1 else f' {m}'}) for {m} "
                f"objective{'s' if m > 1 else ''}, got shape {np.shape(values)}"
            )
        if len(Y) != n:
            raise CampaignError(f"got {n} compositions but {len(Y)} values")
        bad = ~np.all(np.isfinite(Y), axis=1)
        if bad.any():
            raise CampaignError(
                f"values must be finite numbers; rows {np.flatnonzero(bad)[:5].tolist()} hold "
                "NaN or infinity (leave failed measurements out, or tell a number)"
            )
        return Y

    def _split_dicts(self, items: list[Any]) -> tuple[list[Any], dict[str, list[float]] | None]:
        """Take condition keys out of dict compositions."""
        if not self._c or not items or not all(isinstance(d, Mapping) for d in items):
            return items, None
        conds: dict[str, list[float]] = {c: [] for c in self.conditions}
        comps = []
        have = [all(c in d for d in items) for c in self.conditions]
        for d in items:
            comps.append({k: v for k, v in d.items() if k not in self._cond_spec})
            for c, h in zip(self.conditions, have, strict=False):
                if h:
                    conds[c].append(d[c])
        got = {c: v for c, v in conds.items() if v}
        return comps, (got or None)

    def _parse_inputs(self, compositions: Any, conditions: Any) -> tuple[np.ndarray, np.ndarray]:
        from_frame: dict[str, Any] | None = None
        if isinstance(compositions, pd.DataFrame):
            present = [c for c in self.conditions if c in compositions.columns]
            if present:
                from_frame = {c: compositions[c].to_numpy() for c in present}
            if self.space is not None:
                missing = [c for c in self.components if c not in compositions.columns]
                extra = [c for c in compositions.columns if c not in self.components]
                if missing and extra:
                    raise CampaignError(
                        f"the DataFrame lacks component column(s) {missing}; columns must name "
                        f"components of {self.components}"
                    )
        elif isinstance(compositions, pd.Series):
            compositions = compositions.tolist()
        items: Any = compositions
        if isinstance(compositions, (str, Mapping)):
            items = [compositions]
        if isinstance(items, (list, tuple)):
            items, from_dicts = self._split_dicts(list(items))
            if from_dicts is not None:
                from_frame = from_dicts
        X = self._parse_x(items)
        if len(X) == 0:
            raise CampaignError("nothing to tell or rank: no compositions were given")
        C = self._parse_conditions(conditions if conditions is not None else from_frame, len(X))
        return X, C

    def _parse_x(self, items: Any) -> np.ndarray:
        if self.space is not None:
            if not self.space.is_elemental:
                # in a mixture of ingredients, "PEG" or "CsPbI3" alone means that ingredient
                # pure, not its elements (which the space does not have)
                names = set(self.components)
                if isinstance(items, str) and items.strip() in names:
                    items = [{items.strip(): 1.0}]
                elif isinstance(items, (list, tuple)):
                    items = [{it.strip(): 1.0} if isinstance(it, str) and it.strip() in names
                             else it for it in items]
            try:
                X = self.space.as_array(items)
            except CompositionError as e:
                raise CampaignError(str(e)) from None
            except (TypeError, ValueError) as e:
                raise CampaignError(f"cannot read the compositions: {e}") from None
            X = np.asarray(X, dtype=float)
            if X.ndim != 2 or X.shape[1] != self._k:
                raise CampaignError(
                    f"expected compositions of {self.components}, got shape {X.shape}")
            if not np.all(np.isfinite(X)):
                rows = np.flatnonzero(~np.all(np.isfinite(X), axis=1))[:5].tolist()
                raise CampaignError(
                    f"compositions in rows {rows} have missing or infinite fractions")
            if np.any(X < 0):
                rows = np.flatnonzero(np.any(X < 0, axis=1))[:5].tolist()
                raise CampaignError(f"compositions in rows {rows} have negative amounts")
            tot = X.sum(axis=1)
            if np.any(tot <= 0):
                rows = np.flatnonzero(tot <= 0)[:5].tolist()
                raise CampaignError(
                    f"compositions in rows {rows} contain none of the components "
                    f"{self.components}"
                )
            return X / tot[:, None]
        # pool campaign
        if isinstance(items, pd.DataFrame):
            missing = [c for c in self.components if c not in items.columns]
            if missing:
                raise CampaignError(
                    f"the DataFrame lacks pool column(s) {missing}; pool columns are "
                    f"{self.components}"
                )
            raw: Any = items[self.components]
        elif isinstance(items, list) and items and all(isinstance(d, Mapping) for d in items):
            for d in items:
                unknown = [k for k in d if k not in self.components]
                missing = [c for c in self.components if c not in d]
                if unknown or missing:
                    raise CampaignError(
                        f"pool entry {dict(d)!r} must give exactly the pool columns "
                        f"{self.components}"
                        + (f" (unknown: {unknown})" if unknown else "")
                        + (f" (missing: {missing})" if missing else "")
                    )
            raw = [[d[c] for c in self.components] for d in items]
        else:
            raw = items
        try:
            X = np.asarray(raw, dtype=float)
        except (TypeError, ValueError):
            raise CampaignError(
                f"pool entries must be numeric rows with columns {self.components}"
            ) from None
        if X.ndim == 1 and len(X) == self._k:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != self._k:
            raise CampaignError(
                f"pool entries must have {self._k} columns ({', '.join(self.components)}), "
                f"got shape {X.shape}"
            )
        if not np.all(np.isfinite(X)):
            raise CampaignError("pool entries must be finite numbers")
        return X

    def _parse_conditions(self, conditions: Any, n: int) -> np.ndarray:
        if not self._c:
            if conditions is not None and len(conditions):
                raise CampaignError(
                    "this campaign has no conditions; create it with conditions={...} to "
                    "record them"
                )
            return np.zeros((n, 0))
        C = np.empty((n, self._c))
        given: Mapping[str, Any] = {}
        if conditions is not None:
            if isinstance(conditions, pd.DataFrame):
                given = {c: conditions[c].to_numpy() for c in conditions.columns}
            elif isinstance(conditions, Mapping):
                given = conditions
            else:
                raise CampaignError(
                    f"conditions must be a mapping {{name: value(s)}} or a DataFrame, got "
                    f"{type(conditions).__name__}"
                )
            unknown = [k for k in given if k not in self._cond_spec]
            if unknown:
                raise CampaignError(
                    f"unknown condition(s) {unknown}; this campaign has {self.conditions}")
        for j, name in enumerate(self.conditions):
            if name in given:
                try:
                    v = np.asarray(given[name], dtype=float)
                except (TypeError, ValueError):
                    raise CampaignError(f"condition {name!r} must be numeric") from None
                v = np.broadcast_to(v, (n,)) if v.ndim == 0 else v
                if v.shape != (n,):
                    raise CampaignError(
                        f"condition {name!r} has {v.size} values for {n} compositions"
                    )
                if not np.all(np.isfinite(v)):
                    raise CampaignError(f"condition {name!r} has missing or infinite values")
                C[:, j] = v
            elif "fixed" in self._cond_spec[name]:
                C[:, j] = self._cond_spec[name]["fixed"]
            else:
                raise CampaignError(
                    f"give the {name!r} of each measurement (conditions={{{name!r}: ...}}, a "
                    "column of the DataFrame, or a key of each dict)"
                )
        return C

    # ------------------------------------------------------------------ features/models
    def _cond_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lo = np.empty(self._c)
        hi = np.empty(self._c)
        for j, name in enumerate(self.conditions):
            spec = self._cond_spec[name]
            vals = (spec["range"] if "range" in spec else spec["choices"] if "choices" in spec
                    else [spec["fixed"]])
            vals = list(vals) + (self._C[:, j].tolist() if len(self._C) else [])
            lo[j], hi[j] = min(vals), max(vals)
        return lo, hi

    def _features(self, Z: np.ndarray) -> np.ndarray:
        """Scaled model inputs of rows ``[fractions..., conditions...]``."""
        X = Z[:, : self._k]
        parts = [(X[:, self._free] - self._x_lo) / self._x_width]
        if self._c:
            lo, hi = self._cond_bounds()
            w = hi - lo
            keep = w > 0
            parts.append((Z[:, self._k:][:, keep] - lo[keep]) / w[keep])
        F = np.hstack(parts)
        if F.shape[1] == 0:
            F = np.zeros((len(Z), 1))
        return F

    def _surrogate_kind(self) -> str:
        return choose_surrogate(self)

    def _fit_models(self, rng: np.random.Generator) -> list[Surrogate]:
        kind = self._surrogate_kind()
        Z = np.hstack([self._X, self._C])
        F = self._features(Z)
        t0 = time.perf_counter()
        models = []
        scale_key = F.shape[1], (self._cond_bounds()[0].tobytes() if self._c else b"")
        for j in range(len(self.objectives)):
            y = self._Y[:, j] * self._sign[j]
            model = make_surrogate(kind, campaign=self, seed=self.seed + j, objective=j)
            model.fit_with_cache(F, y, Z, cache=self._theta_cache, key=(j, scale_key))
            models.append(model)
        self._emit("fit", {"surrogate": kind, "n_observations": self.n_observations,
                           "seconds": time.perf_counter() - t0})
        return models

    # ------------------------------------------------------------------ candidates
    def _sample_conditions(self, n: int, rng: np.random.Generator) -> np.ndarray:
        C = np.empty((n, self._c))
        for j, name in enumerate(self.conditions):
            spec = self._cond_spec[name]
            if "fixed" in spec:
                C[:, j] = spec["fixed"]
            elif "range" in spec:
                lo, hi = spec["range"]
                C[:, j] = lo + (hi - lo) * rng.random(n)
            else:
                C[:, j] = rng.choice(np.asarray(spec["choices"]), size=n)
        return C

    def _snap_conditions(self, C: np.ndarray) -> np.ndarray:
        C = C.copy()
        for j, name in enumerate(self.conditions):
            spec = self._cond_spec[name]
            if "choices" in spec:
                ch = np.asarray(spec["choices"])
                C[:, j] = ch[np.abs(C[:, j][:, None] - ch[None, :]).argmin(axis=1)]
            elif "fixed" in spec:
                C[:, j] = spec["fixed"]
        return C

    def _valid(self, Z: np.ndarray) -> np.ndarray:
        """Feasible (space) and not yet told."""
        if len(Z) == 0:
            return np.zeros(0, dtype=bool)
        ok = np.ones(len(Z), dtype=bool)
        if self.space is not None:
            ok &= np.asarray(self.space.contains(Z[:, : self._k]), dtype=bool).reshape(len(Z))
        if self._told:
            ok &= np.array([k not in self._told for k in row_keys(Z)], dtype=bool)
        return ok

    @staticmethod
    def _dedupe(Z: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
        seen: set[bytes] = set()
        keep = np.zeros(len(Z), dtype=bool)
        for i, k in enumerate(row_keys(Z)):
            if k not in seen:
                seen.add(k)
                keep[i] = True
        return (Z[keep], *[o[keep] for o in others])

    def _given_candidates(self, candidates: Any, rng: np.random.Generator) -> np.ndarray:
        """Rows ``[fractions, conditions]`` of user-given candidates.

        Conditions the candidates do not carry take the campaign's fixed value, or are drawn
        from its range or choices.
        """
        if (self.pool is not None and isinstance(candidates, (list, np.ndarray, pd.Index,
                                                              pd.Series))
                and np.ndim(candidates) == 1 and len(candidates)
                and all(isinstance(i, (int, np.integer)) for i in candidates)):
            pos = np.asarray(candidates, dtype=int)
            if pos.min() < 0 or pos.max() >= len(self.pool):
                raise CampaignError(f"pool positions must be in [0, {len(self.pool) - 1}]")
            return self.pool.to_numpy(dtype=float)[pos]
        try:
            X, C = self._parse_inputs(candidates, None)
        except CampaignError:
            if not self._c:
                raise
            items = candidates
            if isinstance(items, (list, tuple)):
                items, _ = self._split_dicts(list(items))
            elif isinstance(items, (str, Mapping)):
                items, _ = self._split_dicts([items])
            X = self._parse_x(items)
            C = self._sample_conditions(len(X), rng)
        return np.hstack([X, C])

    # ------------------------------------------------------------------ suggest
    def suggest(self, n: int = 1, candidates: Any = None) -> Suggestions:
        """Propose ``n`` new, distinct compositions (or pool entries) to measure next.

        Over a space, the candidates are the whole grid when the space has a step and at most
        50,000 grid points; otherwise 3,000 uniform samples whose best 16 are refined by a
        few rounds of pairwise transfers and perturbations, projected back onto the space.
        A batch is chosen sequentially: after each pick the GP is conditioned on that point
        at its predicted mean (kriging believer), which shrinks the uncertainty nearby so the
        next pick goes elsewhere; for the tree ensemble the predicted standard deviation is
        shrunk near picked points in the same spirit. In a continuous space, suggestions of
        one batch also keep at least 2 % of each input's range apart (unless only near
        copies are left to fill the batch). Every suggestion is
        checked with ``space.contains`` (bounds, sum, step, fixed parts, max_components,
        exclusions) and is not a composition already told. Until two measurements exist,
        suggestions are uniform random draws (with a ``prior`` model, its predictions rank
        them from the start).

        Args:
            n: Number of suggestions.
            candidates: Restrict the choice to these compositions (same forms as ``tell``;
                for a pool also positions of pool rows). Infeasible or already measured ones
                are dropped.

        Returns:
            :class:`Suggestions`: one row per suggestion with predicted mean, std and the
            acquisition value; ``.compositions`` gives what ``tell`` takes back.

        Raises:
            CampaignError: if ``n`` is not a positive integer or fewer than ``n`` untried
                candidates remain.
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise CampaignError(f"n must be a positive integer, got {n!r}")
        n = int(n)
        t0 = time.perf_counter()
        rng = np.random.default_rng([self.seed, self.n_observations, self._n_tells])
        given = None if candidates is None else self._given_candidates(candidates, rng)
        distinct = len({k for k in row_keys(self._Y)}) if self.n_observations else 0
        # a prior model can rank candidates before any measurement; a GP alone cannot
        random_mode = self.acquisition == "random" or (distinct < 2 and self.prior is None)
        models: list[Surrogate] = []
        try:
            if random_mode:
                Z, method = self._random_candidates(n, rng, given)
                pick = np.arange(min(n, len(Z)))
                picked_scores = np.full(len(pick), np.nan)
            else:
                models = self._fit_models(rng)
                Z, scores, method = self._scored_candidates(models, rng, given)
                pick, picked_scores = self._select(models, Z, scores, n, rng)
        except CompositionError as e:  # e.g. exclusions that leave (almost) nothing to draw
            raise CampaignError(
                f"cannot suggest from this space: {e}; widen the bounds or remove exclusions"
            ) from None
        if len(pick) < n:
            raise CampaignError(
                f"only {len(pick)} untried candidate(s) remain, fewer than the {n} asked for"
            )
        Zp = Z[pick]
        out = self._frame(Zp, models, picked_scores)
        self._emit("suggest", {"n": n, "method": method,
                               "seconds": time.perf_counter() - t0})
        return out

    def _random_candidates(self, n: int, rng: np.random.Generator, given: np.ndarray | None
                           ) -> tuple[np.ndarray, str]:
        if given is not None:
            Z = given[self._valid(given)]
            Z = self._dedupe(Z)[0]
            return Z[rng.permutation(len(Z))], "given"
        if self.pool is not None:
            P = self.pool.to_numpy(dtype=float)
            Z = P[self._valid(P)]
            Z = self._dedupe(Z)[0]
            return Z[rng.permutation(len(Z))], "pool"
        assert self.space is not None
        Z = np.zeros((0, self._k + self._c))
        for attempt in range(4):
            m = max(8 * n, 64) * (4 ** attempt)
            try:
                X = tidy(self.space.sample(m, seed=rng))
            except CompositionError:  # exclusions cover most of it: enumerate if possible
                break
            Zs = np.hstack([X, self._sample_conditions(m, rng)])
            Zs = Zs[self._valid(Zs)]
            Z = self._dedupe(np.vstack([Z, Zs]))[0]
            if len(Z) >= n:
                return Z, "random"
        # a nearly exhausted or heavily excluded grid: enumerate what is left
        if self.space.step is not None and self.space.grid_size() <= 10 * GRID_LIMIT:
            X = self.space.enumerate_grid(max_points=10 * GRID_LIMIT)
            Zs = np.hstack([X, self._sample_conditions(len(X), rng)])
            Zs = Zs[self._valid(Zs)]
            Z = self._dedupe(np.vstack([Z, Zs[rng.permutation(len(Zs))]]))[0]
        return Z, "random"

    def _score_fn(self, models: list[Surrogate], rng: np.random.Generator
                  ) -> Callable[[np.ndarray], np.ndarray]:
        """Acquisition on raw rows ``[fractions, conditions]`` (maximization frame)."""
        Ys = self._Y * self._sign
        if len(models) == 1:
            # no measurement yet (possible with a prior model): no incumbent to improve on
            best = float(Ys[:, 0].max()) if len(Ys) else -math.inf
            sd_y = (float(Ys[:, 0].std()) if len(Ys) else 0.0) or 1.0
            acq = self.acquisition

            def score(Z: np.ndarray) -> np.ndarray:
                mu, sd = models[0].predict(self._features(Z), Z)
                return self._acq_values(acq, mu, sd, best, sd_y)

            return score
        base = _normal_base(len(models), rng)
        ref = self._ref_point()
        front = Ys[_nondominated_max(Ys)]

        def score_multi(Z: np.ndarray) -> np.ndarray:
            F = self._features(Z)
            pred = [m.predict(F, Z) for m in models]
            mu = np.column_stack([p[0] for p in pred])
            sd = np.column_stack([p[1] for p in pred])
            if self.acquisition == "greedy":
                return _hvi_max(mu, front, ref)
            return self._ehvi(mu, sd, front, ref, base)

        return score_multi

    def _acq_values(self, acq: str, mu: np.ndarray, sd: np.ndarray, best: float,
                    sd_y: float) -> np.ndarray:
        if acq in ("ei", "pi") and not math.isfinite(best):
            return np.asarray(mu, dtype=float)  # nothing to improve on yet: rank by the mean
        if acq == "ei":
            return expected_improvement(mu, sd, best, xi=self.xi * sd_y)
        if acq == "pi":
            return probability_of_improvement(mu, sd, best, xi=self.xi * sd_y)
        if acq in ("ucb", "lcb"):
            return upper_confidence_bound(mu, sd, kappa=self.kappa)
        return np.asarray(mu, dtype=float)  # greedy

    def _ref_point(self) -> np.ndarray:
        Ys = self._Y * self._sign
        lo, hi = Ys.min(axis=0), Ys.max(axis=0)
        span = np.where(hi > lo, hi - lo, np.maximum(np.abs(hi), 1.0))
        return lo - 0.1 * span

    @staticmethod
    def _ehvi(mu: np.ndarray, sd: np.ndarray, front: np.ndarray, ref: np.ndarray,
              base: np.ndarray) -> np.ndarray:
        S = len(base)
        P = (mu[:, None, :] + sd[:, None, :] * base[None, :, :]).reshape(-1, mu.shape[1])
        return _hvi_max(P, front, ref).reshape(len(mu), S).mean(axis=1)

    def _scored_candidates(self, models: list[Surrogate], rng: np.random.Generator,
                           given: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, str]:
        score = self._score_fn(models, rng)
        multi = len(models) > 1
        if given is not None or self.pool is not None:
            if given is not None:
                Z, method = given, "given"
            else:
                Z, method = self.pool.to_numpy(dtype=float), "pool"  # type: ignore[union-attr]
            Z = self._dedupe(Z[self._valid(Z)])[0]
            self._emit("candidates", {"n_candidates": len(Z), "method": method})
            return Z, self._score_screened(Z, models, score, multi), method
        assert self.space is not None
        X, exhaustive = space_candidates(self.space, rng)
        if exhaustive and self._c and any("range" in s for s in self._cond_spec.values()):
            exhaustive = False
        Z = np.hstack([X, self._sample_conditions(len(X), rng)])
        Z = Z[self._valid(Z)]
        method = "grid" if exhaustive else "sample+refine"
        s = self._score_screened(Z, models, score, multi)
        if not exhaustive and len(Z):
            n_top = min(16, len(Z))
            top = np.argsort(-s, kind="stable")[:n_top]
            extra = None
            if self._c:
                lo = np.array([self._cond_spec[c].get("range", [0, 0])[0] for c in self.conditions])
                hi = np.array([self._cond_spec[c].get("range", [0, 0])[1] for c in self.conditions])
                extra = (Z[top, self._k:], lo, hi)

            def score_snapped(Zr: np.ndarray) -> np.ndarray:
                if self._c:
                    Zr = np.hstack([Zr[:, : self._k], self._snap_conditions(Zr[:, self._k:])])
                return score(Zr)

            Zr, sr = refine_candidates(
                self.space, Z[top, : self._k], score_snapped, rng, extra=extra,
                progress=lambda r: self._emit("refine", {"round": r, "of": 4}),
            )
            if self._c:
                Zr = np.hstack([Zr[:, : self._k], self._snap_conditions(Zr[:, self._k:])])
            ok = self._valid(Zr)
            Z = np.vstack([Z, Zr[ok]])
            s = np.concatenate([s, sr[ok]])
        Z, s = self._dedupe(Z, s)
        self._emit("candidates", {"n_candidates": len(Z), "method": method})
        return Z, s, method

    def _score_screened(self, Z: np.ndarray, models: list[Surrogate],
                        score: Callable[[np.ndarray], np.ndarray], multi: bool) -> np.ndarray:
        """Score all candidates; with several objectives, MC-EHVI only on a pre-screened set."""
        if not multi or self.acquisition == "greedy" or len(Z) <= 256:
            return score(Z) if len(Z) else np.zeros(0)
        F = self._features(Z)
        pred = [m.predict(F, Z) for m in models]
        mu = np.column_stack([p[0] for p in pred])
        sd = np.column_stack([p[1] for p in pred])
        Ys = self._Y * self._sign
        front = Ys[_nondominated_max(Ys)]
        opt = _hvi_max(mu + sd, front, self._ref_point())
        keep = np.argsort(-opt, kind="stable")[:256]
        s = np.full(len(Z), -np.inf)
        s[keep] = score(Z[keep])
        return s

    def _select(self, models: list[Surrogate], Z: np.ndarray, scores: np.ndarray, n: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Pick a batch sequentially, conditioning the models on each pick.

        Returns the picked positions and the acquisition value of each when it was picked.
        """
        if len(Z) == 0:
            return np.zeros(0, dtype=int), np.zeros(0)
        order = np.argsort(-scores, kind="stable")
        if n == 1:
            one = int(self._argbest(scores, Z, models))
            return np.array([one]), scores[[one]]
        top = order[: max(_BATCH_POOL if len(models) == 1 else _BATCH_POOL_MULTI, n)]
        Zt = Z[top]
        Ft = self._features(Zt)
        st = scores[top].copy()
        chosen: list[int] = []
        cur = list(models)
        Ys = self._Y * self._sign
        if len(Ys):
            best = Ys.max(axis=0)
            front = Ys[_nondominated_max(Ys)]
        else:  # a prior model suggests before any measurement (one objective only)
            best, front = np.full(len(models), -np.inf), Ys
        base = _normal_base(len(models), rng)
        ref = self._ref_point() if len(models) > 1 else None
        sd_y = (float(Ys[:, 0].std()) if len(Ys) else 0.0) or 1.0
        blocked = np.zeros(len(Zt), dtype=bool)
        near = np.zeros(len(Zt), dtype=bool)
        values: list[float] = []
        continuous = self.space is not None and self.space.step is None
        for b in range(n):
            if b > 0:
                pred = [m.predict(Ft, Zt) for m in cur]
                mu = np.column_stack([p[0] for p in pred])
                sd = np.column_stack([p[1] for p in pred])
                if len(cur) == 1:
                    st = self._acq_values(self.acquisition, mu[:, 0], sd[:, 0], float(best[0]),
                                          sd_y)
                elif self.acquisition == "greedy":
                    st = _hvi_max(mu, front, ref)  # type: ignore[arg-type]
                else:
                    st = self._ehvi(mu, sd, front, ref, base)  # type: ignore[arg-type]
            st = np.where(blocked, -np.inf, st)
            # keeping apart is a preference: when only near-copies are left (e.g. a short
            # list of given candidates), they are still better than an incomplete batch
            sn = np.where(near, -np.inf, st)
            if np.isfinite(sn).any():
                st = sn
            i = int(self._argbest(st, Zt, cur))
            if not np.isfinite(st[i]):
                break
            chosen.append(i)
            values.append(float(st[i]))
            blocked[i] = True
            if continuous:  # no near-copies: keep 2 % of each scaled range apart
                near |= np.abs(Ft - Ft[i]).max(axis=1) < _MIN_SEPARATION
            mu_i = np.array([m.predict(Ft[i:i + 1], Zt[i:i + 1])[0][0] for m in cur])
            cur = [m.fantasize(Ft[i:i + 1], Zt[i:i + 1]) for m in cur]
            best = np.maximum(best, mu_i)
            if len(cur) > 1:
                front = np.vstack([front, mu_i[None, :]])
                front = front[_nondominated_max(front)]
        return top[np.asarray(chosen, dtype=int)], np.asarray(values)

    def _argbest(self, s: np.ndarray, Z: np.ndarray, models: list[Surrogate]) -> np.intp:
        """Argmax, breaking a flat acquisition (e.g. EI underflow) by the confidence bound."""
        finite = np.isfinite(s)
        if not finite.any():
            return np.intp(0)
        top = s[finite].max()
        if top > 0 or self.acquisition in ("greedy", "ucb", "lcb") or not models:
            return np.argmax(np.where(finite, s, -np.inf))
        pred = [m.predict(self._features(Z), Z) for m in models]
        ucb = sum(p[0] + self.kappa * p[1] for p in pred)
        tie = finite & (s >= top)
        return np.argmax(np.where(tie, ucb, -np.inf))

    def _frame(self, Z: np.ndarray, models: list[Surrogate], scores: np.ndarray) -> Suggestions:
        data: dict[str, Any] = {c: Z[:, i] for i, c in enumerate(self.components)}
        for j, c in enumerate(self.conditions):
            data[c] = Z[:, self._k + j]
        if models:
            F = self._features(Z)
            for j, (name, model) in enumerate(zip(self.objectives, models, strict=False)):
                mu, sd = model.predict(F, Z)
                suffix = "" if len(models) == 1 else f"_{name}"
                data[f"mean{suffix}"] = mu * self._sign[j]
                data[f"std{suffix}"] = sd
        else:
            for name in self.objectives:
                suffix = "" if len(self.objectives) == 1 else f"_{name}"
                data[f"mean{suffix}"] = np.full(len(Z), np.nan)
                data[f"std{suffix}"] = np.full(len(Z), np.nan)
        data["acquisition"] = scores
        if self.pool is not None:
            keys = row_keys(Z)
            idx = [self._pool_keys.get(k) for k in keys]
            data["pool_index"] = [self.pool.index[i] if i is not None else None for i in idx]
        out = Suggestions(data)
        out._matopt_components = list(self.components)
        out._matopt_conditions = [c for c in self.conditions
                                  if "fixed" not in self._cond_spec[c]]
        out._matopt_formulas = self._formulas
        return out
