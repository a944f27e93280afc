"""The request tracer: NDJSON log of requests/responses, size-rotated, masked by `intpkg.redact`."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from intpkg.golang.httpvalues import Header
from intpkg.redact import Redactor


class RequestTracer:
    """Appends one JSON line per request/response exchange; rotates at `maxsize_bytes`."""

    def __init__(self, path: str | Path, redactor: Redactor, maxsize_bytes: int = 1024 * 1024,
                 maxbackups: int = 5, max_body_bytes: int = 100_000):
        self.path = Path(path)
        self.redactor = redactor
        self.maxsize = max(1024, int(maxsize_bytes))
        self.maxbackups = max(0, maxbackups)
        self.max_body = max_body_bytes
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _body(self, body: bytes | None) -> str:
        if not body:
            return ""
        text = body[: self.max_body].decode("utf-8", errors="replace")
        return text + ("…(truncated)" if len(body) > self.max_body else "")

    def trace(self, *, method: str, url: str, request_headers: Header, request_body: bytes | None,
              status: int | None = None, response_headers: Header | None = None,
              response_body: bytes | None = None, error: str = "", duration: float = 0.0,
              transaction_id: str = "") -> None:
        record: dict[str, Any] = {
            "@timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z",
            "transaction.id": transaction_id,
            "url.original": url,
            "http.request.method": method,
            "http.request.header": self.redactor.headers(request_headers),
            "http.request.body.content": self._body(request_body),
            "event.duration": int(duration * 1e9),
        }
        if status is not None:
            record["http.response.status_code"] = status
            record["http.response.header"] = self.redactor.headers(response_headers or Header())
            record["http.response.body.content"] = self._body(response_body)
        if error:
            record["error.message"] = error
        line = self.redactor.text(json.dumps(record, ensure_ascii=False)) + "\n"
        data = line.encode()
        with self._lock:
            if self.path.exists() and self.path.stat().st_size + len(data) > self.maxsize:
                self._rotate()
            # traces hold response bodies (account data): readable by the owner only
            with os.fdopen(os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab") as handle:
                handle.write(data)

    def _rotate(self) -> None:
        if self.maxbackups == 0:
            self.path.unlink(missing_ok=True)
            return
        for index in range(self.maxbackups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{index + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
