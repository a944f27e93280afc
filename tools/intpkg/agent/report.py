"""What the collector's status says, as lines for a terminal: `intpkg status`, and `intpkg up`'s progress."""

from __future__ import annotations

import time
from typing import Any

from intpkg.agent.policy import StreamPlan
from intpkg.stack.client import SearchClient


def status_lines(status: dict[str, Any]) -> list[str]:
    """One row per stream (state, events published/acknowledged/rejected, last run), its error and cursor."""
    lines = [f"{'stream':45} {'state':7} {'published':>9} {'acked':>7} {'rejected':>8}  last run"]
    for stream_id, entry in sorted((status.get("streams") or {}).items()):
        finished = entry.get("last_run_finished")
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(finished)) if finished else "-"
        lines.append(f"{stream_id:45} {entry.get('state', '-'):7} {entry.get('events_published', 0):>9} "
                     f"{entry.get('events_acked', 0):>7} {entry.get('events_rejected', 0):>8}  {when}")
        if entry.get("last_error"):
            lines.append(f"  last error: {entry['last_error']}")
        if entry.get("cursor"):
            lines.append(f"  cursor: {entry['cursor']}")
    return lines


def progress_lines(client: SearchClient, plans: list[StreamPlan], status: dict[str, Any]) -> list[str]:
    """Per stream: documents in its data stream, acknowledged this run, where to search, the last error."""
    streams = status.get("streams") or {}
    lines = []
    for plan in plans:
        entry = streams.get(plan.stream_id, {})
        client.request("POST", f"/{plan.index}/_refresh", ignore=(404,))
        count = client.request("GET", f"/{plan.index}/_count", ignore=(404,)).get("count", 0)
        lines.append(f"[{time.strftime('%H:%M:%S')}] {plan.dataset}: {count} documents in {plan.index} "
                     f"({entry.get('events_acked', 0)} acknowledged this run) -> "
                     f"{client.target.url}/{plan.index}/_search")
        if entry.get("last_error"):
            lines.append(f"  last error: {entry['last_error']}")
    return lines
