"""Property models: fit, predict with uncertainty, applicability domain, explain, evaluate, save.

Quick use::

    import jupyter_matopt as mo
    ds = mo.load_dataset("matbench_steels", data_dir=os.environ.get("MATOPT_DATA_DIR"))
    model = mo.PropertyModel().fit(ds)
    mean, std = model.predict(["Fe0.7Cr0.2Ni0.1"], return_std=True)
    report = model.cross_validate(ds, protocol="matbench")
    model.explain("Fe0.7Cr0.2Ni0.1").per_element
    model.save("steel_model"); mo.PropertyModel.load("steel_model")

Progress goes through plain ``callback(event, done, total, message)`` callables (see
:mod:`jupyter_matopt._progress`); nothing here imports a Jupyter library.

Plugging in: any fitted model offering :class:`FractionModel` works with screening, inverse
design, campaigns, the widgets and :func:`cross_validate` (as a
:class:`FractionModelFactory`); a new learner behind ``PropertyModel`` is a backend
(:mod:`jupyter_matopt.models.backends`).
"""

from __future__ import annotations

from ._calibration import coverage, fit_std_calibration
from ._domain import DomainModel
from ._errors import ModelError, ModelFileError, NotFittedError
from ._evaluation import (
    MATBENCH_SEED,
    PROTOCOLS,
    CVReport,
    compare_protocols,
    cross_validate,
    make_splits,
    matbench_folds,
)
from ._explain import Explanation
from ._model import DEFAULT_PRESET, RF_DEFAULTS, XGB_DEFAULTS, PropertyModel
from ._persist import FORMAT_VERSION, load_model, save_model
from .backends import available_backends, get_backend, register_backend
from .protocol import FractionModel, FractionModelFactory, check_fraction_model

__all__ = [
    "CVReport",
    "DEFAULT_PRESET",
    "DomainModel",
    "Explanation",
    "FORMAT_VERSION",
    "FractionModel",
    "FractionModelFactory",
    "MATBENCH_SEED",
    "ModelError",
    "ModelFileError",
    "NotFittedError",
    "PROTOCOLS",
    "PropertyModel",
    "RF_DEFAULTS",
    "XGB_DEFAULTS",
    "available_backends",
    "check_fraction_model",
    "compare_protocols",
    "coverage",
    "cross_validate",
    "fit_std_calibration",
    "get_backend",
    "load_model",
    "make_splits",
    "matbench_folds",
    "register_backend",
    "save_model",
]
