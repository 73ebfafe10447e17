"""Append-only campaign log: a header line, then one fsynced JSON line per ``tell``.

The file is JSON Lines: blank lines are ignored and the last record may lack its trailing
newline (the next append adds it). A process killed while appending leaves at most one torn
last line (text that does not parse); reading drops it with a warning that names the file and
the line, copies the file to a backup beside it, and truncates the log back to its last
complete record so later appends start clean. A complete record is never dropped, and any
other damage is an error: the log is never silently rewritten. A read-only log with a torn
line is read (with a warning) and left as it is.

Every append takes an advisory lock (``fcntl.flock``) and first checks that the file still
holds the campaign it was opened as (its header's identity), so a ``tell`` never appends to
a path that now holds a different campaign.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["CampaignError", "CampaignWarning", "FORMAT", "create_log", "append_record",
           "read_log", "read_identity", "identity", "dumps"]

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


def identity(header: dict[str, Any]) -> str:
    """What makes a log the same campaign: its creation time, settings, space and pool."""
    try:
        return dumps({k: header.get(k) for k in ("created", "settings", "space", "pool")})
    except ValueError:  # NaN or infinity written into the header by hand
        raise CampaignError("the campaign header holds NaN or infinity") from None


def read_identity(path: str | os.PathLike[str]) -> str:
    """:func:`identity` of the header line of the log at ``path``."""
    with open(path, "rb") as fh:
        return _identity_of(fh.readline(), path)


def _identity_of(first_line: bytes, path: Any) -> str:
    try:
        header = json.loads(first_line.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        header = None
    try:
        if isinstance(header, dict) and header.get("kind") == FORMAT:
            return identity(header)
    except CampaignError:
        pass
    raise CampaignError(f"{str(path)!r} no longer holds a jupyter_matopt campaign; "
                        "nothing was written")


@contextmanager
def _locked(fd: int) -> Any:
    """An exclusive advisory lock on ``fd`` (no-op where ``fcntl`` does not exist)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _last_line(fd: int, size: int) -> bytes:
    """The bytes after the last newline of the file (its unterminated last line)."""
    step, pos, tail = 65536, size, b""
    while pos > 0:
        n = min(step, pos)
        pos -= n
        chunk = os.pread(fd, n, pos)
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            return chunk[cut + 1:] + tail
        tail = chunk + tail
    return tail


def _first_line(fd: int) -> bytes:
    chunks, pos = [], 0
    while True:
        chunk = os.pread(fd, 65536, pos)
        cut = chunk.find(b"\n")
        if cut >= 0 or not chunk:
            chunks.append(chunk if cut < 0 else chunk[:cut])
            return b"".join(chunks)
        chunks.append(chunk)
        pos += len(chunk)


def append_record(path: str | os.PathLike[str], record: dict[str, Any], *,
                  expect: str | None = None) -> None:
    """Append one record as one line and fsync it before returning.

    Args:
        path: The log.
        record: The record.
        expect: The :func:`identity` of the campaign the caller opened; when given, the
            append is refused (CampaignError) if the file's header no longer matches.

    On failure the file is truncated back to its previous length, so a failed ``tell``
    leaves the log as it was.
    """
    data = (dumps(record) + "\n").encode("utf-8")
    fd = os.open(path, os.O_RDWR | os.O_APPEND)
    try:
        with _locked(fd):
            _append_locked(fd, path, data, expect)
    finally:
        os.close(fd)


def _append_locked(fd: int, path: Any, data: bytes, expect: str | None) -> None:
    start = os.fstat(fd).st_size
    if expect is not None and _identity_of(_first_line(fd), path) != expect:
        raise CampaignError(
            f"{str(path)!r} now holds a different campaign than the one opened (replaced or "
            "recreated since); nothing was written. Open it with Campaign.load(path), or save "
            "this campaign elsewhere"
        )
    if start and os.pread(fd, 1, start - 1) != b"\n":
        try:
            complete = isinstance(json.loads(_last_line(fd, start).decode("utf-8")), dict)
        except (ValueError, UnicodeDecodeError):
            complete = False
        if not complete:
            raise CampaignError(
                f"{str(path)!r} ends with an incomplete line; open it with Campaign.load(path) "
                "to repair it first (nothing was written)"
            )
        data = b"\n" + data  # a valid last record without its newline: end it first
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


def read_log(path: str | os.PathLike[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read a log: ``(header, records)``.

    Blank lines are skipped; a last record without a trailing newline is kept. A torn last
    line (one that does not parse) is dropped with a :class:`CampaignWarning`; the file is
    then backed up beside itself (``<name>.<n>.bak``) and truncated to its complete records,
    or left as it is when it cannot be written (read-only).

    Raises:
        CampaignError: if the file is missing, is not a campaign log, or is damaged anywhere
            but in its last line.
    """
    path = Path(path)
    if path.exists() and not path.is_file():  # a folder, or a FIFO that would block forever
        raise CampaignError(f"campaign file {str(path)!r} is not a regular file")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CampaignError(f"campaign file {str(path)!r} does not exist") from None
    except OSError as e:
        raise CampaignError(f"cannot read campaign file {str(path)!r}: {e}") from None
    lines = raw.split(b"\n")
    # (line number, byte offset just past the line's newline or end, parsed object or None)
    content = []
    offset = 0
    for i, line in enumerate(lines):
        end = offset + len(line) + (1 if i < len(lines) - 1 else 0)
        if line.strip():
            try:
                obj = json.loads(line.decode("utf-8"))
            except (ValueError, UnicodeDecodeError, RecursionError):
                obj = None
            content.append((i + 1, offset, end, obj if isinstance(obj, dict) else None))
        offset = end
    torn = None
    if content and content[-1][3] is None and len(content) > 1:
        torn = content.pop()  # the last line did not parse: an interrupted write
        whole = _leading_record(raw[torn[1]:torn[2]])
        if whole is not None:  # a complete record, then the torn start of the next one
            obj, size = whole
            content.append((torn[0], torn[1], torn[1] + size, obj))
            torn = (torn[0], torn[1] + size, torn[2], None)
    for lineno, _, _, obj in content:
        if obj is None:
            raise CampaignError(
                f"campaign file {str(path)!r} is damaged at line {lineno} (not valid JSON); "
                "it was not written by an interrupted tell, so it is left untouched"
            )
    parsed = [obj for _, _, _, obj in content]
    if not parsed or parsed[0].get("kind") != FORMAT:
        raise CampaignError(
            f"{str(path)!r} is not a jupyter_matopt campaign file (its first line should be a "
            f"header with kind={FORMAT!r})"
        )
    header, records = parsed[0], parsed[1:]
    for (lineno, _, _, _), r in zip(content[1:], records, strict=True):
        if r.get("kind") != "tell":
            raise CampaignError(
                f"campaign file {str(path)!r}: line {lineno} is not a tell record"
            )
        problem = _record_problem(r)
        if problem:
            raise CampaignError(f"campaign file {str(path)!r}: the tell record at line "
                                f"{lineno} {problem}; the file is left untouched")
    if torn is not None:
        _repair(path, raw, torn[0], torn[1], len(records))
    return header, records


def _leading_record(line: bytes) -> tuple[dict[str, Any], int] | None:
    """A whole JSON object at the start of a torn line, and its length in bytes."""
    try:
        text = line.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        text = line[:e.start].decode("utf-8")
    try:
        obj, end = json.JSONDecoder().raw_decode(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict) or obj.get("kind") != "tell":
        return None
    return obj, len(text[:end].encode("utf-8"))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _rows(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(row, list) and all(_is_number(v) for v in row) for row in value)


def _record_problem(rec: dict[str, Any]) -> str | None:
    """Why a tell record's fields are not lists of number rows, or None."""
    if not _rows(rec.get("x")):
        return "has no rows of numbers in 'x'"
    if not _rows(rec.get("y")):
        return "has no rows of numbers in 'y' (measured values are numbers, not text or true)"
    if rec.get("conditions") is not None and not _rows(rec.get("conditions")):
        return "has conditions that are not rows of numbers"
    return None


def _repair(path: Path, raw: bytes, lineno: int, good_end: int, n_records: int) -> None:
    """Back the file up, then truncate its torn last line (under the append lock)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError as e:
        warnings.warn(
            f"campaign file {str(path)!r}: line {lineno} is incomplete (a write was "
            f"interrupted) and was skipped; the file cannot be repaired ({e.strerror}), so it "
            f"was left as it is: {n_records} complete record(s) read",
            CampaignWarning, stacklevel=4,
        )
        return
    try:
        with _locked(fd):
            if os.fstat(fd).st_size != len(raw):
                return  # another process appended or repaired meanwhile; leave it to them
            backup = _backup(path, raw)
            os.ftruncate(fd, good_end)
            os.fsync(fd)
    finally:
        os.close(fd)
    warnings.warn(
        f"campaign file {str(path)!r}: line {lineno} is incomplete (a write was interrupted) "
        f"and was dropped; the file was truncated to its {n_records} complete record(s) "
        f"(the file as it was is in {str(backup)!r})",
        CampaignWarning, stacklevel=4,
    )


def _backup(path: Path, raw: bytes) -> Path:
    for n in range(1, 10_000):
        dest = path.with_name(f"{path.name}.{n}.bak")
        try:
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        return dest
    raise CampaignError(f"too many backups of {str(path)!r}; remove old .bak files")
