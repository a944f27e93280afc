"""Does every panel of every dashboard draw something? The check behind the empty-panel test.

A panel is reported when it cannot render (an unknown field type, an unsupported operation, a query
the engine refuses), when it returns no bucket or value, or when one of its metric columns is empty
while the others are not (a misspelled field beside a good one). Markdown and links panels have no data.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from intpkg.dashboards.render import render_dashboard
from intpkg.dashboards.saved_objects import Dashboard, load_dashboards
from intpkg.stack.client import SearchClient

NO_DATA_KINDS = {"markdown", "links"}


def panel_problems(client: SearchClient, dashboard: Dashboard, *, start: str, end: str,
                   filters: Sequence[dict[str, Any]] = ()) -> list[str]:
    """`<dashboard> › <panel>: <why>` for each panel of `dashboard` that draws nothing over the range."""
    problems = []
    for index, shape in render_dashboard(client, dashboard, start=start, end=end, filters=filters).items():
        if shape["kind"] in NO_DATA_KINDS:
            continue
        where = f"{dashboard.title} › {shape.get('title') or f'panel {index}'}"
        if shape["kind"] == "error":
            problems.append(f"{where}: {shape['error']}")
        elif shape.get("empty"):
            problems.append(f"{where}: no bucket or value")
        elif shape.get("empty_columns"):
            problems.append(f"{where}: no value in {', '.join(map(str, shape['empty_columns']))}")
    return problems


def empty_panels(client: SearchClient, package_dir: Path, *, start: str, end: str,
                 filters: Sequence[dict[str, Any]] = ()) -> list[str]:
    """The problems of every dashboard the package ships (see `panel_problems`)."""
    return [problem for dashboard in load_dashboards(package_dir)
            for problem in panel_problems(client, dashboard, start=start, end=end, filters=filters)]
