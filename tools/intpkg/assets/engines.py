"""What differs between Elasticsearch and OpenSearch for a package's assets, in one place.

The package is written for Elasticsearch, as Fleet installs it. On OpenSearch the installer (and
the test runners, which install the same way) adapt:

| asset | Elasticsearch | OpenSearch |
|---|---|---|
| `fingerprint` | `method: SHA-1` (default) or SHA-256 | a Painless `script` hashing the same fields (see below) |
| `community_id` | `source_ip`, ... (ECS defaults) | `source_ip_field`, ... all named |
| `flattened` field | `flattened` | `flat_object` |
| `constant_keyword`, no `value` | first value wins | `keyword` (OpenSearch requires the value up front) |
| `wildcard` field | `wildcard` | `keyword`, `ignore_above: 8191` (`query_string` misses wildcard fields) |

Outputs differ only where the engine computes them: the fingerprint (`_id`) is hashed from another
byte layout, so the same record has another `_id` on each engine (deduplication works within a
cluster either way).

Why a script and not OpenSearch's own `fingerprint` processor: on OpenSearch 3.6 that processor is
not safe under concurrent ingest. With two bulk requests through the same pipeline at once (two
zones, or two requests of one collector in flight) it now and then hashes an empty input
(`SHA-1@2.16.0:2jmj7l5rSw0yVb/vlWAYkK/YBwk=`, the SHA-1 of ""), so different records get the same
`_id` and all but the first are refused as duplicates: silently lost. Painless' `sha1()`/`sha256()`
hash each document's own string.
"""

from __future__ import annotations

import copy
from typing import Any

from intpkg.errors import IntpkgError

ELASTICSEARCH = "elasticsearch"
OPENSEARCH = "opensearch"

# Elasticsearch's fingerprint `method` -> the Painless String method that computes it (hex digest)
FINGERPRINT_METHODS = {"SHA-1": "sha1", "SHA-256": "sha256"}
FINGERPRINT_SCRIPT = """
def found = new ArrayList();
for (String name : params.fields) {
  def node = ctx;
  for (String part : name.splitOnToken('.')) {
    node = node instanceof Map ? node.get(part) : null;
  }
  if (node != null) { found.add('|' + name + '|' + node.toString()); }
}
if (found.isEmpty()) {
  if (params.ignore_missing) { return; }
  throw new IllegalArgumentException('none of the fields ' + params.fields + ' is present');
}
String text = String.join('', found) + '|';
String hash = params.method == 'sha256' ? text.sha256() : text.sha1();
def target = ctx;
String[] parts = params.target_field.splitOnToken('.');
for (int i = 0; i < parts.length - 1; i++) {
  if (!(target.get(parts[i]) instanceof Map)) { target.put(parts[i], new HashMap()); }
  target = target.get(parts[i]);
}
target.put(parts[parts.length - 1], hash);
"""
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
        return {"script": _fingerprint(options, label)}
    if kind == "community_id":
        options = _community_id(options)
    return {kind: options}


def _fingerprint(options: dict[str, Any], label: str) -> dict[str, Any]:
    """Elasticsearch's fingerprint processor as a Painless script processor (see the module docstring)."""
    if "salt" in options:
        raise IntpkgError(f"{label}: the OpenSearch form of the fingerprint processor has no `salt`.")
    method = options.get("method", "SHA-1")
    if method not in FINGERPRINT_METHODS:
        raise IntpkgError(f"{label}: the OpenSearch form of the fingerprint processor has no method {method!r} "
                          f"(it has {', '.join(FINGERPRINT_METHODS)}).")
    script = {k: v for k, v in options.items() if k in COMMON_OPTIONS}
    script.update(lang="painless", source=FINGERPRINT_SCRIPT, params={
        "fields": list(options.get("fields") or []), "target_field": options.get("target_field", "fingerprint"),
        "method": FINGERPRINT_METHODS[method], "ignore_missing": bool(options.get("ignore_missing", False)),
    })
    return script


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
