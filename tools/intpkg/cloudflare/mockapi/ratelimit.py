"""Cloudflare's global rate limit: a quota per window and credential; exceeding it blocks all calls for a window."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

from intpkg.cloudflare.ratelimit import ratelimit_headers


@dataclass
class Decision:
    allowed: bool
    remaining: int
    reset_seconds: int
    retry_after: int = 0


@dataclass
class _Bucket:
    window_start: float
    count: int = 0
    blocked_until: float = 0.0


class RateLimiter:
    """Fixed windows starting at a key's first request; the request over quota starts a full-window block."""

    def __init__(self, quota: int, window_seconds: float, clock: Callable[[], float], *, block: bool = True) -> None:
        if quota < 1 or window_seconds <= 0:
            raise ValueError("rate limit quota and window must be positive")
        self.quota, self.window, self.clock, self.block = quota, float(window_seconds), clock, block
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> Decision:
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is not None and bucket.blocked_until > now:
                wait = math.ceil(bucket.blocked_until - now)
                return Decision(False, 0, wait, wait)
            if bucket is None or now >= bucket.window_start + self.window:
                bucket = self._buckets[key] = _Bucket(window_start=now)
            bucket.count += 1
            reset = max(1, math.ceil(bucket.window_start + self.window - now))
            if bucket.count > self.quota:
                if self.block:
                    bucket.blocked_until = now + self.window
                    wait = math.ceil(self.window)
                else:
                    wait = reset
                return Decision(False, 0, wait, wait)
            return Decision(True, self.quota - bucket.count, reset)

    def headers(self, decision: Decision) -> list[tuple[str, str]]:
        """`Ratelimit` / `Ratelimit-Policy` (every response) and `Retry-After` (429 only)."""
        out = ratelimit_headers(decision.remaining, decision.reset_seconds, self.quota, int(self.window))
        if not decision.allowed:
            out.append(("Retry-After", str(decision.retry_after)))
        return out
