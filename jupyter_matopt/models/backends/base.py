"""The model-backend interface behind :class:`~jupyter_matopt.models.PropertyModel`.

``PropertyModel`` is a façade: it parses compositions and conditions, featurizes, encodes
the target (standardized regression values, or 0/1 for classification), calibrates the
spread, fits the applicability domain, chooses decision thresholds, runs zero-inflation and
tuning, and turns contributions into :class:`~jupyter_matopt.models.Explanation` objects. A
*backend* only trains and evaluates an ensemble of members on what the façade prepared.

How to add a backend (one module plus one registry entry)::

    # jupyter_matopt/models/backends/mine.py
    from .base import BackendInputs, BackendState, ModelBackend

    class MyBackend(ModelBackend):
        name = "mine"
        contribution_kind = "fractions"      # attributions over elements_ + conditions

        def fit(self, inputs, target, *, classification, seeds, n_jobs=1, progress=None):
            ...  # one member per seed, on inputs.fractions / inputs.conditions
            return self
        def predict_members(self, inputs, *, n_jobs=1): ...   # (n_members, n) margins
        # self.members holds the fitted members (any objects)
        def get_state(self): return BackendState({"hidden": 64}, {"member0.w": w})
        @classmethod
        def from_state(cls, state): ...

    # jupyter_matopt/models/backends/__init__.py, in _BUILTIN:
    #     "mine": "jupyter_matopt.models.backends.mine:MyBackend",
    # or at run time: register_backend("mine", MyBackend)

    PropertyModel(backend="mine").fit(dataset)

Contract details:

* Inputs (:class:`BackendInputs`): ``features`` are the façade's descriptors (Magpie, alloy
  and element-fraction columns of the preset, then the condition columns; NaN = unknown),
  ``fractions`` the atomic fractions over the model's training elements ``elements``
  (``unknown`` holds the share of elements outside them) and ``conditions`` the raw
  condition values. Tree backends read ``features``; others may use only ``fractions`` and
  ``conditions`` and ignore the descriptors.
* Targets: regression targets arrive standardized (mean 0, std 1); classification targets
  are 0/1 floats. ``predict_members`` returns one row per member in the same space
  (standardized values, or log-odds for classification). The façade averages the rows and
  uses their spread as the raw uncertainty, so members must differ (seeds, subsamples).
* Determinism: member ``i`` must depend only on ``seeds[i]`` and the data (not on
  ``n_jobs`` or thread timing), so that equal seeds give identical models.
* Contributions (optional): :meth:`ModelBackend.contributions` returns per-column
  attributions averaged over members whose row sums plus ``bias`` equal the mean member
  output (in the margin space above). ``contribution_kind = "features"`` attributes to
  ``inputs.feature_names``; ``"fractions"`` to ``elements + condition_names``. Backends
  without attributions return None and explanations fall back to zero contributions.
* Persistence: :meth:`get_state` gives a JSON-able ``meta`` dict and named numpy arrays
  (float/int, no objects); the model file stores them without pickle, and
  :meth:`from_state` rebuilds an equal backend. Nothing in a state may execute code.
* Optional extras: a backend module must import its heavy dependency (torch, ...) inside
  methods only, and raise :class:`BackendUnavailableError` naming the extra to install.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from .._errors import ModelError

__all__ = [
    "BackendInputs",
    "BackendState",
    "Contributions",
    "ModelBackend",
    "BackendUnavailableError",
    "ProgressFn",
]

#: ``progress(done, total, message)`` as members finish (the façade forwards it).
ProgressFn = Callable[[int, int, str], Any]


class BackendUnavailableError(ModelError, ImportError):
    """A backend whose optional dependency is not installed (the message names the extra)."""


@dataclass(frozen=True)
class BackendInputs:
    """What a backend sees of ``n`` rows (all arrays row-aligned).

    Attributes:
        features: ``(n, p)`` descriptors then condition columns (float64; NaN = unknown).
        feature_names: The ``p`` column labels of ``features``.
        fractions: ``(n, len(elements))`` atomic fractions over ``elements`` (rows sum to
            ``1 - unknown``).
        elements: The model's training elements (``PropertyModel.elements_``), by Z.
        conditions: ``(n, c)`` condition values (float64; NaN = unknown).
        condition_names: The ``c`` condition names.
        unknown: ``(n,)`` share of each row in elements outside ``elements``.
    """

    features: np.ndarray
    feature_names: tuple[str, ...]
    fractions: np.ndarray
    elements: tuple[str, ...]
    conditions: np.ndarray
    condition_names: tuple[str, ...]
    unknown: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __len__(self) -> int:
        return int(self.features.shape[0])

    def take(self, idx: Any) -> BackendInputs:
        """The rows ``idx`` (an index array or boolean mask)."""
        unk = self.unknown if len(self.unknown) == len(self) else np.zeros(len(self))
        return BackendInputs(
            self.features[idx], self.feature_names, self.fractions[idx], self.elements,
            self.conditions[idx], self.condition_names, unk[idx],
        )

    @property
    def fraction_matrix(self) -> np.ndarray:
        """``fractions`` then ``conditions`` side by side: the input of non-tree backends."""
        return np.hstack([self.fractions, self.conditions])

    @property
    def fraction_names(self) -> tuple[str, ...]:
        """Column names of :attr:`fraction_matrix`."""
        return (*self.elements, *self.condition_names)


@dataclass
class BackendState:
    """A backend's saved form: JSON-able ``meta`` plus named numeric arrays."""

    meta: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Contributions:
    """Attributions of the mean member output (margin space of :class:`ModelBackend`).

    Attributes:
        phi: ``(n, q)`` per-column attributions, averaged over members.
        bias: ``(n,)`` the rest (``bias + phi.sum(1) == margins.mean(0)`` up to round-off).
        margins: ``(n_members, n)`` member outputs, the same as :meth:`predict_members`.
    """

    phi: np.ndarray
    bias: np.ndarray
    margins: np.ndarray


class ModelBackend(ABC):
    """An ensemble learner behind ``PropertyModel`` (see the module docs for the contract).

    Args:
        params: Hyperparameter overrides of :attr:`defaults` (other keys are the backend's
            business; unknown ones may raise :class:`~jupyter_matopt.models.ModelError`).
    """

    #: Registry name, stored in model files.
    name: ClassVar[str] = ""
    #: Default hyperparameters (``"auto"`` values are resolved by :meth:`resolve_params`).
    defaults: ClassVar[Mapping[str, Any]] = {}
    #: Search space of ``PropertyModel.tune`` (empty: tuning keeps the defaults).
    tune_space: ClassVar[Mapping[str, Sequence[Any]]] = {}
    #: What :meth:`contributions` attributes to: ``"features"`` or ``"fractions"``.
    contribution_kind: ClassVar[Literal["features", "fractions"]] = "features"
    #: Whether it reads ``inputs.fractions`` (False: the façade may leave them empty).
    needs_fractions: ClassVar[bool] = True

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self.params: dict[str, Any] = dict(params or {})
        #: The fitted members (whatever objects the backend uses; XGBoost boosters for the
        #: tree backends). ``PropertyModel.members_`` is this list.
        self.members: list[Any] = []

    # ------------------------------------------------------------------ hyperparameters
    def resolve_params(self, n_train: int) -> dict[str, Any]:
        """:attr:`defaults` updated by ``params``, with data-dependent values resolved."""
        out = dict(self.defaults)
        out.update(self.params)
        return out

    def check_params(self, task: str) -> None:  # noqa: B027 - optional hook
        """Raise :class:`~jupyter_matopt.models.ModelError` for unusable ``params``."""

    def with_params(self, params: Mapping[str, Any] | None) -> ModelBackend:
        """A fresh, unfitted backend of the same kind with ``params`` (for CV folds/tuning)."""
        return type(self)(params)

    def tune_candidate(self, candidate: dict[str, Any]) -> dict[str, Any]:
        """Adjust one random draw from :attr:`tune_space` (e.g. tie rounds to the rate)."""
        return candidate

    # ------------------------------------------------------------------ training
    @abstractmethod
    def fit(
        self,
        inputs: BackendInputs,
        target: np.ndarray,
        *,
        classification: bool,
        seeds: Sequence[int],
        n_jobs: int = 1,
        progress: ProgressFn | None = None,
    ) -> ModelBackend:
        """Train one member per seed (replacing any previous members); returns self."""

    @property
    def n_members(self) -> int:
        """Number of fitted members (0 before :meth:`fit`)."""
        return len(self.members)

    # ------------------------------------------------------------------ prediction
    @abstractmethod
    def predict_members(self, inputs: BackendInputs, *, n_jobs: int = 1) -> np.ndarray:
        """``(n_members, n)`` member outputs (standardized values or log-odds)."""

    def contributions(self, inputs: BackendInputs, *, n_jobs: int = 1) -> Contributions | None:
        """Per-column attributions (see the module docs), or None if not supported."""
        return None

    def used_features(self) -> np.ndarray | None:
        """Mask of the ``features`` columns the members use (None: unknown, assume all)."""
        return None

    # ------------------------------------------------------------------ persistence
    @abstractmethod
    def get_state(self) -> BackendState:
        """JSON-able metadata and named arrays that :meth:`from_state` turns back into self."""

    @classmethod
    @abstractmethod
    def from_state(cls, state: BackendState) -> ModelBackend:
        """Rebuild a fitted backend from :meth:`get_state`'s output (never executes code)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(params={self.params!r}, n_members={self.n_members})"
