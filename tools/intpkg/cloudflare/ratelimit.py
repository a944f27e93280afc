"""Cloudflare's global API rate limit (reference §8): its quota and its `Ratelimit` headers.

1200 requests per 300 seconds per credential (user or token); going over blocks every call of that
credential for the rest of a full window. Responses carry `Ratelimit: "default";r=<left>;t=<seconds>`
and `Ratelimit-Policy: "burst";q=<quota>;w=<window>`; a 429 adds `Retry-After`.
"""

from __future__ import annotations

import re

from intpkg.golang.httpvalues import Header
from intpkg.input.ratelimit import BudgetPolicy

QUOTA = 1200
WINDOW_SECONDS = 300
IDENTITY_HEADERS = ("Authorization", "X-Auth-Key", "X-Auth-Email")  # an API token, or email + global key

_REMAINING = re.compile(r"(?:^|;)\s*r=(\d+)")
_RESET = re.compile(r"(?:^|;)\s*t=(\d+)")


def parse_ratelimit(value: str) -> tuple[int, int] | None:
    """`Ratelimit: "default";r=<remaining>;t=<seconds>` → (remaining, seconds); None if not that shape."""
    remaining = _REMAINING.search(value or "")
    reset = _RESET.search(value or "")
    if not remaining or not reset:
        return None
    return int(remaining.group(1)), int(reset.group(1))


def remaining(header: Header) -> tuple[int, float] | None:
    """A response's (requests left, seconds to reset), for `BudgetPolicy.remaining`."""
    return parse_ratelimit(header.Get("Ratelimit"))


def ratelimit_headers(remaining: int, reset_seconds: int, quota: int = QUOTA,
                      window_seconds: int = WINDOW_SECONDS) -> list[tuple[str, str]]:
    """The `Ratelimit` and `Ratelimit-Policy` headers Cloudflare puts on every response."""
    return [("Ratelimit", f'"default";r={remaining};t={reset_seconds}'),
            ("Ratelimit-Policy", f'"burst";q={quota};w={window_seconds}')]


BUDGET = BudgetPolicy(limit=QUOTA, window_seconds=WINDOW_SECONDS, block_seconds=WINDOW_SECONDS,
                      identity_headers=IDENTITY_HEADERS, remaining=remaining)
