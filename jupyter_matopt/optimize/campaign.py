"""Ask/tell Bayesian-optimization campaigns over composition spaces and candidate pools.

``Campaign`` orchestrates its parts: the search domain (:mod:`.domain`: a space or a pool),
the condition spec (:mod:`.conditions`), the surrogates (:mod:`.surrogates`), the
acquisition registry (:mod:`.acquisition`), the candidate generator and search shared with
inverse design (:mod:`.generators`), the batch selector (:mod:`.batch`) and the append-only
log (:mod:`._log`).
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._progress import LEGACY_EVENT_INFO, as_progress
from ..core import CompositionError, CompositionSpace
from ._log import (
    CampaignError,
)
from ._logged import LogMixin
from ._tell import TellMixin
from .acquisition import (
    DEFAULT_ACQUISITION,
    DEFAULT_KAPPA,
    DEFAULT_MULTI_ACQUISITION,
    DEFAULT_XI,
    acquisition_names,
    get_acquisition,
)
from .batch import Scorer, select_batch
from .candidates import GRID_LIMIT, row_keys, tidy
from .conditions import ConditionSpec
from .domain import SearchDomain, make_domain
from .generators import CandidateGenerator, as_generator, search, unique_rows
from .pareto import pareto_front
from .suggestions import Suggestions
from .surrogates import Surrogate, check_prior, choose_surrogate, make_surrogate

__all__ = ["Campaign", "Suggestions", "SURROGATES"]

Callback = Callable[..., Any]

#: Names accepted by ``Campaign(surrogate=...)``.
SURROGATES = ("auto", "gp", "ensemble", "model")
#: Columns that ``suggest`` and ``history`` add beside the inputs.
_RESERVED = ("mean", "std", "acquisition", "pool_index", "in_space", "batch", "time")
#: Samples drawn from a continuous or large space, and how many of the best are refined.
N_SAMPLES, N_REFINE = 3000, 16


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


# --------------------------------------------------------------------------- campaign
class Campaign(LogMixin, TellMixin):
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
        callback: Progress, ``callback(event, done, total, message)`` (see
            :mod:`jupyter_matopt._progress`) or the older ``callback(event, info)`` with a
            dict of figures: events ``"tell"``, ``"fit"``, ``"candidates"``, ``"refine"``
            and ``"suggest"``.
        generator: Where candidates come from in a space (default: uniform samples of the
            space, or its whole grid when small); any
            :class:`~jupyter_matopt.optimize.generators.CandidateGenerator`. Not stored in
            the log: pass it again after ``load``.
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
        senses: With ``objective`` a list of names, their directions:
            ``Campaign(space, objective=["zT", "cost"], senses=["max", "min"])``. In this form
            objectives named ``cost`` (price per kg), ``hhi`` and the other
            :data:`jupyter_matopt.economics.KNOWN_OBJECTIVES` are computed from the
            composition when ``tell`` gets only the measured ones (not remembered by
            ``load``: tell them all after a reload).

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
        xi: float = DEFAULT_XI,
        kappa: float = DEFAULT_KAPPA,
        prior: Any = None,
        generator: CandidateGenerator | None = None,
        senses: Sequence[str] | None = None,
    ) -> None:
        if senses is not None:  # objective=["zT", "cost"], senses=["max", "min"]
            if isinstance(objective, str) or len(list(objective)) != len(list(senses)):
                raise CampaignError("senses= needs objective= as a list of names of the same "
                                    f"length, got {objective!r} and {senses!r}")
            objective = dict(zip(objective, senses, strict=True))
        self.objectives, self.directions = _parse_objectives(objective)
        # Only in the names+senses form are cost/hhi computed from the composition: with a
        # mapping they stay measured objectives like any other (as they always were).
        self._computed_objectives = senses is not None
        m = len(self.objectives)
        if acquisition is None:
            acquisition = DEFAULT_ACQUISITION if m == 1 else DEFAULT_MULTI_ACQUISITION
        acquisition = str(acquisition).lower()
        allowed = acquisition_names(objectives=m)
        if acquisition not in allowed:
            kind = "one objective" if m == 1 else f"{m} objectives"
            raise CampaignError(
                f"acquisition {acquisition!r} is not available with {kind}; choose from "
                f"{list(allowed)}"
            )
        surrogate = str(surrogate).lower()
        if surrogate not in SURROGATES:
            raise CampaignError(f"surrogate must be one of {list(SURROGATES)}, got {surrogate!r}")
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
        self._cond_spec = ConditionSpec(conditions)
        self.conditions = self._cond_spec.names
        self.domain: SearchDomain = make_domain(space_or_pool,
                                                has_conditions=bool(self._cond_spec))
        self.components = list(self.domain.components)
        self.generator = (None if generator is None or self.space is None
                          else as_generator(generator, self.space))
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
    @property
    def space(self) -> CompositionSpace | None:
        """The composition space (None for a pool campaign)."""
        return self.domain.space

    @property
    def pool(self) -> pd.DataFrame | None:
        """The candidate pool (None for a space campaign)."""
        return self.domain.pool

    @property
    def condition_spec(self) -> ConditionSpec:
        """The conditions: ``{name: {"fixed"|"range"|"choices": ...}}`` with helpers."""
        return self._cond_spec

    @property
    def signs(self) -> np.ndarray:
        """+1 for each maximized objective, -1 for each minimized one."""
        return self._sign.copy()

    @property
    def n_components(self) -> int:
        """Number of components (inputs) of a row, before the conditions."""
        return self._k

    def _setup_derived(self) -> None:
        self._sign = np.array([1.0 if d == "max" else -1.0 for d in self.directions])
        self._k = len(self.components)
        self._c = len(self.conditions)
        self._formulas = self.domain.formulas

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
        if self.callback is None:
            return
        message = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                            for k, v in info.items())
        done = int(info.get("round", info.get("n_observations", info.get("n", 0))) or 0)
        total = info.get("of")
        as_progress(self.callback, legacy=LEGACY_EVENT_INFO)(event, done, total, message, info)

    # ------------------------------------------------------------------ features/models
    def _cond_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self._cond_spec.bounds(self._C)

    def features(self, Z: np.ndarray) -> np.ndarray:
        """Scaled model inputs of rows ``[fractions..., conditions...]`` (what the GP sees)."""
        parts = [self.domain.scaled(Z[:, : self._k])]
        if self._c:
            lo, hi = self._cond_bounds()
            w = hi - lo
            keep = w > 0
            parts.append((Z[:, self._k:][:, keep] - lo[keep]) / w[keep])
        F = np.hstack(parts)
        if F.shape[1] == 0:
            F = np.zeros((len(Z), 1))
        return F

    _features = features

    def _surrogate_kind(self) -> str:
        return choose_surrogate(self)

    def fit_surrogates(self, rng: np.random.Generator | None = None) -> list[Surrogate]:
        """Fit one surrogate per objective on the measurements (maximization frame:
        minimized objectives are negated); ``predict(features(Z), Z)`` gives mean, std."""
        return self._fit_models(rng if rng is not None else np.random.default_rng(self.seed))

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
        return self._cond_spec.sample(n, rng)

    def _snap_conditions(self, C: np.ndarray) -> np.ndarray:
        return self._cond_spec.snap(C)

    def _valid(self, Z: np.ndarray) -> np.ndarray:
        """Feasible (space) and not yet told."""
        if len(Z) == 0:
            return np.zeros(0, dtype=bool)
        ok = self.domain.feasible(Z[:, : self._k])
        if self._told:
            ok &= np.array([k not in self._told for k in row_keys(Z)], dtype=bool)
        return ok

    # ------------------------------------------------------------------ suggest
    def tell(self, compositions: Any, values: Any, *, conditions: Any = None) -> None:
        """Record measurements (see :meth:`TellMixin.tell`).

        In a campaign declared with ``senses=``, objectives named ``cost`` (price per kg),
        ``cost_per_kg``, ``cost_per_mol``, ``hhi``, ``hhi_production`` or ``hhi_reserve`` are
        computed from the composition (:mod:`jupyter_matopt.economics`) when ``values``
        holds only the measured ones.
        """
        from ..economics import KNOWN_OBJECTIVES, fill_known_objectives

        if (getattr(self, "_computed_objectives", False) and self.space is not None
                and any(o in KNOWN_OBJECTIVES for o in self.objectives)):
            X, _ = self._parse_inputs(compositions, conditions)
            try:
                values = fill_known_objectives(self.objectives, self.components, X, values)
            except ValueError as exc:
                raise CampaignError(str(exc)) from None
        super().tell(compositions, values, conditions=conditions)

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
        random_mode = (not get_acquisition(self.acquisition).uses_model
                       or (distinct < 2 and self.prior is None))
        models: list[Surrogate] = []
        try:
            if random_mode:
                Z, method = self._random_candidates(n, rng, given)
                pick = np.arange(min(n, len(Z)))
                picked_scores = np.full(len(pick), np.nan)
            else:
                models = self._fit_models(rng)
                scorer = Scorer(self.acquisition, models, self._Y * self._sign, self.features,
                                kappa=self.kappa, xi=self.xi, rng=rng)
                Z, scores, method = self._scored_candidates(scorer, rng, given)
                continuous = self.space is not None and self.space.step is None
                pick, picked_scores = select_batch(scorer, Z, scores, n, continuous=continuous,
                                                   rng=rng)
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
            Z = unique_rows(given[self._valid(given)])
            return Z[rng.permutation(len(Z))], "given"
        if self.pool is not None:
            P = self.pool.to_numpy(dtype=float)
            Z = unique_rows(P[self._valid(P)])
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
            Z = unique_rows(np.vstack([Z, Zs]))
            if len(Z) >= n:
                return Z, "random"
        # a nearly exhausted or heavily excluded grid: enumerate what is left
        if self.space.step is not None and self.space.grid_size() <= 10 * GRID_LIMIT:
            X = self.space.enumerate_grid(max_points=10 * GRID_LIMIT)
            Zs = np.hstack([X, self._sample_conditions(len(X), rng)])
            Zs = Zs[self._valid(Zs)]
            Z = unique_rows(np.vstack([Z, Zs[rng.permutation(len(Zs))]]))
        return Z, "random"

    def _scored_candidates(self, scorer: Scorer, rng: np.random.Generator,
                           given: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, str]:
        if given is not None or self.pool is not None:
            if given is not None:
                Z, method = given, "given"
            else:
                Z, method = self.pool.to_numpy(dtype=float), "pool"  # type: ignore[union-attr]
            Z = unique_rows(Z[self._valid(Z)])
            self._emit("candidates", {"n_candidates": len(Z), "method": method})
            return Z, scorer.screened(Z), method
        assert self.space is not None
        spec = self._cond_spec

        def snap(C: np.ndarray) -> np.ndarray:
            return spec.snap(C)

        Z, s, exhaustive = search(
            self.space, scorer, rng, generator=self.generator, n_samples=N_SAMPLES,
            n_refine=N_REFINE,
            extra=(lambda m: spec.sample(m, rng)) if self._c else None,
            extra_bounds=spec.range_bounds() if self._c else None,
            snap=snap if self._c else None, valid=self._valid, first_score=scorer.screened,
            progress=lambda r: self._emit("refine", {"round": r, "of": 4}),
        )
        method = "grid" if exhaustive else "sample+refine"
        self._emit("candidates", {"n_candidates": len(Z), "method": method})
        return Z, s, method

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
            data["pool_index"] = self.domain.index_of(Z)  # type: ignore[attr-defined]
        out = Suggestions(data)
        out._matopt_components = list(self.components)
        out._matopt_conditions = self._cond_spec.varied()
        out._matopt_formulas = self._formulas
        return out
