"""Training loop of the attention network (imports torch: import after :func:`require_torch`).

One loop serves pretraining, training from scratch and fine-tuning: AdamW, linear warm-up then
cosine decay per step, L1 loss on the standardized target (robust to the outliers of DFT
tables) or binary cross-entropy on logits, mini-batches trimmed to the largest number of
elements they contain, and optional early stopping on a validation set (the best epoch's
weights are kept). Progress goes through ``callback(event, done, total, message)``.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from ._net import ENCODER_PREFIXES, CompositionNet

__all__ = [
    "TrainConfig", "train_network", "predict_network", "torch_threads", "as_tensors",
    "warmup_cosine",
]

Progress = Callable[[str, int, "int | None", str], None]


@dataclass
class TrainConfig:
    """Hyperparameters of one training run (stored in model metadata and model cards)."""

    epochs: int = 100
    batch_size: int = 128
    lr: float = 2e-3
    encoder_lr_ratio: float = 1.0  # < 1 when fine-tuning: the pretrained encoder moves slower
    weight_decay: float = 1e-4
    warmup: float = 0.05
    loss: str = "l1"  # "l1" (regression, standardized target) or "bce" (classification logit)
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run with ``n`` intra-op threads, restoring the previous setting afterwards."""
    old = torch.get_num_threads()
    torch.set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def as_tensors(
    Z: np.ndarray, F: np.ndarray, C: np.ndarray | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Torch views of the padded inputs (int64 Z, float32 F and C)."""
    Zt = torch.from_numpy(np.ascontiguousarray(Z, dtype=np.int64))
    Ft = torch.from_numpy(np.ascontiguousarray(F, dtype=np.float32))
    Ct = None
    if C is not None and np.asarray(C).shape[1] > 0:
        Ct = torch.from_numpy(np.ascontiguousarray(C, dtype=np.float32))
    return Zt, Ft, Ct


def _trim(Z: torch.Tensor, F: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    # elements present come first in every row (see _encoding), so the batch's widest row
    # bounds the columns worth computing
    m = int((Z > 0).sum(dim=1).max())
    return Z[:, : max(m, 1)], F[:, : max(m, 1)]


def predict_network(
    net: CompositionNet,
    Z: np.ndarray | torch.Tensor,
    F: np.ndarray | torch.Tensor,
    C: np.ndarray | torch.Tensor | None = None,
    *,
    batch_size: int = 8192,
) -> np.ndarray:
    """Network outputs (standardized target or logit) for all rows, in eval mode."""
    if not isinstance(Z, torch.Tensor):
        Z, F, C = as_tensors(Z, np.asarray(F), None if C is None else np.asarray(C))
    was = net.training
    net.eval()
    out = []
    with torch.inference_mode():
        for s in range(0, len(Z), batch_size):
            z, f = _trim(Z[s : s + batch_size], F[s : s + batch_size])
            c = None if C is None else C[s : s + batch_size]
            out.append(net(z, f, c).double().numpy())
    net.train(was)
    return np.concatenate(out) if out else np.zeros(0)


def warmup_cosine(warm: int, total: int) -> Callable[[int], float]:
    """Learning-rate factor per step: linear warm-up over ``warm`` steps, then cosine decay to
    2 % of the peak at ``total`` steps."""

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        t = (step - warm) / max(1, total - warm)
        return 0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * min(t, 1.0)))

    return factor


def _loss(kind: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    if kind == "l1":
        return torch.nn.functional.l1_loss
    if kind == "bce":
        return torch.nn.functional.binary_cross_entropy_with_logits
    raise ValueError(f"loss must be 'l1' or 'bce', got {kind!r}")


def train_network(
    net: CompositionNet,
    Z: np.ndarray,
    F: np.ndarray,
    C: np.ndarray | None,
    y: np.ndarray,
    *,
    config: TrainConfig,
    val: tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray] | None = None,
    callback: Progress | None = None,
    deadline: float | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train ``net`` in place; return the history (and the best epoch with ``val``).

    Args:
        net: The network (its head must match the condition columns of ``C``).
        Z, F, C, y: Padded element indices, fractions, standardized conditions (or None) and
            the target (standardized for ``"l1"``, 0/1 for ``"bce"``).
        config: Hyperparameters.
        val: ``(Z, F, C, y)`` for early stopping: the weights of the epoch with the lowest
            validation loss are restored at the end.
        callback: Progress ``callback("train", epoch, epochs, message)``.
        deadline: ``time.time()`` value after which no new epoch starts (recorded).
        log: Optional line logger (pretraining script).
    """
    gen = torch.Generator().manual_seed(int(config.seed))
    torch.manual_seed(int(config.seed))
    Zt, Ft, Ct = as_tensors(Z, F, C)
    yt = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))
    n = len(yt)
    bs = max(1, min(int(config.batch_size), n))
    steps_per_epoch = max(1, n // bs)  # drop the ragged last batch: steadier BatchNorm-free steps
    total = steps_per_epoch * int(config.epochs)
    warm = max(1, int(config.warmup * total))

    enc, head = [], []
    for name, p in net.named_parameters():
        (enc if name.startswith(ENCODER_PREFIXES) else head).append(p)
    groups = [
        {"params": enc, "lr": config.lr * config.encoder_lr_ratio},
        {"params": head, "lr": config.lr},
    ]
    opt = torch.optim.AdamW(groups, weight_decay=config.weight_decay)

    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(warm, total))
    lossf = _loss(config.loss)
    history: dict[str, Any] = {"train_loss": [], "val_loss": [], "stopped": "completed"}
    best = (math.inf, -1, None)
    net.train()
    for epoch in range(int(config.epochs)):
        if deadline is not None and time.time() > deadline:
            history["stopped"] = f"deadline before epoch {epoch + 1} of {config.epochs}"
            break
        perm = torch.randperm(n, generator=gen)
        run = 0.0
        for s in range(steps_per_epoch):
            idx = perm[s * bs : (s + 1) * bs]
            z, f = _trim(Zt[idx], Ft[idx])
            out = net(z, f, None if Ct is None else Ct[idx])
            loss = lossf(out, yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            sched.step()
            run += float(loss.detach())
        history["train_loss"].append(run / steps_per_epoch)
        msg = f"epoch {epoch + 1}/{config.epochs} train loss {run / steps_per_epoch:.4f}"
        if val is not None:
            vz, vf, vc, vy = val
            pv = predict_network(net, vz, vf, vc)
            vl = float(lossf(torch.from_numpy(pv), torch.from_numpy(np.asarray(vy, float))))
            history["val_loss"].append(vl)
            msg += f" val loss {vl:.4f}"
            if vl < best[0]:
                best = (vl, epoch, copy.deepcopy(net.state_dict()))
        if log is not None:
            log(msg)
        if callback is not None:
            callback("train", epoch + 1, int(config.epochs), msg)
    if best[2] is not None:
        net.load_state_dict(best[2])
        history["best_epoch"] = best[1] + 1
        history["best_val_loss"] = best[0]
    history["epochs_run"] = len(history["train_loss"])
    net.eval()
    return history
