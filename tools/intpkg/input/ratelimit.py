"""Injectable clocks and the client-side request budget shared by every input using one credential."""

from __future__ import annotations

import email.utils
import hashlib
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from intpkg.input.httpvalues import Header

IDENTITY_HEADERS = ("Authorization", "X-Auth-Key", "X-Auth-Email")  # which credential a request uses


class Clock(Protocol):
    def time(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class Interrupted(Exception):
    """A sleep was cut short because the clock's stop event was set (shutdown)."""


class SystemClock:
    """Wall clock and real sleeps; setting `stop_event` interrupts any sleep with `Interrupted`."""

    def __init__(self, stop_event: threading.Event | None = None):
        self.stop_event = stop_event

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if self.stop_event is None:
            if seconds > 0:
                time.sleep(seconds)
            return
        if self.stop_event.wait(max(0.0, seconds)):
            raise Interrupted("stopped while waiting")


class ManualClock:
    """A test clock: `sleep` advances time instantly and is recorded in `sleeps`."""

    def __init__(self, start: float = 1_700_000_000.0):
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def time(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            if seconds > 0:
                self._now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


def credential_fingerprint(header: Header, basic_user: str = "", host: str = "") -> str:
    """A short hash naming the credential a request uses (never the secret itself)."""
    digest = hashlib.sha256()
    found = False
    for name in IDENTITY_HEADERS:
        for value in header.Values(name):
            digest.update(f"{name}\0{value}\0".encode())
            found = True
    if basic_user:
        digest.update(f"basic\0{basic_user}\0".encode())
        found = True
    if not found:
        digest.update(f"anonymous\0{host}".encode())
    return digest.hexdigest()[:16]


def parse_retry_after(value: str, now: float) -> float | None:
    """Retry-After as seconds from `now`: delta-seconds or an HTTP date; None if absent/invalid."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now)


_RATELIMIT_R = re.compile(r"(?:^|;)\s*r=(\d+)")
_RATELIMIT_T = re.compile(r"(?:^|;)\s*t=(\d+)")


def parse_ratelimit_header(value: str) -> tuple[int, int] | None:
    """Cloudflare `Ratelimit: "default";r=<remaining>;t=<seconds>` → (remaining, seconds)."""
    remaining = _RATELIMIT_R.search(value or "")
    reset = _RATELIMIT_T.search(value or "")
    if not remaining or not reset:
        return None
    return int(remaining.group(1)), int(reset.group(1))


@dataclass
class _KeyState:
    sent: deque = field(default_factory=deque)
    blocked_until: float = 0.0
    probing: bool = False
    probe_in_flight: bool = False
    block_reason: str = ""


class RequestBudget:
    """At most `limit` requests per sliding `window_seconds` per credential key, thread-safe.

    A 429 blocks the key until its Retry-After (else `block_seconds`); afterwards a single probe request
    goes out first and the others wait for its answer, so a 429 is never followed by a burst.
    """

    PROBE_POLL_SECONDS = 0.05

    def __init__(self, limit: int = 1200, window_seconds: float = 300.0, *, block_seconds: float = 300.0,
                 clock: Clock | None = None):
        if limit <= 0 or window_seconds <= 0:
            raise ValueError("limit and window_seconds must be > 0")
        self.limit = limit
        self.window = window_seconds
        self.block_seconds = block_seconds
        self.clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._keys: dict[str, _KeyState] = {}

    def _state(self, key: str) -> _KeyState:
        return self._keys.setdefault(key, _KeyState())

    def acquire(self, key: str) -> float:
        """Block until `key` may send one request; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                state = self._state(key)
                now = self.clock.time()
                while state.sent and state.sent[0] <= now - self.window:
                    state.sent.popleft()
                if state.blocked_until > now:
                    wait = state.blocked_until - now
                elif state.probing and state.probe_in_flight:
                    wait = self.PROBE_POLL_SECONDS
                elif len(state.sent) >= self.limit:
                    wait = state.sent[0] + self.window - now
                else:
                    state.sent.append(now)
                    if state.probing:
                        state.probe_in_flight = True
                    return waited
            self.clock.sleep(wait)
            waited += wait

    def record_response(self, key: str, status: int, headers: Header | None = None) -> None:
        """Learn from a response: 429 → block; Cloudflare `Ratelimit` with r=0 → pause until reset."""
        headers = headers or Header()
        with self._lock:
            state = self._state(key)
            now = self.clock.time()
            state.probe_in_flight = False
            if status == 429:
                delay = parse_retry_after(headers.Get("Retry-After"), now)
                if delay is None:
                    delay = self.block_seconds
                state.blocked_until = max(state.blocked_until, now + delay)
                state.probing = True
                state.block_reason = "429 Too Many Requests"
                return
            state.probing = False
            parsed = parse_ratelimit_header(headers.Get("Ratelimit"))
            if parsed is not None and parsed[0] <= 0 and parsed[1] > 0:
                state.blocked_until = max(state.blocked_until, now + parsed[1])
                state.block_reason = "Ratelimit remaining is 0"

    def record_failure(self, key: str) -> None:
        """A request got no response (connection error): free the probe slot."""
        with self._lock:
            self._state(key).probe_in_flight = False

    def blocked_until(self, key: str) -> float:
        with self._lock:
            return self._state(key).blocked_until

    def sent_in_window(self, key: str) -> int:
        with self._lock:
            state = self._state(key)
            now = self.clock.time()
            return sum(1 for t in state.sent if t > now - self.window)
