"""The batched ensemble computes what the separate networks compute (outputs and gradients)."""

from __future__ import annotations

import numpy as np
import pytest


def _nets(n_cond: int, n: int = 3):
    import torch

    from jupyter_matopt.models.deep._encoding import element_table
    from jupyter_matopt.models.deep._net import CompositionNet

    nets = []
    for seed in range(n):
        torch.manual_seed(seed)
        net = CompositionNet(element_table(), n_cond=n_cond, head_dropout=0.0)
        with torch.no_grad():  # the learned per-element part starts at zero: make it count
            net.elem.weight.normal_(0.0, 0.3)
            for name, p in net.named_parameters():  # layer norms away from (1, 0) too
                if "norm" in name:
                    p.normal_(1.0 if name.endswith("weight") else 0.0, 0.2)
        nets.append(net)
    return nets


def _batch(rows: int = 24, width: int = 6, n_cond: int = 2):
    rng = np.random.default_rng(1)
    Z = np.zeros((rows, width), dtype=np.int64)
    F = np.zeros((rows, width), dtype=np.float32)
    for i in range(rows):
        k = int(rng.integers(1, width + 1))
        Z[i, :k] = rng.choice(np.arange(1, 95), k, replace=False)
        F[i, :k] = rng.dirichlet(np.ones(k))
    C = rng.normal(size=(rows, n_cond)).astype(np.float32)
    return Z, F, C


@pytest.mark.parametrize("n_cond", [0, 2])
def test_grouped_predictions_equal_each_network(n_cond):
    import torch

    from jupyter_matopt.models.deep._group import GroupedEnsemble

    nets = _nets(n_cond)
    Z, F, C = _batch(n_cond=n_cond)
    got = GroupedEnsemble(nets).predict(Z, F, C if n_cond else None)
    assert got.shape == (len(nets), len(Z))
    for i, net in enumerate(nets):
        net.eval()
        with torch.no_grad():
            want = net(torch.from_numpy(Z), torch.from_numpy(F),
                       torch.from_numpy(C) if n_cond else None).numpy()
        np.testing.assert_allclose(got[i], want, rtol=1e-5, atol=1e-5)
    # a row's output does not depend on the rows batched with it
    alone = GroupedEnsemble(nets).predict(Z[3:4], F[3:4], C[3:4] if n_cond else None)
    np.testing.assert_allclose(alone[:, 0], got[:, 3], rtol=1e-12, atol=1e-12)


def test_grouped_gradients_equal_each_network():
    import torch

    from jupyter_matopt.models.deep._group import group_forward, stack_parameters

    nets = _nets(2)
    Z, F, C = _batch()
    P = stack_parameters(nets, trainable=True)
    # each member its own batch (training draws one per member)
    order = [np.random.default_rng(s).permutation(len(Z))[:16] for s in range(len(nets))]
    Zm = torch.from_numpy(np.stack([Z[o] for o in order]))
    Fm = torch.from_numpy(np.stack([F[o] for o in order]))
    Cm = torch.from_numpy(np.stack([C[o] for o in order]))
    out = group_forward(P, nets[0].table, nets[0].config, Zm, Fm, Cm, training=True)
    (out * torch.linspace(-1, 1, 16)).sum().backward()
    for i, net in enumerate(nets):
        net.train()
        net.zero_grad()
        o = net(Zm[i], Fm[i], Cm[i])
        np.testing.assert_allclose(out[i].detach().numpy(), o.detach().numpy(), atol=1e-5)
        (o * torch.linspace(-1, 1, 16)).sum().backward()
        for name, p in net.named_parameters():
            np.testing.assert_allclose(P[name].grad[i].numpy(), p.grad.numpy(), atol=2e-5,
                                       err_msg=name)


def test_training_together_moves_every_member_and_keeps_them_apart(small_steels):
    from jupyter_matopt.models import PropertyModel

    m = PropertyModel(backend="attention", n_ensemble=3, seed=0, calibrate=False,
                      params={"epochs": 2}).fit(small_steels)
    b = m.backend_
    seeds = m._member_seeds(3)
    heads = []
    for seed, net in zip(seeds, b.members, strict=True):
        start = b._new_net(b.resolved, 0, int(seed))  # the member's initialization
        w, w0 = net.head[0].weight.detach().numpy(), start.head[0].weight.detach().numpy()
        assert not np.allclose(w, w0)  # trained weights were written back to every member
        heads.append(w)
    assert not np.allclose(heads[0], heads[1]) and not np.allclose(heads[1], heads[2])


def test_batched_fraction_features_equal_the_module_ones():
    import torch

    from jupyter_matopt.models.deep._group import _fraction_features
    from jupyter_matopt.models.deep._net import fraction_features

    f = torch.rand(40, 7, generator=torch.Generator().manual_seed(0))
    f[f < 0.3] = 0.0  # padding
    f[0, 0] = 1e-6  # a trace amount
    for dtype in (torch.float32, torch.float64):
        assert torch.equal(_fraction_features(f.to(dtype)), fraction_features(f.to(dtype)))
