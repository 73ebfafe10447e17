"""Surrogate models behind a campaign: a Gaussian process and the PropertyModel ensemble.

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

__all__ = ["AUTO_GP_MAX", "Surrogate", "GPSurrogate", "EnsembleSurrogate", "make_surrogate",
           "hyperparameter_fit_size"]

#: ``surrogate="auto"`` uses the GP up to this many observations, the ensemble beyond.
AUTO_GP_MAX = 500


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


def make_surrogate(kind: str, *, campaign: Campaign, seed: int = 0) -> Surrogate:
    """A fresh surrogate of ``kind`` (``"gp"`` or ``"ensemble"``)."""
    if kind == "gp":
        return GPSurrogate()
    if kind == "ensemble":
        return EnsembleSurrogate(campaign, seed)
    raise ValueError(f"unknown surrogate {kind!r}")
