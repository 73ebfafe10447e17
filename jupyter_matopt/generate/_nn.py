"""A small numpy multilayer perceptron with hand-written gradients and Adam.

Kept in numpy so the generator runs in the base install (no torch): the networks are a few
thousand parameters over at most ~100 inputs, where numpy's BLAS is as fast as torch on CPU.
Parameters are plain float64 arrays, saved as JSON-compatible lists.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["MLP", "Adam", "EarlyStopping", "softmax", "imq_mmd"]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large logits; rows sum to 1."""
    z = logits - logits.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


class MLP:
    """``x -> tanh(W1 x + b1) -> ... -> W_L h + b_L`` (linear output).

    Args:
        sizes: Layer widths, input first and output last.
        rng: Generator for the Glorot-uniform initialization.
    """

    def __init__(self, sizes: list[int], rng: np.random.Generator) -> None:
        self.sizes = list(sizes)
        self.params: list[np.ndarray] = []
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            lim = np.sqrt(6.0 / (a + b))
            self.params.append(rng.uniform(-lim, lim, size=(a, b)))
            self.params.append(np.zeros(b))
        self._cache: list[np.ndarray] = []

    def forward(self, x: np.ndarray, *, store: bool = False) -> np.ndarray:
        """Output for a batch ``x`` of shape ``(n, sizes[0])``; ``store`` keeps activations."""
        h = x
        cache = [h]
        n_layers = len(self.params) // 2
        for i in range(n_layers):
            h = h @ self.params[2 * i] + self.params[2 * i + 1]
            if i < n_layers - 1:
                h = np.tanh(h)
            cache.append(h)
        if store:
            self._cache = cache
        return h

    def backward(self, grad_out: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Gradients of the stored forward pass: ``(d loss / d x, parameter gradients)``."""
        cache = self._cache
        n_layers = len(self.params) // 2
        grads: list[np.ndarray] = [np.empty(0)] * len(self.params)
        g = grad_out
        for i in reversed(range(n_layers)):
            if i < n_layers - 1:
                g = g * (1.0 - cache[i + 1] ** 2)  # tanh'
            grads[2 * i] = cache[i].T @ g
            grads[2 * i + 1] = g.sum(axis=0)
            g = g @ self.params[2 * i].T
        return g, grads

    def to_list(self) -> list[Any]:
        return [p.tolist() for p in self.params]

    @classmethod
    def from_list(cls, sizes: list[int], params: list[Any]) -> MLP:
        m = cls.__new__(cls)
        m.sizes = list(sizes)
        m.params = [np.asarray(p, dtype=float) for p in params]
        m._cache = []
        return m


class Adam:
    """Adam (Kingma & Ba, 2015) over a list of parameter arrays, updated in place."""

    def __init__(self, params: list[np.ndarray], lr: float = 2e-3, betas: tuple[float, float]
                 = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        self.params = params
        self.lr = lr
        self.b1, self.b2 = betas
        self.eps = eps
        self.wd = weight_decay
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads: list[np.ndarray], lr: float | None = None) -> None:
        self.t += 1
        lr = self.lr if lr is None else lr
        c1 = 1.0 - self.b1 ** self.t
        c2 = 1.0 - self.b2 ** self.t
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            if self.wd and p.ndim > 1:
                g = g + self.wd * p
            m *= self.b1
            m += (1.0 - self.b1) * g
            v *= self.b2
            v += (1.0 - self.b2) * g * g
            p -= lr * (m / c1) / (np.sqrt(v / c2) + self.eps)


def imq_mmd(z: np.ndarray, prior: np.ndarray, scale: float) -> tuple[float, np.ndarray]:
    """MMD^2 with the inverse multiquadratic kernel and its gradient with respect to ``z``.

    ``k(a, b) = C / (C + |a - b|^2)`` with ``C = 2 d scale^2``, the kernel of the WAE-MMD of
    Tolstikhin et al., "Wasserstein Auto-Encoders", ICLR 2018 (unbiased U-statistic).
    """
    n, d = z.shape
    m = len(prior)
    C = 2.0 * d * scale**2

    def kern(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        r2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
        return C / (C + np.maximum(r2, 0.0))

    kzz = kern(z, z)
    np.fill_diagonal(kzz, 0.0)
    kpp = kern(prior, prior)
    np.fill_diagonal(kpp, 0.0)
    kzp = kern(z, prior)
    mmd = kzz.sum() / (n * (n - 1)) + kpp.sum() / (m * (m - 1)) - 2.0 * kzp.mean()
    # d k(a, b) / d a = -2 (a - b) k^2 / C; sum_j w_ij (z_i - b_j) = z_i sum_j w_ij - (W b)_i
    wzz = kzz**2 * (-2.0 / C)
    wzp = kzp**2 * (-2.0 / C)
    gz = 2.0 * (z * wzz.sum(1)[:, None] - wzz @ z) / (n * (n - 1))
    gz -= 2.0 * (z * wzp.sum(1)[:, None] - wzp @ prior) / (n * m)
    return float(mmd), gz


class EarlyStopping:
    """Keeps a copy of the parameters with the lowest held-out loss; says stop after
    ``patience`` checks without an improvement of at least ``min_delta`` (relative)."""

    def __init__(self, patience: int = 5, min_delta: float = 1e-3) -> None:
        self.patience = patience
        self.min_delta = min_delta
        self.best = np.inf
        self.best_params: list[np.ndarray] | None = None
        self.bad = 0
        self.checks = 0

    def update(self, loss: float, params: list[np.ndarray]) -> bool:
        self.checks += 1
        if loss < self.best * (1.0 - self.min_delta):
            self.best, self.bad = loss, 0
            self.best_params = [p.copy() for p in params]
        else:
            self.bad += 1
        return self.bad >= self.patience

    def restore(self, params: list[np.ndarray]) -> None:
        """Copy the best parameters back in place (the optimizer holds these arrays)."""
        if self.best_params is not None:
            for p, b in zip(params, self.best_params, strict=True):
                p[...] = b
