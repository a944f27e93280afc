"""The HTTP side of the mock (loopback only) and `MockServer`, the Python API used by tests."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO

from intpkg.errors import IntpkgError
from intpkg.mock.config import ConfigError, MockConfig, load_config
from intpkg.mock.deploy import find_deployment
from intpkg.mock.engine import Engine, RawRequest, RequestRecord
from intpkg.mock.faults import FaultPlan, RuntimeFault
from intpkg.mock.handlerset import ApiFactory, HandlerSet, rules_only
from intpkg.mock.templates import TemplateEnv
from intpkg.mock.timeutil import NS, parse_duration
from intpkg.stack.ports import is_loopback

NOT_LOOPBACK = "the mock binds loopback addresses only (127.0.0.0/8, ::1, localhost)"


def check_loopback(host: str) -> str:
    if is_loopback(host):
        return "127.0.0.1" if host == "localhost" else host
    raise IntpkgError(f"--host {host}: {NOT_LOOPBACK}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "intpkg-mock"

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without TCP_NODELAY, Nagle + delayed ACK add ~40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        mock: MockServer = self.server.mock  # type: ignore[attr-defined]
        try:
            body = self._read_body()
        except ValueError:
            self.send_error(400, "bad request body framing")
            return
        raw = RawRequest(self.command, self.path, list(self.headers.items()), body, self.client_address[0])
        try:
            reply, cut, record = mock.engine.handle(raw)
        except Exception as exc:  # a bug must not kill the connection silently: answer 500, keep the error
            mock.engine.errors.append(f"{self.command} {raw.target.split('?', 1)[0]}: internal error: {exc!r}")
            self.send_error(500, "mock internal error")
            return
        mock._log(record)
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        head_only = self.command == "HEAD"
        if cut is not None:
            self.send_header("Content-Length", str(len(reply.body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(reply.body[:cut])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if reply.stream is not None and not head_only:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in reply.stream:
                if chunk:
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        if reply.chunked and reply.body and not head_only:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(reply.body), 16384):
                chunk = reply.body[i:i + 16384]
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if not head_only:
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # requests are logged (redacted) by MockServer._log


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], mock: MockServer) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.mock = mock
        super().__init__(address, _Handler)


def duration_seconds(value: Any) -> float:
    """Seconds from a number or a Go duration string ("300ms", "5m")."""
    if isinstance(value, (int, float)):
        return float(value)
    return parse_duration(str(value)) / NS


class MockServer:
    """A running mock API serving stream-format rules. Use as a context manager; `base_url` is its root URL.

    Options: `api` (the ApiFactory building the HandlerSet that answers `x-intpkg-handler` rules; default:
    none), `host` (loopback only), `port` (0 = free port), `fault_rate`, `fault_error_code`, `delay_rate`,
    `delay_duration` (seconds or a Go duration), `seed` (random faults), `clock` (a callable returning epoch
    seconds; drives the templates' `now` and whatever the API's handlers time), `log` (a stream for one
    redacted line per request), `on_fatal` (called on an as_sequence violation).
    """

    def __init__(self, config: MockConfig, *, api: ApiFactory = rules_only, host: str = "127.0.0.1", port: int = 0,
                 fault_rate: float = 0.0, fault_error_code: int = 500, delay_rate: float = 0.0,
                 delay_duration: Any = 0.0, seed: int | None = None, clock: Callable[[], float] | None = None,
                 log: TextIO | None = None, on_fatal: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.host = check_loopback(host)
        self.clock = clock or time.time
        self.api: HandlerSet = api(config, self.clock)
        _check_handler_kinds(config, self.api)
        if not 0 <= fault_rate <= 1 or not 0 <= delay_rate <= 1:
            raise IntpkgError("--fault-rate and --delay-rate must be between 0.0 and 1.0")
        plan = FaultPlan(fault_rate, int(fault_error_code), delay_rate, duration_seconds(delay_duration), seed)
        self.engine = Engine(config, self.api, plan, self.clock, on_fatal=on_fatal)
        self._log_stream = log
        self._httpd = _HTTPServer((self.host, port), self)
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_config_file(cls, path: Path, **options: Any) -> MockServer:
        """A started server for a bare config file (container paths resolve next to it)."""
        env = TemplateEnv(lambda p: Path(p), lambda: int((options.get("clock") or time.time)() * NS))
        config = load_config(Path(path), compile_template=env.compile)
        env.host_path = config.host_path
        return cls(config, **options).start()

    @classmethod
    def from_package(cls, package_dir: Path | str, *, service: str | None = None, **options: Any) -> MockServer:
        """A started server for the package's `_dev/deploy/docker` stream service (flags from its command)."""
        deployment = find_deployment(Path(package_dir), service)
        flag_options = {"fault_rate": float, "fault_error_code": int, "delay_rate": float, "delay_duration": str}
        for flag, value in deployment.flags.items():
            name = flag.replace("-", "_")
            options.setdefault(name, flag_options[name](value))
        env = TemplateEnv(lambda p: Path(p), lambda: int((options.get("clock") or time.time)() * NS))
        config = load_config(deployment.config_path, path_map=deployment.path_map, compile_template=env.compile)
        env.host_path = config.host_path
        return cls(config, **options).start()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> MockServer:
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="intpkg-mock",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ------------------------------------------------------------------ inspection

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def requests(self) -> list[RequestRecord]:
        """Requests received so far (secrets redacted), oldest first."""
        return list(self.engine.requests)

    @property
    def errors(self) -> list[str]:
        """Template, handler and as_sequence errors."""
        return list(self.engine.errors)

    def add_fault(self, kind: str, *, path: str | None = None, times: int | None = 1, skip: int = 0,
                  **spec: Any) -> RuntimeFault:
        """Queue a fault for the next `times` requests whose path matches the regex `path`, after `skip` of them."""
        return self.engine.fault_plan.add(dict(spec, kind=kind), path, times, skip)

    def _log(self, record: RequestRecord) -> None:
        """One line per request on the log stream: method, path (no query, no headers) and outcome."""
        if self._log_stream is None:
            return
        note = f" ({record.note})" if record.note else ""
        print(f"{record.method} {record.path} -> {record.status}{note}", file=self._log_stream, flush=True)


def _check_handler_kinds(config: MockConfig, api: HandlerSet) -> None:
    """Every `x-intpkg-handler` rule names a kind the server's HandlerSet registered."""
    for rule in config.rules:
        if rule.handler is not None and rule.handler.get("kind") not in api.handlers:
            kinds = ", ".join(sorted(api.handlers)) or "none: this server has no handlers"
            raise ConfigError(f"{config.locate(('rules', rule.index, 'x-intpkg-handler', 'kind'))}: "
                              f"rules[{rule.index}].x-intpkg-handler.kind: expected kind: one of {kinds}")


def stderr_log() -> TextIO:
    return sys.stderr
