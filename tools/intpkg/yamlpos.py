"""YAML/JSON loading that keeps the line and column of every node.

YAML is read with YAML 1.2 core-schema scalars: only `true`/`false` are booleans (`yes`, `no`, `on`,
`off` stay strings) and dates stay strings. Duplicate mapping keys are reported, not silently merged.
Positions are 1-based `(line, column)`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

try:  # libyaml is ~10x faster when present
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader

Path_ = tuple[Any, ...]

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^[-+]?[0-9]+$")
_INT8 = re.compile(r"^0o[0-7]+$")
_INT16 = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")


class ParseError(Exception):
    """A file that is not valid YAML/JSON, with where the parser stopped."""

    def __init__(self, path: Path, line: int, column: int, message: str) -> None:
        super().__init__(f"{path}:{line}:{column}: {message}")
        self.path, self.line, self.column, self.message = path, line, column, message


@dataclass
class Loaded:
    """Plain data of one document plus the position of each node, by path of keys/indices."""

    path: Path
    data: Any
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    duplicate_keys: list[tuple[Path_, tuple[int, int]]] = field(default_factory=list)

    def pos(self, path: Path_ = ()) -> tuple[int, int]:
        """Position of the node at `path`, else of its closest existing ancestor."""
        path = tuple(path)
        while path:
            if path in self.positions:
                return self.positions[path]
            path = path[:-1]
        return self.positions.get((), (1, 1))

    def key_pos(self, path: Path_) -> tuple[int, int]:
        """Position of the mapping key that holds `path` (falls back to the node)."""
        return self.key_positions.get(tuple(path)) or self.pos(path)


def _resolve_plain(value: str) -> Any:
    if _NULL.match(value):
        return None
    if _BOOL.match(value):
        return value.lower() == "true"
    if _INT.match(value):
        return int(value)
    if _INT8.match(value):
        return int(value[2:], 8)
    if _INT16.match(value):
        return int(value[2:], 16)
    if _FLOAT.match(value) and any(c.isdigit() for c in value):
        return float(value)
    if _INF.match(value):
        return float("-inf") if value.startswith("-") else float("inf")
    if _NAN.match(value):
        return float("nan")
    return value


_STD = "tag:yaml.org,2002:"


def _scalar(node: yaml.ScalarNode) -> Any:
    if not node.style and (node.tag.startswith(_STD) or node.tag == "!"):
        return _resolve_plain(node.value)
    if node.tag == _STD + "int":
        return int(node.value)
    if node.tag == _STD + "float":
        return float(node.value)
    if node.tag == _STD + "bool":
        return node.value.lower() in ("true", "yes", "on")
    if node.tag == _STD + "null":
        return None
    return node.value


class _Builder:
    def __init__(self, loaded: Loaded) -> None:
        self.loaded = loaded

    def build(self, node: yaml.Node, path: Path_) -> Any:
        mark = node.start_mark
        self.loaded.positions[path] = (mark.line + 1, mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == _STD + "merge" or (key_node.value == "<<" and key_node.style is None):
                    merged = self.build(value_node, path + ("<<",))
                    for item in merged if isinstance(merged, list) else [merged]:
                        if isinstance(item, dict):
                            for k, v in item.items():
                                out.setdefault(k, v)
                    continue
                key = self.build(key_node, path + ("<key>",)) if isinstance(key_node, yaml.ScalarNode) else None
                if isinstance(key, (list, dict)) or key is None and not isinstance(key_node, yaml.ScalarNode):
                    key = str(key_node.value)
                kmark = key_node.start_mark
                if key in out:
                    self.loaded.duplicate_keys.append((path + (key,), (kmark.line + 1, kmark.column + 1)))
                self.loaded.key_positions[path + (key,)] = (kmark.line + 1, kmark.column + 1)
                out[key] = self.build(value_node, path + (key,))
            self.loaded.positions.pop(path + ("<key>",), None)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, path + (i,)) for i, child in enumerate(node.value)]
        return _scalar(node)


def _yaml_error(path: Path, exc: yaml.YAMLError) -> ParseError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    return ParseError(path, line, col, message)


def parse_yaml(text: str, path: Path) -> Loaded:
    """Parse one YAML document from `text`; raise ParseError when it is not valid."""
    try:
        docs = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc) from None
    if len(docs) > 1:
        mark = docs[1].start_mark
        raise ParseError(path, mark.line + 1, mark.column + 1, "invalid YAML: more than one document in the file")
    loaded = Loaded(path=path, data=None)
    if docs and docs[0] is not None:
        loaded.data = _Builder(loaded).build(docs[0], ())
    return loaded


def parse_json(text: str, path: Path) -> Loaded:
    """Parse JSON (strictly, with json) and take node positions from a YAML compose of the same text."""
    dupes: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in items:
            if k in out:
                dupes.append(k)
            out[k] = v
        return out

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise ParseError(path, exc.lineno, exc.colno, f"invalid JSON: {exc.msg}") from None
    try:
        loaded = parse_yaml(text.replace("\t", " "), path)
        loaded.data = data
    except ParseError:
        loaded = Loaded(path=path, data=data, positions={(): (1, 1)})
    if dupes and not loaded.duplicate_keys:
        loaded.duplicate_keys = [((k,), (1, 1)) for k in dupes]
    return loaded


def load_file(path: Path) -> Loaded:
    """Load a .json file as JSON, anything else as YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(path, 1, 1, f"not UTF-8 text ({exc.reason})") from None
    if path.suffix == ".json":
        return parse_json(text, path)
    return parse_yaml(text, path)
