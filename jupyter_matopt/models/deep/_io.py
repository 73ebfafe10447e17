"""Safetensors persistence of attention networks (no pickle: tensors + JSON only)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .._errors import ModelFileError
from ._torch import require_safetensors

__all__ = ["state_to_bytes", "state_from_bytes", "sha256_bytes", "PRETRAINED_DIR"]

PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def state_to_bytes(state: dict[str, Any], meta: dict[str, Any] | None = None) -> bytes:
    """Serialize a ``{name: tensor}`` dict (contiguous CPU copies) with JSON metadata."""
    st = require_safetensors()
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}
    extra = {"meta": json.dumps(meta or {}, sort_keys=True)}
    return bytes(st.save(tensors, metadata=extra))


def state_from_bytes(data: bytes, *, source: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Tensors and metadata from safetensors bytes; any damage raises :class:`ModelFileError`."""
    st = require_safetensors()
    try:
        tensors = st.load(data)
        # the metadata sits in the JSON header: 8-byte little-endian length, then the header
        n = int.from_bytes(data[:8], "little")
        header = json.loads(data[8 : 8 + n])
        meta = json.loads((header.get("__metadata__") or {}).get("meta", "{}"))
    except Exception as exc:  # safetensors raises its own error types on damaged headers
        raise ModelFileError(f"{source} is not a readable safetensors weights file: {exc}") from exc
    if not isinstance(meta, dict):
        raise ModelFileError(f"{source}: weights metadata is not a JSON object")
    return tensors, meta
