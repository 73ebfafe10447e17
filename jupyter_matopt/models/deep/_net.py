"""The attention network (imports torch: only import after :func:`require_torch`).

Architecture (CrabNet/Roost class, compact for CPUs):

* each element present becomes a token: a linear map of its fixed matscholar embedding plus a
  learned per-element correction (zero at start) plus an encoding of its fraction (linear,
  square-root and log scale, and sines/cosines of both scales: the network sees 0.01 and
  0.02 as clearly different, unlike a raw fraction);
* a pre-norm Transformer encoder attends over the tokens present (padding masked);
* pooling: the fraction-weighted mean of the tokens beside a learned soft-attention pool whose
  logits are offset by ``log(fraction)`` (Roost's weighted attention), so a trace element has
  a small but non-zero voice;
* the head, an MLP, reads the pooled vector and the standardized condition columns
  (temperature, processing, ...), and outputs one value (regression) or one logit.

The *encoder* (everything but the head) is what pretraining ships and fine-tuning starts from.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["CompositionNet", "ENCODER_PREFIXES", "N_FRACTION_FEATURES", "fraction_features"]

_LIN_FREQS = 6
_LOG_FREQS = 4
N_FRACTION_FEATURES = 3 + 2 * _LIN_FREQS + 2 * _LOG_FREQS
# names of the state-dict entries that belong to the encoder (shared by pretraining)
ENCODER_PREFIXES = ("proj.", "elem.", "frac.", "encoder.", "norm.", "gate.")


def fraction_features(f: torch.Tensor) -> torch.Tensor:
    """``(..., N_FRACTION_FEATURES)`` encoding of fractions in (0, 1] (0 for padding)."""
    f = f.clamp(0.0, 1.0)
    # log scale: 1e-4 -> 0, 1 -> 1, so trace amounts are resolved
    lf = (1.0 + torch.log10(f.clamp_min(1e-4)) / 4.0) * (f > 0)
    parts = [f, f.sqrt(), lf]
    for j in range(_LIN_FREQS):
        a = math.pi * (2.0**j) * f
        parts += [torch.sin(a), torch.cos(a) * (f > 0)]
    for j in range(_LOG_FREQS):
        a = math.pi * (2.0**j) * lf
        parts += [torch.sin(a), torch.cos(a) * (f > 0)]
    return torch.stack(parts, dim=-1)


class CompositionNet(nn.Module):
    """Self-attention over the elements of a composition, pooled into a regression head.

    Args:
        table: ``(119, E)`` element embedding table (row Z, row 0 padding); kept as a buffer so
            a saved model does not depend on the file it came from.
        d_model: Token width.
        n_layers / n_heads / d_ff: Transformer encoder shape.
        dropout: Dropout inside the encoder (0 by default: it cost a fifth of a CPU training
            step and the ensemble already regularizes).
        head_dropout: Dropout inside the head.
        n_cond: Number of condition columns entering the head.
        head_hidden: Hidden widths of the head MLP.
    """

    def __init__(
        self,
        table: np.ndarray | torch.Tensor,
        *,
        d_model: int = 64,
        n_layers: int = 3,
        n_heads: int = 4,
        d_ff: int = 128,
        dropout: float = 0.0,
        head_dropout: float = 0.1,
        n_cond: int = 0,
        head_hidden: tuple[int, ...] = (128, 64),
    ) -> None:
        super().__init__()
        self.config: dict[str, Any] = {
            "d_model": int(d_model),
            "n_layers": int(n_layers),
            "n_heads": int(n_heads),
            "d_ff": int(d_ff),
            "dropout": float(dropout),
            "head_dropout": float(head_dropout),
            "n_cond": int(n_cond),
            "head_hidden": [int(h) for h in head_hidden],
        }
        table = torch.tensor(np.array(table, dtype=np.float32))
        self.register_buffer("table", table)
        self.proj = nn.Linear(table.shape[1], d_model)
        self.elem = nn.Embedding(table.shape[0], d_model, padding_idx=0)
        nn.init.zeros_(self.elem.weight)
        self.frac = nn.Sequential(
            nn.Linear(N_FRACTION_FEATURES, d_model), nn.SiLU(), nn.Linear(d_model, d_model)
        )
        layer = nn.TransformerEncoderLayer(
            d_model, n_heads, d_ff, dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.gate = nn.Linear(d_model, 1)
        self.head = self._make_head(2 * d_model + n_cond, head_hidden, head_dropout)

    @staticmethod
    def _make_head(n_in: int, hidden: tuple[int, ...] | list[int], dropout: float) -> nn.Module:
        layers: list[nn.Module] = []
        for h in hidden:
            layers += [nn.Linear(n_in, h), nn.SiLU(), nn.Dropout(dropout)]
            n_in = h
        layers.append(nn.Linear(n_in, 1))
        return nn.Sequential(*layers)

    def reset_head(self, n_cond: int, seed: int) -> None:
        """A fresh head for ``n_cond`` condition columns (fine-tuning a pretrained encoder)."""
        self.config["n_cond"] = int(n_cond)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            self.head = self._make_head(
                2 * self.config["d_model"] + n_cond,
                self.config["head_hidden"],
                self.config["head_dropout"],
            )

    def pooled(self, Z: torch.Tensor, F: torch.Tensor) -> torch.Tensor:
        """``(B, 2 d_model)`` composition vectors of padded ``(Z, F)`` batches."""
        pad = Z == 0
        x = self.proj(self.table[Z]) + self.elem(Z) + self.frac(fraction_features(F))
        h = self.norm(self.encoder(x, src_key_padding_mask=pad))
        h = h.masked_fill(pad.unsqueeze(-1), 0.0)
        mean = (F.unsqueeze(-1) * h).sum(dim=1)
        logit = self.gate(h).squeeze(-1) + torch.log(F.clamp_min(1e-12))
        w = torch.softmax(logit.masked_fill(pad, float("-inf")), dim=1)
        att = (w.unsqueeze(-1) * h).sum(dim=1)
        return torch.cat([mean, att], dim=-1)

    def forward(
        self, Z: torch.Tensor, F: torch.Tensor, C: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Output ``(B,)``: the standardized target (regression) or the logit."""
        p = self.pooled(Z, F)
        if self.config["n_cond"]:
            if C is None:
                raise ValueError(f"the network expects {self.config['n_cond']} condition columns")
            p = torch.cat([p, C], dim=-1)
        return self.head(p).squeeze(-1)
