"""Surrogate models behind a campaign: a Gaussian process, the PropertyModel ensemble, and
a trained model as prior knowledge (``Campaign(..., prior=model)``).

Both take the campaign's scaled inputs ``F`` (free fractions and conditions in ``[0, 1]``)
and the raw rows ``Z`` (fractions then conditions; the ensemble featurizes those), predict a
mean and a standard deviation, and can be "fantasized" on a picked point so that the next
pick of a batch goes elsewhere.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .gp import GaussianProcess

if TYPE_CHECKING:
    from .campaign import Campaign

__all__ = ["AUTO_GP_MAX", "AUTO_PRIOR_MIN", "Surrogate", "GPSurrogate", "EnsembleSurrogate",
           "PriorMeanGPSurrogate", "ModelSurrogate", "make_surrogate", "choose_surrogate",
           "check_prior", "hyperparameter_fit_size"]

#: ``surrogate="auto"`` uses the GP up to this many observations, the ensemble beyond.
AUTO_GP_MAX = 500
#: With a ``prior`` model, ``surrogate="auto"`` uses the model itself below this many
#: observations (too few for a GP on its residuals), and the GP on its residuals from here.
AUTO_PRIOR_MIN = 3


class Surrogate(Protocol):
    """What a campaign needs from a model."""

    def fit_with_cache(self, F: np.ndarray, y: np.ndarray, Z: np.ndarray,
                       cache: dict[Any, Any], key: Any) -> Surrogate: ...

    def predict(self, F: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def fantasize(self, F: np.ndarray, Z: np.ndarray) -> Surrogate: ...


def hyperparameter_fit_size(n: int) -> int:
    """Size of the data prefix whose GP hyperparameters are used with ``n`` observations.

    Every size up to 30, then each time the data have grown by about 10 %. The
    hyperparameters are a function of the prefix only (fixed optimizer starts), so a
    campaign reloaded from its log reproduces them exactly, and a long campaign re-optimizes
    about 25 times per tenfold growth instead of at every step.
    """
    if n <= 30:
        return n
    m = 30
    while True:
        nxt = max(m + 1, math.ceil(m * 1.1))
        if nxt > n:
            return m
        m = nxt


class GPSurrogate:
    """The campaign's GP (see :class:`~jupyter_matopt.optimize.gp.GaussianProcess`)."""

    def __init__(self, gp: GaussianProcess | None = None) -> None:
        self.gp = gp if gp is not None else GaussianProcess(ard=True)

    def fit_with_cache(self, F: np.ndarray, y: np.ndarray, Z: np.ndarray,
                       cache: dict[Any, Any], key: Any) -> GPSurrogate:
        m = hyperparameter_fit_size(len(y))
        ck = ("gp", key, m)
        theta = cache.get(ck)
        if theta is None:
            theta = GaussianProcess(ard=self.gp.ard).fit(F[:m], y[:m]).theta_
            cache[ck] = theta
        self.gp.fit(F, y, theta=theta)
        return self

    def predict(self, F: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.gp.predict(F)

    def fantasize(self, F: np.ndarray, Z: np.ndarray) -> GPSurrogate:
        return GPSurrogate(self.gp.fantasize(F))


class EnsembleSurrogate:
    """The :class:`~jupyter_matopt.models.PropertyModel` ensemble as a campaign surrogate.

    Elemental spaces are featurized from their fractions; ingredients that are formulas
    (``CsPbI3``) are expanded into elemental compositions weighted by their fractions; other
    ingredients and pool inputs are used as plain numeric inputs. A batch is diversified by
    shrinking the predicted standard deviation near picked points (a kernel-free analogue
    of the kriging believer, in the spirit of local penalization, González et al. 2016).
    """

    def __init__(self, campaign: Campaign, seed: int = 0) -> None:
        self._camp = campaign
        self.seed = seed
        self._picked: np.ndarray | None = None
        self._model: Any = None
        self._rho = 0.1

    def _encode(self, Z: np.ndarray) -> tuple[Any, Any]:
        from .featurize import encode_rows

        return encode_rows(self._camp, Z)

    def fit_with_cache(self, F: np.ndarray, y: np.ndarray, Z: np.ndarray,
                       cache: dict[Any, Any], key: Any) -> EnsembleSurrogate:
        from .featurize import fit_ensemble

        self._model = fit_ensemble(self._camp, Z, y, seed=self.seed)
        if len(F) > 1:
            d2 = ((F[:, None, :] - F[None, :, :]) ** 2).sum(-1) if len(F) <= 2000 else None
            if d2 is not None:
                np.fill_diagonal(d2, np.inf)
                self._rho = float(np.sqrt(np.median(d2.min(axis=1)))) or 0.1
        return self

    def predict(self, F: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from .featurize import predict_ensemble

        mu, sd = predict_ensemble(self._camp, self._model, Z)
        if self._picked is not None and len(self._picked):
            d2 = ((F[:, None, :] - self._picked[None, :, :]) ** 2).sum(-1)
            sd = sd * np.prod(1.0 - np.exp(-d2 / (2 * self._rho**2)), axis=1)
        return mu, sd

    def fantasize(self, F: np.ndarray, Z: np.ndarray) -> EnsembleSurrogate:
        new = EnsembleSurrogate(self._camp, self.seed)
        new._model, new._rho = self._model, self._rho
        prev = self._picked if self._picked is not None else np.zeros((0, F.shape[1]))
        new._picked = np.vstack([prev, F])
        return new


class _Prior:
    """A trained model's predictions on campaign rows, in the campaign's maximization frame.

    Rows ``Z`` are ``[fractions of the components..., conditions...]``; components may be
    elements or formulas (expanded into elements). ``sign`` is +1 for a maximized objective
    and -1 for a minimized one (the campaign hands surrogates ``sign * y``).
    """

    def __init__(self, campaign: Campaign, model: Any, sign: float) -> None:
        from .featurize import _composition_mode

        mode = _composition_mode(campaign)
        if mode is None:
            from ._log import CampaignError

            raise CampaignError(
                "prior= needs components that are chemical formulas (elements such as Fe, or "
                f"compounds such as CsPbI3); got {list(campaign.components)}"
            )
        self._camp = campaign
        self.model = model
        self.sign = float(sign)
        self.elements = list(mode[1])
        self._cache: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}

    def __call__(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(sign * mean, std)`` of the model at rows ``Z`` (cached per row block)."""
        key = np.ascontiguousarray(Z).tobytes()
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        from .featurize import encode_rows

        X, C = encode_rows(self._camp, Z)
        names = list(getattr(self.model, "conditions_", None) or [])
        cond = None
        if names:
            import pandas as pd

            cond = pd.DataFrame({n: C[:, self._camp.conditions.index(n)] for n in names})
        mean, std = self.model.predict_fractions(X, self.elements, cond, return_std=True)
        out = (self.sign * np.asarray(mean, float), np.asarray(std, float))
        if len(self._cache) > 64:  # candidate blocks change between suggestions
            self._cache.clear()
        self._cache[key] = out
        return out


def check_prior(campaign: Campaign) -> None:
    """Refuse a ``prior`` that cannot predict the campaign's rows, with one clear error."""
    from ._log import CampaignError

    model = getattr(campaign, "prior", None)
    if model is None:
        if campaign.surrogate == "model":
            raise CampaignError('surrogate="model" needs a trained model: Campaign(..., '
                                "prior=model)")
        return
    if len(campaign.objectives) != 1:
        raise CampaignError("prior= is for a campaign with one objective (the model predicts "
                            f"one property); this one has {campaign.objectives}")
    if not callable(getattr(model, "predict_fractions", None)):
        raise CampaignError(
            "prior must be a fitted model with predict_fractions(X, elements, conditions) "
            f"(a FractionModel such as a fitted PropertyModel), got {type(model).__name__}")
    if getattr(model, "task_", "regression") != "regression":
        raise CampaignError("prior must be a regression model (a classifier's probability "
                            "is not the objective)")
    missing = [c for c in (getattr(model, "conditions_", None) or [])
               if c not in campaign.conditions]
    if missing:
        raise CampaignError(f"the prior model needs condition(s) {missing}; give them to the "
                            f"campaign, e.g. conditions={{{missing[0]!r}: ...}}")
    _Prior(campaign, model, 1.0)  # components must be formulas


def choose_surrogate(campaign: Campaign) -> str:
    """The surrogate kind a campaign uses now (resolves ``"auto"``).

    Without a prior: the GP up to :data:`AUTO_GP_MAX` observations, the ensemble beyond.
    With a prior: the model itself below :data:`AUTO_PRIOR_MIN` observations, then the GP on
    its residuals (``"gp"`` with a prior is that residual GP).

    Why the residual GP: in ``bench/bo.py --prior`` (5 seeds; prior model trained on a random
    half of each composition pool, BO on the other half, top 5 % found at a 30 % budget) it
    found 0.95 / 0.96 / 1.00 of the top on steels / MPEA hardness / thermoelectric zT,
    against 0.925 / 0.94 / 0.97 for the model alone and 0.90 / 0.80 / 0.72 for the plain GP.
    """
    if campaign.surrogate != "auto":
        return campaign.surrogate
    n = campaign.n_observations
    if getattr(campaign, "prior", None) is not None:
        return "model" if n < AUTO_PRIOR_MIN else "gp"
    return "gp" if n <= AUTO_GP_MAX else "ensemble"


class PriorMeanGPSurrogate:
    """A GP on the residuals of a trained model: ``mean = model(x) + GP(y - model(x))``.

    The trained model supplies what the wider data know (its prediction is the GP's prior
    mean); the GP learns where the campaign's own measurements disagree with it.

    The std is ``sqrt(s_gp^2 + r * s_model^2)`` with ``r = s_gp^2 / s_gp,prior^2`` in
    ``[0, 1]``: the GP's uncertainty about the correction, plus the model's own calibrated
    uncertainty where the campaign has no measurement nearby (``r`` is about 1 far from the
    data and about 0 next to a measurement or a fantasized pick). Why: residuals on rows the
    model was trained on are small (it has seen them), so a GP fitted to them alone would be
    overconfident everywhere and a batch would collapse onto one spot; the model's std was
    calibrated on held-out rows.
    """

    def __init__(self, prior: _Prior, gp: GaussianProcess | None = None) -> None:
        self.prior = prior
        self.gp = gp if gp is not None else GaussianProcess(ard=True)

    def fit_with_cache(self, F: np.ndarray, y: np.ndarray, Z: np.ndarray,
                       cache: dict[Any, Any], key: Any) -> PriorMeanGPSurrogate:
        r = y - self.prior(Z)[0]
        m = hyperparameter_fit_size(len(r))
        ck = ("gp-prior", key, m)
        theta = cache.get(ck)
        if theta is None:
            theta = GaussianProcess(ard=self.gp.ard).fit(F[:m], r[:m]).theta_
            cache[ck] = theta
        self.gp.fit(F, r, theta=theta)
        return self

    def predict(self, F: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mu, sd = self.gp.predict(F)
        prior_mu, prior_sd = self.prior(Z)
        scale = self.gp.prior_std()
        left = np.clip((sd / scale) ** 2, 0.0, 1.0) if scale > 0 else np.ones_like(sd)
        return prior_mu + mu, np.sqrt(sd**2 + left * prior_sd**2)

    def fantasize(self, F: np.ndarray, Z: np.ndarray) -> PriorMeanGPSurrogate:
        return PriorMeanGPSurrogate(self.prior, self.gp.fantasize(F))


class ModelSurrogate:
    """The trained model as it is (no refit on the campaign's measurements).

    For the first suggestions of a campaign with no or very few measurements inside its
    space, where a GP has nothing to learn from. A batch is spread out as in
    :class:`EnsembleSurrogate`: the std shrinks near points already picked.
    """

    def __init__(self, prior: _Prior) -> None:
        self.prior = prior
        self._picked: np.ndarray | None = None
        self._rho = 0.1

    def fit_with_cache(self, F: np.ndarray, y: np.ndarray, Z: np.ndarray,
                       cache: dict[Any, Any], key: Any) -> ModelSurrogate:
        if len(F) > 1 and len(F) <= 2000:
            d2 = ((F[:, None, :] - F[None, :, :]) ** 2).sum(-1)
            np.fill_diagonal(d2, np.inf)
            self._rho = float(np.sqrt(np.median(d2.min(axis=1)))) or 0.1
        return self

    def predict(self, F: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mu, sd = self.prior(Z)
        if self._picked is not None and len(self._picked):
            d2 = ((F[:, None, :] - self._picked[None, :, :]) ** 2).sum(-1)
            sd = sd * np.prod(1.0 - np.exp(-d2 / (2 * self._rho**2)), axis=1)
        return mu, sd

    def fantasize(self, F: np.ndarray, Z: np.ndarray) -> ModelSurrogate:
        new = ModelSurrogate(self.prior)
        new._rho = self._rho
        prev = self._picked if self._picked is not None else np.zeros((0, F.shape[1]))
        new._picked = np.vstack([prev, F])
        return new


def make_surrogate(kind: str, *, campaign: Campaign, seed: int = 0,
                   objective: int = 0) -> Surrogate:
    """A fresh surrogate of ``kind`` (``"gp"``, ``"ensemble"`` or ``"model"``).

    With ``campaign.prior`` set, ``"gp"`` is the GP on the prior model's residuals and
    ``"model"`` the prior model itself; ``objective`` is the index of the objective (its
    direction decides the sign of the prior's prediction).
    """
    model = getattr(campaign, "prior", None)
    if model is not None and kind in ("gp", "model"):
        sign = float(campaign.signs[objective])
        prior = getattr(campaign, "_prior_cache", {}).get(objective)
        if prior is None or prior.model is not model:
            prior = _Prior(campaign, model, sign)
            campaign._prior_cache = {**getattr(campaign, "_prior_cache", {}),  # type: ignore[attr-defined]
                                     objective: prior}
        return PriorMeanGPSurrogate(prior) if kind == "gp" else ModelSurrogate(prior)
    if kind == "gp":
        return GPSurrogate()
    if kind == "ensemble":
        return EnsembleSurrogate(campaign, seed)
    raise ValueError(f"unknown surrogate {kind!r}")
