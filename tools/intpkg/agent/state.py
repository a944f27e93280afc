"""Durable agent state: one cursor file per stream and a status file for `intpkg status`.

Files are replaced atomically (write a temporary file, fsync, rename), so a crash at any moment
leaves either the old or the new content, never a torn file.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("intpkg.agent")


def write_atomic(path: Path, data: Any, *, durable: bool = True) -> None:
    """Replace `path` with `data` as JSON in one step (readers see the old or the new file, never a mix).

    `durable` also forces it to disk before returning (a cursor must survive a power cut); the status
    file is informational and skips the two fsyncs, which cost more than a page of events.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
        if durable:
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _safe_name(stream_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", stream_id)


class CursorStore:
    """Persisted httpjson cursors, keyed by stream id."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, stream_id: str) -> Path:
        return self.folder / f"{_safe_name(stream_id)}.json"

    def load(self, stream_id: str) -> dict[str, Any]:
        """The last saved cursor, or {} when none was saved.

        A corrupt file also gives {} (the stream starts over from its initial interval; ids make the
        re-read harmless), but it is kept as `<file>.corrupt-<time>` and the reset is logged as an error.
        """
        path = self.path(stream_id)
        try:
            text = path.read_text()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            log.error("cursor of %s unreadable (%s): starting over from the initial interval", stream_id, exc)
            return {}
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or not isinstance(data.get("cursor", {}), dict):
                raise ValueError("not a cursor object")
        except ValueError as exc:
            kept = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
            path.replace(kept)
            log.error("cursor of %s is corrupt (%s): kept as %s; starting over from the initial interval",
                      stream_id, exc, kept)
            return {}
        return data.get("cursor", {})

    def save(self, stream_id: str, cursor: dict[str, Any]) -> None:
        write_atomic(self.path(stream_id), {"cursor": cursor, "updated_at": time.time()})


class StatusBoard:
    """Per-stream run status, shared by the worker threads and written to one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._streams: dict[str, dict[str, Any]] = {}

    def update(self, stream_id: str, **fields: Any) -> None:
        with self._lock:
            entry = self._streams.setdefault(stream_id, {"events_published": 0, "events_acked": 0,
                                                         "events_rejected": 0, "intervals": 0})
            for key, value in fields.items():
                if key.startswith("add_"):
                    entry[key[4:]] = entry.get(key[4:], 0) + value
                else:
                    entry[key] = value
            snapshot = {"updated_at": time.time(), "pid": os.getpid(), "streams": self._streams}
            write_atomic(self.path, snapshot, durable=False)

    @staticmethod
    def read(path: Path) -> dict[str, Any]:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}
