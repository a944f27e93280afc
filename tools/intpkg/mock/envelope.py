"""The v4 JSON envelope and the Cloudflare error codes the mock answers with.

Codes marked MOCK are the mock's own choice where Cloudflare publishes none (the reference, §4 and §10,
has no code for parameter validation or Logpull query errors); clients must not depend on them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

DOCS = "https://developers.cloudflare.com/api/"

INVALID_TOKEN = 1000
INVALID_ZONE_ID = 1003
BAD_PARAMETER = 1004  # MOCK: parameter validation (no published code)
LOGPULL_BAD_QUERY = 1010  # MOCK: Logpull "bad query" family (no published code)
INVALID_HEADERS = 6003
INVALID_EMAIL = 6102  # unconfirmed meaning
INVALID_KEY = 6103
INVALID_AUTHORIZATION = 6111
COULD_NOT_ROUTE = 7003
MISSING_AUTH = 9106
UNKNOWN_KEY = 9103  # "Unknown X-Auth-Key or X-Auth-Email"
AUTHENTICATION_ERROR = 10000
RATE_LIMITED = 10100  # unconfirmed (seen in the wild)
INJECTED_FAULT = 10999  # MOCK: body of an injected status fault


@dataclass
class Reply:
    """One HTTP response the mock will send."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    chunked: bool = False

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def set_header(self, name: str, value: str) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        self.headers.append((name, value))


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def json_reply(status: int, data: Any) -> Reply:
    return Reply(status, dumps(data), [("Content-Type", "application/json")])


def success(result: Any, *, result_info: dict | None = None, messages: list | None = None) -> Reply:
    doc: dict[str, Any] = {"success": True, "errors": [], "messages": messages or [], "result": result}
    if result_info is not None:
        doc["result_info"] = result_info
    return json_reply(200, doc)


def error(status: int, code: int, message: str, *, chain: list[tuple[int, str]] | None = None,
          pointer: str | None = None) -> Reply:
    err: dict[str, Any] = {"code": code, "message": message}
    if chain:
        err["error_chain"] = [{"code": c, "message": m} for c, m in chain]
    if pointer:
        err["source"] = {"pointer": pointer}
    return json_reply(status, {"success": False, "errors": [err], "messages": [], "result": None})


def bad_parameter(message: str, name: str | None = None) -> Reply:
    return error(400, BAD_PARAMETER, message, pointer=f"/query/{name}" if name else None)
