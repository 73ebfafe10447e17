"""Property models: fit, predict with uncertainty, applicability domain, explain, evaluate, save.

Quick use::

    import jupyter_matopt as mo
    ds = mo.load_dataset("matbench_steels", data_dir="../shared/data")
    model = mo.PropertyModel().fit(ds)
    mean, std = model.predict(["Fe0.7Cr0.2Ni0.1"], return_std=True)
    report = model.cross_validate(ds, protocol="matbench")
    model.explain("Fe0.7Cr0.2Ni0.1").per_element
    model.save("steel_model"); mo.PropertyModel.load("steel_model")

Backends report progress through plain ``callback(done, total, message)`` callables; nothing
here imports a Jupyter library.
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

__all__ = [
    "CVReport",
    "DEFAULT_PRESET",
    "DomainModel",
    "Explanation",
    "FORMAT_VERSION",
    "MATBENCH_SEED",
    "ModelError",
    "ModelFileError",
    "NotFittedError",
    "PROTOCOLS",
    "PropertyModel",
    "RF_DEFAULTS",
    "XGB_DEFAULTS",
    "compare_protocols",
    "coverage",
    "cross_validate",
    "fit_std_calibration",
    "load_model",
    "make_splits",
    "matbench_folds",
    "save_model",
]
