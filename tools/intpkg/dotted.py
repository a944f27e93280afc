"""Dotted paths (`a.b.c`) into nested dicts: the one place that reads, sets and removes them.

Two readings of a path, for two kinds of data:
- `find`: documents whose keys may hold dots at any level (`{"a.b": {"c": 1}}`, `{"a": {"b.c": 1}}`),
  as Elasticsearch returns them; any split of the path is tried.
- `walk`: Beats' mapstr `GetValue`, as the httpjson input reads its bodies: one segment at a time.
"""

from __future__ import annotations

from typing import Any

MISSING: Any = object()  # `find`'s default: nothing is at the path


class NotAnObject(ValueError):
    """`walk` met a value that is not an object before the end of the path."""


def find(doc: dict, path: str, default: Any = MISSING) -> Any:
    """Value at `path`, keys holding dots or not; `default` when absent.

    At each level the whole remaining path as one key comes first, then the shortest head that leads
    to an object holding the rest.
    """
    if path in doc:
        return doc[path]
    head, _, rest = path.partition(".")
    while rest:
        child = doc.get(head)
        if isinstance(child, dict):
            found = find(child, rest)
            if found is not MISSING:
                return found
        nxt, _, rest = rest.partition(".")
        head = f"{head}.{nxt}"
    return doc.get(head, default)


def walk(doc: dict, path: str) -> tuple[bool, Any]:
    """(found, value) one segment at a time; where a segment is absent, the rest of the path as one key.

    Raises NotAnObject naming the prefix when a step is not an object.
    """
    node: Any = doc
    parts = path.split(".")
    for i, part in enumerate(parts):
        if not isinstance(node, dict):
            raise NotAnObject(f"expected map at {'.'.join(parts[:i])}, found {type(node).__name__}")
        if part not in node:
            rest = ".".join(parts[i:])
            if rest in node:
                return True, node[rest]
            return False, None
        node = node[part]
    return True, node


def put(doc: dict, path: str, value: Any) -> None:
    """Set `path` to `value`, making each step an object (a step holding anything else is replaced)."""
    node = doc
    parts = path.split(".")
    for part in parts[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            node[part] = nxt
        node = nxt
    node[parts[-1]] = value


def delete(doc: dict, path: str, *, dotted_keys: bool = False, prune: bool = False) -> None:
    """Remove `path` if present, following nested objects by segment.

    `dotted_keys`: at each level a key holding the whole remaining path (dots and all) is removed first.
    `prune`: objects left empty by the removal are removed too.
    """
    if dotted_keys and path in doc:
        del doc[path]
        return
    head, _, rest = path.partition(".")
    if not rest:
        doc.pop(head, None)
        return
    child = doc.get(head)
    if isinstance(child, dict):
        delete(child, rest, dotted_keys=dotted_keys, prune=prune)
        if prune and not child:
            del doc[head]


def at(doc: Any, keys: tuple[Any, ...], default: Any = None) -> Any:
    """The value at a path given as its keys (which may hold dots: `("streams", "cloudflare.audit")`)."""
    for key in keys:
        if not isinstance(doc, dict) or key not in doc:
            return default
        doc = doc[key]
    return doc


def put_at(doc: dict, keys: tuple[Any, ...], value: Any) -> None:
    """Set the value at a path given as its keys, making the objects on the way."""
    for key in keys[:-1]:
        doc = doc.setdefault(key, {})
    doc[keys[-1]] = value
