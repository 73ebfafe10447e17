"""CompositionGenerator: an autoencoder over composition vectors with a Gaussian mixture in
its latent space (the recipe of Rao et al., Science 378, 78 (2022), doi:10.1126/science.abo4940).

Implementation choice: numpy, not torch. The networks are two small tanh MLPs (inputs are at
most ~100 element fractions), trained with hand-written gradients and Adam; at this size numpy
trains as fast as torch on 2 CPU cores, and keeping it in numpy keeps generation in the base
install (no ``deep`` extra) and loads no torch at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..core import CompositionSpace
from ..core.composition import CompositionError, fractions_matrix, to_formula
from ..core.elements import ATOMIC_NUMBER
from ._common import GenerateError, _dataset_parts, _positive_int, formulas
from ._nn import MLP, Adam, EarlyStopping, imq_mmd, softmax
from ._sampling import RULES, draw, fit_rules, latent_draw

__all__ = ["CompositionGenerator", "GenerateError", "formulas"]

Kind = Literal["wae", "vae"]


class CompositionGenerator:
    """Learns where real compositions live and proposes new ones.

    An encoder maps a composition vector (fractions over the training set's elements, zeros
    included) to a latent point; a decoder maps latent points back to fractions through a
    softmax, so every decoded vector sums to 1. ``kind="wae"`` regularizes the latent codes
    towards a standard normal with an MMD penalty (Wasserstein autoencoder, Tolstikhin et al.,
    ICLR 2018; Rao et al. 2022), ``kind="vae"`` with the KL term of a variational autoencoder
    (Kingma & Welling, ICLR 2014). A Gaussian mixture (scikit-learn) fitted to the training
    codes is what :meth:`sample` draws from. With ``conditional=True`` the standardized
    property is an input of both networks (CVAE-style) and sampling fixes it.

    Decoded fractions are post-processed into candidates: a fraction below a presence
    threshold is set to 0 (calibrated so that the training set's reconstructions have its
    element counts, and never below half the smallest non-zero training fraction of that
    element), at most as many elements as the most complex training composition are kept,
    and for compound data (``snap``) each row is moved to the nearest small integer formula
    (rows without one within ``snap_tol`` are dropped). With a ``space`` every candidate is
    then projected into it (:meth:`CompositionSpace.project`: bounds, fixed elements, grid
    step, max components) and duplicates are removed.

    Args:
        kind: ``"wae"`` or ``"vae"``.
        latent_dim: Size of the latent space (default: a fifth of the number of elements,
            between 8 and 16).
        conditional: Condition both networks on the property.
        hidden: Widths of the hidden layers of the encoder (the decoder mirrors them;
            default ``(max(96, 2k), max(48, k))`` for ``k`` elements).
        n_mixture: Components of the latent Gaussian mixture (at most one per 10 rows).
        n_steps: Gradient steps (default: enough for ~60 epochs, between 1,500 and 4,000,
            stopped early when the reconstruction of a held-out tenth of the rows has not
            improved for 500 steps; sets of 200 rows or more).
        batch_size: Rows per step.
        lr: Adam learning rate (cosine-decayed to a tenth).
        mmd_weight: Weight of the WAE's MMD penalty.
        beta: Weight of the VAE's KL term.
        space: Constraints every returned candidate satisfies; its components must be
            element symbols.
        snap: Snap candidates to integer formulas: ``"auto"`` (when most training formulas
            are written with integer amounts only, like ``Ta2TeZr``), True or False.
        max_atoms: Largest formula unit when snapping (default: the 95th percentile of the
            training formulas', at least 8, at most 30).
        snap_tol: Largest change of any fraction when snapping.
        rules: Plausibility filter of :meth:`sample` (candidates are drawn until enough
            pass; ``last_draw_["rejection_rate"]`` says how many did not): ``"compound"``
            (SMACT charge neutrality and electronegativity balance), ``"alloy"`` (the
            solid-solution rule for alloys, the compound rules for compounds), None, or
            ``"auto"``: ``"compound"`` when at least 10 % of the training rows are
            compounds, else None. ``training_validity_`` holds the training set's own
            validity (the ceiling without a filter).
        focus_share: Share of best training rows whose latent codes get their own mixture
            for ``sample(..., focus="max"|"min")``.
        seed: Seed of the initialization and of training.
        callback: ``callback(event, done, total, message)`` progress hook.

    Example:
        >>> gen = CompositionGenerator(kind="wae").fit(ds)            # doctest: +SKIP
        >>> cands = gen.sample(10_000, seed=0)                        # doctest: +SKIP
    """

    def __init__(
        self,
        kind: Kind = "wae",
        *,
        latent_dim: int | None = None,
        conditional: bool = False,
        hidden: Sequence[int] | None = None,
        n_mixture: int = 12,
        n_steps: int | None = None,
        batch_size: int = 128,
        lr: float = 3e-3,
        mmd_weight: float = 1.0,
        beta: float = 0.05,
        space: CompositionSpace | None = None,
        snap: bool | Literal["auto"] = "auto",
        max_atoms: int | None = None,
        snap_tol: float = 0.03,
        rules: str | None = "auto",
        focus_share: float = 0.2,
        seed: int = 0,
        callback: Callable[[str, int, int | None, str], None] | None = None,
    ) -> None:
        if kind not in ("wae", "vae"):
            raise GenerateError(f"kind must be 'wae' or 'vae', got {kind!r}")
        self.kind = kind
        self.latent_dim = None if latent_dim is None else _positive_int("latent_dim",
                                                                          latent_dim)
        self.conditional = bool(conditional)
        self.hidden = None if hidden is None else tuple(
            _positive_int("hidden", h) for h in hidden)
        self.n_mixture = _positive_int("n_mixture", n_mixture)
        self.n_steps = None if n_steps is None else _positive_int("n_steps", n_steps)
        self.batch_size = _positive_int("batch_size", batch_size)
        if not (isinstance(lr, (int, float)) and lr > 0):
            raise GenerateError(f"lr must be a positive number, got {lr!r}")
        self.lr = float(lr)
        self.mmd_weight = float(mmd_weight)
        self.beta = float(beta)
        if space is not None:
            self._check_space(space)
        self.space = space
        if snap not in (True, False, "auto"):
            raise GenerateError(f"snap must be True, False or 'auto', got {snap!r}")
        self.snap = snap
        self.max_atoms = None if max_atoms is None else _positive_int("max_atoms", max_atoms)
        if not (0 < snap_tol < 0.5):
            raise GenerateError(f"snap_tol must be in (0, 0.5), got {snap_tol!r}")
        self.snap_tol = float(snap_tol)
        if rules not in RULES:
            raise GenerateError(f"rules must be one of {RULES}, got {rules!r}")
        self.rules = rules
        if not (0 < focus_share < 1):
            raise GenerateError(f"focus_share must be in (0, 1), got {focus_share!r}")
        self.focus_share = float(focus_share)
        self.seed = int(seed)
        self.callback = callback
        self.fitted_ = False

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _check_space(space: Any) -> None:
        if not isinstance(space, CompositionSpace):
            raise GenerateError(f"space must be a CompositionSpace, got {type(space).__name__}")
        if not space.is_elemental:
            raise GenerateError(
                f"space components must be element symbols to generate compositions, got "
                f"{space.components}"
            )

    def _require_fit(self) -> None:
        if not self.fitted_:
            raise GenerateError("the generator is not fitted yet: call fit(dataset) first")

    @property
    def elements(self) -> tuple[str, ...]:
        """Columns of the returned candidates: the space's components, else the training
        set's elements (ordered by atomic number)."""
        if self.space is not None:
            return tuple(self.space.components)
        self._require_fit()
        return tuple(self.elements_)

    def _progress(self, event: str, done: int, total: int | None, message: str = "") -> None:
        if self.callback is not None:
            self.callback(event, done, total, message)

    def _as_matrix(self, compositions: Any) -> np.ndarray:
        """Fractions over ``elements_`` of formulas, mappings, a DataFrame or an array."""
        if isinstance(compositions, np.ndarray) and compositions.dtype.kind in "fiu":
            X = np.atleast_2d(np.asarray(compositions, dtype=float))
            if X.shape[1] != len(self.elements_):
                raise GenerateError(
                    f"a fraction array must have {len(self.elements_)} columns "
                    f"({list(self.elements_)}), got shape {X.shape}"
                )
        elif isinstance(compositions, pd.DataFrame):
            cols = [c for c in compositions.columns if c in self.elements_]
            X = np.zeros((len(compositions), len(self.elements_)))
            pos = {e: j for j, e in enumerate(self.elements_)}
            for c in cols:
                X[:, pos[c]] = compositions[c].to_numpy(float)
        else:
            items = [compositions] if isinstance(compositions, (str, dict)) else list(
                compositions)
            try:
                X, _ = fractions_matrix(items, list(self.elements_))
            except CompositionError as e:
                raise GenerateError(
                    f"{e} (the generator knows only its training elements)") from None
        if not np.all(np.isfinite(X)) or (X < 0).any() or (X.sum(axis=1) <= 0).any():
            raise GenerateError("compositions must have finite, non-negative amounts")
        return X / X.sum(axis=1, keepdims=True)

    def _cond_column(self, n: int, condition: float | None) -> np.ndarray:
        if not self.conditional:
            return np.zeros((n, 0))
        c = self.default_condition_ if condition is None else float(condition)
        if not math.isfinite(c):
            raise GenerateError(f"condition must be a finite number, got {condition!r}")
        return np.full((n, 1), (c - self.y_mean_) / self.y_std_)

    # ---------------------------------------------------------------------- fit
    def fit(self, data: Any, y: Any = None) -> CompositionGenerator:
        """Train the autoencoder and the latent mixture.

        Args:
            data: A :class:`~jupyter_matopt.data.Dataset`, a list of formulas or mappings,
                or a DataFrame with element columns.
            y: The property, when ``data`` is not a Dataset (needed for ``conditional``; also
                stored to colour the latent map).

        Returns:
            self.

        Raises:
            GenerateError: for too few compositions, a missing property when conditional,
                or unparseable compositions.
        """
        from threadpoolctl import threadpool_limits

        # tiny matrices: BLAS and OpenMP (k-means) threads only add contention (7x slower
        # on a loaded 2-core box)
        with threadpool_limits(1):
            return self._fit(data, y)

    def _fit(self, data: Any, y: Any) -> CompositionGenerator:
        comps, X, els, yy, target = self._training_matrix(data, y)
        self.elements_ = list(els)
        self.training_formulas_ = [c if isinstance(c, str) else to_formula(c) for c in comps]
        self.target_ = target
        self.training_X_ = X
        self.training_y_ = yy
        k = len(els)
        self.latent_dim_ = self.latent_dim or int(np.clip(round(k / 5), 8, 16))
        self.hidden_ = self.hidden or (max(96, 2 * k), max(48, k))
        steps, C = self._train_networks(X, yy)
        # post-processing statistics of the training compositions
        nz = np.where(X > 0, X, np.inf).min(axis=0)
        self.min_fraction_ = np.where(np.isfinite(nz), 0.5 * nz, 1.0)
        self.max_components_ = int((X > 0).sum(axis=1).max())
        self.min_components_ = int((X > 0).sum(axis=1).min())
        self._fit_snap(X)
        self.rules_, self.training_validity_ = fit_rules(X, self.elements_, self.rules)
        self.fitted_ = True
        Z = self.encode(X, condition=yy if self.conditional else None)
        self.training_latent_ = Z
        self._fit_presence(X, self.decode(Z, condition=None) if not self.conditional else
                           softmax(self.decoder_.forward(np.hstack([Z, C]))))
        self._fit_mixtures(Z, yy)
        # share of decoded points that become candidates: sizes sample's first round
        _, st = draw(self, 1000, np.random.default_rng(self.seed), None, self.space, None, 0.5)
        self.accept_rate_ = max(st["returned"] / st["drawn"], 1e-3)
        self._progress("done", steps, steps, "fitted")
        return self

    def _training_matrix(
        self, data: Any, y: Any
    ) -> tuple[list[Any], np.ndarray, list[str], np.ndarray | None, str | None]:
        """Compositions, their fraction matrix over the training (and space) elements, the
        property and its name, checked."""
        comps, yy, target = _dataset_parts(data, y)
        if len(comps) < 10:
            raise GenerateError(f"fit needs at least 10 compositions, got {len(comps)}")
        try:
            X, els = fractions_matrix(comps)
        except CompositionError as e:
            raise GenerateError(str(e)) from None
        X = X / X.sum(axis=1, keepdims=True)
        els = sorted(els, key=ATOMIC_NUMBER.__getitem__)
        if yy is not None:
            if yy.shape != (len(X),):
                raise GenerateError(f"y must have one value per composition ({len(X)}), "
                                    f"got shape {yy.shape}")
        if self.conditional:
            if yy is None or not np.all(np.isfinite(yy)):
                raise GenerateError("conditional=True needs a finite property for every row "
                                    "(a Dataset, or y=)")
        if self.space is not None:
            missing = [c for c in self.space.components if c not in els]
            if missing:
                # elements of the space unseen in training still get a column (always 0 in
                # decoded rows; the projection may raise them to their lower bounds)
                els = sorted([*els, *missing], key=ATOMIC_NUMBER.__getitem__)
                X, _ = fractions_matrix(comps, els)
                X = X / X.sum(axis=1, keepdims=True)
        return comps, X, els, yy, target

    def _train_networks(self, X: np.ndarray, yy: np.ndarray | None) -> tuple[int, np.ndarray]:
        """Train encoder and decoder; returns the number of steps and the condition column."""
        k, d = X.shape[1], self.latent_dim_
        rng = np.random.default_rng(self.seed)
        mean = X.mean(axis=0)
        std = np.maximum(X.std(axis=0), 1e-3)
        self.x_mean_, self.x_std_ = mean, std
        c_dim = 1 if self.conditional else 0
        if self.conditional:
            assert yy is not None
            self.y_mean_ = float(yy.mean())
            self.y_std_ = float(yy.std()) or 1.0
            self.default_condition_ = float(np.quantile(yy, 0.95))
            C = ((yy - self.y_mean_) / self.y_std_)[:, None]
        else:
            C = np.zeros((len(X), 0))
        enc_out = d if self.kind == "wae" else 2 * d
        self.encoder_ = MLP([k + c_dim, *self.hidden_, enc_out], rng)
        self.decoder_ = MLP([d + c_dim, *self.hidden_[::-1], k], rng)
        params = self.encoder_.params + self.decoder_.params
        opt = Adam(params, lr=self.lr, weight_decay=1e-5)
        n = len(X)
        B = min(self.batch_size, n)
        steps = self.n_steps or int(np.clip(60 * math.ceil(n / B), 1500, 4000))
        Xs = (X - mean) / std
        n_enc = len(self.encoder_.params)
        history = []
        rows, val, stop = np.arange(n), None, EarlyStopping(patience=5)
        if self.n_steps is None and n >= 200:
            # early stopping on a held-out tenth; the mixture and post-processing use all rows
            perm = rng.permutation(n)
            val, rows = perm[: n // 10], perm[n // 10:]
            n, B = len(rows), min(B, len(rows))
        for t in range(steps):
            idx = rows[rng.choice(n, B, replace=False) if n > B else rng.permutation(n)]
            xb, tb, cb = Xs[idx], X[idx], C[idx]
            h = self.encoder_.forward(np.hstack([xb, cb]), store=True)
            if self.kind == "wae":
                z = h
            else:
                mu, lv = h[:, :d], np.clip(h[:, d:], -8.0, 8.0)
                eps = rng.standard_normal(mu.shape)
                sd = np.exp(0.5 * lv)
                z = mu + eps * sd
            p = softmax(self.decoder_.forward(np.hstack([z, cb]), store=True))
            rec = float(-(tb * np.log(p + 1e-12)).sum() / len(idx))
            g_in, g_dec = self.decoder_.backward((p - tb) / len(idx))
            gz = g_in[:, :d]
            if self.kind == "wae":
                pen, gm = imq_mmd(z, rng.standard_normal((len(idx), d)), 1.0)
                g_h = gz + self.mmd_weight * gm
            else:
                pen = float(-0.5 * (1 + lv - mu**2 - np.exp(lv)).sum() / len(idx))
                g_mu = gz + self.beta * mu / len(idx)
                g_lv = gz * eps * 0.5 * sd + self.beta * 0.5 * (np.exp(lv) - 1.0) / len(idx)
                g_h = np.hstack([g_mu, g_lv])
                pen *= self.beta
            _, g_enc = self.encoder_.backward(g_h)
            lr_t = self.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t / steps)))
            opt.step(g_enc + g_dec, lr=lr_t)
            history.append((rec, pen))
            if t % 250 == 0 or t == steps - 1:
                self._progress("fit", t + 1, steps, f"reconstruction {rec:.4f}")
            if val is not None and (t + 1) % 100 == 0:
                hv = self.encoder_.forward(np.hstack([Xs[val], C[val]]))[:, :d]
                pv = softmax(self.decoder_.forward(np.hstack([hv, C[val]])))
                if stop.update(float(-(X[val] * np.log(pv + 1e-12)).sum() / len(val)), params):
                    break
        stop.restore(params)
        self.n_steps_ = len(history)
        self.encoder_.params = params[:n_enc]
        self.decoder_.params = params[n_enc:]
        self.history_ = np.asarray(history)
        return steps, C

    def _fit_mixtures(self, Z: np.ndarray, yy: np.ndarray | None) -> None:
        """The latent Gaussian mixture, and the focused ones of the best and worst rows."""
        from sklearn.mixture import GaussianMixture

        def mixture(Zs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            m = max(1, min(self.n_mixture, len(Zs) // 10))
            gmm = GaussianMixture(n_components=m, covariance_type="full", reg_covar=1e-4,
                                  random_state=self.seed, n_init=1, max_iter=200)
            gmm.fit(Zs)
            return gmm.weights_, gmm.means_, np.linalg.cholesky(gmm.covariances_)

        self.gmm_weights_, self.gmm_means_, self.gmm_chol_ = mixture(Z)
        # focused mixtures: fitted to the codes of the best fifth of the training rows, for
        # sampling where high (or low) property values live
        self.focus_mixtures_: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        if yy is not None and np.isfinite(yy).all() and len(Z) >= 50:
            for key, sel in (("max", yy >= np.quantile(yy, 1.0 - self.focus_share)),
                             ("min", yy <= np.quantile(yy, self.focus_share))):
                if sel.sum() >= 10:
                    self.focus_mixtures_[key] = mixture(Z[sel])

    def _fit_presence(self, X: np.ndarray, R: np.ndarray) -> None:
        """Calibrate the fraction below which a decoded element counts as absent.

        A softmax never outputs an exact 0, so the cut decides how many elements a candidate
        has. It is the threshold (floored per element at half its smallest training
        fraction) under which the reconstructions of the training set have the element
        counts closest to the training compositions' own (mean absolute difference).
        """
        true = (X > 0).sum(axis=1)
        best_t, best_err = 0.0, np.inf
        for t in np.geomspace(1e-5, 0.3, 48):
            cut = np.maximum(self.min_fraction_, t)
            err = float(np.abs((R >= cut).sum(axis=1) - true).mean())
            if err < best_err - 1e-12:
                best_t, best_err = float(t), err
        self.presence_threshold_ = best_t
        self.presence_error_ = best_err

    def _fit_snap(self, X: np.ndarray) -> None:
        import re

        from ..rules import integer_formulas

        # stoichiometric data (Ta2TeZr, Fe2O3: no decimal amounts in most formulas) is snapped;
        # alloys and doped compounds (Al0.5CoCrFeNi, Pb0.975Ga0.025Te) are continuous
        decimal = re.compile(r"\d*\.\d+")
        stoich = np.mean([isinstance(f, str) and not decimal.search(f)
                          for f in self.training_formulas_])
        snap = self.snap if self.snap != "auto" else bool(stoich >= 0.5)
        self.snap_ = bool(snap)
        if self.max_atoms is not None:
            self.max_atoms_ = self.max_atoms
        else:
            counts, ok = integer_formulas(X, tol=1e-3, max_atoms=30)
            sizes = counts[ok].sum(axis=1)
            self.max_atoms_ = int(np.clip(np.quantile(sizes, 0.95), 8, 30)) if len(sizes) else 8

    # -------------------------------------------------------- encode / decode
    def encode(self, compositions: Any, *, condition: Any = None) -> np.ndarray:
        """Latent codes (the VAE's means) of compositions, ``(n, latent_dim)``.

        Args:
            compositions: Formulas, mappings, a DataFrame with element columns, or an
                ``(n, k)`` array over :attr:`elements_`.
            condition: The property value(s) for a conditional generator (default: the
                default condition, the training set's 95th percentile).
        """
        self._require_fit()
        X = self._as_matrix(compositions)
        Xs = (X - self.x_mean_) / self.x_std_
        if self.conditional:
            if condition is None:
                c = self._cond_column(len(X), None)
            else:
                cv = np.broadcast_to(np.asarray(condition, float), (len(X),))
                c = ((cv - self.y_mean_) / self.y_std_)[:, None]
        else:
            c = np.zeros((len(X), 0))
        h = self.encoder_.forward(np.hstack([Xs, c]))
        return h[:, : self.latent_dim_]

    def decode(self, Z: Any, *, condition: float | None = None) -> np.ndarray:
        """Fractions over :attr:`elements_` decoded from latent points (softmax: each row
        sums to 1 and has no exact zeros; :meth:`sample` post-processes them)."""
        self._require_fit()
        Z = np.atleast_2d(np.asarray(Z, dtype=float))
        if Z.shape[1] != self.latent_dim_ or not np.all(np.isfinite(Z)):
            raise GenerateError(f"latent points must be finite with {self.latent_dim_} columns, "
                                f"got shape {Z.shape}")
        c = self._cond_column(len(Z), condition)
        return softmax(self.decoder_.forward(np.hstack([Z, c])))

    # ------------------------------------------------------------------ sample
    def sample_latent(self, n: int, *, seed: int | np.random.Generator | None = None,
                      focus: str | None = None) -> np.ndarray:
        """Draws from the latent Gaussian mixture, ``(n, latent_dim)``; ``focus="max"`` or
        ``"min"`` draws from the mixture of the best ``focus_share`` of the training rows."""
        self._require_fit()
        if focus is None:
            w, mu, ch = self.gmm_weights_, self.gmm_means_, self.gmm_chol_
        elif focus in self.focus_mixtures_:
            w, mu, ch = self.focus_mixtures_[focus]
        else:
            raise GenerateError(
                f"focus must be None, or 'max'/'min' on a generator fitted with the property "
                f"(at least 50 rows); available: {sorted(self.focus_mixtures_)}, got {focus!r}")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        return latent_draw(rng, w, mu, ch, n)

    def _postprocess(self, P: np.ndarray, space: CompositionSpace | None) -> np.ndarray:
        """Sparsify, snap, project into the space; rows over the output columns."""
        X = np.where(P >= np.maximum(self.min_fraction_, self.presence_threshold_), P, 0.0)
        many = (X > 0).sum(axis=1) > self.max_components_
        if many.any():  # only those rows: a partition of every row costs ~0.2 s per 40k
            Xm = X[many]
            kth = np.partition(Xm, -self.max_components_, axis=1)[:, -self.max_components_]
            X[many] = np.where(Xm >= kth[:, None], Xm, 0.0)
        # fewer elements than any training composition has: not a candidate of this family
        X = X[(X > 0).sum(axis=1) >= self.min_components_]
        X /= X.sum(axis=1, keepdims=True)
        if self.snap_:
            from ..rules import integer_formulas

            counts, ok = integer_formulas(X, tol=self.snap_tol, max_atoms=self.max_atoms_)
            X = counts[ok] / counts[ok].sum(axis=1, keepdims=True)
        if space is None:
            return X
        pos = {e: j for j, e in enumerate(self.elements_)}
        Y = np.zeros((len(X), space.n_components))
        for j, c in enumerate(space.components):
            if c in pos:
                Y[:, j] = X[:, pos[c]]
        # mass on elements outside the space is dropped before the projection
        s = Y.sum(axis=1, keepdims=True)
        Y = np.divide(Y, s, out=np.full_like(Y, 1.0 / Y.shape[1]), where=s > 0)
        Y = space.project(Y)
        Y[np.abs(Y) < 1e-12] = 0.0
        ok = np.asarray(space.contains(Y), dtype=bool).reshape(len(Y))
        return Y[ok]

    def sample_fractions(self, n: int, *, seed: int | np.random.Generator | None = None,
                         condition: float | None = None,
                         space: CompositionSpace | None = None,
                         focus: str | None = None) -> np.ndarray:
        """``n`` candidate fraction rows over :attr:`elements`, distinct at 0.1 at.% (fewer
        only when the constraints admit fewer distinct compositions). The CandidateGenerator
        protocol; the options are as in :meth:`sample`."""
        from threadpoolctl import threadpool_limits

        # one BLAS thread: faster for these small matrices, and equal seeds give equal bits
        with threadpool_limits(1, user_api="blas"):
            return self._sample_fractions(n, seed=seed, condition=condition, space=space,
                                          focus=focus)

    def _sample_fractions(self, n: int, *, seed: int | np.random.Generator | None,
                          condition: float | None, space: CompositionSpace | None,
                          focus: str | None) -> np.ndarray:
        n = _positive_int("n", n)
        self._require_fit()
        space = self.space if space is None else space
        if space is not None:
            self._check_space(space)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        X, self.last_draw_ = draw(self, n, rng, condition, space, focus,
                                  getattr(self, "accept_rate_", 0.5))
        return X

    def sample(self, n: int, *, seed: int | None = None, condition: float | None = None,
               space: CompositionSpace | None = None, focus: str | None = None
               ) -> pd.DataFrame:
        """``n`` new candidate compositions.

        Args:
            n: Number of candidates.
            seed: Seed of the draw.
            condition: Property value to generate at (conditional generators; default the
                training set's 95th percentile).
            space: Constraints for this draw (default: the generator's ``space``).
            focus: ``"max"`` or ``"min"``: sample the latent mixture fitted to the codes of
                the training rows with the highest (lowest) ``focus_share`` of the property,
                instead of all of them.

        Returns:
            A DataFrame with one fraction column per element of :attr:`elements` and a
            ``formula`` column. ``attrs["drawn"]`` holds how many decoded points it took.
        """
        X = self.sample_fractions(n, seed=seed, condition=condition, space=space, focus=focus)
        cols = list(self.elements if space is None else space.components)
        df = pd.DataFrame(X, columns=cols)
        df["formula"] = formulas(X, cols, integer=self.snap_)
        df.attrs.update(self.last_draw_)
        return df

    def interpolate(self, a: Any, b: Any, n: int = 10) -> pd.DataFrame:
        """Decode ``n`` points on the straight latent line from ``a`` to ``b``.

        Returns:
            DataFrame of fractions (raw decoder output, zeros below the training minima
            removed) with ``t`` (0 at ``a``, 1 at ``b``) and ``formula`` columns.
        """
        n = _positive_int("n", n)
        za, zb = self.encode([a]), self.encode([b])
        t = np.linspace(0.0, 1.0, n)[:, None]
        P = self.decode(za + t * (zb - za))
        X = np.where(P >= self.min_fraction_, P, 0.0)
        X /= X.sum(axis=1, keepdims=True)
        df = pd.DataFrame(X, columns=list(self.elements_))
        df.insert(0, "t", t[:, 0])
        df["formula"] = formulas(X, self.elements_)
        return df

    def __repr__(self) -> str:
        state = (f"{len(self.elements_)} elements, {len(self.training_X_)} rows"
                 if self.fitted_ else "not fitted")
        d = getattr(self, "latent_dim_", self.latent_dim)
        return (f"CompositionGenerator(kind={self.kind!r}, latent_dim={d}, "
                f"conditional={self.conditional}; {state})")
