"""Deep composition models (attention over the elements present), PyTorch in the ``deep`` extra.

Nothing here imports torch at import time: :func:`require_torch` does, on the first call that
needs it, and raises one clear :class:`DeepExtraMissing` naming the extra when it is absent.
The numpy-only parts (element table, composition encoding, Shapley bookkeeping) live in
:mod:`._encoding` and :mod:`._shapley`; the network in :mod:`._net`; training, ensembles and
fine-tuning in :mod:`._train`; safetensors persistence in :mod:`._io`.
"""

from __future__ import annotations

from ._torch import DEEP_INSTALL_HINT, DeepExtraMissing, require_torch

__all__ = ["DEEP_INSTALL_HINT", "DeepExtraMissing", "require_torch"]
