"""Serve the integrations UI with waitress, in a background thread, on loopback unless told otherwise."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from waitress.server import create_server

from intpkg import settings
from intpkg.errors import IntpkgError
from intpkg.stack.client import Target
from intpkg.stack.ports import is_loopback
from intpkg.ui.app import create_app
from intpkg.ui.catalog import Catalog
from intpkg.ui.service import Integrations

MIN_TOKEN_LENGTH = 16


@dataclass
class UiServer:
    server: Any
    thread: threading.Thread
    integrations: Integrations
    host: str

    @property
    def port(self) -> int:
        return int(self.server.effective_port)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def close(self) -> None:
        self.server.close()
        self.thread.join(timeout=5)


def start_ui(package_dirs: list[Path], home: Path, target: Target, *, host: str = "127.0.0.1",
             port: int = settings.DEFAULT_UI_PORT, token: str | None = None,
             mock: dict[str, Any] | None = None) -> UiServer:
    """Start serving; IntpkgError when the address is taken, or not loopback and no access token is set.

    `package_dirs`: package folders and folders of built package zips (the registry). A collector that
    should run (it ran when the UI last stopped) is started again.
    """
    if not is_loopback(host) and not token:
        raise IntpkgError(f"refusing to serve the UI on {host}, which is not a loopback address, without an access "
                          f"token: set {settings.UI_TOKEN_ENV}, or serve on 127.0.0.1")
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise IntpkgError(f"{settings.UI_TOKEN_ENV} is shorter than {MIN_TOKEN_LENGTH} characters: too easy to guess")
    integrations = Integrations(Catalog(package_dirs), home, target)
    allowed: set[str] | None = set() if is_loopback(host) else None  # Host headers naming this server
    app = create_app(integrations, token=token, mock=mock, allowed_hosts=allowed)
    try:
        server = create_server(app, host=host, port=port, threads=8, ident="intpkg-ui")
    except OSError as exc:
        raise IntpkgError(f"cannot serve the UI on {host}:{port}: {exc.strerror}; choose another --ui-port") from None
    app.config["SESSION_COOKIE_NAME"] = f"intpkg_ui_{server.effective_port}"  # cookies ignore ports
    if allowed is not None:
        allowed.update(f"{name}:{server.effective_port}" for name in (host, "localhost", "127.0.0.1", "[::1]"))
    thread = threading.Thread(target=server.run, name="ui", daemon=True)
    thread.start()
    for name in integrations.with_policies():
        integrations.collector(name).resume()  # only one that should run and does not
    return UiServer(server, thread, integrations, host)
