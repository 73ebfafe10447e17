"""Attention-network backend: ``PropertyModel(backend="attention")`` (PyTorch, ``deep`` extra).

Each ensemble member is a :class:`~jupyter_matopt.models.deep._net.CompositionNet`, a
CrabNet/Roost-class network: matscholar element embeddings plus a fraction encoding, a
Transformer encoder attending over the elements present, pooling, and an MLP head that also
reads the condition columns. Members differ in seed (initialization and batch order). The
façade standardizes the target, calibrates the members' spread on held-out rows exactly as for
the trees, fits the applicability domain and builds the explanations.

Explanations are exact Shapley values over the elements present and the condition columns
(:mod:`jupyter_matopt.models.deep._shapley`): a coalition's value is the prediction for the
renormalized sub-composition, conditions outside the coalition at their training means, and
a coalition without elements is worth the mean prediction over the training rows (``bias``).
They sum to ``prediction - base``, so the sliders' bars mean the same as for the trees.

``params["pretrained"] = "formation_enthalpy"`` starts every member's encoder from the network
pretrained on OQMD formation enthalpies (shipped in ``models/pretrained/`` with its card) and
fine-tunes it, with a fresh head and ``encoder_lr_ratio`` of the learning rate on the encoder.

Importing this module does not import torch; constructing the backend without it raises
:class:`~jupyter_matopt.models.backends.BackendUnavailableError` naming the ``deep`` extra.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from .._errors import ModelError, ModelFileError
from ..deep._torch import DEEP_INSTALL_HINT, require_torch
from .base import (
    BackendInputs,
    BackendState,
    BackendUnavailableError,
    Contributions,
    ModelBackend,
    ProgressFn,
)

__all__ = ["AttentionBackend", "ATTENTION_DEFAULTS", "PRETRAINED"]

#: Defaults; ``"auto"`` values depend on the number of training rows (see
#: :meth:`AttentionBackend.resolve_params`).
ATTENTION_DEFAULTS: dict[str, Any] = {
    "epochs": "auto",
    "batch_size": "auto",
    "lr": "auto",
    "steps": 1000,  # optimizer steps the "auto" epochs aim for
    "weight_decay": 1e-4,
    "pretrained": None,
    "encoder_lr_ratio": 0.3,
    "d_model": 64,
    "n_layers": 3,
    "n_heads": 4,
    "d_ff": 128,
    "dropout": 0.0,
    "head_dropout": 0.1,
    "head_hidden": [128, 64],
    "threads": 1,
}

#: Shipped pretrained networks: name -> file in ``jupyter_matopt/models/pretrained/``.
PRETRAINED: dict[str, str] = {"formation_enthalpy": "formation_enthalpy.safetensors"}

_NET_KEYS = ("d_model", "n_layers", "n_heads", "d_ff", "dropout", "head_dropout", "head_hidden")
_INT_KEYS = ("steps", "d_model", "n_layers", "n_heads", "d_ff", "threads")


def _torch() -> Any:
    try:
        return require_torch()
    except ImportError as exc:
        raise BackendUnavailableError(
            f"model backend 'attention' needs PyTorch and safetensors (the deep extra): "
            f"{DEEP_INSTALL_HINT}"
        ) from exc


class AttentionBackend(ModelBackend):
    """An ensemble of attention networks over element fractions (see the module docs)."""

    name: ClassVar[str] = "attention"
    defaults: ClassVar[Mapping[str, Any]] = ATTENTION_DEFAULTS
    tune_space: ClassVar[Mapping[str, Sequence[Any]]] = {
        "lr": [5e-4, 1e-3, 2e-3, 4e-3],
        "weight_decay": [1e-5, 1e-4, 1e-3],
        "head_dropout": [0.0, 0.1, 0.2],
    }
    contribution_kind: ClassVar[str] = "fractions"  # type: ignore[misc]
    needs_fractions: ClassVar[bool] = True
    #: The façade's std calibration uses all 5 folds only up to this many rows (one hold-out
    #: fold above): each fold costs a whole ensemble of networks.
    calibration_full_cv_max_rows: ClassVar[int] = 150

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        _torch()  # the one clear error, at the first use that needs the extra
        try:
            import safetensors  # noqa: F401 - the weights format of saved models
        except ImportError as exc:
            raise BackendUnavailableError(
                f"model backend 'attention' stores weights with safetensors, which is not "
                f"installed: {DEEP_INSTALL_HINT}"
            ) from exc
        super().__init__(params)
        self.c_mean: np.ndarray = np.zeros(0)
        self.c_scale: np.ndarray = np.zeros(0)
        self.base: float = 0.0
        self.resolved: dict[str, Any] = {}

    # ------------------------------------------------------------------ parameters
    def check_params(self, task: str) -> None:
        unknown = sorted(set(self.params) - set(ATTENTION_DEFAULTS))
        if unknown:
            raise ModelError(
                f"unknown attention-backend parameter(s) {unknown}; accepted: "
                f"{sorted(ATTENTION_DEFAULTS)}"
            )
        pre = self.params.get("pretrained")
        if pre is not None and pre not in PRETRAINED:
            raise ModelError(
                f"pretrained={pre!r} is not a shipped network; available: {sorted(PRETRAINED)} "
                "(or None to train from scratch)"
            )
        for key in ("epochs", "batch_size", "lr"):
            v = self.params.get(key, "auto")
            if v != "auto" and not (isinstance(v, (int, float)) and not isinstance(v, bool)
                                    and v > 0):
                raise ModelError(f"attention parameter {key} must be 'auto' or > 0, got {v!r}")

    def resolve_params(self, n_train: int) -> dict[str, Any]:
        """``batch_size`` 32/64/128/256 as the data grow; ``epochs`` so that training takes
        about ``steps`` optimizer steps (15-300 epochs); ``lr`` 2e-3 from scratch, 1e-3
        when fine-tuning."""
        out = super().resolve_params(n_train)
        n = max(1, int(n_train))
        if out["batch_size"] == "auto":
            out["batch_size"] = 32 if n < 600 else 64 if n < 3000 else 128 if n < 30000 else 256
        steps_per_epoch = max(1, n // int(out["batch_size"]))
        if out["epochs"] == "auto":
            out["epochs"] = int(min(300, max(15, math.ceil(int(out["steps"]) / steps_per_epoch))))
        if out["lr"] == "auto":
            out["lr"] = 1e-3 if out["pretrained"] else 2e-3
        for k in _INT_KEYS + ("epochs", "batch_size"):
            out[k] = int(out[k])
        out["head_hidden"] = [int(h) for h in out["head_hidden"]]
        return out

    # ------------------------------------------------------------------ training
    def _new_net(self, p: Mapping[str, Any], n_cond: int, seed: int) -> Any:
        torch = _torch()
        from ..deep._encoding import element_table
        from ..deep._net import CompositionNet

        torch.manual_seed(int(seed))
        if not p["pretrained"]:
            return CompositionNet(element_table(), n_cond=n_cond, **{k: p[k] for k in _NET_KEYS})
        state, meta = load_pretrained(str(p["pretrained"]))
        cfg = {k: meta["config"][k] for k in _NET_KEYS}
        cfg["head_dropout"] = p["head_dropout"]
        net = CompositionNet(state["table"].numpy(), n_cond=0, **cfg)
        net.load_state_dict(state)
        net.reset_head(n_cond, int(seed))
        return net

    def _encode(self, inputs: BackendInputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from ..deep._encoding import encode_fractions

        Z, F = encode_fractions(inputs.fractions, inputs.elements)
        C = np.asarray(inputs.conditions, dtype=np.float64).reshape(len(Z), -1)
        if C.shape[1]:
            C = (C - self.c_mean) / self.c_scale
            C = np.where(np.isfinite(C), C, 0.0)  # unknown condition: its training mean
        return Z, F, C.astype(np.float32)

    def fit(
        self,
        inputs: BackendInputs,
        target: np.ndarray,
        *,
        classification: bool,
        seeds: Sequence[int],
        n_jobs: int = 1,
        progress: ProgressFn | None = None,
    ) -> AttentionBackend:
        """One network per seed on ``inputs.fractions`` and ``inputs.conditions``.

        The members train together as one batched network
        (:func:`~jupyter_matopt.models.deep._group.train_group`); member ``i`` starts from
        ``seeds[i]`` and draws its batch order from it.
        """
        from ..deep._group import train_group
        from ..deep._train import TrainConfig, torch_threads

        p = self.resolve_params(len(target))
        self.resolved = p
        C = np.asarray(inputs.conditions, dtype=np.float64).reshape(len(target), -1)
        if C.shape[1]:
            with np.errstate(all="ignore"):
                mean = np.nanmean(np.where(np.isfinite(C), C, np.nan), axis=0)
                sd = np.nanstd(np.where(np.isfinite(C), C, np.nan), axis=0)
            self.c_mean = np.where(np.isfinite(mean), mean, 0.0)
            self.c_scale = np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)
        else:
            self.c_mean = self.c_scale = np.zeros(0)
        Z, F, Cs = self._encode(inputs)
        y = np.asarray(target, dtype=np.float64)
        cfg = TrainConfig(
            epochs=p["epochs"], batch_size=p["batch_size"], lr=float(p["lr"]),
            weight_decay=float(p["weight_decay"]), loss="bce" if classification else "l1",
            seed=int(seeds[0]) if len(seeds) else 0,
            encoder_lr_ratio=float(p["encoder_lr_ratio"]) if p["pretrained"] else 1.0,
        )

        def epoch_done(done: int, total: int) -> None:
            if progress is not None:
                progress(done, total, f"trained {len(seeds)} attention networks for "
                                      f"{done} of {total} epochs")

        with torch_threads(p["threads"]):
            nets = [self._new_net(p, Cs.shape[1], int(seed)) for seed in seeds]
            if nets:
                train_group(nets, Z, F, Cs if Cs.shape[1] else None, y, config=cfg,
                            seeds=[int(s) for s in seeds], progress=epoch_done)
            self.members = nets
            # the value of "no elements" in the Shapley explanations: mean training output
            self.base = float(self._raw(Z, F, Cs).mean())
        return self

    # ------------------------------------------------------------------ prediction
    def _raw(self, Z: np.ndarray, F: np.ndarray, C: np.ndarray) -> np.ndarray:
        if not self.members:
            return np.zeros((0, len(Z)))
        valid = (Z > 0).any(axis=1)
        if not valid.all():
            # no element the model was trained on (the façade passes fractions over its
            # training elements only): nothing to attend to, so the "no elements" value, the
            # mean training output; the applicability domain flags such rows
            out = np.full((len(self.members), len(Z)), float(self.base))
            if valid.any():
                out[:, valid] = self._raw(Z[valid], F[valid], C[valid])
            return out
        return self._grouped().predict(Z, F, C if C.shape[1] else None)

    def _grouped(self) -> Any:
        """All members stacked for inference, built once per set of members."""
        from ..deep._group import GroupedEnsemble

        key = tuple(id(net) for net in self.members)
        cached = getattr(self, "_group_cache", None)
        if cached is None or cached[0] != key:
            cached = (key, GroupedEnsemble(self.members))
            self._group_cache = cached
        return cached[1]

    def predict_members(self, inputs: BackendInputs, *, n_jobs: int = 1) -> np.ndarray:
        from ..deep._train import torch_threads

        Z, F, C = self._encode(inputs)
        with torch_threads(int(self.resolved.get("threads", 1))):
            return self._raw(Z, F, C)

    def contributions(self, inputs: BackendInputs, *, n_jobs: int = 1) -> Contributions:
        """Shapley values over the elements present and the conditions (module docs);
        all rows' coalitions go through the networks in one batch per member."""
        from ..deep._encoding import encode_fractions
        from ..deep._shapley import coalition_plan, finish_plan
        from ..deep._train import torch_threads

        X = np.asarray(inputs.fractions, dtype=np.float64)
        n, k = X.shape
        Cn = self._encode(inputs)[2].astype(np.float64)  # standardized; training mean = 0
        plans, rows_X, rows_C = [], [], []
        for i in range(n):
            plan = coalition_plan(X[i], Cn[i], np.zeros(Cn.shape[1]), seed=i)
            plans.append(plan)
            rows_X.append(plan.X_full(k))
            rows_C.append(plan.C)
        Xa = np.vstack(rows_X) if rows_X else np.zeros((0, k))
        Ca = np.vstack(rows_C) if rows_C else np.zeros((0, Cn.shape[1]))
        Z, F = encode_fractions(Xa, inputs.elements)
        with torch_threads(int(self.resolved.get("threads", 1))):
            out = self._raw(Z, F, Ca.astype(np.float32))  # (members, total coalitions)
        phi = np.zeros((n, k + Cn.shape[1]))
        margins = np.zeros((len(self.members), n))
        start = 0
        for i, plan in enumerate(plans):
            vals = out[:, start : start + plan.n_rows]
            start += plan.n_rows
            e_phi, c_phi, full = finish_plan(plan, vals.mean(axis=0), self.base)
            phi[i, plan.present] = e_phi
            phi[i, k:] = c_phi
            margins[:, i] = vals[:, plan.full_row] if plan.full_row >= 0 else self.base
        return Contributions(phi=phi, bias=np.full(n, self.base), margins=margins)

    # ------------------------------------------------------------------ persistence
    def get_state(self) -> BackendState:
        """JSON metadata plus every member's tensors as float32/int64 numpy arrays
        (``m{i}.{parameter}``); the façade writes them without pickle."""
        arrays: dict[str, np.ndarray] = {}
        for i, net in enumerate(self.members):
            for key, val in net.state_dict().items():
                arrays[f"m{i}.{key}"] = val.detach().cpu().numpy().copy()
        meta = {
            "params": dict(self.params),
            "resolved": {k: v for k, v in self.resolved.items()},
            "net_config": self.members[0].config if self.members else {},
            "n_members": len(self.members),
            "c_mean": [float(v) for v in self.c_mean],
            "c_scale": [float(v) for v in self.c_scale],
            "base": float(self.base),
        }
        return BackendState(meta, arrays)

    @classmethod
    def from_state(cls, state: BackendState) -> AttentionBackend:
        """Rebuild the networks; any inconsistency raises :class:`ModelFileError`."""
        torch = _torch()
        from ..deep._net import CompositionNet

        try:
            meta = state.meta
            self = cls(meta.get("params") or None)
            self.resolved = dict(meta.get("resolved") or {})
            self.c_mean = np.asarray(meta["c_mean"], dtype=np.float64)
            self.c_scale = np.asarray(meta["c_scale"], dtype=np.float64)
            self.base = float(meta["base"])
            cfg = dict(meta["net_config"])
            if len(self.c_mean) != int(cfg.get("n_cond", 0)) or len(self.c_scale) != len(
                self.c_mean
            ):
                raise ValueError("condition scaling does not match the network's inputs")
            members, used = [], 0
            for i in range(int(meta["n_members"])):
                pre = f"m{i}."
                sd = {
                    k[len(pre) :]: torch.from_numpy(np.array(v, copy=True))
                    for k, v in state.arrays.items()
                    if k.startswith(pre)
                }
                net = CompositionNet(sd["table"].numpy(), **cfg)
                net.load_state_dict(sd, strict=True)
                net.eval()
                members.append(net)
                used += len(sd)
            if used != len(state.arrays):
                raise ValueError("the state holds arrays no network uses")
            self.members = members
        except ModelFileError:
            raise
        except Exception as exc:
            raise ModelFileError(
                f"attention-backend state does not rebuild its networks "
                f"({type(exc).__name__}: {exc})"
            ) from exc
        return self


def load_pretrained(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Tensors and metadata of a shipped pretrained network, checked against its card."""
    import json

    from ..deep._io import PRETRAINED_DIR, sha256_bytes, state_from_bytes

    if name not in PRETRAINED:
        raise ModelError(f"no pretrained network {name!r}; available: {sorted(PRETRAINED)}")
    path = PRETRAINED_DIR / PRETRAINED[name]
    card_path = path.with_suffix(".json")
    if not path.is_file() or not card_path.is_file():
        raise ModelFileError(
            f"the pretrained network {name!r} is missing from this installation ({path}); "
            "reinstall jupyter_matopt or use pretrained=None"
        )
    data = path.read_bytes()
    card = json.loads(card_path.read_text(encoding="utf-8"))
    if card.get("sha256") != sha256_bytes(data):
        raise ModelFileError(f"{path} does not match the sha256 recorded in {card_path}")
    return state_from_bytes(data, source=str(path))
