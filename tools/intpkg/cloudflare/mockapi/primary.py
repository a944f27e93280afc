"""The account, zone and API token a client of the mock uses unless told otherwise.

`x-intpkg.primary: {account: <id>, zone: <id>, credential: <name of a token credential>}`; each one left out
is the first that fits: the first account, that account's first zone, the first active token allowed on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from intpkg.cloudflare.mockapi.auth import Credential
from intpkg.mock.config import ConfigError


@dataclass(frozen=True)
class Primary:
    account_id: str | None
    zone_id: str | None
    token: str | None


def choose_primary(settings: dict[str, Any], credentials: list[Credential], where: Callable[..., str]) -> Primary:
    """The primary account, zone and token of `x-intpkg`; ConfigError (located by `where`) for a wrong reference."""
    wanted = settings.get("primary") or {}
    if not isinstance(wanted, dict):
        raise ConfigError(f"{where('primary')}: x-intpkg.primary: expected {{account, zone, credential}}")
    accounts, zones = settings.get("accounts") or {}, settings.get("zones") or {}

    def check(key: str, value: Any, known: Any, what: str) -> str | None:
        if value is not None and str(value) not in known:
            raise ConfigError(f"{where('primary', key)}: x-intpkg.primary.{key}: no {what} {value!r}")
        return None if value is None else str(value)

    account = check("account", wanted.get("account"), accounts, "account") or next(iter(accounts), None)
    zone = check("zone", wanted.get("zone"), zones, "zone") or next(
        (z for z, spec in zones.items() if account is None or (spec or {}).get("account") == account),
        next(iter(zones), None))
    tokens = {c.name: c for c in credentials if c.is_token}
    name = check("credential", wanted.get("credential"), tokens, "token credential named")
    cred = tokens[name] if name else next(
        (c for c in tokens.values() if c.status == "active" and c.owner == "user"
         and (account is None or c.accounts is None or account in c.accounts)), None)
    return Primary(account, zone, cred.token if cred else None)
