"""The fields of one data stream: flattened definitions, document validation and index mappings."""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intpkg.errors import IntpkgError
from intpkg.fields.ecs import EcsReference
from intpkg.yamlpos import Loaded, ParseError, load_file

FIELD_TYPES = frozenset({
    "keyword", "constant_keyword", "wildcard", "text", "match_only_text", "long", "integer", "short", "byte",
    "double", "float", "half_float", "scaled_float", "unsigned_long", "date", "date_nanos", "boolean", "binary",
    "ip", "geo_point", "geo_shape", "object", "nested", "flattened", "group", "alias", "histogram",
    "aggregate_metric_double", "version", "counted_keyword", "integer_range", "float_range", "long_range",
    "double_range", "date_range", "ip_range", "semantic_text",
})
STRING_TYPES = {"keyword", "constant_keyword", "wildcard", "text", "match_only_text", "version", "counted_keyword",
                "binary", "semantic_text"}
INTEGER_TYPES = {"long", "integer", "short", "byte", "unsigned_long"}
FLOAT_TYPES = {"double", "float", "half_float", "scaled_float"}
CONTAINER_TYPES = {"group", "nested", "object", "flattened"}
MAPPING_PARAMS = ("index", "doc_values", "store", "copy_to", "enabled", "dynamic", "ignore_above", "ignore_malformed",
                  "null_value", "scaling_factor", "analyzer", "search_analyzer", "normalizer", "path", "subobjects",
                  "include_in_parent", "include_in_root", "metrics", "default_metric")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


@dataclass
class FieldEntry:
    """One definition as written: its dotted name, definition, and where it is (file, YAML path)."""

    name: str
    definition: dict
    file: Path
    yaml_path: tuple
    loaded: Loaded | None = None

    @property
    def position(self) -> tuple[int, int]:
        return self.loaded.pos(self.yaml_path) if self.loaded else (1, 1)


def flatten(items: Any, file: Path, loaded: Loaded | None = None, prefix: str = "",
            yaml_path: tuple = ()) -> list[FieldEntry]:
    """Every definition (groups too) of a fields-file list, with dotted names."""
    out: list[FieldEntry] = []
    if not isinstance(items, list):
        return out
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        name = f"{prefix}.{item['name']}" if prefix else item["name"]
        path = yaml_path + (i,)
        children = item.get("fields")
        definition = {k: v for k, v in item.items() if k != "fields"}
        if children is not None and "type" not in definition:
            definition["type"] = "group"
        out.append(FieldEntry(name, definition, file, path, loaded))
        if children is not None:
            out.extend(flatten(children, file, loaded, name, path + ("fields",)))
    return out


def _wildcard_regex(name: str) -> re.Pattern:
    return re.compile("^" + ".".join("[^.]+" if part == "*" else re.escape(part).replace(r"\*", "[^.]*")
                                     for part in name.split(".")) + "$")


@dataclass
class FieldSet:
    """Fields of one data stream. `flat`: dotted name -> definition (with `type`)."""

    data_stream: str
    entries: list[FieldEntry] = field(default_factory=list)
    ecs: EcsReference | None = None
    flat: dict[str, dict] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.flat:
            self.flat = {}
            for entry in self.entries:
                self.flat.setdefault(entry.name, self._resolve(entry.definition, entry.name))
        self._wildcards = [(n, _wildcard_regex(n)) for n in self.flat if "*" in n]
        self._parents = {n.rsplit(".", i)[0] for n in self.flat for i in range(1, n.count(".") + 1)}

    def _resolve(self, definition: dict, name: str) -> dict:
        if definition.get("external") == "ecs":
            if self.ecs is not None and name in self.ecs:
                resolved = self.ecs.definition(name)
                resolved.update({k: v for k, v in definition.items() if k not in ("external", "name")})
                resolved["name"] = name
                return resolved
            return {"type": definition.get("type"), **definition, "name": name}
        return {**definition, "name": name}

    # -- lookup -------------------------------------------------------------------------------------

    def find(self, name: str) -> dict | None:
        """Definition of `name`, matching wildcard definitions (`labels.*`) too."""
        if name in self.flat:
            return self.flat[name]
        for pattern_name, regex in self._wildcards:
            if regex.match(name):
                return self.flat[pattern_name]
        return None

    # -- documents ----------------------------------------------------------------------------------

    def validate_document(self, doc: dict, *, numeric_keyword_fields=(), string_number_fields=()) -> list[str]:
        """Problems of an indexed document against these fields; each message names the field."""
        return [message for _, message in self.field_problems(
            doc, numeric_keyword_fields=numeric_keyword_fields, string_number_fields=string_number_fields)]

    def field_problems(self, doc: dict, *, numeric_keyword_fields=(), string_number_fields=()) -> list[tuple[str, str]]:
        """Like validate_document, as (dotted field name, message) pairs."""
        problems: list[tuple[str, str]] = []
        self._walk(doc, "", problems, set(numeric_keyword_fields), set(string_number_fields))
        problems += self._categorization_problems(doc)
        return problems

    def _categorization_problems(self, doc: dict) -> list[tuple[str, str]]:
        """As elastic-package checks: every event.type must be one ECS expects for one of the event.category values."""
        event = doc.get("event") if isinstance(doc.get("event"), dict) else {}
        categories, types = event.get("category"), event.get("type")
        if self.ecs is None or not categories or not types:
            return []
        # values of another shape are reported by the field checks; only text takes part here
        categories = [c for c in (categories if isinstance(categories, list) else [categories]) if isinstance(c, str)]
        types = [t for t in (types if isinstance(types, list) else [types]) if isinstance(t, str)]
        if not categories or not types:
            return []
        expected = self.ecs.expected_event_types
        allowed = {t for c in categories for t in expected.get(c, [])}
        return [("event.type", f"event.type {t!r} is not expected for event.category {categories} (ECS expects "
                               f"{', '.join(sorted(allowed)) or 'none'})") for t in types if t not in allowed]

    def _walk(self, value: Any, name: str, problems: list, numeric_kw: set, string_num: set) -> None:
        if isinstance(value, dict) and (not name or self.find(name) is None):
            if name and not value:
                return
            for key, child in value.items():
                self._walk(child, f"{name}.{key}" if name else str(key), problems, numeric_kw, string_num)
            return
        definition = self.find(name)
        if definition is None:
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                problems.append((name, f"field {name!r} is an array of objects but is not defined as group/nested"))
            else:
                problems.append((name, f"field {name!r} is undefined"))
            return
        self._check(name, definition, value, problems, numeric_kw, string_num)

    def _check(self, name: str, definition: dict, value: Any, problems: list, numeric_kw: set,
               string_num: set) -> None:
        ftype = definition.get("type") if isinstance(definition.get("type"), str) else "keyword"
        normalize = definition.get("normalize")
        if isinstance(normalize, list) and "array" in normalize and not isinstance(value, list):
            problems.append((name, f"field {name!r} must be an array (normalize: array)"))
        if ftype in ("group", "nested"):
            items = value if isinstance(value, list) else [value]
            if isinstance(value, list) and ftype == "group" and not all(isinstance(v, dict) for v in value):
                problems.append((name, f"field {name!r} is a group but holds a non-object array element"))
                return
            for item in items:
                if not isinstance(item, dict):
                    problems.append((name, f"field {name!r} is a {ftype} but the value is {type(item).__name__}"))
                    continue
                for key, child in item.items():
                    self._walk(child, f"{name}.{key}", problems, numeric_kw, string_num)
            return
        if ftype in ("object", "flattened"):
            object_type = definition.get("object_type")
            if ftype == "object" and object_type and isinstance(value, dict):
                for key, child in _leaves(value, name):
                    self._check(key, {"type": object_type}, child, problems, numeric_kw, string_num)
            elif ftype == "flattened" and not isinstance(value, (dict, list)):
                problems.append((name, f"field {name!r} is flattened but the value is not an object"))
            return
        if ftype == "geo_point" and _is_geo_point(value):
            return
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, (dict, list)):
                kind = "an object" if isinstance(item, dict) else "a nested array"
                if isinstance(item, dict) and isinstance(value, list):
                    problems.append((name, f"field {name!r} holds an array of objects but is {ftype}, "
                                           "not group/nested"))
                else:
                    problems.append((name, f"field {name!r} is {ftype} but the value is {kind}"))
                continue
            message = self._scalar_problem(name, ftype, definition, item, numeric_kw, string_num)
            if message:
                problems.append((name, message))

    def _scalar_problem(self, name: str, ftype: str, definition: dict, item: Any, numeric_kw: set,
                        string_num: set) -> str | None:
        if item is None:
            return None
        shown = repr(item)
        if ftype in STRING_TYPES:
            if not isinstance(item, str) and not (isinstance(item, (int, float)) and not isinstance(item, bool)
                                                  and name in numeric_kw):
                return f"field {name!r} is {ftype} but the value {shown} is not a string"
            if ftype == "constant_keyword" and "value" in definition and item != definition["value"]:
                return f"field {name!r} is a constant_keyword of {definition['value']!r} but the value is {shown}"
        elif ftype in INTEGER_TYPES or ftype in FLOAT_TYPES:
            number = item
            if isinstance(item, str) and name in string_num:
                try:
                    number = float(item)
                except ValueError:
                    return f"field {name!r} is {ftype} but the value {shown} is not a number"
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                return f"field {name!r} is {ftype} but the value {shown} is not a number"
            if ftype in INTEGER_TYPES and isinstance(number, float) and not (math.isfinite(number)
                                                                              and number.is_integer()):
                return f"field {name!r} is {ftype} but the value {shown} is not an integer"
        elif ftype == "boolean":
            if not isinstance(item, bool):
                return f"field {name!r} is boolean but the value {shown} is not true/false"
        elif ftype in ("date", "date_nanos"):
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                return f"field {name!r} is {ftype} but the value {shown} is not a date"
            if isinstance(item, str) and "date_format" not in definition and not _DATE.match(item):
                return f"field {name!r} is {ftype} but the value {shown} is not an ISO 8601 date"
        elif ftype == "ip":
            try:
                ipaddress.ip_address(item if isinstance(item, str) else "x")
            except ValueError:
                return f"field {name!r} is ip but the value {shown} is not an IP address"
        elif ftype == "geo_point":
            if not (isinstance(item, str) and re.match(r"^-?\d+(\.\d+)?,\s*-?\d+(\.\d+)?$", item)):
                return f"field {name!r} is geo_point but the value {shown} is not a point"
        pattern = definition.get("pattern")
        if isinstance(pattern, str) and isinstance(item, str) and not _fullmatch(pattern, item):
            return f"field {name!r} value {shown} does not match pattern {pattern!r}"
        expected = definition.get("expected_values") or (self.ecs.allowed_values(name) if self.ecs else None)
        if isinstance(expected, list) and expected and item not in expected:
            return f"field {name!r} value {shown} is not one of the expected values {expected}"
        return None

    # -- mappings -----------------------------------------------------------------------------------

    def mappings(self) -> dict:
        """Index-template `properties` for these fields (wildcard names are left to dynamic_templates())."""
        properties: dict = {}
        for name, definition in sorted(self.flat.items()):
            if "*" in name or definition.get("type") == "group":
                continue
            node = properties
            parts = name.split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {}).setdefault("properties", {})
            node.setdefault(parts[-1], {}).update(_mapping(definition))
        return properties

    def shape_groups(self) -> dict[str, list[str]]:
        """Leaf fields by the shape of value the index accepts, for a pipeline's field-type guard.

        `long` (whole numbers), `float`, `boolean`, `flattened` (objects), and `scalar` (every other leaf:
        strings, numbers, booleans or lists of them; never an object). Objects such as geo_point are left out.
        """
        groups: dict[str, list[str]] = {"long": [], "float": [], "boolean": [], "flattened": [], "scalar": []}
        for name, definition in sorted(self.flat.items()):
            ftype = definition.get("type") or "keyword"
            if "*" in name or ftype in ("group", "object", "nested", "geo_point"):
                continue
            group = SHAPE_GROUPS.get(ftype, "scalar")
            groups[group].append(name)
        return groups

    def dynamic_templates(self) -> list[dict]:
        """Dynamic templates for wildcard field names and `object_type` objects."""
        templates = []
        for name, definition in sorted(self.flat.items()):
            object_type = definition.get("object_type")
            if "*" in name and definition.get("type") not in (None, "object", "group"):
                templates.append({name: {"path_match": name, "mapping": _mapping(definition)}})
            elif object_type:
                mapping = _mapping({"type": object_type})
                templates.append({name: {"path_match": f"{name}.*", "mapping": mapping}})
        return templates


SHAPE_GROUPS = {"long": "long", "integer": "long", "short": "long", "byte": "long", "unsigned_long": "long",
                "float": "float", "double": "float", "half_float": "float", "scaled_float": "float",
                "boolean": "boolean", "flattened": "flattened"}


def _fullmatch(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        return True  # an invalid pattern is the fields file's problem (schema format: regex)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_geo_point(value: Any) -> bool:
    """Object {lat, lon}, GeoJSON Point, or [lon, lat]."""
    if isinstance(value, dict):
        if value.get("type") == "Point":
            coords = value.get("coordinates")
            return isinstance(coords, list) and len(coords) == 2 and all(map(_is_number, coords))
        return set(value) == {"lat", "lon"} and _is_number(value["lat"]) and _is_number(value["lon"])
    return isinstance(value, list) and len(value) == 2 and all(map(_is_number, value))


def _leaves(value: dict, prefix: str):
    for key, child in value.items():
        name = f"{prefix}.{key}"
        if isinstance(child, dict):
            yield from _leaves(child, name)
        else:
            yield name, child


def _mapping(definition: dict) -> dict:
    ftype = definition.get("type") or "keyword"
    if ftype == "object" and definition.get("object_type"):
        return {"type": "object"}
    out: dict = {"type": ftype}
    if ftype == "constant_keyword" and "value" in definition:
        out["value"] = definition["value"]
    if ftype in ("date", "date_nanos") and definition.get("date_format"):
        out["format"] = definition["date_format"]
    for key in MAPPING_PARAMS:
        if key in definition:
            out[key] = definition[key]
    if ftype == "keyword" and "ignore_above" not in out:
        out["ignore_above"] = 1024
    if ftype == "scaled_float" and "scaling_factor" not in out:
        out["scaling_factor"] = 1000
    if definition.get("multi_fields"):
        out["fields"] = {m["name"]: _mapping(m) for m in definition["multi_fields"] if "name" in m}
    return out


def uses_external_fields(package_dir: Path) -> bool:
    """Whether a fields file of the package refers to an external reference (`external: ecs`).

    A source package usually does; a built one does not (the build resolves them).
    """
    return any("external:" in path.read_text(encoding="utf-8")
               for path in Path(package_dir).glob("data_stream/*/fields/*.yml"))


def load_fields(package_dir: Path, data_stream: str, ecs: EcsReference | None = None) -> FieldSet:
    """All `fields/*.yml` of a data stream (`external: ecs` resolved when `ecs` is given)."""
    folder = Path(package_dir) / "data_stream" / data_stream / "fields"
    if not folder.is_dir():
        raise IntpkgError(f"{folder}: no such fields folder (data stream {data_stream!r})")
    entries: list[FieldEntry] = []
    for path in sorted(folder.glob("*.yml")):
        try:
            loaded = load_file(path)
        except ParseError as exc:
            raise IntpkgError(str(exc)) from None
        if not isinstance(loaded.data, list):
            raise IntpkgError(f"{path}:1:1: a fields file must hold a list of field definitions")
        entries.extend(flatten(loaded.data, path, loaded))
    return FieldSet(data_stream=data_stream, entries=entries, ecs=ecs)
