"""`benchmark dashboards`: how long each dashboard takes to render over the cluster's data.

Every panel of every dashboard the package ships is rendered as the UI renders it (one search per
Lens layer, in sequence), `rounds` times after one warm-up round; reported per dashboard: panels,
the median wall time of the whole dashboard, and its slowest panel (median). The UI's browser fetches
panels in parallel, so what a user waits for lies between the slowest panel and the whole.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intpkg.dashboards.render import render_panel
from intpkg.dashboards.saved_objects import load_dashboards, load_searches
from intpkg.stack.client import SearchClient


@dataclass
class DashboardFigures:
    title: str
    panels: int
    empty_panels: list[str]
    seconds: list[float] = field(default_factory=list)
    slowest_panel: dict[str, list[float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        slowest = max(self.slowest_panel, key=lambda p: statistics.median(self.slowest_panel[p]), default=None)
        return {"title": self.title, "panels": self.panels, "empty_panels": self.empty_panels,
                "median_ms": round(statistics.median(self.seconds) * 1000, 1),
                "rounds_ms": [round(s * 1000, 1) for s in self.seconds],
                "slowest_panel": slowest,
                "slowest_panel_median_ms": round(statistics.median(self.slowest_panel[slowest]) * 1000, 1)
                if slowest else None}


def run(client: SearchClient, package_dir: Path, *, start: str, end: str, rounds: int = 5) -> list[DashboardFigures]:
    searches = load_searches(package_dir)
    figures = []
    for dashboard in load_dashboards(package_dir):
        result = DashboardFigures(dashboard.title, len(dashboard.panels), [])
        for round_number in range(rounds + 1):  # the first is a warm-up
            began = time.perf_counter()
            for panel in dashboard.panels:
                panel_began = time.perf_counter()
                shape = render_panel(client, dashboard, panel, start=start, end=end, searches=searches)
                if round_number:
                    result.slowest_panel.setdefault(panel.title or panel.index, []).append(
                        time.perf_counter() - panel_began)
                elif shape.get("empty") and shape["kind"] not in ("markdown", "links"):
                    result.empty_panels.append(panel.title or panel.index)
            if round_number:
                result.seconds.append(time.perf_counter() - began)
        figures.append(result)
    return figures
