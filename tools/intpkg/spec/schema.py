"""The JSON Schemas of each package file kind (kept as YAML beside this module) and their checking."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from intpkg.spec.problems import Problem
from intpkg.yamlpos import Loaded, read_yaml

SCHEMA_DIR = Path(__file__).with_name("schemas")
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
    r"(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)

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
    "sample_event": "SCH010",
    "docker_compose": "SCH011",
}

FORMAT_CHECKER = jsonschema.FormatChecker()


@FORMAT_CHECKER.checks("semver")
def _is_semver(value: object) -> bool:
    return not isinstance(value, str) or bool(SEMVER.match(value))


@FORMAT_CHECKER.checks("uri", raises=ValueError)
def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/]+\S*$", value):
        raise ValueError(f"{value!r} is not an absolute URL")
    return True


_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if isinstance(value, str) and not _DATE_TIME.match(value):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time")
    return True


@functools.cache
def _registry() -> Registry:
    resources = []
    for path in sorted(SCHEMA_DIR.glob("*.yml")):
        contents = read_yaml(path)
        resources.append((contents["$id"], Resource.from_contents(contents, default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


@functools.cache
def validator(name: str) -> jsonschema.protocols.Validator:
    """The validator (Draft 2020-12, with format checks) of schema `name` (file stem in schemas/)."""
    schema = _registry().contents(f"urn:intpkg:{name}")
    return jsonschema.Draft202012Validator(schema, registry=_registry(), format_checker=FORMAT_CHECKER)


def _extra_keys(error: jsonschema.ValidationError) -> list[str]:
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return []
    props = error.schema.get("properties", {})
    patterns = error.schema.get("patternProperties", {})
    return [k for k in error.instance if k not in props and not any(re.search(p, str(k)) for p in patterns)]


def _best(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For oneOf/anyOf/if-then failures, descend to the most specific sub-error."""
    while error.context:
        error = jsonschema.exceptions.best_match(error.context) or error.context[0]
        if error.validator not in ("oneOf", "anyOf", "allOf"):
            break
    return error


def _describe(error: jsonschema.ValidationError) -> str:
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    prefix = f"{where}: " if where else ""
    if error.validator == "additionalProperties":
        extras = _extra_keys(error)
        return f"{prefix}unknown key(s) {', '.join(repr(k) for k in extras)}"
    if error.validator == "not" and isinstance(error.validator_value, dict) and "required" in error.validator_value:
        keys = ", ".join(error.validator_value["required"])
        return f"{prefix}key {keys!r} is not allowed here"
    message = error.message
    if len(message) > 200:
        message = message[:200] + "..."
    return prefix + message


def check(name: str, loaded: Loaded, rel: str) -> list[Problem]:
    """Problems of `loaded` against schema `name`, each at the line of the offending node."""
    code = SCHEMA_CODES[name]
    problems = []
    for error in validator(name).iter_errors(loaded.data):
        error = _best(error) if error.validator in ("oneOf", "anyOf", "allOf") else error
        path = tuple(error.absolute_path)
        extras = _extra_keys(error)
        line, col = loaded.key_pos(path + (extras[0],)) if extras else loaded.pos(path)
        problems.append(Problem(rel, line, col, code, _describe(error)))
    return problems


def data_of(loaded: Loaded | None) -> Any:
    return None if loaded is None else loaded.data
