"""What differs between Elasticsearch and OpenSearch for a package's assets, in one place.

The package is written for Elasticsearch, as Fleet installs it. On OpenSearch the installer (and
the test runners, which install the same way) adapt:

| asset | Elasticsearch | OpenSearch |
|---|---|---|
| `fingerprint` | `method: SHA-1` (default) | `hash_method: SHA-1@2.16.0`; no `salt`, MurmurHash3, SHA-512 |
| `community_id` | `source_ip`, ... (ECS defaults) | `source_ip_field`, ... all named |
| `flattened` field | `flattened` | `flat_object` |
| `constant_keyword`, no `value` | first value wins | `keyword` (OpenSearch requires the value up front) |
| `wildcard` field | `wildcard` | `keyword`, `ignore_above: 8191` (`query_string` misses wildcard fields) |

Outputs differ only where the engine computes them: the fingerprint (`_id`) has OpenSearch's
`SHA-1@2.16.0:` prefix and another byte layout, so the same record has another `_id` on each engine
(deduplication works within a cluster either way).
"""

from __future__ import annotations

import copy
from typing import Any

from intpkg.errors import IntpkgError

ELASTICSEARCH = "elasticsearch"
OPENSEARCH = "opensearch"

# Elasticsearch's fingerprint `method` -> OpenSearch's `hash_method`
FINGERPRINT_METHODS = {"MD5": "MD5@2.16.0", "SHA-1": "SHA-1@2.16.0", "SHA-256": "SHA-256@2.16.0"}
# Elasticsearch's community_id option -> (OpenSearch's option, Elasticsearch's default field)
COMMUNITY_ID_FIELDS = {
    "source_ip": ("source_ip_field", "source.ip"),
    "source_port": ("source_port_field", "source.port"),
    "destination_ip": ("destination_ip_field", "destination.ip"),
    "destination_port": ("destination_port_field", "destination.port"),
    "iana_number": ("iana_protocol_number_field", "network.iana_number"),
    "transport": ("protocol_field", "network.transport"),
    "icmp_type": ("icmp_type_field", "icmp.type"),
    "icmp_code": ("icmp_code_field", "icmp.code"),
}
COMMON_OPTIONS = ("tag", "if", "ignore_failure", "on_failure", "description")
KEYWORD_IGNORE_ABOVE = 8191  # characters: 4 bytes each at most, within Lucene's 32 766-byte term limit


def pipeline_for(body: dict[str, Any], flavor: str, *, where: str = "pipeline") -> dict[str, Any]:
    """The pipeline `body` as `flavor` accepts it (a copy; Elasticsearch's is unchanged).

    `where` names the pipeline in errors (a processor OpenSearch cannot express).
    """
    if flavor != OPENSEARCH:
        return body
    adapted = copy.deepcopy(body)
    for key in ("processors", "on_failure"):
        if isinstance(adapted.get(key), list):
            adapted[key] = [_processor(p, where) for p in adapted[key]]
    return adapted


def _processor(processor: Any, where: str) -> Any:
    if not isinstance(processor, dict) or len(processor) != 1:
        return processor
    ((kind, options),) = processor.items()
    if not isinstance(options, dict):
        return processor
    options = dict(options)
    if isinstance(options.get("on_failure"), list):
        options["on_failure"] = [_processor(p, where) for p in options["on_failure"]]
    if kind == "foreach" and isinstance(options.get("processor"), dict):
        options["processor"] = _processor(options["processor"], where)
    label = f"{where}: {kind} processor" + (f" `{options['tag']}`" if options.get("tag") else "")
    if kind == "fingerprint":
        options = _fingerprint(options, label)
    elif kind == "community_id":
        options = _community_id(options)
    return {kind: options}


def _fingerprint(options: dict[str, Any], label: str) -> dict[str, Any]:
    if "salt" in options:
        raise IntpkgError(f"{label}: OpenSearch's fingerprint processor has no `salt`.")
    method = options.pop("method", "SHA-1")
    if method not in FINGERPRINT_METHODS:
        raise IntpkgError(f"{label}: OpenSearch's fingerprint processor has no method {method!r} "
                          f"(it has {', '.join(FINGERPRINT_METHODS)}).")
    options["hash_method"] = FINGERPRINT_METHODS[method]
    return options


def _community_id(options: dict[str, Any]) -> dict[str, Any]:
    adapted = {k: v for k, v in options.items() if k in COMMON_OPTIONS}
    for es_name, (os_name, default) in COMMUNITY_ID_FIELDS.items():
        adapted[os_name] = options.get(es_name, default)
    adapted["target_field"] = options.get("target_field", "network.community_id")
    adapted["seed"] = options.get("seed", 0)
    adapted["ignore_missing"] = options.get("ignore_missing", True)  # Elasticsearch's default
    return adapted


def mappings_for(node: Any, flavor: str) -> Any:
    """Index mappings (or any part of them) as `flavor` accepts them (a copy on OpenSearch)."""
    if flavor != OPENSEARCH:
        return node
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "flattened":
            return {"type": "flat_object"}
        if kind == "constant_keyword" and "value" not in node:
            return {"type": "keyword"}
        if kind == "wildcard":  # a keyword term is at most 32 766 bytes; wildcard has no such limit
            return {"ignore_above": KEYWORD_IGNORE_ABOVE} | {k: mappings_for(v, flavor) for k, v in node.items()} \
                | {"type": "keyword"}
        return {k: mappings_for(v, flavor) for k, v in node.items()}
    if isinstance(node, list):
        return [mappings_for(v, flavor) for v in node]
    return node
