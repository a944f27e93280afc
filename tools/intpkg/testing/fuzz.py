"""Mutated Cloudflare records for fuzzing the ingest pipelines: every input must become one searchable document.

`mutations(records, seed, count)` takes valid records (the mock API's generators make them) and yields
`(shape, raw line)` pairs: the record with one value replaced by a value of another shape (a huge string,
a deep object, a list, a number where text belongs, text where a number belongs, a float far out of range,
null, an object where an id belongs), a key removed, or the line itself broken (cut short, not JSON,
a JSON scalar or array). `shape` names what was done, for the report.

Every input is a different record: its `identity` key (the record id) gets the input's number, also
when the mutation replaces the id itself, so each input must become its own document.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any


def _deep(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"leaf": "x"}
    for i in range(depth):
        node = {f"level{i}": node}
    return node


REPLACEMENTS: dict[str, Any] = {
    "huge string": "A" * 100_000,
    "deep object": _deep(40),
    "list of objects": [{"a": 1}, {"b": [2, 3]}],
    "list of strings": ["x", "y"],
    "empty object": {},
    "object": {"id": "nested", "n": 1},
    "large float": 1e30,
    "negative number": -5,
    "number": 13335,
    "AS-prefixed text": "AS13335",
    "text": "not-a-number-or-ip",
    "boolean": True,
    "null": None,
    "empty string": "",
    "unicode": "\u202e\u0000\ud7ff\U0001f600",
}
LINE_BREAKERS = ("cut short", "not JSON", "JSON scalar", "JSON array")


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path of a decoded JSON record (objects only; lists are leaves)."""
    out = []
    if isinstance(value, dict):
        for key, child in value.items():
            out.append((*prefix, key))
            out.extend(_paths(child, (*prefix, key)))
    return out


def _set(record: dict[str, Any], path: tuple, value: Any, remove: bool = False) -> None:
    node = record
    for key in path[:-1]:
        node = node[key]
    if remove:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value


def _unique(value: Any, n: int) -> Any:
    """`value` in the same shape, made different for input `n`."""
    if isinstance(value, dict):
        return {**value, "fuzz": n}
    if isinstance(value, list):
        return [*value, n]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return value + n
    return f"{value}-{n}"


def mutations(records: list[dict[str, Any]], *, seed: int, count: int, identity: str) -> Iterator[tuple[str, str]]:
    """`count` (shape, NDJSON line) pairs, reproducible for a `seed`."""
    rng = random.Random(seed)
    for n in range(count):
        record = json.loads(json.dumps(rng.choice(records)))
        record[identity] = f"{record.get(identity, 'record')}-fuzz-{n}"
        roll = rng.random()
        if roll < 0.06:
            shape = rng.choice(LINE_BREAKERS)
            line = json.dumps(record)
            yield shape, {"cut short": line[: rng.randrange(1, len(line) - len(identity))],
                          "not JSON": f"<html>502 Bad Gateway (input {n})</html>",
                          "JSON scalar": json.dumps(rng.choice([f"text {n}", n])),
                          "JSON array": json.dumps([record])}[shape]
            continue
        path = rng.choice(_paths(record))
        if roll < 0.16 and path != (identity,):
            _set(record, path, None, remove=True)
            shape = f"{'.'.join(path)} removed"
        else:
            name = rng.choice(list(REPLACEMENTS))
            value = json.loads(json.dumps(REPLACEMENTS[name]))
            _set(record, path, _unique(value, n) if path == (identity,) else value)
            shape = f"{'.'.join(path)}: {name}"
        yield shape, json.dumps(record)
