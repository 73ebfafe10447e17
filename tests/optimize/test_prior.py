"""Campaign(..., prior=model): the trained model as the GP's prior mean, or as the surrogate."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_matopt.core import CompositionSpace
from jupyter_matopt.optimize import Campaign
from jupyter_matopt.optimize._log import CampaignError
from jupyter_matopt.optimize.surrogates import choose_surrogate


class LinearModel:
    """A FractionModel whose prediction is 10 * x_Fe (std 0.5), to check the arithmetic."""

    elements_ = ["Fe", "Ni"]
    conditions_: list[str] = []
    target_, units_, task_ = "t", "u", "regression"

    def predict_fractions(self, X, elements, conditions=None, *, return_std=True,
                          return_domain=False):
        X = np.asarray(X, float)
        X = X / X.sum(axis=1, keepdims=True)
        mean = 10.0 * X[:, list(elements).index("Fe")]
        return mean, np.full(len(X), 0.5)

    def predict_domain_fractions(self, X, elements, conditions=None):
        raise NotImplementedError

    def explain_fractions(self, X, elements, conditions=None):
        raise NotImplementedError


SPACE = CompositionSpace({"Fe": (0, 1), "Ni": (0, 1)}, step=0.01)


@pytest.mark.parametrize("objective", ["max", "min"])
def test_prior_ranks_before_any_measurement(objective: str) -> None:
    camp = Campaign(SPACE, objective=objective, prior=LinearModel(), seed=0)
    assert choose_surrogate(camp) == "model"
    batch = camp.suggest(3)
    # the model's best end of the line, not random draws
    fe = batch["Fe"].to_numpy()
    assert (fe >= 0.9).all() if objective == "max" else (fe <= 0.1).all()
    np.testing.assert_allclose(batch["mean"], 10 * fe)
    assert np.isfinite(batch["acquisition"]).all()


def test_residual_gp_corrects_the_prior_where_data_disagree() -> None:
    camp = Campaign(SPACE, objective="max", prior=LinearModel(), surrogate="gp", seed=0)
    # measurements 3 above the model everywhere: the residual GP learns the offset
    xs = [0.1, 0.3, 0.5, 0.7, 0.9]
    camp.tell([{"Fe": x, "Ni": 1 - x} for x in xs], [10 * x + 3.0 for x in xs])
    batch = camp.suggest(1)
    fe = float(batch["Fe"].iloc[0])
    assert batch["mean"].iloc[0] == pytest.approx(10 * fe + 3.0, abs=0.3)
    # without the prior the plain GP has only the 5 points; with it the mean follows the model
    plain = Campaign(SPACE, objective="max", surrogate="gp", seed=0)
    plain.tell([{"Fe": x, "Ni": 1 - x} for x in xs], [10 * x + 3.0 for x in xs])
    assert choose_surrogate(plain) == "gp" and plain.prior is None


def test_auto_switches_from_model_to_residual_gp() -> None:
    camp = Campaign(SPACE, prior=LinearModel(), seed=0)
    camp.tell(["Fe0.2Ni0.8", "Fe0.4Ni0.6"], [2.0, 4.0])
    assert choose_surrogate(camp) == "model"
    camp.tell(["Fe0.6Ni0.4"], [6.0])
    assert choose_surrogate(camp) == "gp"


def test_bad_priors_are_refused_with_one_clear_error() -> None:
    with pytest.raises(CampaignError, match="predict_fractions"):
        Campaign(SPACE, prior=object())
    with pytest.raises(CampaignError, match="prior=model"):
        Campaign(SPACE, surrogate="model")
    with pytest.raises(CampaignError, match="one objective"):
        Campaign(SPACE, objective=["max", "min"], prior=LinearModel())
    import pandas as pd

    pool = pd.DataFrame({"theta": [0.1, 0.2, 0.3], "speed": [1.0, 2.0, 3.0]})
    with pytest.raises(CampaignError, match="chemical formulas"):
        Campaign(pool, prior=LinearModel())
