"""httpjson's template functions (`[[now]]`, `[[formatDate ...]]`, ...) with Go semantics."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac as _hmac
import platform
import re
import uuid as _uuid
from collections.abc import Callable
from typing import Any

from intpkg import __version__
from intpkg.golang import fmt as gofmt
from intpkg.golang.gotime import (
    LAYOUTS,
    UTC,
    Duration,
    FixedZone,
    GoTime,
    GoTimeError,
    load_location,
    parse_duration,
    parse_time,
)
from intpkg.golang.httpvalues import query_escape
from intpkg.golang.template import TemplateExecError, _lt_one, go_type_name

PRODUCT = "Filebeat"
BUILD_COMMIT = "intpkg"
BUILD_TIME = "1970-01-01 00:00:00 +0000 UTC"
BEAT_VERSION = "8.17.0"


class TemplateTerminated(Exception):
    """Raised by `terminate`: the template yields "" without trying `default`."""

    def __init__(self, reason: str):
        super().__init__(f"terminated template: {reason}" if reason else "terminated template")
        self.reason = reason


def _goos() -> str:
    return {"Linux": "linux", "Darwin": "darwin", "Windows": "windows"}.get(platform.system(),
                                                                           platform.system().lower())


def _goarch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)


def user_agent(*extra: str) -> str:
    """useragent.UserAgent("Filebeat", version, commit, buildtime, extra...)."""
    comments = [_goos(), _goarch(), BUILD_COMMIT, BUILD_TIME, *[str(e) for e in extra]]
    return f"Elastic-{PRODUCT}/{BEAT_VERSION} ({'; '.join(comments)})"


def _need(value: Any, kind: str, fn: str) -> Any:
    if kind == "string" and not isinstance(value, str):
        raise TemplateExecError(f"{fn}: wrong type for value; expected string; got {go_type_name(value)}")
    if kind == "int" and (not isinstance(value, int) or isinstance(value, bool)):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise TemplateExecError(f"{fn}: wrong type for value; expected int64; got {go_type_name(value)}")
    if kind == "time" and not isinstance(value, GoTime):
        raise TemplateExecError(f"{fn}: wrong type for value; expected time.Time; got {go_type_name(value)}")
    return value


_PREDEFINED = ("ANSIC", "UnixDate", "RubyDate", "RFC822", "RFC822Z", "RFC850", "RFC1123", "RFC1123Z",
               "RFC3339", "RFC3339Nano", "Kitchen")


def _layout(name: str) -> str:
    """httpjson accepts these Go layout names besides reference layouts."""
    return LAYOUTS[name] if name in _PREDEFINED else name


def parse_date(date: str, layout: str = "RFC3339") -> GoTime:
    _need(date, "string", "parseDate")
    try:
        return parse_time(_layout(layout), date).UTC()
    except GoTimeError:
        return GoTime.zero()


def parse_date_in_tz(date: str, tz: str, layout: str = "RFC3339") -> GoTime:
    _need(date, "string", "parseDateInTZ")
    loc = None
    for fmt in ("-07", "-0700", "-07:00"):
        try:
            parsed = parse_time(fmt, tz)
        except GoTimeError:
            continue
        loc = parsed.loc if isinstance(parsed.loc, FixedZone) else UTC
        break
    if loc is None:
        try:
            loc = load_location(tz)
        except GoTimeError:
            loc = UTC
    try:
        parsed = parse_time(_layout(layout), date)
    except GoTimeError:
        return GoTime.zero()
    wall = parsed.datetime().replace(tzinfo=None)
    local = wall.replace(tzinfo=loc)
    epoch = local.timestamp()
    return GoTime(int(epoch // 1), parsed.nsec, UTC)


def format_date(date: GoTime, layout: str = "RFC3339", tz: str = "") -> str:
    _need(date, "time", "formatDate")
    try:
        date = date.In(load_location(tz))
    except GoTimeError:
        date = date.UTC()
    return date.Format(_layout(layout))


_LINK_REL = re.compile(r'<(.*)>.*;\s*rel=("[^"]*"|[^"][^;]*[^"])')


def _match_link(rel: str, links: list[str]) -> str:
    for link in links:
        match = _LINK_REL.search(link)
        if not match:
            continue
        link_rel = match.group(2)
        if len(link_rel) > 1 and link_rel[0] == '"':
            link_rel = link_rel[1:-1]
        if link_rel == rel:
            return match.group(1)
    return ""


def get_rfc5988_link(rel: str, links: Any) -> str:
    if isinstance(links, str):
        links = [links]
    if links is None:
        links = []
    links = [str(link) for link in links]
    if len(links) == 1 and links[0].count("rel=") > 1:
        return _match_link(rel, links[0].split(","))
    return _match_link(rel, links)


def to_int(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return int(value) if value == value and abs(value) != float("inf") else 0
    if isinstance(value, str):
        try:
            number = float(value.strip()) if value.strip() == value else float("nan")
        except ValueError:
            return 0
        return int(number) if number == number and abs(number) != float("inf") else 0
    return 0


def add(*values: Any) -> int:
    return sum(_need(v, "int", "add") for v in values)


def mul(a: Any, b: Any) -> int:
    return _need(a, "int", "mul") * _need(b, "int", "mul")


def div(a: Any, b: Any) -> int:
    a, b = _need(a, "int", "div"), _need(b, "int", "div")
    if b == 0:
        raise TemplateExecError("runtime error: integer divide by zero")
    quotient = abs(a) // abs(b)  # Go truncates toward zero
    return quotient if (a >= 0) == (b >= 0) else -quotient


def min_(a: Any, b: Any) -> Any:
    return a if _lt_one(a, b) else b


def max_(a: Any, b: Any) -> Any:
    return b if _lt_one(a, b) else a


def join(value: Any, sep: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return sep.join(item if isinstance(item, str) else gofmt.format_value(item) for item in value)
    if value is None:
        raise TemplateExecError("join: invalid value")
    return gofmt.format_value(value)


def replace_all(old: str, new: str, s: str) -> str:
    for value in (old, new, s):
        _need(value, "string", "replaceAll")
    if old == "":
        # Go inserts `new` before every rune and at the end
        return new + new.join(s) + new if s else new
    return s.replace(old, new)


def _hash(alg: str, values: tuple[str, ...]) -> bytes:
    if alg not in ("sha1", "sha256"):
        return b""
    digest = hashlib.new(alg)
    for value in values:
        digest.update(str(value).encode())
    return digest.digest()


def hash_hex(alg: str, *values: str) -> str:
    return _hash(alg, values).hex()


def hash_base64(alg: str, *values: str) -> str:
    return base64.b64encode(_hash(alg, values)).decode()


def _hmac_bytes(alg: str, key: str, values: tuple[str, ...]) -> bytes | None:
    data = "".join(str(v) for v in values)
    if not data or alg not in ("sha1", "sha256"):
        return None
    return _hmac.new(str(key).encode(), data.encode(), alg).digest()


def hmac_hex(alg: str, key: str, *values: str) -> str:
    digest = _hmac_bytes(alg, key, values)
    return digest.hex() if digest is not None else ""


def hmac_base64(alg: str, key: str, *values: str) -> str:
    digest = _hmac_bytes(alg, key, values)
    return base64.b64encode(digest).decode() if digest is not None else ""


def base64_encode(*values: str) -> str:
    data = "".join(values)
    return base64.b64encode(data.encode()).decode() if data else ""


def base64_encode_nopad(*values: str) -> str:
    return base64_encode(*values).rstrip("=")


def _decode(enc: str, pad: bool) -> str:
    try:
        if not pad:
            if "=" in enc or len(enc) % 4 == 1:
                return ""
            enc += "=" * (-len(enc) % 4)
        return base64.b64decode(enc, validate=True).decode(errors="replace")
    except (binascii.Error, ValueError):
        return ""


def base64_decode(enc: str) -> str:
    return _decode(enc, True)


def base64_decode_nopad(enc: str) -> str:
    return _decode(enc, False)


def hex_decode(enc: str) -> str:
    try:
        return bytes.fromhex(enc).decode(errors="replace") if len(enc) % 2 == 0 and \
            re.fullmatch(r"[0-9a-fA-F]*", enc) else ""
    except ValueError:
        return ""


def url_encode(value: str) -> str:
    return query_escape(value) if value else ""


def beat_info() -> dict[str, str]:
    return {"goos": _goos(), "goarch": _goarch(), "commit": BUILD_COMMIT, "buildtime": BUILD_TIME,
            "version": BEAT_VERSION}


def terminate(reason: str = "") -> None:
    raise TemplateTerminated(str(reason))


def to_json(value: Any) -> str:
    return gofmt.to_json(value)


def template_funcs(now_fn: Callable[[], GoTime] = GoTime.now) -> dict[str, Callable]:
    """The httpjson function map; `now_fn` makes `now` injectable for tests."""

    def now(delta: Any = None) -> GoTime:
        current = now_fn().UTC()
        if delta is None:
            return current
        if not isinstance(delta, int) or isinstance(delta, bool):
            raise TemplateExecError(f"now: wrong type for value; expected time.Duration; got "
                                    f"{go_type_name(delta)}")
        return current.Add(delta)

    def parse_duration_quiet(text: str) -> Duration:
        _need(text, "string", "parseDuration")
        try:
            return parse_duration(text)
        except GoTimeError:
            return Duration(0)

    return {
        "add": add,
        "base64Decode": base64_decode,
        "base64DecodeNoPad": base64_decode_nopad,
        "base64Encode": base64_encode,
        "base64EncodeNoPad": base64_encode_nopad,
        "beatInfo": beat_info,
        "div": div,
        "formatDate": format_date,
        "getRFC5988Link": get_rfc5988_link,
        "hash": hash_hex,
        "hashBase64": hash_base64,
        "hexDecode": hex_decode,
        "hmac": hmac_hex,
        "hmacBase64": hmac_base64,
        "join": join,
        "toJSON": to_json,
        "max": max_,
        "min": min_,
        "mul": mul,
        "now": now,
        "parseDate": parse_date,
        "parseDateInTZ": parse_date_in_tz,
        "parseDuration": parse_duration_quiet,
        "parseTimestamp": lambda s: GoTime(_need(s, "int", "parseTimestamp"), 0),
        "parseTimestampMilli": lambda ms: GoTime.from_unix_nano(_need(ms, "int", "parseTimestampMilli")
                                                                 * 1_000_000),
        "parseTimestampNano": lambda ns: GoTime.from_unix_nano(_need(ns, "int", "parseTimestampNano")),
        "replaceAll": replace_all,
        "sprintf": gofmt.sprintf,
        "toInt": to_int,
        "urlEncode": url_encode,
        "userAgent": user_agent,
        "uuid": lambda: str(_uuid.uuid4()),
        "terminate": terminate,
    }


__all__ = ["template_funcs", "TemplateTerminated", "user_agent", "__version__"]
