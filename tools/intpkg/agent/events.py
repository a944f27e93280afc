"""Turn an input's event body into the document the agent ships (httpjson reference §10).

    {"message": "<the body as JSON>", "@timestamp": now, "event": {"created": now},
     "data_stream": {...}, "input": {"type": "httpjson"}, "tags": [...], ...processors' output}

Processors are the few Beats processors a stream's `processors` variable is expected to use:
`add_fields`, `add_tags`, `drop_fields`. Anything else is a configuration error at start-up.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from intpkg import dotted, jsoncodec
from intpkg.errors import IntpkgError
from intpkg.jsoncodec import clone_json

Processor = Callable[[dict[str, Any]], None]


def _add_fields(options: dict[str, Any]) -> Processor:
    target = options.get("target", "fields")
    fields = options.get("fields") or {}

    def run(doc: dict[str, Any]) -> None:
        for key, value in fields.items():
            dotted.put(doc, f"{target}.{key}" if target else key, value)

    return run


def _add_tags(options: dict[str, Any]) -> Processor:
    tags = options.get("tags") or []
    tags = [tags] if isinstance(tags, str) else list(tags)
    target = options.get("target", "tags")

    def run(doc: dict[str, Any]) -> None:
        existing = doc.setdefault(target, [])
        existing.extend(t for t in tags if t not in existing)

    return run


def _drop_fields(options: dict[str, Any]) -> Processor:
    fields = options.get("fields") or []

    def run(doc: dict[str, Any]) -> None:
        for name in fields:
            dotted.delete(doc, name)

    return run


PROCESSORS: dict[str, Callable[[dict[str, Any]], Processor]] = {
    "add_fields": _add_fields,
    "add_tags": _add_tags,
    "drop_fields": _drop_fields,
}


def build_processors(config: list[Any] | None, where: str) -> list[Processor]:
    built: list[Processor] = []
    for i, item in enumerate(config or []):
        if not isinstance(item, dict) or len(item) != 1:
            raise IntpkgError(f"{where}.processors[{i}]: expected one processor name with its options")
        (name, options), = item.items()
        if name not in PROCESSORS:
            raise IntpkgError(f"{where}.processors[{i}]: processor {name!r} is not supported by intpkg's agent "
                              f"(supported: {', '.join(PROCESSORS)})")
        built.append(PROCESSORS[name](options or {}))
    return built


class EventBuilder:
    """Builds shipped documents for one stream."""

    def __init__(self, *, dataset: str, ds_type: str, namespace: str, input_type: str,
                 tags: list[str] | None = None, processors: list[Processor] | None = None,
                 fields: dict[str, Any] | None = None, fields_under_root: bool = False,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.data_stream = {"type": ds_type, "dataset": dataset, "namespace": namespace}
        self.input_type = input_type
        self.tags = list(tags or [])
        # Beats' common input options: `fields` go under `fields.` unless `fields_under_root`
        fields = json.loads(json.dumps(fields or {}))  # plain JSON
        self.fields = fields if fields_under_root else ({"fields": fields} if fields else {})
        self.processors = processors or []
        # documents are only serialized once built: every one may hold the same constant objects, unless a
        # processor may edit them or a dotted `fields` key (`data_stream.dataset`) would write into one
        self._share = not self.processors and not any("." in key for key in self.fields)
        self._input, self._ecs = {"type": self.input_type}, {"version": "8.17.0"}
        self.clock = clock

    def build(self, body: Any) -> dict[str, Any]:
        now = self.clock().isoformat(timespec="milliseconds").replace("+00:00", "Z")
        doc: dict[str, Any] = {
            "@timestamp": now,
            "message": jsoncodec.dumps(body),
            "event": {"created": now, "dataset": self.data_stream["dataset"]},
            "data_stream": self.data_stream if self._share else dict(self.data_stream),
            "input": self._input if self._share else dict(self._input),
            "ecs": self._ecs if self._share else dict(self._ecs),
        }
        for key, value in self.fields.items():
            dotted.put(doc, key, value if self._share else clone_json(value))
        if self.tags:
            doc["tags"] = list(self.tags)
        for processor in self.processors:
            processor(doc)
        return doc
