"""Registry of model backends: ``PropertyModel(backend=name)`` looks names up here.

How to plug in a backend: write a :class:`~.base.ModelBackend` subclass in its own module
(see :mod:`.base` for the contract) and either add one line to ``_BUILTIN`` below
(``"name": "jupyter_matopt.models.backends.module:Class"``, imported only when first used,
so optional dependencies stay optional) or call :func:`register_backend` at run time.
Model files store the backend name; loading a file whose backend is not registered raises
:class:`~jupyter_matopt.models.ModelFileError`.

Importing this package imports no backend module (and so neither xgboost nor torch).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping
from typing import Any

from .._errors import ModelError
from .base import (
    BackendInputs,
    BackendState,
    BackendUnavailableError,
    Contributions,
    ModelBackend,
)

__all__ = [
    "BackendInputs",
    "BackendState",
    "BackendUnavailableError",
    "Contributions",
    "ModelBackend",
    "DEFAULT_BACKEND",
    "available_backends",
    "get_backend",
    "make_backend",
    "register_backend",
]

#: The backend of ``PropertyModel()``.
DEFAULT_BACKEND = "xgboost"

#: ``factory(params) -> ModelBackend``; a ModelBackend subclass is one.
BackendFactory = Callable[[Mapping[str, Any] | None], ModelBackend]

# name -> "module:attribute" (imported on first use) or a factory
_BUILTIN: dict[str, str] = {
    "xgboost": "jupyter_matopt.models.backends.xgboost:XGBoostBackend",
    "rf": "jupyter_matopt.models.backends.rf:RandomForestBackend",
    "attention": "jupyter_matopt.models.backends.attention:AttentionBackend",
    "stack": "jupyter_matopt.models.backends.stack:StackBackend",
    "auto": "jupyter_matopt.models.backends.stack:AutoBackend",
}
_REGISTRY: dict[str, str | BackendFactory] = dict(_BUILTIN)


def register_backend(name: str, factory: BackendFactory | str) -> None:
    """Register ``factory`` (a ModelBackend subclass, a callable ``factory(params)``, or a
    lazy ``"module:attribute"`` path) under ``name``; an existing name is replaced.

    Raises:
        ModelError: for an empty name or a factory that is neither callable nor a path.
    """
    if not isinstance(name, str) or not name.strip():
        raise ModelError(f"a backend name must be a non-empty string, got {name!r}")
    if not (callable(factory) or (isinstance(factory, str) and ":" in factory)):
        raise ModelError(
            f"backend {name!r}: factory must be a ModelBackend subclass, a callable "
            f"factory(params) or a 'module:attribute' path, got {factory!r}"
        )
    _REGISTRY[name.strip()] = factory


def _importable(path: str) -> bool:
    module = path.split(":", 1)[0]
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def available_backends() -> tuple[str, ...]:
    """Names :func:`get_backend` accepts (lazy entries whose module is present), sorted
    with the default first."""
    names = [n for n, f in _REGISTRY.items() if not isinstance(f, str) or _importable(f)]
    return tuple(sorted(names, key=lambda n: (n != DEFAULT_BACKEND, n)))


def get_backend(name: str) -> BackendFactory:
    """The factory registered under ``name`` (importing its module on first use).

    Raises:
        ModelError: naming the registered backends when ``name`` is unknown.
        BackendUnavailableError: when the backend's optional dependency is missing.
    """
    entry = _REGISTRY.get(name) if isinstance(name, str) else None
    if entry is None or (isinstance(entry, str) and not _importable(entry)):
        raise ModelError(
            f"unknown model backend {name!r}; available: {list(available_backends())} "
            "(register new ones with jupyter_matopt.models.backends.register_backend)"
        )
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attr)
        except ImportError as exc:
            raise BackendUnavailableError(
                f"model backend {name!r} could not be imported ({exc}); install its optional "
                'dependencies, e.g. pip install "jupyter_matopt[deep]"'
            ) from None
        _REGISTRY[name] = factory
        return factory  # type: ignore[no-any-return]
    return entry


def make_backend(spec: str | ModelBackend, params: Mapping[str, Any] | None = None
                 ) -> ModelBackend:
    """A fresh backend from a registry name or a backend object (used as a template: its
    kind and its own ``params`` updated by ``params``)."""
    if isinstance(spec, ModelBackend):
        merged = {**spec.params, **dict(params or {})}
        return spec.with_params(merged or None)
    backend = get_backend(spec)(params)
    if not isinstance(backend, ModelBackend):
        raise ModelError(
            f"backend {spec!r}: its factory returned {type(backend).__name__}, not a "
            "ModelBackend"
        )
    return backend
