"""Go net/http and net/url values for templates: `Header`, `URLValues`, `GoURL`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote_plus, urlsplit, urlunsplit

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def canonical_header_key(name: str) -> str:
    """Go textproto.CanonicalMIMEHeaderKey ("x-auth-key" → "X-Auth-Key")."""
    if not _TOKEN.match(name):
        return name
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def query_escape(value: str) -> str:
    """Go url.QueryEscape."""
    return quote_plus(value, safe="")


class _MultiValueMap:
    """Go's `map[string][]string` as templates see it (Header and url.Values are both one)."""

    _data: dict[str, list[str]]

    def go_lookup(self, key: str) -> tuple[bool, list[str] | None]:
        if key in self._data:
            return True, list(self._data[key])
        return False, None

    def go_items(self) -> list[tuple[str, list[str]]]:
        return [(k, list(v)) for k, v in self._data.items()]

    def go_json(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self._data.items()}


class Header(_MultiValueMap):
    """Go http.Header: canonical keys → lists of values; a map with Get/Values/Set/Add/Del methods."""

    def __init__(self, items: Iterable[tuple[str, str]] | dict | None = None):
        self._data: dict[str, list[str]] = {}
        if isinstance(items, dict):
            items = [(k, v) for k, vs in items.items() for v in (vs if isinstance(vs, list) else [vs])]
        for key, value in items or []:
            self.Add(key, value)

    # Go methods
    def Get(self, key: str) -> str:  # noqa: N802
        values = self._data.get(canonical_header_key(key))
        return values[0] if values else ""

    def Values(self, key: str) -> list[str]:  # noqa: N802
        return list(self._data.get(canonical_header_key(key), []))

    def Add(self, key: str, value: str) -> None:  # noqa: N802
        self._data.setdefault(canonical_header_key(key), []).append(str(value))

    def Set(self, key: str, value: str) -> None:  # noqa: N802
        self._data[canonical_header_key(key)] = [str(value)]

    def Del(self, key: str) -> None:  # noqa: N802
        self._data.pop(canonical_header_key(key), None)

    def Clone(self) -> Header:  # noqa: N802
        clone = Header()
        clone._data = {k: list(v) for k, v in self._data.items()}
        return clone


    # Python helpers
    def pairs(self) -> list[tuple[str, str]]:
        return [(k, v) for k, vs in self._data.items() for v in vs]

    def __contains__(self, key: str) -> bool:
        return canonical_header_key(key) in self._data

    def __eq__(self, other) -> bool:
        return isinstance(other, Header) and self._data == other._data

    def __repr__(self) -> str:
        return f"Header({self._data!r})"


class URLValues(_MultiValueMap):
    """Go url.Values: key → list of values, `Get` returns the first, `Encode` sorts keys."""

    def __init__(self, data: dict[str, list[str]] | None = None):
        self._data: dict[str, list[str]] = {k: list(v) for k, v in (data or {}).items()}

    @classmethod
    def parse(cls, raw_query: str) -> URLValues:
        values = cls()
        for key, value in parse_qsl(raw_query, keep_blank_values=True):
            values.Add(key, value)
        return values

    def Get(self, key: str) -> str:  # noqa: N802
        values = self._data.get(key)
        return values[0] if values else ""

    def Has(self, key: str) -> bool:  # noqa: N802
        return key in self._data

    def Set(self, key: str, value: str) -> None:  # noqa: N802
        self._data[key] = [str(value)]

    def Add(self, key: str, value: str) -> None:  # noqa: N802
        self._data.setdefault(key, []).append(str(value))

    def Del(self, key: str) -> None:  # noqa: N802
        self._data.pop(key, None)

    def Encode(self) -> str:  # noqa: N802
        return "&".join(f"{query_escape(k)}={query_escape(v)}" for k in sorted(self._data) for v in self._data[k])


    def __eq__(self, other) -> bool:
        return isinstance(other, URLValues) and self._data == other._data

    def __repr__(self) -> str:
        return f"URLValues({self._data!r})"


class GoURL:
    """Go *url.URL (the parts templates use); `String()` gives the full URL."""

    def __init__(self, raw: str):
        parts = urlsplit(raw)
        if raw and not (parts.scheme and parts.netloc):
            raise ValueError(f"invalid URL {raw!r}: scheme and host are required")
        self.Scheme = parts.scheme
        self.Host = parts.netloc.rsplit("@", 1)[-1]
        self._netloc = parts.netloc
        self.Path = parts.path
        self.RawQuery = parts.query
        self.Fragment = parts.fragment

    def String(self) -> str:  # noqa: N802
        return urlunsplit((self.Scheme, self._netloc, self.Path, self.RawQuery, self.Fragment))

    def Query(self) -> URLValues:  # noqa: N802
        return URLValues.parse(self.RawQuery)

    def Hostname(self) -> str:  # noqa: N802
        return urlsplit(self.String()).hostname or ""

    def Port(self) -> str:  # noqa: N802
        port = urlsplit(self.String()).port
        return str(port) if port else ""

    def RequestURI(self) -> str:  # noqa: N802
        return (self.Path or "/") + ("?" + self.RawQuery if self.RawQuery else "")

    def with_query(self, values: URLValues) -> GoURL:
        clone = GoURL(self.String())
        clone.RawQuery = values.Encode()
        return clone

    def go_json(self) -> str:
        return self.String()

    def __str__(self) -> str:
        return self.String()

    def __eq__(self, other) -> bool:
        return isinstance(other, GoURL) and self.String() == other.String()

    def __repr__(self) -> str:
        return f"GoURL({self.String()!r})"
