"""On-disk cache of relaxation results: one JSON file per key, so it survives a restart.

JSON only (no pickle): the relaxed structure is stored as pymatgen's ``as_dict()``. Files are
written to a temporary name and renamed, so parallel processes never read a half-written one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["ResultCache", "default_stability_cache"]


def default_stability_cache() -> Path:
    """``$MATOPT_CACHE_DIR/stability`` (``~/.cache/jupyter_matopt/stability`` by default)."""
    from ..data import default_cache_dir

    return default_cache_dir() / "stability"


class ResultCache:
    """A folder of JSON files keyed by a JSON-able key (composition, prototype, potential...).

    Args:
        folder: Where the files go; ``None`` disables the cache (every lookup misses).
    """

    def __init__(self, folder: str | os.PathLike[str] | None) -> None:
        self.folder = Path(folder).expanduser() if folder is not None else None

    def _path(self, key: dict[str, Any]) -> Path | None:
        if self.folder is None:
            return None
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]
        return self.folder / f"{digest}.json"

    def get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        """The stored value for ``key``, or None (also for an unreadable file)."""
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if data.get("key") != json.loads(json.dumps(key)):
            return None  # a hash collision or an edited file: recompute
        value = data.get("value")
        return value if isinstance(value, dict) else None

    def put(self, key: dict[str, Any], value: dict[str, Any]) -> None:
        """Store ``value`` (JSON-able) for ``key``; a cache that cannot be written is skipped."""
        path = self._path(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"key": key, "value": value}, fh)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only cache folder only costs recomputation
