"""Time parsing/formatting in the forms Cloudflare's APIs accept, all as integer nanoseconds (UTC)."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime

from intpkg.golang.gotime import DAY, GoTimeError
from intpkg.golang.gotime import parse_duration as go_parse_duration

NS = 1_000_000_000

_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})$"
)


def _epoch_ns(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    datetime(year, month, day, hour, minute, second)  # validates ranges (raises ValueError)
    return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) * NS


def parse_rfc3339(text: str) -> int:
    """RFC 3339 timestamp -> ns since epoch; ValueError when malformed."""
    m = _RFC3339.match(text)
    if not m:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    y, mo, d, h, mi, s, frac, tz = m.groups()
    ns = _epoch_ns(int(y), int(mo), int(d), int(h), int(mi), int(s))
    if frac:
        ns += int(frac.ljust(9, "0"))
    if tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        ns -= sign * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60) * NS
    return ns


def parse_date_or_rfc3339(text: str) -> int:
    """Audit-log `since`/`before`: `yyyy-mm-dd` (UTC midnight) or RFC 3339."""
    m = _DATE.match(text)
    if m:
        return _epoch_ns(int(m[1]), int(m[2]), int(m[3]))
    return parse_rfc3339(text)


def parse_logpull_time(text: str) -> int:
    """Logpull `start`/`end`: Unix seconds, Unix nanoseconds or RFC 3339."""
    if re.fullmatch(r"\d+", text):
        value = int(text)
        return value if value > 10**15 else value * NS
    return parse_rfc3339(text)


def parse_duration(text: str, *, allow_days: bool = False) -> int:
    """Go duration (`-5m`, `1h30m`, `500ms`; plus `d` = 24h when allowed), spaces around allowed -> signed ns."""
    try:
        return int(go_parse_duration(text.strip(), extra_units={"d": DAY} if allow_days else None))
    except GoTimeError:
        raise ValueError(f"invalid duration {text!r}") from None


def format_rfc3339(ns: int, *, fraction: str = "auto") -> str:
    """ns -> `2025-03-14T09:26:53Z`; with fraction 'auto' milliseconds are shown when not zero."""
    seconds, rest = divmod(ns, NS)
    base = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if fraction == "ms" or (fraction == "auto" and rest):
        return f"{base}.{rest // 1_000_000:03d}Z"
    return base + "Z"


def resolve_instant(value: object, anchor_ns: int) -> int:
    """A dataset bound: RFC 3339 / date, Unix seconds, or an offset (`-720h`, `-7d`) from the anchor."""
    if isinstance(value, bool):
        raise ValueError(f"invalid time {value!r}")
    if isinstance(value, (int, float)):
        return int(value * NS)
    text = str(value).strip()
    if text in ("now", ""):
        return anchor_ns
    if text[0] in "+-" or re.fullmatch(r"[\d.]+(ns|us|ms|s|m|h|d)", text):
        return anchor_ns + parse_duration(text, allow_days=True)
    return parse_date_or_rfc3339(text)
