"""Basic field validation used until `intpkg.fields` lands (see `fieldcheck`).

Checks that every leaf of a document is defined (package `fields/*.yml`, `external: ecs` resolved
from `ecs_flat.yml` in INTPKG_ECS_DIR) and that its value fits the field type.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from intpkg import settings
from intpkg.errors import IntpkgError
from intpkg.testing.package import read_yaml

STRING_TYPES = {"keyword", "constant_keyword", "wildcard", "text", "match_only_text", "version"}
INTEGER_TYPES = {"long", "integer", "short", "byte", "unsigned_long"}
FLOAT_TYPES = {"double", "float", "half_float", "scaled_float"}
OPAQUE_TYPES = {"flattened", "object", "nested", "geo_shape", "histogram"}
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str
    value: Any = None


class FallbackFieldSet:
    def __init__(self, definitions: dict[str, FieldDef]) -> None:
        self.definitions = definitions
        self.wildcards = [(re.compile("^" + re.escape(n).replace(r"\*", "[^.]+") + "$"), d)
                          for n, d in definitions.items() if "*" in n]

    def lookup(self, name: str) -> FieldDef | None:
        found = self.definitions.get(name)
        if found is None:
            found = next((d for rx, d in self.wildcards if rx.match(name)), None)
        return found

    def validate_document(self, doc: dict[str, Any], numeric_keyword_fields: Iterable[str] = (),
                          string_number_fields: Iterable[str] = ()) -> list[str]:
        numeric_keyword, string_number = set(numeric_keyword_fields), set(string_number_fields)
        errors = []
        for name, value in self._leaves(doc, ""):
            definition = self.lookup(name)
            if definition is None:
                errors.append(f'field "{name}" is undefined')
                continue
            for item in value if isinstance(value, list) else [value]:
                problem = _type_problem(definition, item, name in numeric_keyword, name in string_number)
                if problem:
                    errors.append(f'field "{name}": {problem}')
                    break
        return errors

    def _leaves(self, obj: dict[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
        for key, value in obj.items():
            name = prefix + key
            definition = self.lookup(name)
            opaque = definition is not None and definition.type in OPAQUE_TYPES | {"geo_point"}
            if isinstance(value, dict) and not opaque:
                yield from self._leaves(value, name + ".")
            else:
                yield name, value


def _type_problem(d: FieldDef, v: Any, numeric_keyword: bool, string_number: bool) -> str | None:
    t = d.type
    if v is None:
        return None
    if t in STRING_TYPES:
        if isinstance(v, bool) or not isinstance(v, str | int | float) or (
                isinstance(v, int | float) and not numeric_keyword):
            return f"value {v!r} is not a string ({t})"
        if t == "constant_keyword" and d.value is not None and v != d.value:
            return f"value {v!r} does not match the constant {d.value!r}"
    elif t in INTEGER_TYPES | FLOAT_TYPES:
        ok = isinstance(v, int | float) and not isinstance(v, bool)
        if t in INTEGER_TYPES and isinstance(v, float) and not v.is_integer():
            ok = False
        if not ok and not (string_number and isinstance(v, str) and re.fullmatch(r"-?\d+(\.\d+)?", v)):
            return f"value {v!r} is not a number ({t})"
    elif t == "boolean":
        if not isinstance(v, bool):
            return f"value {v!r} is not a boolean"
    elif t in ("date", "date_nanos"):
        if not ((isinstance(v, str) and DATE_RE.match(v)) or (isinstance(v, int) and not isinstance(v, bool))):
            return f"value {v!r} is not a date"
    elif t == "ip":
        try:
            ipaddress.ip_address(v)
        except (ValueError, TypeError):
            return f"value {v!r} is not an IP address"
    elif t == "geo_point":
        if not (isinstance(v, dict) and {"lat", "lon"} <= set(v)) and not isinstance(v, str | list):
            return f"value {v!r} is not a geo_point"
    elif t in ("flattened", "object", "nested"):
        if not isinstance(v, dict):
            return f"value {v!r} is not an object ({t})"
    return None


def _collect(items: list[dict[str, Any]], prefix: str, ecs: dict[str, Any] | None, source: Path,
             out: dict[str, FieldDef]) -> None:
    for item in items or []:
        name = prefix + str(item.get("name", ""))
        if item.get("external") == "ecs":
            if ecs is None:
                raise IntpkgError(f"{source}: `{name}` is `external: ecs` but INTPKG_ECS_DIR is not set.")
            ref = ecs.get(name)
            if ref is None:
                raise IntpkgError(f"{source}: `{name}` is not an ECS field.")
            out[name] = FieldDef(name, ref.get("type", "keyword"))
        elif item.get("type") == "group" or ("fields" in item and not item.get("type")):
            _collect(item.get("fields") or [], name + ".", ecs, source, out)
        else:
            out[name] = FieldDef(name, item.get("type", "keyword"), item.get("value"))


_ECS_CACHE: dict[Path, dict[str, Any]] = {}


def load(package_dir: Path, data_stream: str) -> FallbackFieldSet:
    ecs = None
    ecs_dir = settings.ecs_dir()
    if ecs_dir is not None:
        if ecs_dir not in _ECS_CACHE:
            _ECS_CACHE[ecs_dir] = read_yaml(ecs_dir / "ecs_flat.yml")
        ecs = _ECS_CACHE[ecs_dir]
    definitions: dict[str, FieldDef] = {}
    for folder in (package_dir / "fields", package_dir / "data_stream" / data_stream / "fields"):
        for path in sorted(folder.glob("*.yml")) if folder.is_dir() else []:
            _collect(read_yaml(path) or [], "", ecs, path, definitions)
    return FallbackFieldSet(definitions)
