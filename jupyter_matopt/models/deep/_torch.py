"""Lazy PyTorch import with one clear error naming the ``deep`` extra."""

from __future__ import annotations

from typing import Any

from ..backends.base import BackendUnavailableError

__all__ = ["DEEP_INSTALL_HINT", "DeepExtraMissing", "require_torch", "require_safetensors"]

DEEP_INSTALL_HINT = 'pip install "jupyter_matopt[deep]"'


class DeepExtraMissing(BackendUnavailableError):
    """The attention backend needs PyTorch and safetensors (the ``deep`` extra)."""


def require_torch() -> Any:
    """Import and return ``torch``; raise :class:`DeepExtraMissing` when it is not installed."""
    try:
        import torch
    except ImportError as exc:  # also covers a blocked or broken install
        raise DeepExtraMissing(
            f"the attention backend needs PyTorch, which is not installed ({exc}); install the "
            f"deep extra: {DEEP_INSTALL_HINT}"
        ) from exc
    return torch


def require_safetensors() -> Any:
    """Import and return ``safetensors.torch``; clear error naming the extra when absent."""
    require_torch()
    try:
        import safetensors.torch as st
    except ImportError as exc:
        raise DeepExtraMissing(
            f"the attention backend stores weights with safetensors, which is not installed "
            f"({exc}); install the deep extra: {DEEP_INSTALL_HINT}"
        ) from exc
    return st
