"""The JSON Schema of a package policy, generated from the package's manifests.

Fleet validates a package policy per variable type (`validate_package_policy.ts`); this schema says
the same for `intpkg.validation`: which inputs and streams exist, which variables each level
declares, and what each variable type accepts. Environment references are expanded before the
policy is checked, and what depends on defaults (required, `required_vars`) is checked in
`intpkg.agent.policy`. Messages never repeat the value of a secret variable.
"""

from __future__ import annotations

from typing import Any

from intpkg.package import Package

SECRET_TYPES = {"password"}
MIN_SECRET_LENGTH = 8  # shorter values could not be masked in logs without masking common words
ID_PATTERN = r"^\s*[A-Za-z0-9_-]+\s*$"
DURATION_PATTERN = r"^(\d+(ns|us|µs|ms|s|m|h))+$"
NAMESPACE_PATTERN = r"^[a-z0-9_]+$"

_ENABLED = {
    "anyOf": [{"type": "boolean"}, {"type": "string", "pattern": "^(?i:true|false)$"}],
    "x-message": "{value} is not a boolean (true/false)",
}


def is_secret(definition: dict[str, Any]) -> bool:
    return bool(definition.get("secret")) or definition.get("type") in SECRET_TYPES


def _value_schema(definition: dict[str, Any]) -> dict[str, Any]:
    """What one (non-list) value of a variable may be."""
    kind = definition.get("type", "text")
    name = str(definition.get("name", ""))
    if is_secret(definition):
        return {"type": "string", "pattern": rf"^\s*\S[\s\S]{{{MIN_SECRET_LENGTH - 2},}}\S\s*$",
                "x-message": f"a credential shorter than {MIN_SECRET_LENGTH} characters (or not text) is not "
                             "plausible; check that the whole value was copied"}
    if kind == "bool":
        return dict(_ENABLED)
    if kind == "integer":
        return {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": r"^\s*[-+]?[0-9]+\s*$"}],
                "x-message": "{value} is not an integer"}
    if kind == "select":
        options = [str(o["value"]) for o in definition.get("options") or []]
        return {"type": ["string", "number"], "enum": options + [o for o in _numbers(options)],
                "x-message": f"{{value}} is not one of {', '.join(options)}"}
    if kind == "yaml":
        return {"if": {"type": "string"}, "then": {"format": "yaml"}, "else": {"type": ["object", "array"]}}
    if kind == "duration":
        return {"type": "string", "pattern": DURATION_PATTERN,
                "x-message": "{value} is not a duration like 30s, 5m or 1h30m"}
    if kind == "url":
        return {"type": "string", "pattern": r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/]+", "x-message": "{value} is not a URL"}
    if kind == "email":
        return {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+$", "x-message": "{value} is not an e-mail address"}
    if name.endswith("_id") or name.endswith("_ids"):
        # ids are placed into API paths: `x/../../y` or `?` would reach another endpoint with the credential
        return {"type": ["string", "number"], "pattern": ID_PATTERN,
                "x-message": "{value} is not an id (letters, digits, - and _ only)"}
    return {"type": ["string", "number", "boolean"], "x-message": "a text value is expected"}


def _numbers(options: list[str]) -> list[int | float]:
    """Select options written as numbers in YAML may be given as numbers too."""
    out: list[int | float] = []
    for option in options:
        try:
            out.append(int(option))
        except ValueError:
            continue
    return out


def variable_schema(definition: dict[str, Any]) -> dict[str, Any]:
    """One variable: a list of values when `multi` (a single value is taken as a list of one)."""
    value = _value_schema(definition)
    if definition.get("multi"):
        return {"if": {"type": "array"}, "then": {"items": value}, "else": value}
    return {"if": {"type": "array"}, "then": {"not": {}, "x-message": "a single value is expected, not a list"},
            "else": value}


def vars_schema(definitions: list[dict[str, Any]]) -> dict[str, Any]:
    names = sorted(d["name"] for d in definitions)
    return {
        "type": ["object", "null"],
        "x-message": {"type": "expected a mapping of variable names to values", "required": "required"},
        "required": [d["name"] for d in definitions if d.get("required") and d.get("default") in (None, "", [])],
        "properties": {d["name"]: variable_schema(d) for d in definitions},
        "additionalProperties": {"not": {}, "x-message": f"unknown variable; known: {', '.join(names) or 'none'}"},
    }


def _unless_disabled(schema: dict[str, Any]) -> dict[str, Any]:
    """Fleet does not validate the variables of a disabled input or stream."""
    return {"if": {"type": "object", "required": ["enabled"], "properties": {"enabled": {"const": False}}},
            "then": {}, "else": schema}


def _stream_schema(stream_def: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": ["object", "null"],
        "x-message": {"type": "expected a mapping with `enabled` and `vars`"},
        "properties": {"enabled": _ENABLED, "vars": True},
        "additionalProperties": {"not": {}, "x-message": "unknown key (expected enabled, vars)"},
        **_unless_disabled({"properties": {"vars": vars_schema(stream_def.get("vars") or [])}}),
    }


def policy_schema(package: Package) -> dict[str, Any]:
    """The JSON Schema (Draft 2020-12) of a package policy for `package`."""
    streams = {ds.name: ds for ds in package.data_streams()}
    inputs: dict[str, Any] = {}
    for template in package.manifest.get("policy_templates") or []:
        for input_def in template.get("inputs") or []:
            stream_schemas = {}
            for ds_name in template.get("data_streams") or sorted(streams):
                if ds_name not in streams:
                    continue
                ds = streams[ds_name]
                stream_def = next((s for s in ds.manifest.get("streams") or [] if s.get("input") == input_def["type"]),
                                  None)
                if stream_def is not None:
                    stream_schemas[ds.dataset] = _stream_schema(stream_def)
            inputs[f"{template['name']}-{input_def['type']}"] = {
                "type": ["object", "null"],
                "x-message": {"type": "expected a mapping with `enabled`, `vars` and `streams`"},
                "properties": {
                    "enabled": _ENABLED,
                    "vars": True,
                    "streams": {
                        "type": ["object", "null"],
                        "x-message": {"type": "expected a mapping of datasets"},
                        "properties": stream_schemas,
                        "additionalProperties": {"not": {}, "x-message": "no such data stream; expected one of "
                                                 + ", ".join(sorted(stream_schemas))},
                    },
                },
                "additionalProperties": {"not": {}, "x-message": "unknown key (expected enabled, vars, streams)"},
                **_unless_disabled({"properties": {"vars": vars_schema(input_def.get("vars") or [])}}),
            }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:intpkg:policy:{package.name}",
        "type": "object",
        "x-message": {"type": "a policy is a YAML or JSON mapping",
                      "required": "a policy needs an `inputs` mapping (see `intpkg run --help`)"},
        "required": ["inputs"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "x-message": "expected a non-empty name"},
            "description": {"type": "string"},
            "package": {  # Fleet's simplified policy names the package it is for
                "type": "object",
                "properties": {"name": {"const": package.name, "x-message": f"this policy is for {package.name}"},
                               "version": {"type": "string"}},
                "additionalProperties": {"not": {}, "x-message": "unknown key (expected name, version)"},
            },
            "namespace": {"type": "string", "pattern": NAMESPACE_PATTERN,
                          "x-message": "{value} must be lower-case letters, digits and _"},
            "vars": vars_schema(package.manifest.get("vars") or []),
            "inputs": {
                "type": "object",
                "x-message": "a policy needs an `inputs` mapping (see `intpkg run --help`)",
                "properties": inputs,
                "additionalProperties": {"not": {}, "x-message": "no such input; the package offers "
                                         + ", ".join(sorted(inputs))},
            },
        },
        "additionalProperties": {"not": {}, "x-message": "unknown key (expected name, description, namespace, "
                                 "package, vars, inputs)"},
    }
