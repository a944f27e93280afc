"""The one place that says what is secret and how it is masked.

Every text a person may read masks through here: the agent's log filter and status file, the input's
request tracer and error texts, the mock's request log, `verify-credentials` findings, and the
credential-safe session (which drops the sensitive headers on a redirect to another host). Adding a
name to `SENSITIVE_HEADERS` or `SENSITIVE_FIELDS` is enough for all of them: the lists are read at call
time, never copied.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from functools import lru_cache
from typing import Protocol

MASK = "[REDACTED]"
SENSITIVE_HEADERS: tuple[str, ...] = ("Authorization", "Proxy-Authorization", "X-Auth-Key", "X-Auth-Email",
                                      "Cookie", "Set-Cookie")
SENSITIVE_FIELDS: tuple[str, ...] = ("api_token", "api_key", "auth_key", "auth_email", "password")
MIN_SECRET_LENGTH = 3  # shorter values are not masked in free text: they would hide common words
_SCHEMES = ("bearer", "basic", "apikey", "token")  # auth scheme words kept in front of the mask


class HeaderPairs(Protocol):
    def pairs(self) -> Iterable[tuple[str, str]]: ...

    def go_items(self) -> Iterable[tuple[str, list[str]]]: ...


def is_sensitive_header(name: str) -> bool:
    """Whether a header's value is a credential (case-insensitive)."""
    return name.lower() in {h.lower() for h in SENSITIVE_HEADERS}


def header_value(name: str, value: str) -> str:
    """The value to show for a header: a sensitive one becomes the mask, keeping an auth scheme word."""
    if not is_sensitive_header(name):
        return value
    scheme, sep, _ = value.strip().partition(" ")
    if sep and scheme.lower() in _SCHEMES:
        return f"{scheme} {MASK}"
    return MASK


@lru_cache(maxsize=8)
def _named_value(names: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?i)\b({alternatives})(['\"]?\s*[:=]\s*['\"]?)((?:{'|'.join(_SCHEMES)}) )?"
                      r"([^\s'\",;&}\[{][^\s'\",;&}]*)")


def named_values(text: str) -> str:
    """Mask `Name: value` / `name=value` / `"name": "value"` for every sensitive header and field name."""
    pattern = _named_value(tuple(SENSITIVE_HEADERS) + tuple(SENSITIVE_FIELDS))
    return pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3) or ''}{MASK}", text)


def url_userinfo(url: str) -> str:
    """A URL with its `user:password@` part masked."""
    return re.sub(r"//[^@/]*@", f"//{MASK}@", url)


class Redactor:
    """Masks known secret values and sensitive header values; thread-safe, secrets can be added later."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Remember a secret value (`Bearer x` also remembers `x`); too short values are ignored."""
        if not secret or len(secret) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            self._secrets.add(secret)
            scheme, sep, rest = secret.partition(" ")
            if sep and scheme.lower() in _SCHEMES and len(rest.strip()) >= MIN_SECRET_LENGTH:
                self._secrets.add(rest.strip())

    def add_from_headers(self, header: HeaderPairs) -> None:
        """Remember the values of the sensitive headers of a request."""
        for name, value in header.pairs():
            if is_sensitive_header(name):
                self.add(value)

    @property
    def secrets(self) -> list[str]:
        with self._lock:
            return sorted(self._secrets, key=len, reverse=True)

    def text(self, value: str) -> str:
        """Free text with every known secret and every `sensitive-name: value` masked."""
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return named_values(value)

    def headers(self, header: HeaderPairs) -> dict[str, list[str]]:
        """Header values for display: sensitive ones masked, the others with known secrets masked."""
        return {name: [header_value(name, v) if is_sensitive_header(name) else self.text(v) for v in values]
                for name, values in header.go_items()}
