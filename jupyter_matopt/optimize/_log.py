"""Append-only campaign log: a header line, then one fsynced JSON line per ``tell``.

A process killed while appending leaves at most one incomplete last line (no trailing
newline, or text that does not parse); reading drops it with a warning that names the file
and the line, and truncates the file back to its last complete line so later appends start
clean. Any other damage is an error: the log is never silently rewritten.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

__all__ = ["CampaignError", "CampaignWarning", "FORMAT", "create_log", "append_record",
           "read_log", "dumps"]

#: The ``kind`` of the header line.
FORMAT = "jupyter_matopt.campaign"


class CampaignError(ValueError):
    """A campaign input or file that cannot be accepted, with the reason."""


class CampaignWarning(UserWarning):
    """Something in a campaign file was repaired (an interrupted last write was dropped)."""


def dumps(obj: Any) -> str:
    """Compact JSON with round-trip floats (``repr``); NaN and infinity are refused."""
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # not possible on some platforms (Windows); the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def create_log(path: str | os.PathLike[str], header: dict[str, Any],
               records: list[dict[str, Any]] = ()) -> None:  # type: ignore[assignment]
    """Write a new log atomically (temp file, fsync, ``os.replace``, fsync of the folder)."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    text = "".join(dumps(r) + "\n" for r in [header, *records])
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(folder)


def append_record(path: str | os.PathLike[str], record: dict[str, Any]) -> None:
    """Append one record as one line and fsync it before returning.

    On failure the file is truncated back to its previous length, so a failed ``tell``
    leaves the log as it was.
    """
    data = (dumps(record) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        start = os.fstat(fd).st_size
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        except BaseException:
            try:
                os.ftruncate(fd, start)
                os.fsync(fd)
            except OSError:
                pass
            raise
    finally:
        os.close(fd)


def read_log(path: str | os.PathLike[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read a log: ``(header, records)``.

    Raises:
        CampaignError: if the file is missing, is not a campaign log, or is damaged anywhere
            but in its last line.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CampaignError(f"campaign file {str(path)!r} does not exist") from None
    except OSError as e:
        raise CampaignError(f"cannot read campaign file {str(path)!r}: {e}") from None
    lines = raw.split(b"\n")
    tail = lines.pop()  # text after the last newline: b"" when the file ends cleanly
    parsed: list[dict[str, Any]] = []
    good_end = 0
    bad_line: int | None = None
    for i, line in enumerate(lines):
        try:
            obj = json.loads(line.decode("utf-8"))
            if not isinstance(obj, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError):
            if i == len(lines) - 1 and not tail:
                bad_line = i + 1  # a complete-looking last line that does not parse
                break
            raise CampaignError(
                f"campaign file {str(path)!r} is damaged at line {i + 1} (not valid JSON); "
                "it was not written by an interrupted tell, so it is left untouched"
            ) from None
        parsed.append(obj)
        good_end += len(line) + 1
    if tail:
        bad_line = len(lines) + 1
    if not parsed or parsed[0].get("kind") != FORMAT:
        raise CampaignError(
            f"{str(path)!r} is not a jupyter_matopt campaign file (its first line should be a "
            f"header with kind={FORMAT!r})"
        )
    if bad_line is not None:
        warnings.warn(
            f"campaign file {str(path)!r}: line {bad_line} is incomplete (a write was "
            f"interrupted) and was dropped; the file was truncated to its {len(parsed)} "
            "complete lines",
            CampaignWarning,
            stacklevel=3,
        )
        with open(path, "r+b") as f:
            f.truncate(good_end)
            f.flush()
            os.fsync(f.fileno())
    header, records = parsed[0], parsed[1:]
    for j, r in enumerate(records):
        if r.get("kind") != "tell":
            raise CampaignError(
                f"campaign file {str(path)!r}: line {j + 2} is not a tell record"
            )
    return header, records
