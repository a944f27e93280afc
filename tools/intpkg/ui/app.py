"""The Flask application of the integrations UI: security around the pages (`pages`) and API (`api`).

- **Access.** On a loopback address with no access token, anyone on this machine may use it (as
  `intpkg up`'s other services). With a token (INTPKG_UI_TOKEN or `--token`), every request needs it:
  once through the login page (a session cookie), or as `Authorization: Bearer <token>` for the API.
- **Requests from other sites.** State-changing API calls need the `kbn-xsrf` header (as Kibana's
  API: a browser cannot add it to a cross-site request without the server's consent); forms carry
  a per-session CSRF token. The Host header must name this server (no DNS rebinding).
- **Secrets** never leave: pages and API show saved secrets as references only.
"""

from __future__ import annotations

import hmac
import secrets
import time
from pathlib import Path
from typing import Any

from flask import Flask, abort, jsonify, redirect, request, session, url_for
from markupsafe import Markup

from intpkg.ui.readme import render_inline
from intpkg.ui.service import Integrations

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def create_app(integrations: Integrations, *, token: str | None = None, mock: dict[str, Any] | None = None,
               allowed_hosts: set[str] | None = None, secret_key: bytes | None = None) -> Flask:
    """The UI over `integrations`. `mock`: the bundled mock API's address and test ids, offered on the
    add-integration page; `allowed_hosts`: the Host header values accepted (None: any)."""
    app = Flask(__name__, static_folder=str(Path(__file__).parent / "static"),
                template_folder=str(Path(__file__).parent / "templates"))
    app.config.update(SECRET_KEY=secret_key or secrets.token_bytes(32), SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Strict", MAX_CONTENT_LENGTH=2 * 1024 * 1024)
    app.extensions["integrations"] = integrations
    app.extensions["mock"] = mock
    app.extensions["token"] = token

    from intpkg.ui import api, pages

    app.register_blueprint(pages.blueprint)
    app.register_blueprint(api.blueprint)

    @app.before_request
    def guard() -> Any:
        if allowed_hosts is not None and request.host not in allowed_hosts:
            abort(421, "this server does not answer to that host name")
        if token and not _authorized(token):
            if request.path.startswith("/api/"):
                return jsonify(statusCode=401, error="Unauthorized", message="an access token is required"), 401
            if request.endpoint not in ("pages.login", "static"):
                return redirect(url_for("pages.login", next=request.full_path))
        if request.method not in SAFE_METHODS:
            if request.path.startswith("/api/"):
                if "kbn-xsrf" not in request.headers:
                    return jsonify(statusCode=400, error="Bad Request",
                                   message="Request must contain a kbn-xsrf header."), 400
            elif request.endpoint != "pages.login" and not hmac.compare_digest(
                    request.form.get("csrf_token", ""), csrf_token()):
                abort(400, "the form is out of date (CSRF token); reload the page and try again")
        return None

    @app.after_request
    def headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                    "script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.filters.update(datetime=_datetime, filesize=_filesize,
                                 markdown_inline=lambda text: Markup(render_inline(str(text))))
    return app


def _datetime(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch)) if epoch else ""


def _filesize(size: int | None) -> str:
    value = float(size or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return ""


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def _authorized(token: str) -> bool:
    given = request.headers.get("Authorization", "")
    if given.startswith("Bearer ") and hmac.compare_digest(given[7:].strip().encode(), token.encode()):
        return True
    return session.get("authorized") is True
