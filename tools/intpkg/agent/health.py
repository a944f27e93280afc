"""A stream's health as Fleet shows it (HEALTHY / DEGRADED / FAILED), from the collector's status entry.

- `healthy`: the last interval succeeded and the cluster took every event;
- `degraded`: it works, with trouble: the last interval failed after earlier ones succeeded, or the
  cluster refused documents, or the shipper reported an error;
- `failed`: no interval has succeeded yet and the last one failed;
- `starting`: the collector runs but the stream has not finished an interval;
- `stopped`: no collector process runs the stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Health:
    state: str
    reason: str = ""


def stream_health(entry: dict[str, Any] | None, *, running: bool) -> Health:
    """The health of one stream given its status entry (None: never run) and whether a collector runs it."""
    entry = entry or {}
    error = entry.get("last_error") or ""
    if not running:
        return Health("stopped", f"last error: {error}" if error else "the collector is not running")
    if not entry.get("intervals"):
        return Health("starting", "waiting for the first interval to finish")
    if error and not entry.get("last_ok"):
        return Health("failed", error)
    if error:
        return Health("degraded", error)
    if entry.get("last_rejected"):
        return Health("degraded", f"the cluster refused {entry['last_rejected']} document(s) in the last interval")
    return Health("healthy")


def next_run(entry: dict[str, Any] | None) -> float | None:
    """When the stream's next interval starts (epoch seconds), if it is known."""
    entry = entry or {}
    started, every = entry.get("last_run_started"), entry.get("interval_seconds")
    return started + every if started and every else None
