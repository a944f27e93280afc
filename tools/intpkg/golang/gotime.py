"""Go `time` semantics for templates: `GoTime`, `Duration`, Go reference layouts (format and parse)."""

from __future__ import annotations

import datetime as _dt
import re
import time as _time
import zoneinfo
from collections.abc import Mapping

NANOS = 1_000_000_000
DAY = 86400 * NANOS  # not a Go unit: for parse_duration's `extra_units`
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
_ZERO_UNIX = -62135596800  # 0001-01-01T00:00:00Z

LAYOUTS = {
    "Layout": "01/02 03:04:05PM '06 -0700",
    "ANSIC": "Mon Jan _2 15:04:05 2006",
    "UnixDate": "Mon Jan _2 15:04:05 MST 2006",
    "RubyDate": "Mon Jan 02 15:04:05 -0700 2006",
    "RFC822": "02 Jan 06 15:04 MST",
    "RFC822Z": "02 Jan 06 15:04 -0700",
    "RFC850": "Monday, 02-Jan-06 15:04:05 MST",
    "RFC1123": "Mon, 02 Jan 2006 15:04:05 MST",
    "RFC1123Z": "Mon, 02 Jan 2006 15:04:05 -0700",
    "RFC3339": "2006-01-02T15:04:05Z07:00",
    "RFC3339Nano": "2006-01-02T15:04:05.999999999Z07:00",
    "Kitchen": "3:04PM",
    "Stamp": "Jan _2 15:04:05",
    "StampMilli": "Jan _2 15:04:05.000",
    "StampMicro": "Jan _2 15:04:05.000000",
    "StampNano": "Jan _2 15:04:05.000000000",
    "DateTime": "2006-01-02 15:04:05",
    "DateOnly": "2006-01-02",
    "TimeOnly": "15:04:05",
}

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]
_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


class GoTimeError(ValueError):
    """A Go time layout or duration could not be parsed."""


# --------------------------------------------------------------------------- durations

_UNITS = {"ns": 1, "us": 1000, "µs": 1000, "μs": 1000, "ms": 1_000_000, "s": NANOS, "m": 60 * NANOS,
          "h": 3600 * NANOS}
_DUR_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)([a-zµμ]+)")


class Duration(int):
    """A Go `time.Duration` (nanoseconds) that prints like Go (`1h30m0s`)."""

    def String(self) -> str:  # noqa: N802 - Go method name
        return format_duration(int(self))

    def __str__(self) -> str:
        return format_duration(int(self))

    def Seconds(self) -> float:  # noqa: N802
        return int(self) / NANOS

    def Minutes(self) -> float:  # noqa: N802
        return int(self) / (60 * NANOS)

    def Hours(self) -> float:  # noqa: N802
        return int(self) / (3600 * NANOS)

    def Milliseconds(self) -> int:  # noqa: N802
        return int(int(self) / 1_000_000)

    def Nanoseconds(self) -> int:  # noqa: N802
        return int(self)


def parse_duration(text: str, *, extra_units: Mapping[str, int] | None = None) -> Duration:
    """Go `time.ParseDuration`; raises GoTimeError on bad input.

    `extra_units` (name -> nanoseconds) adds units Go does not know, for callers whose syntax extends
    Go's (e.g. `{"d": DAY}`); without it exactly Go's syntax is accepted.
    """
    s = text
    if not s:
        raise GoTimeError(f"time: invalid duration {text!r}")
    sign = 1
    if s[0] in "+-":
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return Duration(0)
    if not s:
        raise GoTimeError(f"time: invalid duration {text!r}")
    total = 0.0
    exact = 0
    pos = 0
    while pos < len(s):
        match = _DUR_PART.match(s, pos)
        if not match or match.group(1) in ("", "."):
            raise GoTimeError(f"time: invalid duration {text!r}")
        unit = _UNITS.get(match.group(2)) or (extra_units or {}).get(match.group(2))
        if unit is None:
            raise GoTimeError(f"time: unknown unit {match.group(2)!r} in duration {text!r}")
        number = match.group(1)
        if "." in number:
            whole, frac = number.split(".", 1)
            exact += int(whole or "0") * unit
            if frac:
                total += int(frac) * unit / (10 ** len(frac))
        else:
            exact += int(number) * unit
        pos = match.end()
    value = exact + int(total)
    if value > 2**63 - 1:
        raise GoTimeError(f"time: invalid duration {text!r}")
    return Duration(sign * value)


def _fmt_frac(value: int, prec: int) -> tuple[str, int]:
    """Go's fmtFrac: value/10**prec with trailing zeros (and dot) removed."""
    digits = f"{value % 10**prec:0{prec}d}".rstrip("0")
    return ("." + digits if digits else ""), value // 10**prec


def format_duration(ns: int) -> str:
    """Go `Duration.String()`."""
    if ns == 0:
        return "0s"
    neg = ns < 0
    u = -ns if neg else ns
    if u < NANOS:
        if u < 1000:
            out = f"{u}ns"
        elif u < 1_000_000:
            frac, whole = _fmt_frac(u, 3)
            out = f"{whole}{frac}µs"
        else:
            frac, whole = _fmt_frac(u, 6)
            out = f"{whole}{frac}ms"
    else:
        frac, secs = _fmt_frac(u, 9)
        out = f"{secs % 60}{frac}s"
        mins = secs // 60
        if mins:
            out = f"{mins % 60}m" + out
            hours = mins // 60
            if hours:
                out = f"{hours}h" + out
    return ("-" if neg else "") + out


# --------------------------------------------------------------------------- zones


class FixedZone(_dt.tzinfo):
    """A fixed-offset zone with a Go-style name ("" prints as a numeric offset)."""

    def __init__(self, name: str, offset_seconds: int):
        self.name = name
        self.offset = offset_seconds

    def utcoffset(self, dt):
        return _dt.timedelta(seconds=self.offset)

    def tzname(self, dt):
        return self.name

    def dst(self, dt):
        return _dt.timedelta(0)

    def __eq__(self, other):
        return isinstance(other, FixedZone) and (self.name, self.offset) == (other.name, other.offset)

    def __hash__(self):
        return hash((self.name, self.offset))


UTC = FixedZone("UTC", 0)


def load_location(name: str) -> _dt.tzinfo:
    """Go `time.LoadLocation`: "" or "UTC" → UTC, else an IANA zone; raises GoTimeError."""
    if name in ("", "UTC"):
        return UTC
    if name == "Local":
        return _dt.datetime.now().astimezone().tzinfo or UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise GoTimeError(f"unknown time zone {name}") from exc


# --------------------------------------------------------------------------- layouts

(STD_LONG_MONTH, STD_MONTH, STD_NUM_MONTH, STD_ZERO_MONTH, STD_LONG_WEEKDAY, STD_WEEKDAY, STD_DAY,
 STD_UNDER_DAY, STD_ZERO_DAY, STD_UNDER_YEARDAY, STD_ZERO_YEARDAY, STD_HOUR, STD_HOUR12, STD_ZERO_HOUR12,
 STD_MINUTE, STD_ZERO_MINUTE, STD_SECOND, STD_ZERO_SECOND, STD_LONG_YEAR, STD_YEAR, STD_PM, STD_pm,
 STD_TZ, STD_ISO_TZ, STD_ISO_SHORT_TZ, STD_ISO_COLON_TZ, STD_ISO_SECONDS_TZ, STD_ISO_COLON_SECONDS_TZ,
 STD_NUM_TZ, STD_NUM_SHORT_TZ, STD_NUM_COLON_TZ, STD_NUM_SECONDS_TZ, STD_NUM_COLON_SECONDS_TZ,
 STD_FRAC0, STD_FRAC9) = range(35)

_TZ_TOKENS = [  # longest first, per leading char
    ("Z070000", STD_ISO_SECONDS_TZ), ("Z07:00:00", STD_ISO_COLON_SECONDS_TZ), ("Z0700", STD_ISO_TZ),
    ("Z07:00", STD_ISO_COLON_TZ), ("Z07", STD_ISO_SHORT_TZ),
    ("-070000", STD_NUM_SECONDS_TZ), ("-07:00:00", STD_NUM_COLON_SECONDS_TZ), ("-0700", STD_NUM_TZ),
    ("-07:00", STD_NUM_COLON_TZ), ("-07", STD_NUM_SHORT_TZ),
]


def _starts_lower(s: str) -> bool:
    return bool(s) and "a" <= s[0] <= "z"


def _is_digit(s: str, i: int) -> bool:
    return i < len(s) and "0" <= s[i] <= "9"


def tokenize_layout(layout: str) -> list[tuple[str, int | None, int]]:
    """Split a Go layout into (literal prefix, std code or None, fraction digits) chunks."""
    chunks: list[tuple[str, int | None, int]] = []
    literal = ""
    i = 0
    n = len(layout)
    while i < n:
        c = layout[i]
        std: int | None = None
        width = 0
        rest = layout[i:]
        if c == "J" and rest.startswith("Jan"):
            if rest.startswith("January"):
                std, width = STD_LONG_MONTH, 7
            elif not _starts_lower(rest[3:]):
                std, width = STD_MONTH, 3
        elif c == "M" and len(rest) >= 3:
            if rest.startswith("Mon"):
                if rest.startswith("Monday"):
                    std, width = STD_LONG_WEEKDAY, 6
                elif not _starts_lower(rest[3:]):
                    std, width = STD_WEEKDAY, 3
            if std is None and rest.startswith("MST"):
                std, width = STD_TZ, 3
        elif c == "0":
            if len(rest) >= 2 and "1" <= rest[1] <= "6":
                std = [STD_ZERO_MONTH, STD_ZERO_DAY, STD_ZERO_HOUR12, STD_ZERO_MINUTE, STD_ZERO_SECOND,
                       STD_YEAR][int(rest[1]) - 1]
                width = 2
            elif rest.startswith("002"):
                std, width = STD_ZERO_YEARDAY, 3
        elif c == "1":
            std, width = (STD_HOUR, 2) if rest.startswith("15") else (STD_NUM_MONTH, 1)
        elif c == "2":
            std, width = (STD_LONG_YEAR, 4) if rest.startswith("2006") else (STD_DAY, 1)
        elif c == "_":
            if rest.startswith("_2"):
                if rest.startswith("_2006"):
                    literal += "_"
                    std, width, i = STD_LONG_YEAR, 4, i + 1
                else:
                    std, width = STD_UNDER_DAY, 2
            elif rest.startswith("__2"):
                std, width = STD_UNDER_YEARDAY, 3
        elif c in "345":
            std, width = {"3": STD_HOUR12, "4": STD_MINUTE, "5": STD_SECOND}[c], 1
        elif c == "P" and rest.startswith("PM"):
            std, width = STD_PM, 2
        elif c == "p" and rest.startswith("pm"):
            std, width = STD_pm, 2
        elif c in "-Z":
            for token, code in _TZ_TOKENS:
                if rest.startswith(token):
                    std, width = code, len(token)
                    break
        elif c in ".," and len(rest) >= 2 and rest[1] in "09":
            ch = rest[1]
            j = 1
            while j < len(rest) and rest[j] == ch:
                j += 1
            if not _is_digit(rest, j):
                std = STD_FRAC0 if ch == "0" else STD_FRAC9
                chunks.append((literal, std, j - 1 if c == "." else 1 - j))  # negative: "," separator
                literal = ""
                i += j
                continue
        if std is None:
            literal += c
            i += 1
            continue
        chunks.append((literal, std, 0))
        literal = ""
        i += width
    if literal:
        chunks.append((literal, None, 0))
    return chunks


def _offset_text(offset: int, colon: bool, seconds: bool, short: bool) -> str:
    sign = "-" if offset < 0 else "+"
    u = abs(offset)
    hh, mm, ss = u // 3600, (u // 60) % 60, u % 60
    out = f"{sign}{hh:02d}"
    if short:
        return out
    out += (":" if colon else "") + f"{mm:02d}"
    if seconds:
        out += (":" if colon else "") + f"{ss:02d}"
    return out


def format_time(t: GoTime, layout: str) -> str:
    """Go `Time.Format(layout)`."""
    local = t.datetime()
    offset = int(local.utcoffset().total_seconds()) if local.utcoffset() is not None else 0
    zone_name = local.tzname() or ""
    out: list[str] = []
    for literal, std, digits in tokenize_layout(layout):
        out.append(literal)
        if std is None:
            continue
        y, mo, d = local.year, local.month, local.day
        h, mi, s = local.hour, local.minute, local.second
        if std == STD_YEAR:
            out.append(f"{y % 100:02d}")
        elif std == STD_LONG_YEAR:
            out.append(f"{y:04d}")
        elif std == STD_MONTH:
            out.append(_MONTHS[mo - 1][:3])
        elif std == STD_LONG_MONTH:
            out.append(_MONTHS[mo - 1])
        elif std == STD_NUM_MONTH:
            out.append(str(mo))
        elif std == STD_ZERO_MONTH:
            out.append(f"{mo:02d}")
        elif std == STD_WEEKDAY:
            out.append(_DAYS[(local.weekday() + 1) % 7][:3])
        elif std == STD_LONG_WEEKDAY:
            out.append(_DAYS[(local.weekday() + 1) % 7])
        elif std == STD_DAY:
            out.append(str(d))
        elif std == STD_UNDER_DAY:
            out.append(f"{d:2d}")
        elif std == STD_ZERO_DAY:
            out.append(f"{d:02d}")
        elif std == STD_UNDER_YEARDAY:
            out.append(f"{local.timetuple().tm_yday:3d}")
        elif std == STD_ZERO_YEARDAY:
            out.append(f"{local.timetuple().tm_yday:03d}")
        elif std == STD_HOUR:
            out.append(f"{h:02d}")
        elif std in (STD_HOUR12, STD_ZERO_HOUR12):
            hr = h % 12 or 12
            out.append(str(hr) if std == STD_HOUR12 else f"{hr:02d}")
        elif std == STD_MINUTE:
            out.append(str(mi))
        elif std == STD_ZERO_MINUTE:
            out.append(f"{mi:02d}")
        elif std == STD_SECOND:
            out.append(str(s))
        elif std == STD_ZERO_SECOND:
            out.append(f"{s:02d}")
        elif std == STD_PM:
            out.append("PM" if h >= 12 else "AM")
        elif std == STD_pm:
            out.append("pm" if h >= 12 else "am")
        elif std in (STD_ISO_TZ, STD_ISO_SHORT_TZ, STD_ISO_COLON_TZ, STD_ISO_SECONDS_TZ,
                     STD_ISO_COLON_SECONDS_TZ) and offset == 0:
            out.append("Z")
        elif std in (STD_ISO_TZ, STD_NUM_TZ):
            out.append(_offset_text(offset, False, False, False))
        elif std in (STD_ISO_COLON_TZ, STD_NUM_COLON_TZ):
            out.append(_offset_text(offset, True, False, False))
        elif std in (STD_ISO_SHORT_TZ, STD_NUM_SHORT_TZ):
            out.append(_offset_text(offset, False, False, True))
        elif std in (STD_ISO_SECONDS_TZ, STD_NUM_SECONDS_TZ):
            out.append(_offset_text(offset, False, True, False))
        elif std in (STD_ISO_COLON_SECONDS_TZ, STD_NUM_COLON_SECONDS_TZ):
            out.append(_offset_text(offset, True, True, False))
        elif std == STD_TZ:
            if zone_name and not zone_name.startswith(("+", "-")):
                out.append(zone_name)
            else:
                out.append(_offset_text(offset, False, False, False))
        elif std in (STD_FRAC0, STD_FRAC9):
            sep = "," if digits < 0 else "."
            nanos = f"{t.nsec:09d}"[: abs(digits)]
            if std == STD_FRAC9:
                nanos = nanos.rstrip("0")
                if not nanos:
                    continue
            out.append(sep + nanos)
    return "".join(out)


def _getnum(value: str, fixed: bool) -> tuple[int, str]:
    if not _is_digit(value, 0):
        raise GoTimeError("bad number")
    if not _is_digit(value, 1):
        if fixed:
            raise GoTimeError("bad number")
        return int(value[0]), value[1:]
    return int(value[:2]), value[2:]


def _lookup(table: list[str], value: str) -> tuple[int, str]:
    for idx, name in enumerate(table):
        if value[: len(name)].lower() == name.lower():
            return idx, value[len(name):]
    raise GoTimeError("bad value for field")


def parse_time(layout: str, value: str, default_loc: _dt.tzinfo = UTC) -> GoTime:
    """Go `time.Parse(layout, value)` (zone-less values are in `default_loc`)."""
    original = value
    year, month, day, hour, minute, sec, nsec = 1, 1, 1, 0, 0, 0, 0
    yday = -1
    pm_set = am_set = False
    offset: int | None = None
    zone_name: str | None = None
    chunks = tokenize_layout(layout)

    def fail(what: str) -> GoTimeError:
        return GoTimeError(f'parsing time "{original}" as "{layout}": cannot parse {what}')

    for index, (literal, std, digits) in enumerate(chunks):
        if not value.startswith(literal):
            raise fail(f'"{value}" as "{literal}"')
        value = value[len(literal):]
        if std is None:
            continue
        before = value
        try:
            if std == STD_YEAR:
                if len(value) < 2 or not value[:2].isdigit():
                    raise GoTimeError("year")
                year = int(value[:2])
                year += 1900 if year >= 69 else 2000
                value = value[2:]
            elif std == STD_LONG_YEAR:
                if len(value) < 4 or not value[:4].isdigit():
                    raise GoTimeError("year")
                year, value = int(value[:4]), value[4:]
            elif std in (STD_MONTH, STD_LONG_MONTH):
                table = _MONTHS if std == STD_LONG_MONTH else [m[:3] for m in _MONTHS]
                idx, value = _lookup(table, value)
                month = idx + 1
            elif std in (STD_NUM_MONTH, STD_ZERO_MONTH):
                month, value = _getnum(value, std == STD_ZERO_MONTH)
                if not 1 <= month <= 12:
                    raise GoTimeError("month")
            elif std in (STD_WEEKDAY, STD_LONG_WEEKDAY):
                table = _DAYS if std == STD_LONG_WEEKDAY else [d[:3] for d in _DAYS]
                _, value = _lookup(table, value)
            elif std in (STD_DAY, STD_UNDER_DAY, STD_ZERO_DAY):
                if std == STD_UNDER_DAY and value[:1] == " ":
                    value = value[1:]
                day, value = _getnum(value, std == STD_ZERO_DAY)
            elif std in (STD_UNDER_YEARDAY, STD_ZERO_YEARDAY):
                for _ in range(2):
                    if std == STD_UNDER_YEARDAY and value[:1] == " ":
                        value = value[1:]
                match = re.match(r"\d{1,3}" if std == STD_UNDER_YEARDAY else r"\d{3}", value)
                if not match:
                    raise GoTimeError("yearday")
                yday, value = int(match.group()), value[match.end():]
            elif std == STD_HOUR:
                hour, value = _getnum(value, False)
                if hour > 23:
                    raise GoTimeError("hour")
            elif std in (STD_HOUR12, STD_ZERO_HOUR12):
                hour, value = _getnum(value, std == STD_ZERO_HOUR12)
                if hour > 12:
                    raise GoTimeError("hour")
            elif std in (STD_MINUTE, STD_ZERO_MINUTE):
                minute, value = _getnum(value, std == STD_ZERO_MINUTE)
                if minute > 59:
                    raise GoTimeError("minute")
            elif std in (STD_SECOND, STD_ZERO_SECOND):
                sec, value = _getnum(value, std == STD_ZERO_SECOND)
                if sec > 59:
                    raise GoTimeError("second")
                next_std = chunks[index + 1][1] if index + 1 < len(chunks) and not chunks[index + 1][0] \
                    else None
                if len(value) >= 2 and value[0] in ".," and _is_digit(value, 1) and \
                        next_std not in (STD_FRAC0, STD_FRAC9):
                    j = 1
                    while _is_digit(value, j):
                        j += 1
                    nsec = int((value[1:j] + "000000000")[:9])
                    value = value[j:]
            elif std in (STD_PM, STD_pm):
                word = value[:2]
                if word.upper() == "PM":
                    pm_set = True
                elif word.upper() == "AM":
                    am_set = True
                else:
                    raise GoTimeError("PM")
                value = value[2:]
            elif std in (STD_ISO_TZ, STD_ISO_SHORT_TZ, STD_ISO_COLON_TZ, STD_ISO_SECONDS_TZ,
                         STD_ISO_COLON_SECONDS_TZ) and value[:1] == "Z":
                value, offset, zone_name = value[1:], 0, "UTC"
            elif std in (STD_ISO_TZ, STD_ISO_SHORT_TZ, STD_ISO_COLON_TZ, STD_ISO_SECONDS_TZ,
                         STD_ISO_COLON_SECONDS_TZ, STD_NUM_TZ, STD_NUM_SHORT_TZ, STD_NUM_COLON_TZ,
                         STD_NUM_SECONDS_TZ, STD_NUM_COLON_SECONDS_TZ):
                colon = std in (STD_ISO_COLON_TZ, STD_NUM_COLON_TZ, STD_ISO_COLON_SECONDS_TZ,
                                STD_NUM_COLON_SECONDS_TZ)
                short = std in (STD_ISO_SHORT_TZ, STD_NUM_SHORT_TZ)
                seconds = std in (STD_ISO_SECONDS_TZ, STD_NUM_SECONDS_TZ, STD_ISO_COLON_SECONDS_TZ,
                                  STD_NUM_COLON_SECONDS_TZ)
                pattern = r"([+-])(\d\d)"
                if not short:
                    pattern += (":" if colon else "") + r"(\d\d)"
                    if seconds:
                        pattern += (":" if colon else "") + r"(\d\d)"
                match = re.match(pattern, value)
                if not match:
                    raise GoTimeError("zone")
                parts = [int(p) for p in match.groups()[1:]] + [0, 0]
                offset = (parts[0] * 3600 + parts[1] * 60 + parts[2]) * (-1 if match.group(1) == "-" else 1)
                value = value[match.end():]
            elif std == STD_TZ:
                if value.startswith("UTC"):
                    offset, zone_name, value = 0, "UTC", value[3:]
                else:
                    match = re.match(r"GMT([+-]\d{1,2})?|[A-Z]{3,5}|[+-]\d\d(\d\d)?", value)
                    if not match:
                        raise GoTimeError("zone")
                    text = match.group()
                    zone_name, value = text, value[match.end():]
                    offset = 0
                    if text.startswith("GMT") and len(text) > 3:
                        offset = int(text[3:]) * 3600
                    elif text[0] in "+-":
                        offset = (int(text[1:3]) * 3600 + int(text[3:5] or 0) * 60) * (-1 if text[0] == "-"
                                                                                         else 1)
                        zone_name = ""
            elif std == STD_FRAC0:
                width = abs(digits) + 1
                if len(value) < width or value[0] not in ".,":
                    raise GoTimeError("fraction")
                frac = value[1:width]
                if not frac.isdigit():
                    raise GoTimeError("fraction")
                nsec = int((frac + "000000000")[:9])
                value = value[width:]
            elif std == STD_FRAC9:
                if len(value) < 2 or value[0] not in ".," or not _is_digit(value, 1):
                    continue
                j = 1
                while j < 10 and _is_digit(value, j):
                    j += 1
                nsec = int((value[1:j] + "000000000")[:9])
                value = value[j:]
        except GoTimeError as exc:
            raise fail(f'"{before}" as {exc}') from None
    if value:
        raise GoTimeError(f'parsing time "{original}": extra text: "{value}"')
    if pm_set and hour < 12:
        hour += 12
    elif am_set and hour == 12:
        hour = 0
    if yday >= 0:
        try:
            base = _dt.date(year, 1, 1) + _dt.timedelta(days=yday - 1)
        except (ValueError, OverflowError):
            raise GoTimeError(f'parsing time "{original}": day-of-year out of range') from None
        month, day = base.month, base.day
    try:
        naive = _dt.datetime(year, month, day, hour, minute, sec)
    except ValueError:
        raise GoTimeError(f'parsing time "{original}": day out of range') from None
    if offset is not None:
        loc: _dt.tzinfo = UTC if offset == 0 and zone_name == "UTC" else FixedZone(zone_name or "", offset)
        aware = naive.replace(tzinfo=_dt.timezone(_dt.timedelta(seconds=offset)))
    else:
        loc = default_loc
        aware = naive.replace(tzinfo=default_loc)
    secs = _datetime_to_unix(aware)
    return GoTime(secs, nsec, loc)


def _datetime_to_unix(aware: _dt.datetime) -> int:
    delta = aware - _EPOCH
    return delta.days * 86400 + delta.seconds


# --------------------------------------------------------------------------- time values


class GoTime:
    """A Go `time.Time`: Unix seconds + nanoseconds + location, with Go-named methods."""

    __slots__ = ("sec", "nsec", "loc")

    def __init__(self, sec: int, nsec: int = 0, loc: _dt.tzinfo = UTC):
        sec += nsec // NANOS
        self.sec = sec
        self.nsec = nsec % NANOS
        self.loc = loc

    # constructors
    @classmethod
    def now(cls) -> GoTime:
        ns = _time.time_ns()
        return cls(ns // NANOS, ns % NANOS)

    @classmethod
    def from_unix_nano(cls, ns: int) -> GoTime:
        return cls(ns // NANOS, ns % NANOS)

    @classmethod
    def zero(cls) -> GoTime:
        return cls(_ZERO_UNIX, 0)

    def datetime(self) -> _dt.datetime:
        """The wall clock in this time's location (microsecond precision)."""
        base = _EPOCH + _dt.timedelta(seconds=self.sec, microseconds=self.nsec // 1000)
        try:
            return base.astimezone(self.loc)
        except (OverflowError, ValueError):
            return base

    # Go methods
    def Unix(self) -> int:  # noqa: N802
        return self.sec

    def UnixMilli(self) -> int:  # noqa: N802
        return self.sec * 1000 + self.nsec // 1_000_000

    def UnixMicro(self) -> int:  # noqa: N802
        return self.sec * 1_000_000 + self.nsec // 1000

    def UnixNano(self) -> int:  # noqa: N802
        return self.sec * NANOS + self.nsec

    def Nanosecond(self) -> int:  # noqa: N802
        return self.nsec

    def Format(self, layout: str) -> str:  # noqa: N802
        return format_time(self, layout)

    def String(self) -> str:  # noqa: N802
        return format_time(self, "2006-01-02 15:04:05.999999999 -0700 MST")

    def Add(self, d: int) -> GoTime:  # noqa: N802
        return GoTime(self.sec, self.nsec + int(d), self.loc)

    def AddDate(self, years: int, months: int, days: int) -> GoTime:  # noqa: N802
        local = self.datetime()
        month0 = local.month - 1 + months
        year = local.year + years + month0 // 12
        naive = _dt.datetime(year, month0 % 12 + 1, 1, local.hour, local.minute, local.second)
        naive += _dt.timedelta(days=local.day - 1 + days)
        secs = _datetime_to_unix(naive.replace(tzinfo=local.tzinfo))
        return GoTime(secs, self.nsec, self.loc)

    def Sub(self, other: GoTime) -> Duration:  # noqa: N802
        return Duration(self.UnixNano() - other.UnixNano())

    def UTC(self) -> GoTime:  # noqa: N802
        return GoTime(self.sec, self.nsec, UTC)

    def Local(self) -> GoTime:  # noqa: N802
        return GoTime(self.sec, self.nsec, load_location("Local"))

    def In(self, loc) -> GoTime:  # noqa: N802
        return GoTime(self.sec, self.nsec, load_location(loc) if isinstance(loc, str) else loc)

    def Before(self, other: GoTime) -> bool:  # noqa: N802
        return (self.sec, self.nsec) < (other.sec, other.nsec)

    def After(self, other: GoTime) -> bool:  # noqa: N802
        return (self.sec, self.nsec) > (other.sec, other.nsec)

    def Equal(self, other: GoTime) -> bool:  # noqa: N802
        return (self.sec, self.nsec) == (other.sec, other.nsec)

    def Compare(self, other: GoTime) -> int:  # noqa: N802
        a, b = (self.sec, self.nsec), (other.sec, other.nsec)
        return (a > b) - (a < b)

    def IsZero(self) -> bool:  # noqa: N802
        return self.sec == _ZERO_UNIX and self.nsec == 0

    def Truncate(self, d: int) -> GoTime:  # noqa: N802
        if d <= 0:
            return self
        ns = self.UnixNano() - _ZERO_UNIX * NANOS
        ns -= ns % int(d)
        return GoTime(_ZERO_UNIX, ns, self.loc)

    def Year(self) -> int:  # noqa: N802
        return self.datetime().year

    def Month(self) -> int:  # noqa: N802
        return self.datetime().month

    def Day(self) -> int:  # noqa: N802
        return self.datetime().day

    def Hour(self) -> int:  # noqa: N802
        return self.datetime().hour

    def Minute(self) -> int:  # noqa: N802
        return self.datetime().minute

    def Second(self) -> int:  # noqa: N802
        return self.datetime().second

    def YearDay(self) -> int:  # noqa: N802
        return self.datetime().timetuple().tm_yday

    def Weekday(self) -> int:  # noqa: N802
        return (self.datetime().weekday() + 1) % 7

    def go_json(self) -> str:
        return self.Format(LAYOUTS["RFC3339Nano"])

    # Python protocol (Go `==` on time.Time compares instant and location)
    def __eq__(self, other) -> bool:
        return isinstance(other, GoTime) and (self.sec, self.nsec, self.loc) == (other.sec, other.nsec,
                                                                                 other.loc)

    def __hash__(self) -> int:
        return hash((self.sec, self.nsec))

    def __str__(self) -> str:
        return self.String()

    def __repr__(self) -> str:
        return f"GoTime({self.String()!r})"
