"""All members of an ensemble as one batched network (imports torch: import after
:func:`~jupyter_matopt.models.deep._torch.require_torch`).

The members of an attention ensemble share one architecture, so their weights stack along a
leading *member* dimension ``M`` and every layer becomes one batched matrix product
(``baddbmm``) instead of ``M`` small ones. On a CPU the small networks here are bound by
per-operation overhead, not arithmetic, so training ``M`` members this way costs little more
than training one, and a slider update runs every member over every Shapley coalition in one
forward pass.

The functional forward :func:`group_forward` computes exactly what
:class:`~jupyter_matopt.models.deep._net.CompositionNet` computes (the test suite checks the
outputs and the gradients against the module), so the members still persist, load and
fine-tune as separate ``CompositionNet`` state dicts: stacking is a way of running them, not
a different model. One simplification that changes only the order of arithmetic: the
element-embedding projection is applied to the 119-row table once per step and then gathered,
rather than applied to every token.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as nnf

from ._net import _LIN_FREQS, _LOG_FREQS, ENCODER_PREFIXES, CompositionNet
from ._train import TrainConfig, _loss, as_tensors, warmup_cosine

__all__ = ["GroupedEnsemble", "element_tokens", "group_forward", "stack_parameters", "train_group"]

Params = dict[str, torch.Tensor]


def stack_parameters(nets: Sequence[CompositionNet], *, trainable: bool) -> Params:
    """The members' parameters stacked along a new first dimension (copies)."""
    names = [n for n, _ in nets[0].named_parameters()]
    out: Params = {}
    for name in names:
        t = torch.stack([dict(net.named_parameters())[name].detach() for net in nets]).clone()
        out[name] = t.requires_grad_(trainable)
    return out


def _lin(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # x (M, ..., in), w (M, out, in), b (M, out) -> (M, ..., out), one batched product
    shp = x.shape
    out = torch.baddbmm(b.unsqueeze(1), x.reshape(shp[0], -1, shp[-1]), w.transpose(1, 2))
    return out.reshape(*shp[:-1], w.shape[1])


def _norm(x: torch.Tensor, w: torch.Tensor | None, b: torch.Tensor | None) -> torch.Tensor:
    if w is None or b is None:  # affine part folded into the next linear layer (inference)
        return nnf.layer_norm(x, (x.shape[-1],), eps=1e-5)
    view = (w.shape[0],) + (1,) * (x.dim() - 2) + (w.shape[1],)
    return nnf.layer_norm(x, (x.shape[-1],), eps=1e-5) * w.view(view) + b.view(view)


def _fraction_features(f: torch.Tensor) -> torch.Tensor:
    """:func:`~jupyter_matopt.models.deep._net.fraction_features` with all frequencies in
    one product each (a dozen operations instead of fifty; the same features)."""
    f = f.clamp(0.0, 1.0)
    present = (f > 0).to(f.dtype)
    lf = (1.0 + torch.log10(f.clamp_min(1e-4)) / 4.0) * present
    n_lin, n_log = _LIN_FREQS, _LOG_FREQS
    freqs = torch.tensor([math.pi * (2.0**j) for j in range(max(n_lin, n_log))], dtype=f.dtype)
    a = torch.cat([f.unsqueeze(-1) * freqs[:n_lin], lf.unsqueeze(-1) * freqs[:n_log]], dim=-1)
    # interleave sin and cos per frequency, as the module orders them
    waves = torch.stack([torch.sin(a), torch.cos(a) * present.unsqueeze(-1)], dim=-1)
    return torch.cat([f.unsqueeze(-1), f.sqrt().unsqueeze(-1), lf.unsqueeze(-1),
                      waves.flatten(-2)], dim=-1)


def element_tokens(P: Params, table: torch.Tensor) -> torch.Tensor:
    """``(M, 119, d)``: each member's token of every element before the fraction encoding
    (the embedding projection applied to the 119-row table once, not to every token)."""
    M = P["proj.weight"].shape[0]
    return torch.baddbmm(P["proj.bias"].unsqueeze(1), table.expand(M, *table.shape),
                         P["proj.weight"].transpose(1, 2)) + P["elem.weight"]


def group_forward(
    P: Params,
    table: torch.Tensor,
    config: dict[str, Any],
    Z: torch.Tensor,
    F: torch.Tensor,
    C: torch.Tensor | None = None,
    *,
    training: bool = False,
    tokens: torch.Tensor | None = None,
) -> torch.Tensor:
    """Outputs ``(M, B)`` of the ``M`` stacked members.

    The linear layers run on the *packed* tokens (the elements present, no padding); only
    the attention products use the padded ``(B, L)`` layout.

    Args:
        P: Stacked parameters (:func:`stack_parameters`), names as in ``CompositionNet``.
        table: The ``(119, E)`` element table the members share.
        config: ``CompositionNet.config`` of the members.
        Z, F: ``(B, L)`` inputs shared by all members, or ``(M, B, L)`` one batch each.
        C: Standardized conditions ``(B, c)`` or ``(M, B, c)`` (None without conditions).
        training: Apply the head's dropout (the encoder's too when configured).
        tokens: :func:`element_tokens` of ``P`` when already computed (inference).
    """
    M = P["proj.weight"].shape[0]
    d, n_heads = int(config["d_model"]), int(config["n_heads"])
    p_enc = float(config["dropout"]) if training else 0.0
    p_head = float(config["head_dropout"]) if training else 0.0
    T = element_tokens(P, table) if tokens is None else tokens
    shared = Z.dim() == 2
    B, L = Z.shape[-2], Z.shape[-1]
    # positions of the tokens present, first in each member's flattened batch; members with
    # fewer tokens than the widest carry a few padding positions (distinct, masked later)
    absent = (Z == 0).reshape(-1, B * L).to(torch.int8)
    widest = max(1, int((1 - absent).sum(dim=1).max()))
    order = torch.argsort(absent, dim=1, stable=True)[:, :widest]
    if shared:
        order = order.expand(M, -1)
        Zm, Fm = Z.expand(M, B, L), F.expand(M, B, L)
    else:
        Zm, Fm = Z, F
    pad = Zm == 0
    N = order.shape[1]

    # row indices into the flattened (M * B * L) tokens: whole rows of width c move at once
    flat = (order + torch.arange(M).view(M, 1) * (B * L)).reshape(-1)

    def pack(t: torch.Tensor) -> torch.Tensor:  # (M, B, L, c) -> (M, N, c)
        c = t.shape[-1]
        return t.reshape(M * B * L, c).index_select(0, flat).reshape(M, N, c)

    def unpack(t: torch.Tensor) -> torch.Tensor:  # (M, N, c) -> (M, B, L, c), zeros elsewhere
        c = t.shape[-1]
        out = t.new_zeros(M * B * L, c).index_copy(0, flat, t.reshape(M * N, c))
        return out.reshape(M, B, L, c)

    Zp = Zm.reshape(-1).index_select(0, flat).reshape(M, N)
    Fp = Fm.reshape(-1).index_select(0, flat).reshape(M, N)
    x = T[torch.arange(M).view(M, 1), Zp]
    h = _lin(nnf.silu(_lin(_fraction_features(Fp), P["frac.0.weight"], P["frac.0.bias"])),
             P["frac.2.weight"], P["frac.2.bias"])
    x = x + h
    dh = d // n_heads
    # additive mask over the keys: explicit products beat the fused CPU attention kernel at
    # these sizes (a dozen tokens of width 16)
    bias = torch.zeros(pad.shape, dtype=x.dtype).masked_fill(pad, float("-inf"))
    bias = bias.view(M, B, 1, 1, L)
    scale = 1.0 / math.sqrt(dh)
    for i in range(int(config["n_layers"])):
        k = f"encoder.layers.{i}."
        # pre-norm self-attention block
        a = _norm(x, P.get(k + "norm1.weight"), P.get(k + "norm1.bias"))
        qkv = unpack(_lin(a, P[k + "self_attn.in_proj_weight"],
                          P[k + "self_attn.in_proj_bias"]))
        q, kk, v = (t.reshape(M, B, L, n_heads, dh).transpose(2, 3)
                    for t in qkv.split(d, dim=-1))
        wts = torch.softmax(torch.matmul(q * scale, kk.transpose(-1, -2)) + bias, dim=-1)
        if p_enc:
            wts = nnf.dropout(wts, p_enc, training)
        att = pack(torch.matmul(wts, v).transpose(2, 3).reshape(M, B, L, d))
        att = _lin(att, P[k + "self_attn.out_proj.weight"], P[k + "self_attn.out_proj.bias"])
        x = x + (nnf.dropout(att, p_enc, training) if p_enc else att)
        # pre-norm feed-forward block
        a = _norm(x, P.get(k + "norm2.weight"), P.get(k + "norm2.bias"))
        a = nnf.gelu(_lin(a, P[k + "linear1.weight"], P[k + "linear1.bias"]))
        if p_enc:
            a = nnf.dropout(a, p_enc, training)
        a = _lin(a, P[k + "linear2.weight"], P[k + "linear2.bias"])
        x = x + (nnf.dropout(a, p_enc, training) if p_enc else a)
    h = unpack(_norm(x, P["norm.weight"], P["norm.bias"])).masked_fill(pad.unsqueeze(-1), 0.0)
    return _pool_and_head(P, config, h, Fm, pad, C, p_head=p_head, training=training)


def _pool_and_head(
    P: Params,
    config: dict[str, Any],
    h: torch.Tensor,
    Fm: torch.Tensor,
    pad: torch.Tensor,
    C: torch.Tensor | None,
    *,
    p_head: float,
    training: bool,
) -> torch.Tensor:
    """The members' outputs ``(M, B)`` from the encoded tokens ``h`` ``(M, B, L, d)``:
    fraction-weighted mean and gated attention pooling, the condition columns, the MLP head."""
    M = h.shape[0]
    mean = (Fm.unsqueeze(-1) * h).sum(dim=2)
    logit = _lin(h, P["gate.weight"], P["gate.bias"]).squeeze(-1)
    logit = logit + torch.log(Fm.clamp_min(1e-12))
    w = torch.softmax(logit.masked_fill(pad, float("-inf")), dim=2)
    pooled = torch.cat([mean, (w.unsqueeze(-1) * h).sum(dim=2)], dim=-1)
    if int(config["n_cond"]):
        if C is None:
            raise ValueError(f"the network expects {config['n_cond']} condition columns")
        Cm = C if C.dim() == 3 else C.expand(M, *C.shape)
        pooled = torch.cat([pooled, Cm], dim=-1)
    out = pooled
    n_hidden = len(config["head_hidden"])
    for j in range(n_hidden):
        out = nnf.silu(_lin(out, P[f"head.{3 * j}.weight"], P[f"head.{3 * j}.bias"]))
        if p_head:
            out = nnf.dropout(out, p_head, training)
    out = _lin(out, P[f"head.{3 * n_hidden}.weight"], P[f"head.{3 * n_hidden}.bias"])
    return out.squeeze(-1)


def _fold_norms(P: Params, n_layers: int) -> Params:
    """Inference copy of ``P`` with each block's layer-norm scale and shift folded into the
    linear layer it feeds (``W (g * u + b) + c = (W g) u + (W b + c)``): fewer operations
    per slider update, the same function."""
    P = dict(P)
    for i in range(n_layers):
        k = f"encoder.layers.{i}."
        for norm, lin in (("norm1", "self_attn.in_proj_"), ("norm2", "linear1.")):
            g, b = P.pop(k + norm + ".weight"), P.pop(k + norm + ".bias")
            W = P[k + lin + "weight"]
            P[k + lin + "bias"] = P[k + lin + "bias"] + torch.bmm(W, b.unsqueeze(-1)).squeeze(-1)
            P[k + lin + "weight"] = W * g.unsqueeze(1)
    return P


class GroupedEnsemble:
    """Inference over all members at once (weights stacked once, reused every call)."""

    def __init__(self, nets: Sequence[CompositionNet]) -> None:
        # float64 at inference: a row's output must not depend on which other rows share its
        # batch (a prediction and the same composition inside an explanation's coalition
        # batch agree to ~1e-15, not the ~1e-7 of float32 kernels blocked differently)
        self.P = _fold_norms({k: v.double() for k, v in
                              stack_parameters(nets, trainable=False).items()},
                             int(nets[0].config["n_layers"]))
        self.table = nets[0].table.detach().double()
        self.tokens = element_tokens(self.P, self.table)
        self.config = dict(nets[0].config)
        self.n_members = len(nets)

    def predict(
        self, Z: np.ndarray, F: np.ndarray, C: np.ndarray | None, *, batch_size: int = 4096
    ) -> np.ndarray:
        """``(M, n)`` outputs; each chunk trimmed to its widest composition."""
        Zt, Ft, Ct = as_tensors(Z, F, C)
        Ft = Ft.to(self.table.dtype)
        Ct = None if Ct is None else Ct.to(self.table.dtype)
        out = []
        with torch.inference_mode():
            for s in range(0, len(Zt), batch_size):
                z, f = Zt[s : s + batch_size], Ft[s : s + batch_size]
                m = max(1, int((z > 0).sum(dim=1).max()))
                c = None if Ct is None else Ct[s : s + batch_size]
                out.append(group_forward(self.P, self.table, self.config, z[:, :m], f[:, :m],
                                         c, tokens=self.tokens).double().numpy())
        return np.concatenate(out, axis=1) if out else np.zeros((self.n_members, 0))


def _clip_per_member(params: Sequence[torch.Tensor], max_norm: float) -> None:
    # each member's gradient clipped by its own norm, as clip_grad_norm_ on one network does
    grads = [p.grad for p in params if p.grad is not None]
    sq = sum(g.reshape(g.shape[0], -1).pow(2).sum(dim=1) for g in grads)
    coef = (max_norm / (torch.sqrt(sq) + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(coef.view(-1, *([1] * (g.dim() - 1))))


def train_group(
    nets: Sequence[CompositionNet],
    Z: np.ndarray,
    F: np.ndarray,
    C: np.ndarray | None,
    y: np.ndarray,
    *,
    config: TrainConfig,
    seeds: Sequence[int],
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Train ``nets`` (same architecture) together; their weights are updated in place.

    The same loop as :func:`~jupyter_matopt.models.deep._train.train_network` (AdamW,
    warm-up then cosine decay per step, gradient norm clipped at 5 per member), with member
    ``i`` drawing its own batch order from ``seeds[i]``. Each member's loss is the mean over
    its own batch and the members' losses are summed, so each receives exactly its own
    gradient.
    """
    M = len(nets)
    P = stack_parameters(nets, trainable=True)
    table = nets[0].table.detach()
    cfg = dict(nets[0].config)
    torch.manual_seed(int(seeds[0]))  # dropout masks
    gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
    Zt, Ft, Ct = as_tensors(Z, F, C)
    count = (Zt > 0).sum(dim=1)
    yt = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))
    n = len(yt)
    bs = max(1, min(int(config.batch_size), n))
    steps_per_epoch = max(1, n // bs)  # the ragged last batch is dropped, as in train_network
    total = steps_per_epoch * int(config.epochs)
    warm = max(1, int(config.warmup * total))
    enc = [t for k, t in P.items() if k.startswith(ENCODER_PREFIXES)]
    head = [t for k, t in P.items() if not k.startswith(ENCODER_PREFIXES)]
    opt = torch.optim.AdamW(
        [{"params": enc, "lr": config.lr * config.encoder_lr_ratio},
         {"params": head, "lr": config.lr}],
        weight_decay=config.weight_decay, foreach=True,
    )

    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(warm, total))
    lossf = _loss(config.loss)
    params = enc + head
    for epoch in range(int(config.epochs)):
        perms = torch.stack([torch.randperm(n, generator=g) for g in gens])
        for s in range(steps_per_epoch):
            idx = perms[:, s * bs : (s + 1) * bs]  # (M, bs)
            m = max(1, int(count[idx].max()))
            z, f = Zt[:, :m][idx], Ft[:, :m][idx]
            c = None if Ct is None else Ct[idx]
            out = group_forward(P, table, cfg, z, f, c, training=True)
            target = yt[idx]
            # the mean over all M * bs entries times M: each member's own batch mean, summed
            loss = lossf(out, target) * M
            opt.zero_grad(set_to_none=True)
            loss.backward()
            _clip_per_member(params, 5.0)
            opt.step()
            sched.step()
        if progress is not None:
            progress(epoch + 1, int(config.epochs))
    with torch.no_grad():
        for i, net in enumerate(nets):
            for name, p in net.named_parameters():
                p.copy_(P[name][i])
    for net in nets:
        net.eval()
