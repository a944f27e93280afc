"""Time picker bounds and Kibana's automatic date histogram interval.

A bound is ISO 8601 (`2025-03-14`, `2025-03-14T10:00:00Z`, with an offset or not: UTC when not) or
date math as Kibana writes it: `now`, `now-15m`, `now-7d/d`, `2025-03-01||+1M/d`. Units are `y M w d
h H m s ms`; rounding (`/d`) goes down for the start of a range and up (to the unit's last
millisecond) for its end, as Kibana's time picker does.

`auto_interval(start, end)` is Kibana's `TimeBuckets` for `interval: auto`: the nice interval nearest
to 50 buckets over the range, made coarser when that gives more than 100. The result is a fixed
interval (`30s`, `12h`, `7d`; a month is `30d` and a year `365d`, as Kibana's durations count them),
which Elasticsearch and OpenSearch both accept as `fixed_interval`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from intpkg.dashboards import DashboardError

BAR_TARGET = 50  # Kibana's histogram:barTarget
MAX_BARS = 100  # Kibana's histogram:maxBars

SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY
MONTH = 30 * DAY
YEAR = 365 * DAY

# Kibana's boundsDescending (data plugin, time_buckets/calc_auto_interval): for a target bucket length
# below `bound`, `interval` is the rounded choice.
BOUNDS_DESCENDING: list[tuple[float, int]] = [
    (float("inf"), YEAR),
    (YEAR, MONTH),
    (3 * WEEK, WEEK),
    (WEEK, DAY),
    (24 * HOUR, 12 * HOUR),
    (6 * HOUR, 3 * HOUR),
    (2 * HOUR, HOUR),
    (45 * MINUTE, 30 * MINUTE),
    (20 * MINUTE, 10 * MINUTE),
    (9 * MINUTE, 5 * MINUTE),
    (3 * MINUTE, MINUTE),
    (45 * SECOND, 30 * SECOND),
    (15 * SECOND, 10 * SECOND),
    (7.5 * SECOND, 5 * SECOND),
    (5 * SECOND, SECOND),
    (500, 100),
]

UNIT_MS = {"ms": 1, "s": SECOND, "m": MINUTE, "h": HOUR, "H": HOUR, "d": DAY, "w": WEEK, "M": MONTH, "y": YEAR}
CALENDAR_UNITS = {"w", "M", "q", "y"}
_MATH = re.compile(r"([+-])(\d+)(ms|[yMwdhHms])|/(ms|[yMwdhHms])")
_INTERVAL = re.compile(r"^(\d+)(ms|[smhHdwMqy])$")


class TimeRangeError(DashboardError):
    """A bound that is neither ISO 8601 nor date math, or a range that ends before it starts."""


@dataclass(frozen=True)
class TimeRange:
    """Resolved bounds of a time picker, in UTC."""

    start: datetime
    end: datetime

    @property
    def start_ms(self) -> int:
        return to_ms(self.start)

    @property
    def end_ms(self) -> int:
        return to_ms(self.end)

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms

    def range_query(self, field: str = "@timestamp") -> dict:
        """`range` on `field` between the bounds, both inclusive, in epoch milliseconds."""
        return {"range": {field: {"gte": self.start_ms, "lte": self.end_ms, "format": "epoch_millis"}}}


def to_ms(moment: datetime) -> int:
    return int(round(moment.timestamp() * 1000))


def iso(ms: int | float) -> str:
    """Epoch milliseconds as ISO 8601 in UTC with milliseconds (`2025-03-14T10:00:00.000Z`)."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def time_range(start: str, end: str, *, now: datetime | None = None) -> TimeRange:
    """Resolve a picker's `start` and `end`; raise TimeRangeError naming a bad bound."""
    now = now or datetime.now(UTC)
    begin = resolve(start, now=now, round_up=False)
    finish = resolve(end, now=now, round_up=True)
    if finish < begin:
        raise TimeRangeError(f"The time range ends ({end}) before it starts ({start}).")
    return TimeRange(begin, finish)


def resolve(expression: str, *, now: datetime | None = None, round_up: bool = False) -> datetime:
    """One bound as an aware UTC datetime (see the module docstring for the syntax)."""
    text = (expression or "").strip()
    if not text:
        raise TimeRangeError("A time range bound is empty.")
    now = now or datetime.now(UTC)
    if text.startswith("now"):
        anchor, math = now, text[3:]
    elif "||" in text:
        head, math = text.split("||", 1)
        anchor = _parse_iso(head, expression)
    else:
        anchor, math = _parse_iso(text, expression), ""
    return _apply_math(anchor.astimezone(UTC), math, round_up, expression)


def _parse_iso(text: str, expression: str) -> datetime:
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise TimeRangeError(f"Cannot read the time {expression!r}: use ISO 8601 (2025-03-14T10:00:00Z) "
                             "or date math (now-15m, now-7d/d).") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _apply_math(moment: datetime, math: str, round_up: bool, expression: str) -> datetime:
    pos = 0
    while pos < len(math):
        found = _MATH.match(math, pos)
        if not found:
            raise TimeRangeError(f"Cannot read the date math in {expression!r} at {math[pos:]!r}: "
                                 "expected +N<unit>, -N<unit> or /<unit> with a unit of y M w d h m s ms.")
        sign, amount, unit, round_unit = found.groups()
        if round_unit:
            moment = _round(moment, round_unit, round_up)
        else:
            moment = add_units(moment, int(amount) * (1 if sign == "+" else -1), unit)
        pos = found.end()
    return moment


def add_units(moment: datetime, amount: int, unit: str) -> datetime:
    """`moment` plus `amount` of `unit` (`y` and `M` by calendar, `q` as 3 months, the others by length)."""
    if unit == "q":
        unit, amount = "M", amount * 3
    if unit in ("y", "M"):
        months = moment.month - 1 + amount * (12 if unit == "y" else 1)
        year, month = moment.year + months // 12, months % 12 + 1
        day = min(moment.day, _days_in_month(year, month))
        return moment.replace(year=year, month=month, day=day)
    return moment + timedelta(milliseconds=amount * UNIT_MS[unit])


def _days_in_month(year: int, month: int) -> int:
    following = datetime(year + (month == 12), month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def _round(moment: datetime, unit: str, up: bool) -> datetime:
    if unit == "ms":
        floor = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    elif unit == "s":
        floor = moment.replace(microsecond=0)
    elif unit == "m":
        floor = moment.replace(second=0, microsecond=0)
    elif unit in ("h", "H"):
        floor = moment.replace(minute=0, second=0, microsecond=0)
    elif unit == "d":
        floor = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    elif unit == "w":  # ISO weeks start on Monday, as Elasticsearch's date math rounds them
        day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        floor = day - timedelta(days=day.weekday())
    elif unit == "M":
        floor = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    else:  # y
        floor = moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if not up:
        return floor
    return add_units(floor, 1, "w" if unit == "w" else unit) - timedelta(milliseconds=1)


def calc_auto_interval_near(target_buckets: int, duration_ms: float) -> int:
    """Kibana's calcAutoIntervalNear: the rounded interval nearest to `duration / target_buckets`."""
    target = duration_ms / target_buckets
    for index, (bound, _) in enumerate(BOUNDS_DESCENDING):
        if bound <= target:
            return BOUNDS_DESCENDING[index - 1][1] if index else YEAR
    return max(int(target), 1)


def calc_auto_interval_less_than(max_buckets: int, duration_ms: float) -> int:
    """Kibana's calcAutoIntervalLessThan: the largest rounded interval giving at most `max_buckets`."""
    most = duration_ms / max_buckets
    for _, interval in BOUNDS_DESCENDING:
        if interval <= most:
            return interval
    return max(int(most), 1)


def auto_interval_ms(duration_ms: float) -> int:
    """Bucket length Kibana picks for `interval: auto` over a range of `duration_ms`."""
    interval = calc_auto_interval_near(BAR_TARGET, duration_ms)
    if interval and duration_ms / interval > MAX_BARS:
        interval = calc_auto_interval_less_than(MAX_BARS, duration_ms)
    return max(interval, 1)


def format_fixed(interval_ms: int) -> str:
    """Milliseconds as the largest whole fixed unit (`90000` → `90s`, `3600000` → `1h`)."""
    for unit, size in (("d", DAY), ("h", HOUR), ("m", MINUTE), ("s", SECOND)):
        if interval_ms % size == 0:
            return f"{interval_ms // size}{unit}"
    return f"{interval_ms}ms"


def auto_interval(rng: TimeRange) -> str:
    """`fixed_interval` for `interval: auto` over `rng` (see `auto_interval_ms`)."""
    return format_fixed(auto_interval_ms(max(rng.duration_ms, 1)))


def interval_param(interval: str, rng: TimeRange) -> tuple[str, str, int | None]:
    """(`fixed_interval` | `calendar_interval`, value, length in ms or None for calendar units) for a
    Lens `params.interval` (`auto`, `30s`, `1h`, `1d`, `1w`, `1M`…)."""
    if not interval or interval == "auto":
        fixed = auto_interval(rng)
        return "fixed_interval", fixed, auto_interval_ms(max(rng.duration_ms, 1))
    found = _INTERVAL.match(interval.strip())
    if not found:
        raise DashboardError(f"Unknown date histogram interval {interval!r}.")
    amount, unit = int(found.group(1)), found.group(2)
    if unit in CALENDAR_UNITS:
        if amount == 1:
            return "calendar_interval", f"1{unit}", None
        length = amount * {"w": WEEK, "M": MONTH, "q": 3 * MONTH, "y": YEAR}[unit]
        return "fixed_interval", format_fixed(length), length
    length = amount * UNIT_MS[unit]
    return "fixed_interval", format_fixed(length), length
