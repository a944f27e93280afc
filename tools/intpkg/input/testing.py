"""Test helpers: a scripted loopback HTTP server recording every request (no network beyond 127.0.0.1)."""

from __future__ import annotations

import gzip
import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from intpkg.golang.httpvalues import Header
from intpkg.input.ratelimit import Clock


@dataclass
class Reply:
    """What the server answers; `drop` closes the connection without a response."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    gzip: bool = False
    truncate_to: int | None = None
    drop: bool = False
    delay: float = 0.0  # real seconds to wait before answering (timeouts)

    def payload(self) -> bytes:
        body = self.body
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            self.headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        if self.gzip:
            body = gzip.compress(body)
        if self.truncate_to is not None:
            body = body[: self.truncate_to]
        return body


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    header: Header
    body: bytes
    at: float

    def param(self, name: str) -> str:
        values = self.query.get(name)
        return values[0] if values else ""


Script = Callable[[Recorded], Reply] | list[Reply]


class ScriptedServer:
    """`with ScriptedServer(script, clock=clock) as server:` → `server.url`, `server.requests`."""

    def __init__(self, script: Script, clock: Clock | None = None, tls: tuple[str, str] | None = None):
        self.script = script
        self.tls = tls
        self.clock = clock
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def _next_reply(self, recorded: Recorded) -> Reply:
        if callable(self.script):
            return self.script(recorded)
        if not self.script:
            return Reply(500, {"error": "script exhausted"})
        return self.script.pop(0)

    def __enter__(self) -> ScriptedServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                recorded = Recorded(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                                    Header(list(self.headers.items())), body,
                                    outer.clock.time() if outer.clock else 0.0)
                with outer._lock:
                    outer.requests.append(recorded)
                    reply = outer._next_reply(recorded)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    self.connection.close()
                    return
                payload = reply.payload()
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.gzip:
                    self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _handle  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
