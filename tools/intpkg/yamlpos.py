"""The one YAML (and JSON) reader of intpkg: lint, build, install, policies, the agent and the tests.

YAML is read with YAML 1.2 core-schema scalars, as Go's yaml.v3 and js-yaml read it in Elastic's
tools: only `true`/`false` are booleans (`yes`, `no`, `on`, `off` stay strings) and dates stay strings.
Duplicate mapping keys are reported, not silently merged. Positions are 1-based `(line, column)`.

Hostile input is an error naming the file and where, never a runaway: text that is not UTF-8, binary
files, more than MAX_ALIASES alias uses and more than MAX_DEPTH levels of nesting.

- `load_file(path)` / `parse_yaml(text, path)`: data plus positions (`Loaded`), for lint and build;
- `load_documents(path)` / `parse_yaml_documents(text, path)`: each document of a multi-document file;
- `read_yaml(path)`: just the data of a file;
- `loads(text, where)`: just the data of a string (a `yaml`-type variable, say).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from intpkg.errors import IntpkgError

MAX_ALIASES = 100  # alias uses per file: enough for any real file, far too few for an alias bomb
MAX_DEPTH = 200  # nesting levels per file

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


class ParseError(IntpkgError):
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
    """Plain data from a composed node tree, recording positions and bounding aliases and depth."""

    def __init__(self, loaded: Loaded) -> None:
        self.loaded = loaded
        self._seen: set[int] = set()
        self._aliases = 0

    def _check(self, node: yaml.Node, path: Path_) -> None:
        mark = node.start_mark
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            if id(node) in self._seen:  # a node reached again is an alias (*name) use
                self._aliases += 1
                if self._aliases > MAX_ALIASES:
                    raise ParseError(self.loaded.path, mark.line + 1, mark.column + 1,
                                     f"invalid YAML: more than {MAX_ALIASES} aliases (*name)")
            self._seen.add(id(node))
        if len(path) > MAX_DEPTH:
            raise ParseError(self.loaded.path, mark.line + 1, mark.column + 1,
                             f"invalid YAML: nested more than {MAX_DEPTH} levels deep")

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self._check(node, path)
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
    if "maximum nesting depth" in str(problem):  # libyaml's own bound on flow nesting
        problem = f"nested more than {MAX_DEPTH} levels deep"
    message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    return ParseError(path, line, col, message)


def _compose_all(text: str, path: Path) -> list[yaml.Node | None]:
    if "\x00" in text:
        raise ParseError(path, 1, 1, "a binary file, not YAML")
    try:
        return list(yaml.compose_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc) from None
    except RecursionError:
        raise ParseError(path, 1, 1, f"invalid YAML: nested more than {MAX_DEPTH} levels deep") from None


def _loaded(node: yaml.Node | None, path: Path) -> Loaded:
    loaded = Loaded(path=path, data=None)
    if node is not None:
        loaded.data = _Builder(loaded).build(node, ())
    return loaded


def parse_yaml(text: str, path: Path) -> Loaded:
    """Parse one YAML document from `text`; raise ParseError when it is not valid."""
    docs = _compose_all(text, path)
    if len(docs) > 1:
        mark = docs[1].start_mark
        raise ParseError(path, mark.line + 1, mark.column + 1, "invalid YAML: more than one document in the file")
    return _loaded(docs[0] if docs else None, path)


def parse_yaml_documents(text: str, path: Path) -> list[Loaded]:
    """Every document of a multi-document YAML stream (`---` separated, as Sigma correlation rules are
    written), each with its own positions (lines and columns of the whole file)."""
    return [_loaded(node, path) for node in _compose_all(text, path)]


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


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ParseError(path, 1, 1, f"cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ParseError(path, line, column, f"not UTF-8 text (byte {raw[exc.start:exc.start + 1]!r}); "
                         "save it as UTF-8") from None
    return text


def load_file(path: Path) -> Loaded:
    """Load a .json file as JSON, anything else as YAML; errors name the file, line and column."""
    text = _read_text(path)
    if path.suffix == ".json":
        return parse_json(text, path)
    return parse_yaml(text, path)


def load_documents(path: Path) -> list[Loaded]:
    """Every YAML document of a file (see `parse_yaml_documents`); errors as `load_file`'s."""
    return parse_yaml_documents(_read_text(path), path)


def read_yaml(path: Path) -> Any:
    """The data of a YAML (or .json) file; see `load_file` for errors."""
    return load_file(path).data


def loads(text: str, where: str = "<string>") -> Any:
    """The data of YAML text; errors name `where` (a file, or a variable like `policy.yml: vars.x`)."""
    return parse_yaml(text, Path(where)).data
