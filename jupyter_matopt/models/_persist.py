"""Safe save/load of :class:`PropertyModel`: JSON metadata + XGBoost JSON models + an npz.

Layout (a directory, or the same files in a ``.zip``)::

    metadata.json   format and version, package versions, preset, feature names, target,
                    units, task, conditions, elements, training-data sha256, CV metrics,
                    std calibration, domain statistics (lists), sha256 of every other file,
                    and the sha256 of the metadata itself
    m0.json ...     one XGBoost model per ensemble member (``Booster.save_raw("json")``)
    z0.json ...     zero-inflated models only: the members of the P(target == 0) stage
    arrays.npz      the applicability domain's reference matrix (read with
                    ``allow_pickle=False``)

Nothing is unpickled and no code from the file is executed. :func:`load_model` verifies the
format version, the metadata hash and every file hash *before* handing bytes to XGBoost,
then checks that the loaded boosters reproduce the predictions stored at save time. Any
problem raises :class:`ModelFileError`. The hashes detect corruption and accidental edits;
they are not a signature (someone who edits a file can recompute them), so load models from
sources you trust.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import platform
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._errors import ModelError, ModelFileError
from ._persist_backend import attach_backend_state, member_files
from ._persist_checks import (
    MAX_MEMBER_BYTES,
    MAX_METADATA_BYTES,
    MAX_TOTAL_BYTES,
    check_booster_json,
    check_metadata_numbers,
    read_reference,
    write_replacing,
)
from ._persist_checks import (
    ModelReader as _Reader,
)

if TYPE_CHECKING:
    from ._model import PropertyModel

__all__ = ["FORMAT", "FORMAT_VERSION", "save_model", "load_model"]

FORMAT = "jupyter_matopt.PropertyModel"
FORMAT_VERSION = 1
METADATA = "metadata.json"
ARRAYS = "arrays.npz"
_MEMBER_RE = re.compile(r"^(m\d{1,3}\.json|backend\.safetensors)$")
_ZERO_MEMBER_RE = re.compile(r"^(z\d{1,3}\.json|zero_backend\.safetensors)$")
_INIT_KEYS = {
    "backend",
    "estimator",
    "task",
    "preset",
    "n_ensemble",
    "seed",
    "params",
    "tune",
    "tune_iter",
    "tune_cv",
    "calibrate",
    "decision_threshold",
    "zero_inflated",
    "domain_k",
    "domain_quantile",
    "n_jobs",
    "pretrained",
}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _opt_float(x: Any) -> float | None:
    return None if x is None else float(x)


def _jsonable(x: Any) -> Any:
    """Plain JSON types; non-finite floats become None."""
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(float(x)) else None
    if x is None or isinstance(x, str):
        return x
    return str(x)


def _canonical(meta: Mapping[str, Any]) -> bytes:
    return json.dumps(meta, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _versions() -> dict[str, str]:
    import sklearn
    import xgboost

    from .._version import __version__

    return {
        "jupyter_matopt": str(__version__),
        "xgboost": str(xgboost.__version__),
        "numpy": str(np.__version__),
        "scikit-learn": str(sklearn.__version__),
        "python": platform.python_version(),
    }


def _init_params(model: PropertyModel) -> dict[str, Any]:
    params = model.get_params()
    if params.get("backend") is not None:
        params["backend"] = model.backend_name_
    return params


def save_model(model: PropertyModel, path: str | os.PathLike[str]) -> str:
    """Write ``model`` to ``path`` (a directory, or a ``.zip`` file when it ends in .zip)."""
    model._check_fitted()
    # XGBoost JSON per member, or a non-tree backend's state (see _persist_backend)
    files, members, zero_members, states = member_files(model)
    buf = io.BytesIO()
    np.savez(buf, domain_reference=np.ascontiguousarray(model.domain_.reference, dtype=np.float32))
    files[ARRAYS] = buf.getvalue()
    check_X = np.asarray(model.check_X_, dtype=np.float64)
    check_margins = model._margins(check_X)
    zero_inflated = None
    if zero_members:
        zero_inflated = {
            "members": zero_members,
            "mode": model.zero_mode_,
            # std calibration of the rows predicted 0 (absent in older files: then
            # std_scale/std_floor apply to all rows)
            "std_scale": _opt_float(getattr(model, "zero_std_scale_", None)),
            "std_floor": _opt_float(getattr(model, "zero_std_floor_", None)),
            "check_margins": _jsonable(model._zero_margins(check_X)),
        }
    report = getattr(model, "cv_report_", None)
    meta: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": _versions(),
        # the backend by its registry name (``estimator`` when ``backend`` is None; an object
        # would not be JSON); loading refuses names that are not registered
        "init_params": _jsonable(_init_params(model)),
        "preset": model.preset_,
        "feature_names": list(model.feature_names_),
        "target": model.target_,
        "units": model.units_,
        "task": model.task_,
        "conditions": list(model.conditions_),
        "elements": list(model.elements_),
        "classes": _jsonable(list(model.classes_)) if model.task_ == "classification" else None,
        "n_train": int(model.n_train_),
        "training_data_sha256": model.training_hash_,
        "y_mean": float(model.y_mean_),
        "y_scale": float(model.y_scale_),
        "std_scale": float(model.std_scale_),
        "std_floor": float(model.std_floor_),
        "calibration": _jsonable(model.calibration_),
        "threshold": float(model.threshold_) if model.task_ == "classification" else None,
        "prevalence": float(model.prevalence_) if model.task_ == "classification" else None,
        "threshold_method": getattr(model, "threshold_method_", None),
        "feature_means": _jsonable(model.feature_means_),
        "shap_importance": _jsonable(model.shap_importance_),
        "best_params": _jsonable(getattr(model, "best_params_", None)),
        "domain": model.domain_.to_metadata(),
        "cv": report.to_dict(parity=False) if report is not None else None,
        "members": members,
        "zero_inflated": zero_inflated,
        **{key: _jsonable(value) for key, value in states.items()},
        "check": {"X": _jsonable(check_X), "margins": _jsonable(check_margins)},
        "files": {name: _sha256(data) for name, data in files.items()},
    }
    meta["metadata_sha256"] = _sha256(_canonical(meta))
    files = {METADATA: json.dumps(meta, indent=1, allow_nan=False).encode("utf-8"), **files}
    target = Path(path).expanduser()
    if target.suffix.lower() == ".zip":
        target.parent.mkdir(parents=True, exist_ok=True)
        zbuf = io.BytesIO()
        with zipfile.ZipFile(zbuf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, data in files.items():
                zf.writestr(name, data)
        write_replacing(target, zbuf.getvalue())
    else:
        if target.exists() and not target.is_dir():
            raise ModelError(
                f"cannot save the model to {str(target)!r}: it exists and is not a directory"
            )
        target.mkdir(parents=True, exist_ok=True)
        # metadata last: a crash mid-save leaves no metadata that vouches for partial files
        for name, data in files.items():
            if name != METADATA:
                write_replacing(target / name, data)
        write_replacing(target / METADATA, files[METADATA])
    return str(target)


# ---------------------------------------------------------------------------------- loading
def _expect(
    meta: Mapping[str, Any], key: str, kind: type | tuple[type, ...], *, nullable: bool = False
) -> Any:
    if key not in meta:
        raise ModelFileError(f"metadata.json lacks the field {key!r}")
    value = meta[key]
    if value is None and nullable:
        return None
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise ModelFileError(f"metadata field {key!r} has the wrong type (bool)")
    if not isinstance(value, kind):
        raise ModelFileError(f"metadata field {key!r} has the wrong type ({type(value).__name__})")
    return value


def _float_list(meta: Mapping[str, Any], key: str, n: int | None = None) -> np.ndarray:
    values = _expect(meta, key, list)
    if n is not None and len(values) != n:
        raise ModelFileError(f"metadata field {key!r} has {len(values)} entries, expected {n}")
    if not all(
        v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values
    ):
        raise ModelFileError(f"metadata field {key!r} must hold numbers")
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def _str_list(meta: Mapping[str, Any], key: str) -> list[str]:
    values = _expect(meta, key, list)
    if not all(isinstance(v, str) for v in values):
        raise ModelFileError(f"metadata field {key!r} must hold strings")
    return list(values)


def load_model(
    path: str | os.PathLike[str], cls: type[PropertyModel] | None = None
) -> PropertyModel:
    """Load a model saved by :func:`save_model`; every failure is a :class:`ModelFileError`."""
    try:
        return _load(Path(path).expanduser(), cls)
    except ModelFileError:
        raise
    except Exception as exc:  # anything a damaged file can provoke
        raise ModelFileError(
            f"cannot load a model from {str(path)!r}: the file is corrupt or incompatible "
            f"({type(exc).__name__}: {exc})"
        ) from exc


def _load(path: Path, cls: type[PropertyModel] | None) -> PropertyModel:
    from ._calibration import apply_calibration  # noqa: F401  (import check)
    from ._model import PropertyModel

    meta, blobs, members, zero_members, zi_meta = _read_verified(path)
    model, init = _restore_fields(cls or PropertyModel, meta)
    p = model.n_features_in_
    _restore_domain(model, meta, blobs, p)
    # ---- non-tree backends: state from safetensors + JSON (see _persist_backend)
    generic = attach_backend_state(model, init, meta, blobs, members, zero_members, p)
    _restore_boosters(model, blobs, members, zero_members, generic=generic, p=p)
    # a zero stage exists exactly when the metadata lists its members (boosters or state)
    model.zero_inflated_ = bool(zero_members)
    _restore_zero_stage(model, zi_meta)
    model._pred_threads = [-1] * len(model.members_)
    model._attributors = {}
    model._used_mask = None
    model._importance_X = np.zeros((0, p))
    model.check_X_ = _verify_check(model, meta, zi_meta, p)
    _restore_cv(model, meta)
    model.fit_time_ = 0.0
    return model


def _parse_metadata(raw_meta: bytes, path: Path) -> dict[str, Any]:
    """The metadata: JSON of this format and version, hash and layout intact."""
    try:
        meta = json.loads(raw_meta.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelFileError(f"metadata.json in {str(path)!r} is not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise ModelFileError("metadata.json must hold a JSON object")
    if meta.get("format") != FORMAT:
        raise ModelFileError(
            f"{str(path)!r} is not a saved PropertyModel (format {meta.get('format')!r})"
        )
    version = meta.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:
        raise ModelFileError(
            f"the model in {str(path)!r} has format version {version!r}; this version of "
            f"jupyter_matopt reads version {FORMAT_VERSION} (re-save it with a matching "
            "version)"
        )
    stated = meta.get("metadata_sha256")
    body = {k: v for k, v in meta.items() if k != "metadata_sha256"}
    try:
        actual = _sha256(_canonical(body))
    except (ValueError, TypeError) as exc:
        raise ModelFileError(
            f"metadata.json holds values that are not plain JSON ({exc})") from None
    if stated != actual:
        raise ModelFileError(
            f"metadata.json in {str(path)!r} was modified after saving (sha256 mismatch)"
        )
    # the hash covers the values, not the layout: a flipped whitespace byte is damage too
    if raw_meta.decode("utf-8") not in (json.dumps(meta, indent=1), json.dumps(meta)):
        raise ModelFileError(
            f"metadata.json in {str(path)!r} was modified after saving (its text is not "
            "laid out as saved)"
        )
    check_metadata_numbers(meta)
    return meta


def _member_names(
    meta: Mapping[str, Any], hashes: Mapping[str, Any]
) -> tuple[list[str], list[str], dict[str, Any] | None]:
    """Member files, the zero stage's member files and metadata (names checked)."""
    members = _str_list(meta, "members")
    if not members or len(members) > 1000:
        raise ModelFileError("metadata lists no ensemble members")
    zi_meta = (_expect(meta, "zero_inflated", dict, nullable=True)
               if "zero_inflated" in meta else None)
    zero_members = _str_list(zi_meta, "members") if zi_meta is not None else []
    if zi_meta is not None and not 1 <= len(zero_members) <= 1000:
        raise ModelFileError("metadata lists no members of the zero stage")
    for name in zero_members:
        if not _ZERO_MEMBER_RE.match(name) or name not in hashes:
            raise ModelFileError(f"metadata lists an unexpected file name {name!r}")
    if len(set(zero_members)) != len(zero_members) or len(set(members)) != len(members):
        raise ModelFileError("metadata lists a member file twice")
    for name in [*members, ARRAYS]:
        if not (_MEMBER_RE.match(name) or name == ARRAYS) or name not in hashes:
            raise ModelFileError(f"metadata lists an unexpected file name {name!r}")
    return members, zero_members, zi_meta


def _read_verified(
    path: Path,
) -> tuple[dict[str, Any], dict[str, bytes], list[str], list[str], dict[str, Any] | None]:
    """Metadata, hash-checked file contents, member names, the zero stage's metadata."""
    from ._domain import MAX_REFERENCE

    reader = _Reader(path)
    try:
        meta = _parse_metadata(reader.read(METADATA, MAX_METADATA_BYTES), path)
        hashes = _expect(meta, "files", dict)
        members, zero_members, zi_meta = _member_names(meta, hashes)
        blobs: dict[str, bytes] = {}
        dom_meta = _expect(meta, "domain", dict)
        n_cols = len(_expect(dom_meta, "columns", list))
        # the reference matrix holds at most n_train rows of the domain columns (float32)
        ref_rows = min(int(_expect(meta, "n_train", int)), MAX_REFERENCE)
        ref_limit = ref_rows * n_cols * 4 + 64 * 1024
        total = sum(reader.declared(n) for n in [*members, *zero_members, ARRAYS])
        if total > MAX_TOTAL_BYTES:  # before reading any: a bomb is refused by its sizes
            raise ModelFileError(f"the saved model {str(path)!r} is implausibly large ({total} "
                                 f"bytes uncompressed; at most {MAX_TOTAL_BYTES} are read)")
        for name in [*members, *zero_members, ARRAYS]:
            data = reader.read(name, ref_limit if name == ARRAYS else MAX_MEMBER_BYTES)
            if _sha256(data) != hashes[name]:
                raise ModelFileError(
                    f"{name} in {str(path)!r} does not match the sha256 recorded at save time "
                    "(corrupt, truncated or modified)"
                )
            blobs[name] = data
    finally:
        reader.close()
    return meta, blobs, members, zero_members, zi_meta


def _restore_fields(
    cls: type[PropertyModel], meta: Mapping[str, Any]
) -> tuple[PropertyModel, dict[str, Any]]:
    """The model built from the stored options with its fitted fields set, and the options."""
    from ..features import feature_labels

    init = _expect(meta, "init_params", dict)
    unknown = set(init) - _INIT_KEYS
    if unknown:
        raise ModelFileError(f"metadata init_params has unknown keys {sorted(unknown)}")
    try:
        model = cls(**init)
        model._check_options()
    except ModelError as exc:
        raise ModelFileError(f"invalid model options in metadata: {exc}") from None
    preset = _expect(meta, "preset", str)
    names = _str_list(meta, "feature_names")
    conditions = _str_list(meta, "conditions")
    try:
        expected = [*feature_labels(preset), *conditions]
    except Exception as exc:
        raise ModelFileError(
            f"the model uses the feature preset {preset!r}, unknown here ({exc})"
        ) from None
    if names != expected:
        raise ModelFileError(
            "the model's feature columns differ from what this version's featurizer produces "
            f"for preset {preset!r}: the file is incompatible"
        )
    task = _expect(meta, "task", str)
    if task not in ("regression", "classification"):
        raise ModelFileError(f"metadata task {task!r} is not 'regression' or 'classification'")
    p = len(names)
    model.preset_ = preset
    model.feature_names_ = names
    model.n_features_in_ = p
    model.conditions_ = conditions
    model.task_ = task
    model.target_ = _expect(meta, "target", str)
    model.units_ = _expect(meta, "units", str)
    model.elements_ = _str_list(meta, "elements")
    model.n_train_ = int(_expect(meta, "n_train", int))
    model.training_hash_ = _expect(meta, "training_data_sha256", str)
    model.y_mean_ = float(_expect(meta, "y_mean", (int, float)))
    model.y_scale_ = float(_expect(meta, "y_scale", (int, float)))
    model.std_scale_ = float(_expect(meta, "std_scale", (int, float)))
    model.std_floor_ = float(_expect(meta, "std_floor", (int, float)))
    model.calibration_ = dict(_expect(meta, "calibration", dict))
    if task == "classification":
        _restore_classifier_fields(model, meta)
    model.feature_means_ = np.nan_to_num(_float_list(meta, "feature_means", p))
    model.shap_importance_ = np.nan_to_num(_float_list(meta, "shap_importance", p))
    best = _expect(meta, "best_params", dict, nullable=True)
    if best is not None:
        model.best_params_ = best
    return model, init


def _restore_classifier_fields(model: PropertyModel, meta: Mapping[str, Any]) -> None:
    classes = _expect(meta, "classes", list)
    if len(classes) != 2 or not all(isinstance(c, (int, float, str, bool)) for c in classes):
        raise ModelFileError("metadata classes must be two labels")
    model.classes_ = np.array(classes)
    # files written before the threshold was stored predicted with 0.5
    thr = (
        _expect(meta, "threshold", (int, float), nullable=True) if "threshold" in meta else None
    )
    model.threshold_ = 0.5 if thr is None else float(thr)
    if not 0.0 <= model.threshold_ <= 1.0:
        raise ModelFileError(f"metadata threshold {model.threshold_!r} is not in [0, 1]")
    model.prevalence_ = float(_expect(meta, "prevalence", (int, float)))
    method = meta.get("threshold_method")
    model.threshold_method_ = (
        str(method) if isinstance(method, str) else ("fixed" if thr is None else "unknown")
    )


def _restore_domain(
    model: PropertyModel, meta: Mapping[str, Any], blobs: Mapping[str, bytes], p: int
) -> None:
    from ._domain import MAX_REFERENCE, DomainModel

    dom = _expect(meta, "domain", dict)
    cols = _float_list(dom, "columns")
    _float_list(dom, "mean", len(cols))
    _float_list(dom, "scale", len(cols))
    if len(cols) and (cols.min() < 0 or cols.max() >= p or np.any(cols != np.round(cols))):
        raise ModelFileError("domain columns are out of range")
    _expect(dom, "threshold", (int, float), nullable=True)
    _expect(dom, "k", int)
    _expect(dom, "quantile", (int, float))
    _str_list(dom, "elements")
    ref = read_reference(blobs[ARRAYS], max_rows=min(model.n_train_, MAX_REFERENCE),
                         cols=len(cols), name=ARRAYS)
    n_ref = dom.get("n_reference")
    if n_ref is not None and n_ref != ref.shape[0]:
        raise ModelFileError(f"{ARRAYS}: {ref.shape[0]} reference rows, the metadata says {n_ref}")
    model.domain_ = DomainModel.from_metadata(dom, ref)


def _booster(blob: bytes, name: str, p: int) -> Any:
    import xgboost as xgb

    b = xgb.Booster()
    b.load_model(bytearray(blob))
    if b.num_features() != p:
        raise ModelFileError(f"{name} expects {b.num_features()} features, the metadata lists {p}")
    return b


def _restore_boosters(model: PropertyModel, blobs: Mapping[str, bytes], members: list[str],
                      zero_members: list[str], *, generic: Any, p: int) -> None:
    """XGBoost members and zero-stage members (a non-tree backend has restored its own)."""
    if generic:
        return
    # XGBoost trusts the tree structure it is given: check every tree before it sees one
    for name in [*members, *zero_members]:
        check_booster_json(blobs[name], name, n_features=p)
    model.members_ = [_booster(blobs[name], name, p) for name in members]
    zero_boosters = []
    for name in zero_members:
        b = _booster(blobs[name], name, p)
        b.set_param({"nthread": 1})
        zero_boosters.append(b)
    model.zero_members_ = zero_boosters


def _restore_zero_stage(model: PropertyModel, zi_meta: Mapping[str, Any] | None) -> None:
    """The zero stage's mode and std calibration."""
    model.zero_mode_ = None
    model.zero_std_scale_ = model.zero_std_floor_ = None
    if zi_meta is None:
        return
    if model.task_ != "regression":
        raise ModelFileError("only a regression model can have a zero stage")
    mode = zi_meta.get("mode")
    if mode not in ("hard", "soft"):
        raise ModelFileError(f"metadata zero_inflated mode {mode!r} is not 'hard' or 'soft'")
    model.zero_mode_ = mode
    zs, zf = zi_meta.get("std_scale"), zi_meta.get("std_floor")
    for key, val in (("std_scale", zs), ("std_floor", zf)):
        if val is not None and (
            isinstance(val, bool) or not isinstance(val, (int, float)) or not np.isfinite(val)
        ):
            raise ModelFileError(f"metadata zero_inflated {key} must be a number or null")
    if (zs is None) != (zf is None):
        raise ModelFileError("metadata zero_inflated std_scale and std_floor go together")
    if zs is not None:
        model.zero_std_scale_, model.zero_std_floor_ = float(zs), float(zf)


def _verify_check(
    model: PropertyModel, meta: Mapping[str, Any], zi_meta: Mapping[str, Any] | None, p: int
) -> np.ndarray:
    """The stored check rows, once the loaded model reproduces their stored margins."""
    check = _expect(meta, "check", dict)
    check_X = _float_list({"X": [v for row in _expect(check, "X", list) for v in row]}, "X")
    n_check = len(_expect(check, "X", list))
    check_X = check_X.reshape(n_check, p) if n_check else np.zeros((0, p))
    margins = np.array(_expect(check, "margins", list), dtype=np.float64)
    got = model._margins(check_X)
    if got.shape != margins.shape or not np.allclose(
        got, margins, rtol=1e-6, atol=1e-9 * max(1.0, abs(model.y_scale_))
    ):
        raise ModelFileError(
            "the loaded ensemble does not reproduce the predictions stored at save time "
            "(incompatible XGBoost version or damaged file)"
        )
    if zi_meta is not None:
        zc = zi_meta.get("check_margins")
        try:
            zc_arr = np.array(zc, dtype=np.float64)
        except (TypeError, ValueError):
            raise ModelFileError("metadata zero_inflated check_margins must hold numbers") from None
        got_z = model._zero_margins(check_X)
        if got_z.shape != zc_arr.shape or not np.allclose(got_z, zc_arr, rtol=1e-6, atol=1e-9):
            raise ModelFileError(
                "the loaded zero stage does not reproduce the predictions stored at save time "
                "(incompatible XGBoost version or damaged file)"
            )
    return check_X


def _restore_cv(model: PropertyModel, meta: Mapping[str, Any]) -> None:
    from ._evaluation import CVReport

    cv = _expect(meta, "cv", dict, nullable=True)
    if cv is not None:
        model.cv_report_ = CVReport(
            protocol=str(cv.get("protocol", "")),
            task=str(cv.get("task", model.task_)),
            target=str(cv.get("target", model.target_)),
            units=str(cv.get("units", model.units_)),
            summary=dict(cv.get("summary") or {}),
            folds=pd.DataFrame(cv.get("folds") or []),
            parity=pd.DataFrame(),
            calibration=dict(cv.get("calibration") or {}),
            training_hash=str(cv.get("training_hash", "")),
            seconds=float(cv.get("seconds") or 0.0),
            params=dict(cv.get("params") or {}),
        )
