"""Saving non-tree backends: their :class:`~.backends.BackendState` as safetensors + JSON.

The tree backends keep their XGBoost JSON member files (checked tree by tree before XGBoost
sees them). Every other backend (attention, stack, auto, ...) is stored as

* ``backend.safetensors``: the state's named arrays (safetensors holds raw numeric buffers
  and a JSON header, nothing executable; read with ``safetensors.numpy``, no torch needed to
  *read*), and
* ``metadata["backend_state"]``: the state's JSON ``meta``, covered by the metadata hash,

and rebuilt by the registered backend's ``from_state``. Arrays that hold XGBoost JSON (the
trees inside a stack) pass the same tree check as tree member files first.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ._errors import ModelFileError

__all__ = ["BACKEND_FILE", "ZERO_BACKEND_FILE", "attach_backend_state", "backend_from_payload",
           "is_tree_backend", "member_files", "state_payload"]

BACKEND_FILE = "backend.safetensors"
ZERO_BACKEND_FILE = "zero_backend.safetensors"
_BOOSTER_KEY = re.compile(r"(^|/)m\d{1,3}$")


def is_tree_backend(backend: Any) -> bool:
    """Whether ``backend`` stores XGBoost member files (the original format)."""
    from .backends.xgboost import XGBoostBackend

    return isinstance(backend, XGBoostBackend)


def state_payload(backend: Any) -> tuple[bytes, dict[str, Any]]:
    """``(safetensors bytes, JSON meta)`` of a fitted backend."""
    try:
        from safetensors.numpy import save
    except ImportError as exc:  # pragma: no cover - the deep extra brings it
        raise ModelFileError(
            'saving this backend needs safetensors: pip install "jupyter_matopt[deep]"'
        ) from exc
    state = backend.get_state()
    arrays = {}
    for key, arr in state.arrays.items():
        a = np.ascontiguousarray(arr)
        if a.dtype == object or a.dtype.kind not in "biuf":
            raise ModelFileError(f"backend state array {key!r} is not numeric ({a.dtype})")
        arrays[key] = a
    return bytes(save(arrays)), dict(state.meta)


def backend_from_payload(
    name: str, data: bytes, meta: Any, *, n_features: int, source: str
) -> Any:
    """Rebuild the backend registered as ``name``; any damage raises ModelFileError."""
    from ._persist_checks import check_booster_json
    from .backends import BackendState, get_backend

    if not isinstance(meta, dict):
        raise ModelFileError(f"{source}: backend_state must be a JSON object")
    try:
        from safetensors.numpy import load
    except ImportError as exc:
        raise ModelFileError(
            f'{source} holds a {name!r} model, which needs: pip install "jupyter_matopt[deep]"'
        ) from exc
    try:
        arrays = load(data)
    except Exception as exc:  # safetensors raises its own error types on damaged headers
        raise ModelFileError(f"{source} is not a readable safetensors file ({exc})") from None
    for key, arr in arrays.items():
        if _BOOSTER_KEY.search(key) and arr.dtype == np.uint8:
            check_booster_json(arr.tobytes(), f"{source}:{key}", n_features=n_features)
    return get_backend(name).from_state(BackendState(meta, arrays))


def member_files(model: Any) -> tuple[dict[str, bytes], list[str], list[str], dict[str, Any]]:
    """``(files, members, zero_members, extra metadata)`` of a fitted model's ensembles."""
    files: dict[str, bytes] = {}
    members: list[str] = []
    zero_members: list[str] = []
    if not is_tree_backend(model.backend_):
        files[BACKEND_FILE], state = state_payload(model.backend_)
        members.append(BACKEND_FILE)
        zero_state = None
        zero_backend = model.__dict__.get("zero_backend_")
        if zero_backend is not None:
            files[ZERO_BACKEND_FILE], zero_state = state_payload(zero_backend)
            zero_members.append(ZERO_BACKEND_FILE)
        return files, members, zero_members, {"backend_state": state,
                                              "zero_backend_state": zero_state}
    for prefix, boosters, names in (("m", model.members_, members),
                                    ("z", getattr(model, "zero_members_", None) or [],
                                     zero_members)):
        for i, booster in enumerate(boosters):
            name = f"{prefix}{i}.json"
            files[name] = bytes(booster.save_raw(raw_format="json"))
            names.append(name)
    return files, members, zero_members, {}


def attach_backend_state(
    model: Any, init: dict[str, Any], meta: dict[str, Any], blobs: dict[str, bytes],
    members: list[str], zero_members: list[str], n_features: int,
) -> bool:
    """Rebuild a non-tree backend (and its zero stage) onto ``model``; False for tree files."""
    if members != [BACKEND_FILE]:
        if BACKEND_FILE in members or ZERO_BACKEND_FILE in zero_members:
            raise ModelFileError("metadata mixes backend state and XGBoost member files")
        return False
    if zero_members not in ([], [ZERO_BACKEND_FILE]):
        raise ModelFileError("metadata mixes backend state and XGBoost member files")
    name = str(init.get("backend") or init.get("estimator"))
    model.backend_ = backend_from_payload(name, blobs[BACKEND_FILE], meta.get("backend_state"),
                                          n_features=n_features, source=BACKEND_FILE)
    model.zero_backend_ = None
    if zero_members:
        model.zero_backend_ = backend_from_payload(
            name, blobs[ZERO_BACKEND_FILE], meta.get("zero_backend_state"),
            n_features=n_features, source=ZERO_BACKEND_FILE)
    return True
