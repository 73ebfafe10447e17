"""The façade's side of the backend contract: which backend, its members, and the
:class:`~.backends.BackendInputs` built from feature rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._errors import ModelError
from .backends import BackendInputs, ModelBackend, make_backend
from .backends.xgboost import default_jobs

__all__ = ["BackendMixin"]

_DEFAULT_PRESET = "magpie+alloy+element_fraction"


class BackendMixin:
    """Backend selection and member access for ``PropertyModel``."""

    backend: Any
    estimator: Any
    params: Any
    n_jobs: Any
    feature_names_: list[str]
    elements_: list[str]
    conditions_: list[str]

    def _backend_spec(self) -> str | ModelBackend:
        return self.backend if self.backend is not None else self.estimator

    @property
    def backend_name_(self) -> str:
        """Registry name of the backend (stored in model files)."""
        spec = self._backend_spec()
        return spec.name if isinstance(spec, ModelBackend) else str(spec)

    def _new_backend(self, params: Mapping[str, Any] | None = None) -> ModelBackend:
        """A fresh backend; ``params`` None means this model's ``params`` plus tuned ones."""
        if params is None:
            params = {**dict(self.params or {}),
                      **dict(self.__dict__.get("best_params_") or {})}
        params = self._with_pretrained(dict(params))
        return make_backend(self._backend_spec(), params or None)

    def _with_pretrained(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` with ``pretrained=`` passed to the attention network (inside a stack,
        to its attention part); other backends refuse it."""
        pre = getattr(self, "pretrained", None)
        if pre is None:
            return params
        name = self.backend_name_
        if name == "attention":
            return {"pretrained": pre, **params}
        if name in ("stack", "auto"):
            part = dict(params.get("attention") or {})
            part.setdefault("pretrained", pre)
            return {**params, "attention": part}
        raise ModelError(
            f"pretrained={pre!r} applies to the attention, stack and auto backends, not "
            f"{name!r}"
        )

    def _effective_params(self, n_train: int) -> dict[str, Any]:
        return self._new_backend().resolve_params(n_train)

    def _jobs(self) -> int:
        return int(self.n_jobs) if self.n_jobs else default_jobs()

    @property
    def members_(self) -> list[Any]:
        """The fitted backend's members (XGBoost boosters for the tree backends)."""
        backend = self.__dict__.get("backend_")
        if backend is None:
            raise AttributeError("members_")
        return backend.members  # type: ignore[no-any-return]

    @members_.setter
    def members_(self, members: Sequence[Any]) -> None:
        backend = self.__dict__.get("backend_") or self._new_backend()
        _set_members(backend, members, self.__dict__.get("check_X_"))
        self.backend_ = backend

    @property
    def zero_members_(self) -> list[Any]:
        """Members of the zero stage (zero-inflated models; else empty)."""
        if "backend_" not in self.__dict__:
            raise AttributeError("zero_members_")
        zb = self.__dict__.get("zero_backend_")
        return [] if zb is None else zb.members  # type: ignore[no-any-return]

    @zero_members_.setter
    def zero_members_(self, members: Sequence[Any]) -> None:
        if not members:
            self.zero_backend_ = None
            return
        backend = self._new_backend()
        _set_members(backend, members, None)
        self.zero_backend_ = backend

    @property
    def check_X_(self) -> np.ndarray:
        """A few training feature rows (their margins are checked when loading a file)."""
        if "_check_X" not in self.__dict__:
            raise AttributeError("check_X_")
        return self.__dict__["_check_X"]  # type: ignore[no-any-return]

    @check_X_.setter
    def check_X_(self, X: np.ndarray) -> None:
        self.__dict__["_check_X"] = X
        backend = self.__dict__.get("backend_")
        if backend is not None and hasattr(backend, "check_X"):
            backend.check_X = X  # the tree backends merge members on these rows

    def _fraction_columns(self) -> np.ndarray:
        """Positions of the element-fraction features of ``elements_``."""
        cols = self.__dict__.get("_fraction_cols")
        if cols is None:
            index = {n: i for i, n in enumerate(self.feature_names_)}
            missing = [e for e in self.elements_ if e not in index]
            if missing:
                raise ModelError(
                    f"backend {self.backend_name_!r} reads element fractions: use a preset "
                    f"that includes 'element_fraction' (e.g. {_DEFAULT_PRESET!r})"
                )
            cols = np.array([index[e] for e in self.elements_], dtype=int)
            self.__dict__["_fraction_cols"] = cols
        return cols  # type: ignore[no-any-return]

    def _inputs(self, F: np.ndarray) -> Any:
        """The backend's view of feature rows ``F`` (fractions over ``elements_`` and the
        condition columns besides the descriptors)."""
        n = F.shape[0]
        c = len(self.conditions_)
        conds = F[:, F.shape[1] - c:] if c else np.zeros((n, 0))
        spec = self.__dict__.get("backend_") or self._backend_spec()
        if not getattr(spec, "needs_fractions", True):
            fr, unknown = np.zeros((n, 0)), np.zeros(n)
        else:
            fr = F[:, self._fraction_columns()]
            unknown = np.clip(1.0 - fr.sum(axis=1), 0.0, 1.0)
        return BackendInputs(F, tuple(self.feature_names_), fr, tuple(self.elements_), conds,
                             tuple(self.conditions_), unknown)



def _set_members(backend: ModelBackend, members: Sequence[Any], check_X: Any) -> None:
    setter = getattr(backend, "set_members", None)
    if setter is not None:
        setter(members)
    else:
        backend.members = list(members)
    if check_X is not None and hasattr(backend, "check_X"):
        backend.check_X = check_X

