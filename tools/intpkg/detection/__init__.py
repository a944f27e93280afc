"""Detection rules: authored as Sigma, built into Kibana security rules, run and tested without Kibana.

- `authoring`: the Sigma sources under `_dev/detection` converted (pySigma) to Kibana security rules,
  which `intpkg build` writes to `kibana/security_rule/`, and lint keeps in sync;
- `rules`: `kibana/security_rule/*.json` (Kibana security-rule saved objects) as `Rule`s;
- `execute`: one rule over its look-back window at a given time, as Kibana's detection engine runs
  query, threshold and new-terms rules, returning `Match`es (the source events behind each would-be alert);
- `engine`: `DetectionEngine`, which runs the enabled rules on their schedule and writes alerts as ECS
  documents to `intpkg-alerts-default`; `recent_alerts` reads them back;
- `tests`: `_dev/detection/tests/<slug>.yml` files, and `testrunner`: `intpkg test rules`.

Only search features Elasticsearch 8.x and OpenSearch share are used (query_string, composite
aggregations, top_hits, cardinality).
"""

from __future__ import annotations

from intpkg.errors import IntpkgError


class DetectionError(IntpkgError):
    """A rule, a tests file or an execution this module cannot handle; the message names the file."""
