"""Which processors of the installed pipelines ran, from `_nodes/stats/ingest` before and after."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from intpkg.stack.client import SearchClient


@dataclass(frozen=True)
class ProcessorHits:
    pipeline: str
    position: int
    type: str
    tag: str | None
    count: int


def snapshot(client: SearchClient, pipelines: list[str]) -> dict[str, list[tuple[str, int]]]:
    """Per pipeline: (processor key, executions) summed over all nodes, in processor order."""
    stats = client.request("GET", "/_nodes/stats/ingest", params={"filter_path": "nodes.*.ingest.pipelines"})
    out: dict[str, list[tuple[str, int]]] = {}
    for node in (stats or {}).get("nodes", {}).values():
        for name, data in (node.get("ingest", {}).get("pipelines") or {}).items():
            if name not in pipelines:
                continue
            rows = [next(iter(p.items())) for p in data.get("processors", [])]
            counts = [(key, int(v.get("stats", {}).get("count", 0))) for key, v in rows]
            if name in out:
                counts = [(k, c + out[name][i][1]) for i, (k, c) in enumerate(counts)]
            out[name] = counts
    return out


def hits(before: dict[str, list[tuple[str, int]]], after: dict[str, list[tuple[str, int]]],
         display: dict[str, str]) -> list[ProcessorHits]:
    """Executions between the two snapshots; `display` maps installed names to file stems."""
    result = []
    for name, rows in after.items():
        prior = before.get(name, [])
        for i, (key, count) in enumerate(rows):
            ran = count - (prior[i][1] if i < len(prior) else 0)
            ptype, tag = _split_key(key)
            result.append(ProcessorHits(display.get(name, name), i, ptype, tag, ran))
    return result


def _split_key(key: str) -> tuple[str, str | None]:
    """`set:my_tag` -> (set, my_tag); `pipeline:<name>:tag` -> (pipeline, tag); untagged -> (type, None)."""
    parts = key.split(":")
    return parts[0], (parts[-1] if len(parts) > 1 else None)


def summary(rows: list[ProcessorHits]) -> dict[str, Any]:
    unhit = [r for r in rows if r.count == 0]
    return {
        "processors": len(rows),
        "hit": len(rows) - len(unhit),
        "unhit": [f"{r.pipeline}: {r.type} `{r.tag or '#' + str(r.position)}`" for r in unhit],
    }
