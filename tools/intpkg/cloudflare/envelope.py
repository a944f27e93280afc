"""Cloudflare's v4 JSON envelope and error codes (reference §4): the mock builds it, `verify` reads it.

Codes marked MOCK are the mock's own choice where Cloudflare publishes none (the reference, §4 and §10,
has no code for parameter validation or Logpull query errors); clients must not depend on them.
"""

from __future__ import annotations

from typing import Any

from intpkg.mock.reply import Reply, json_reply

DOCS = "https://developers.cloudflare.com/api/"

INVALID_TOKEN = 1000
INVALID_ZONE_ID = 1003
BAD_PARAMETER = 1004  # MOCK: parameter validation (no published code)
LOGPULL_BAD_QUERY = 1010  # MOCK: Logpull "bad query" family (no published code)
INVALID_HEADERS = 6003
INVALID_EMAIL = 6102  # unconfirmed meaning
INVALID_KEY = 6103
INVALID_AUTHORIZATION = 6111
NO_ROUTE = 7000
COULD_NOT_ROUTE = 7003
MISSING_AUTH = 9106
UNKNOWN_KEY = 9103  # "Unknown X-Auth-Key or X-Auth-Email"
UNAUTHORIZED = 9109  # "Unauthorized to access requested resource"
AUTHENTICATION_ERROR = 10000
TOKEN_VALID = 10000  # a `messages[]` code: "This API Token is valid and active"
RATE_LIMITED = 10100  # unconfirmed (seen in the wild)
INJECTED_FAULT = 10999  # MOCK: body of an injected status fault

UNKNOWN_ID = frozenset({NO_ROUTE, COULD_NOT_ROUTE, INVALID_ZONE_ID})  # a wrong or malformed account/zone id
REFUSED_CREDENTIAL = frozenset({INVALID_TOKEN, INVALID_HEADERS, INVALID_AUTHORIZATION, INVALID_KEY, UNKNOWN_KEY,
                                MISSING_AUTH})
NOT_PERMITTED = frozenset({AUTHENTICATION_ERROR, UNAUTHORIZED})  # valid credential, wrong scope or permission


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


# --------------------------------------------------------------------------- reading


def errors(body: Any) -> list[dict[str, Any]]:
    """The `errors[]` objects of a decoded response body (none when it is not an envelope)."""
    found = body.get("errors") if isinstance(body, dict) else None
    return [e for e in found or [] if isinstance(e, dict)]


def error_codes(body: Any) -> set[Any]:
    return {e.get("code") for e in errors(body)}


def describe(status: int, body: Any) -> str:
    """`HTTP 403, code 10000: Authentication error` — the status and every error of the envelope."""
    parts = [f"code {e.get('code')}: {e.get('message')}" for e in errors(body)]
    return f"HTTP {status}" + (", " + ", ".join(parts) if parts else "")
