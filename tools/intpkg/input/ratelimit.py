"""Injectable clocks and the client-side request budget shared by every input using one credential.

The budget knows no API: its quota, window, block time, which headers name the credential and how a
response tells the remaining quota all come from the caller as a `BudgetPolicy` (Cloudflare's is
`intpkg.cloudflare.ratelimit.BUDGET`).
"""

from __future__ import annotations

import email.utils
import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from intpkg.golang.httpvalues import Header


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


def credential_fingerprint(header: Header, identity_headers: tuple[str, ...], basic_user: str = "",
                           host: str = "") -> str:
    """A short hash naming the credential a request uses (never the secret itself)."""
    digest = hashlib.sha256()
    found = False
    for name in identity_headers:
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


Remaining = Callable[[Header], tuple[int, float] | None]


@dataclass(frozen=True)
class BudgetPolicy:
    """What a `RequestBudget` enforces for each credential.

    `limit` requests per sliding `window_seconds` (None: no quota of its own); a 429 without Retry-After
    blocks the credential `block_seconds`; `identity_headers` name the credential a request uses;
    `remaining` reads (requests left, seconds to reset) from a response's headers, or None.
    """

    limit: int | None = None
    window_seconds: float = 60.0
    block_seconds: float = 60.0
    identity_headers: tuple[str, ...] = ("Authorization",)
    remaining: Remaining | None = None

    def __post_init__(self) -> None:
        if (self.limit is not None and self.limit <= 0) or self.window_seconds <= 0:
            raise ValueError("limit and window_seconds must be > 0")


@dataclass
class _KeyState:
    sent: deque = field(default_factory=deque)
    blocked_until: float = 0.0
    probing: bool = False
    probe_in_flight: bool = False
    block_reason: str = ""


class RequestBudget:
    """At most `policy.limit` requests per sliding `policy.window_seconds` per credential key, thread-safe.

    A 429 blocks the key until its Retry-After (else `policy.block_seconds`); afterwards a single probe request
    goes out first and the others wait for its answer, so a 429 is never followed by a burst.
    """

    PROBE_POLL_SECONDS = 0.05

    def __init__(self, policy: BudgetPolicy | None = None, *, clock: Clock | None = None):
        self.policy = policy or BudgetPolicy()
        self.window = self.policy.window_seconds
        self.clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._keys: dict[str, _KeyState] = {}

    def key_for(self, header: Header, basic_user: str = "", host: str = "") -> str:
        """The budget key of a request: a fingerprint of the policy's identity headers (or the host)."""
        return credential_fingerprint(header, self.policy.identity_headers, basic_user, host)

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
                elif self.policy.limit is not None and len(state.sent) >= self.policy.limit:
                    wait = state.sent[0] + self.window - now
                else:
                    state.sent.append(now)
                    if state.probing:
                        state.probe_in_flight = True
                    return waited
            self.clock.sleep(wait)
            waited += wait

    def record_response(self, key: str, status: int, headers: Header | None = None) -> None:
        """Learn from a response: 429 → block; the policy's remaining quota at 0 → pause until reset."""
        headers = headers or Header()
        with self._lock:
            state = self._state(key)
            now = self.clock.time()
            state.probe_in_flight = False
            if status == 429:
                delay = parse_retry_after(headers.Get("Retry-After"), now)
                if delay is None:
                    delay = self.policy.block_seconds
                state.blocked_until = max(state.blocked_until, now + delay)
                state.probing = True
                state.block_reason = "429 Too Many Requests"
                return
            state.probing = False
            parsed = self.policy.remaining(headers) if self.policy.remaining else None
            if parsed is not None and parsed[0] <= 0 and parsed[1] > 0:
                state.blocked_until = max(state.blocked_until, now + parsed[1])
                state.block_reason = "no requests remaining until the quota resets"

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
