"""Helpers shared by the model tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


def rehash(path: Path, edit: Callable[[dict[str, Any]], Any] | None = None) -> None:
    """Make metadata consistent with the files again, as a deliberate tamperer would."""
    from jupyter_matopt.models._persist import _canonical, _sha256

    meta = json.loads((path / "metadata.json").read_text())
    if edit is not None:
        edit(meta)
    meta.pop("metadata_sha256", None)
    meta["files"] = {n: _sha256((path / n).read_bytes()) for n in meta["files"]}
    meta["metadata_sha256"] = _sha256(_canonical(meta))
    (path / "metadata.json").write_text(json.dumps(meta))
