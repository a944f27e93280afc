"""Secret redaction and the request tracer (NDJSON log of requests/responses, size-rotated)."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from intpkg.golang.httpvalues import Header

REDACTED = "*****"
SENSITIVE_HEADERS = {"authorization", "proxy-authorization", "x-auth-key", "x-auth-email", "cookie",
                     "set-cookie"}


class Redactor:
    """Replaces known secret values (and sensitive header values) with `*****`."""

    def __init__(self, secrets: list[str] | tuple[str, ...] = ()):
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 3:
            with self._lock:
                self._secrets.add(secret)
                if secret.lower().startswith(("bearer ", "basic ")):
                    self._secrets.add(secret.split(" ", 1)[1].strip())

    def add_from_headers(self, header: Header) -> None:
        for name, value in header.pairs():
            if name.lower() in SENSITIVE_HEADERS:
                self.add(value)

    def text(self, value: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def headers(self, header: Header) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name, values in header.go_items():
            if name.lower() in SENSITIVE_HEADERS:
                out[name] = [REDACTED for _ in values]
            else:
                out[name] = [self.text(v) for v in values]
        return out


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
