"""JSON Schema validation with positions: the one validator style of intpkg.

Lint checks package files, and the agent, the mock API and the UI check their configs (package
policies, httpjson input configs, mock configs), all through `findings()`: Draft 2020-12 schemas
with format checks, each problem at the line and column of the offending node (`yamlpos.Loaded`).

Schemas may carry `x-message` beside a keyword to replace jsonschema's generic wording with one a
user can act on (`{value}` is replaced by the offending value's repr).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from intpkg.yamlpos import Loaded, ParseError, loads, read_yaml

SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
    r"(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


def semver_key(version: str) -> tuple:
    """Sort key of a semver string by SemVer 2.0 precedence: pre-releases before their release, build
    metadata ignored. Raises ValueError when `version` is not semver."""
    m = SEMVER.match(version)
    if m is None:
        raise ValueError(f"{version!r} is not a semantic version")
    major, minor, patch, pre = int(m[1]), int(m[2]), int(m[3]), m[4]
    pre_key: tuple = (1,) if pre is None else (0, *[(0, int(p), "") if p.isdigit() else (1, 0, p)
                                                    for p in pre.split(".")])
    return (major, minor, patch, pre_key)


_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")

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


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if isinstance(value, str) and not _DATE_TIME.match(value):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time")
    return True


@FORMAT_CHECKER.checks("regex", raises=ValueError)
def _is_regex(value: object) -> bool:
    if isinstance(value, str):
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regex: {exc}") from None
    return True


@FORMAT_CHECKER.checks("yaml", raises=ValueError)
def _is_yaml(value: object) -> bool:
    if isinstance(value, str):
        try:
            loads(value, "value")
        except ParseError as exc:
            raise ValueError(f"not valid YAML (line {exc.line}: {exc.message})") from None
    return True


@dataclass(frozen=True)
class Finding:
    """One schema violation: the offending node's key path, its position, and a message."""

    path: tuple[Any, ...]
    line: int
    column: int
    message: str  # starts with the dotted key path ("request.url: ...") unless it is the root

    def located(self, file: str | Path) -> str:
        return f"{file}:{self.line}:{self.column}: {self.message}"


def dotted(path: Iterable[Any]) -> str:
    """`("rules", 0, "path")` -> `rules[0].path`."""
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


def registry(schema_dir: Path) -> Registry:
    """Every `*.yml` schema in `schema_dir`, by its `$id`, so that schemas can `$ref` each other."""
    resources = []
    for path in sorted(schema_dir.glob("*.yml")):
        contents = read_yaml(path)
        resources.append((contents["$id"], Resource.from_contents(contents, default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


def validator_for(schema: dict[str, Any], schema_registry: Registry | None = None) -> jsonschema.protocols.Validator:
    """A Draft 2020-12 validator of `schema`, with intpkg's format checks."""
    return jsonschema.Draft202012Validator(schema, registry=schema_registry or Registry(),
                                           format_checker=FORMAT_CHECKER)


@functools.cache
def schema_file(path: Path) -> jsonschema.protocols.Validator:
    """The validator of one standalone schema file (cached per process)."""
    return validator_for(read_yaml(path))


def _extra_keys(error: jsonschema.ValidationError) -> list[str]:
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return []
    props = error.schema.get("properties", {})
    patterns = error.schema.get("patternProperties", {})
    return [k for k in error.instance if k not in props and not any(re.search(p, str(k)) for p in patterns)]


def _best(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For oneOf/anyOf/if-then failures, descend to the most specific sub-error (unless worded by x-message)."""
    while error.context and "x-message" not in error.schema:
        error = jsonschema.exceptions.best_match(error.context) or error.context[0]
        if error.validator not in ("oneOf", "anyOf", "allOf"):
            break
    return error


def _describe(error: jsonschema.ValidationError, path: tuple[Any, ...]) -> str:
    where = dotted(path)
    prefix = f"{where}: " if where else ""
    custom = error.schema.get("x-message") if isinstance(error.schema, dict) else None
    if isinstance(custom, dict):  # per keyword: {required: "...", enum: "..."}
        custom = custom.get(str(error.validator))
    if isinstance(custom, str):
        return prefix + custom.replace("{value}", repr(error.instance))
    if error.validator == "format" and error.cause is not None:
        return f"{prefix}{error.cause}"
    if error.validator == "additionalProperties":
        return f"{prefix}unknown key(s) {', '.join(repr(k) for k in _extra_keys(error))}"
    if error.validator == "not" and isinstance(error.validator_value, dict) and "required" in error.validator_value:
        keys = ", ".join(error.validator_value["required"])
        return f"{prefix}key {keys!r} is not allowed here"
    message = error.message
    if len(message) > 200:
        message = message[:200] + "..."
    return prefix + message


def findings(validator: jsonschema.protocols.Validator, loaded: Loaded) -> list[Finding]:
    """Every violation of `loaded.data`, in document order, each at the line of the offending node.

    An unknown key is reported at the key itself; a missing required key (with an `x-message`) at
    the key it would belong to when the schema names one, else at the mapping that lacks it.
    """
    out = []
    for error in validator.iter_errors(loaded.data):
        if error.validator in ("oneOf", "anyOf", "allOf"):
            error = _best(error)
        path = tuple(error.absolute_path)
        extras = _extra_keys(error)
        worded = isinstance(error.schema, dict) and "x-message" in error.schema
        if extras:
            path_for_message = path + (extras[0],) if worded else path
            line, col = loaded.key_pos(path + (extras[0],))
        elif error.validator == "required" and worded:
            missing = re.match(r"^'([^']+)'", error.message)
            path_for_message = path + ((missing.group(1),) if missing else ())
            line, col = loaded.pos(path)
        elif "additionalProperties" in list(error.schema_path)[-3:]:  # an unknown key, worded by its own schema
            path_for_message = path
            line, col = loaded.key_pos(path)
        else:
            path_for_message = path
            line, col = loaded.pos(path)
        out.append(Finding(path_for_message, line, col, _describe(error, path_for_message)))
    return sorted(out, key=lambda f: (f.line, f.column))
