"""Kibana dashboards of the package, rendered from the cluster without Kibana.

- `saved_objects`: read `kibana/dashboard/*.json` and `kibana/search/*.json` (as the repository stores
  them, or encoded as a built package has them) into `Dashboard`, `Panel`, `Control` and `SavedSearch`;
- `kql`: KQL (Kibana query language) to Elasticsearch DSL; `filters`: Kibana filter objects to DSL;
- `timerange`: time pickers' bounds (ISO 8601 or date math) and Kibana's automatic histogram interval;
- `lens`: a Lens panel's layers as search requests, and their responses as rows (`tabify`);
- `render`: a panel as a chart-agnostic JSON shape (metric, xy, pie, table, markdown, links), and the
  options of a dashboard control.

Only search features Elasticsearch 8.x and OpenSearch share are used (no `top_metrics`, no ES|QL).
"""

from __future__ import annotations

from intpkg.errors import IntpkgError


class DashboardError(IntpkgError):
    """A dashboard, panel or query this module cannot load or run."""
