"""The JSON Schemas of each package file kind (kept as YAML beside this module) and their checking."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry

from intpkg.packagespec.problems import Problem
from intpkg.validation import findings, registry, validator_for
from intpkg.yamlpos import Loaded

SCHEMA_DIR = Path(__file__).with_name("schemas")

#: schema name -> lint code
SCHEMA_CODES = {
    "manifest": "SCH001",
    "data_stream_manifest": "SCH002",
    "fields": "SCH003",
    "changelog": "SCH004",
    "ingest_pipeline": "SCH005",
    "build": "SCH006",
    "pipeline_test_config": "SCH007",
    "pipeline_test_events": "SCH007",
    "system_test_config": "SCH008",
    "kibana_object": "SCH009",
    "kibana_dashboard": "SCH009",
    "kibana_search": "SCH009",
    "sample_event": "SCH010",
    "docker_compose": "SCH011",
    "detection_rule": "SCH012",
    "detection_correlation": "SCH012",
    "detection_counted_rule": "SCH012",
    "detection_test": "SCH012",
    "detection_attack": "SCH012",
}


@functools.cache
def validator(name: str) -> jsonschema.protocols.Validator:
    """The validator of package-spec schema `name` (file stem in schemas/)."""
    schemas = _registry()
    return validator_for(schemas.contents(f"urn:intpkg:{name}"), schemas)


@functools.cache
def _registry() -> Registry:
    return registry(SCHEMA_DIR)


def check(name: str, loaded: Loaded, rel: str) -> list[Problem]:
    """Problems of `loaded` against schema `name`, each at the line of the offending node."""
    code = SCHEMA_CODES[name]
    return [Problem(rel, f.line, f.column, code, f.message) for f in findings(validator(name), loaded)]


def data_of(loaded: Loaded | None) -> Any:
    return None if loaded is None else loaded.data
