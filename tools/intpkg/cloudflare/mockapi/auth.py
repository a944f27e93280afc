"""Credentials of the mock account (test values from the config) and Cloudflare's auth checks.

Order as the real API: header *shape* first (400/6003 with an `error_chain`), then the credential lookup
(1000 for an unknown token, 9103 for an unknown email/key), then scope (403/10000 for a wrong account or zone
or a missing permission).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from intpkg.cloudflare import envelope
from intpkg.mock.reply import Reply
from intpkg.mock.timeutil import parse_rfc3339

TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_\-.]{1,256}$")
KEY_SHAPE = re.compile(r"^[0-9a-f]{37}$")
EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
HEX32 = re.compile(r"^[0-9a-f]{32}$")

PERMISSIONS = {"account_settings:read", "account_settings:write", "access_audit_logs:read", "logs:read",
               "logs:edit"}


@dataclass
class Credential:
    """One test credential: an API token (user- or account-owned) or an email + global key."""

    name: str
    token: str | None = None
    token_id: str = ""
    owner: str = "user"
    account: str | None = None
    status: str = "active"
    not_before: int | None = None
    expires_on: int | None = None
    email: str | None = None
    key: str | None = None
    accounts: set[str] | None = None  # None = every account
    zones: set[str] | None = None
    permissions: set[str] | None = None  # None = every permission
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def is_token(self) -> bool:
        return self.token is not None

    def usable(self, now_ns: int) -> bool:
        if self.status != "active":
            return False
        if self.not_before is not None and now_ns < self.not_before:
            return False
        return self.expires_on is None or now_ns < self.expires_on


def parse_credential(raw: dict[str, Any], index: int) -> Credential:
    """Build a Credential from its config mapping; ValueError names the bad field."""
    token, email, key = raw.get("token"), raw.get("email"), raw.get("key")
    if (token is None) == (email is None and key is None):
        raise ValueError("give either `token` or both `email` and `key`")
    cred = Credential(name=str(raw.get("name") or f"credential-{index}"), raw=raw)
    if token is not None:
        cred.token = str(token)
        if not TOKEN_SHAPE.match(cred.token):
            raise ValueError("token: must be letters, digits, '-', '_' or '.' (the shape Cloudflare accepts)")
        cred.token_id = str(raw.get("token_id") or hashlib.sha256(cred.token.encode()).hexdigest()[:32])
        cred.owner = str(raw.get("owner") or "user")
        if cred.owner not in ("user", "account"):
            raise ValueError("owner: expected user or account")
        if cred.owner == "account":
            cred.account = str(raw.get("account") or "")
            if not HEX32.match(cred.account):
                raise ValueError("account: an account-owned token needs its account id (32 hex)")
        cred.status = str(raw.get("status") or "active")
        if cred.status not in ("active", "disabled", "expired"):
            raise ValueError("status: expected active, disabled or expired")
        for name in ("not_before", "expires_on"):
            if raw.get(name) is not None:
                setattr(cred, name, parse_rfc3339(str(raw[name])))
    else:
        cred.email, cred.key = str(email or ""), str(key or "")
        if not EMAIL_SHAPE.match(cred.email):
            raise ValueError("email: not an email address")
        if not KEY_SHAPE.match(cred.key):
            raise ValueError("key: a global API key is 37 lower-case hex characters")
    for scope in ("accounts", "zones"):
        values = raw.get(scope)
        if values is None or values == ["*"] or values == "*":
            continue
        if not isinstance(values, list):
            raise ValueError(f"{scope}: expected a list of ids or ['*']")
        setattr(cred, scope, {str(v) for v in values})
    if cred.owner == "account" and cred.accounts is None:
        cred.accounts = {cred.account or ""}
    perms = raw.get("permissions")
    if perms is not None:
        if not isinstance(perms, list) or not set(map(str, perms)) <= PERMISSIONS:
            raise ValueError(f"permissions: expected a list of {', '.join(sorted(PERMISSIONS))}")
        cred.permissions = set(map(str, perms))
    return cred


def _shape_error(code: int, message: str) -> Reply:
    return envelope.error(400, envelope.INVALID_HEADERS, "Invalid request headers", chain=[(code, message)])


def identify(headers: dict[str, str]) -> str | None:
    """Rate-limit key for a request: a digest of the credential it carries (never the secret itself)."""
    auth = headers.get("authorization")
    if auth:
        return "token:" + hashlib.sha256(auth.strip().encode()).hexdigest()[:16]
    email = headers.get("x-auth-email")
    if email:
        return "user:" + email.strip().lower()
    return None


def authenticate(headers: dict[str, str], credentials: list[Credential], now_ns: int) -> Credential | Reply:
    """The credential a request carries, or the error reply Cloudflare would give. Headers are lower-cased."""
    auth = headers.get("authorization")
    if auth is not None:
        scheme, _, secret = auth.partition(" ")
        if scheme != "Bearer" or not TOKEN_SHAPE.match(secret):
            return _shape_error(envelope.INVALID_AUTHORIZATION, "Invalid format for Authorization header")
        for cred in credentials:
            if cred.token == secret:
                if not cred.usable(now_ns):
                    return envelope.error(401, envelope.INVALID_TOKEN, "Invalid API Token")
                return cred
        return envelope.error(401, envelope.INVALID_TOKEN, "Invalid API Token")
    email, key = headers.get("x-auth-email"), headers.get("x-auth-key")
    if email is None or key is None:
        return envelope.error(400, envelope.MISSING_AUTH,
                              "Missing X-Auth-Key, X-Auth-Email or Authorization headers")
    if not EMAIL_SHAPE.match(email):
        return _shape_error(envelope.INVALID_EMAIL, "Invalid format for X-Auth-Email header")
    if not KEY_SHAPE.match(key):
        return _shape_error(envelope.INVALID_KEY, "Invalid format for X-Auth-Key header")
    for cred in credentials:
        if cred.key is not None and cred.email == email and cred.key == key:
            return cred
    return envelope.error(403, envelope.UNKNOWN_KEY, "Unknown X-Auth-Key or X-Auth-Email")


def authorize(cred: Credential, *, account: str | None = None, zone: str | None = None,
              zone_account: str | None = None, permission: str | None = None) -> Reply | None:
    """403/10000 when the credential may not touch this account/zone or lacks the permission."""
    denied = envelope.error(403, envelope.AUTHENTICATION_ERROR, "Authentication error")
    if account is not None and cred.accounts is not None and account not in cred.accounts:
        return denied
    if zone is not None:
        if cred.zones is not None:
            if zone not in cred.zones:
                return denied
        elif cred.accounts is not None and zone_account not in cred.accounts:
            return denied
    if permission is not None and cred.permissions is not None:
        group, _, level = permission.partition(":")
        granted = {permission} | ({f"{group}:write", f"{group}:edit"} if level == "read" else set())
        if not granted & cred.permissions:
            return denied
    return None
