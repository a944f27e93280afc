"""JSON on the collector's hot path: orjson, and the standard library where orjson refuses the input.

The collector decodes every response body and encodes every event twice (its `message`, then the bulk
request); with the standard library that was a third of its CPU time. orjson (a compiled, well-kept
library) does the same work several times faster. Where orjson refuses what the standard library
accepts (decoding NaN or invalid UTF-8, which is decoded with replacement characters; encoding
non-string keys or integers beyond 64 bits) these functions fall back to the standard library, so the
error messages stay the standard library's. Differences that remain by design: integers beyond 64 bits
decode as floats (Go's encoding/json, and so Elastic's agent, makes floats of every number); exponents
of small floats lose their leading zero (`1.5e-7`, not `1.5e-07`); NaN and Infinity are written as
`null` (JSON has neither, and a cluster refuses the standard library's `NaN`). An event's `message` is
this encoding of its record, so for such records it reads differently than before orjson (a record
without an id of its own, whose `_id` is a hash of its message, collected again is then stored twice).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["clone_json", "dumpb", "dumps", "elasticsearch_serializer", "loads", "opensearch_serializer"]


def loads(raw: bytes | str) -> Any:
    """Decode one JSON value; bytes that are not valid UTF-8 are decoded with replacement characters.

    Raises the standard library's `json.JSONDecodeError` (a ValueError) on invalid JSON.
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes | bytearray) else raw
        return json.loads(text)


def dumps(value: Any) -> str:
    """Compact JSON text (`separators=(",", ":")`, non-ASCII kept), as `json.dumps` would write it."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError: big integers, non-string keys, lone surrogates
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def dumpb(value: Any) -> bytes:
    """`dumps` as UTF-8 bytes (a request body's line)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")


def clone_json(value: Any) -> Any:
    """Deep copy of decoded JSON (dicts/lists/scalars); much faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {k: clone_json(v) if isinstance(v, (dict, list)) else v for k, v in value.items()}
    if isinstance(value, list):
        return [clone_json(v) if isinstance(v, (dict, list)) else v for v in value]
    return value


def opensearch_serializer() -> Any:
    """A serializer for opensearch-py's client (bulk bodies, responses) built on these functions."""
    from opensearchpy.serializer import JSONSerializer

    class OrjsonSerializer(JSONSerializer):
        def loads(self, s: str) -> Any:
            try:
                return orjson.loads(s)
            except orjson.JSONDecodeError:
                return super().loads(s)

        def dumps(self, data: Any) -> Any:
            if isinstance(data, str | bytes):
                return data
            try:
                return orjson.dumps(data, default=self.default).decode()
            except TypeError:
                return super().dumps(data)

    return OrjsonSerializer()


def elasticsearch_serializer() -> Any:
    """The same for the elasticsearch client (its own OrjsonSerializer has no fallback)."""
    from elasticsearch.serializer import JsonSerializer

    class OrjsonSerializer(JsonSerializer):
        def json_loads(self, data: bytes) -> Any:
            try:
                return orjson.loads(data)
            except orjson.JSONDecodeError:
                return super().json_loads(data)

        def json_dumps(self, data: Any) -> bytes:
            try:
                return orjson.dumps(data, default=self.default)
            except TypeError:
                return super().json_dumps(data)

    return OrjsonSerializer()
