"""Record sets the API handlers serve: JSON/NDJSON files or seeded generators with known ground truth.

A dataset spec (in a handler's `dataset`, or by name under `x-intpkg.datasets`):

    {generator: audit_v1 | audit_v2 | logpull, count: 100000, seed: 7, from: "-720h", to: "-5m",
     account: <32 hex>, account_name: ..., zones: [{id: <32 hex>, name: example.com}]}
    {file: audit-v1.json}          # JSON array (or {"result": [...]}) or NDJSON, relative to the config
    [spec, spec, ...]              # union
    some_name                      # a named dataset

`from`/`to` are RFC 3339, dates, or offsets (`-7d`, `-90m`) from the server's anchor time (its start,
whole seconds). Generated records are a pure function of (seed, count, from, to, index): the same spec
always gives the same records, so tests know the ground truth without shipping large files.
"""

from __future__ import annotations

import bisect
import json
import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from intpkg.cloudflare.mockapi import generators, scenarios
from intpkg.mock.timeutil import NS, parse_logpull_time, parse_rfc3339, resolve_instant

KINDS = ("audit_v1", "audit_v2", "logpull")


class DatasetError(ValueError):
    """A dataset spec or file that cannot be used."""


def record_time(kind: str, record: dict[str, Any]) -> int:
    """The time a handler filters on, in ns."""
    if kind == "audit_v1":
        return parse_rfc3339(str(record["when"]))
    if kind == "audit_v2":
        return parse_rfc3339(str(record["action"]["time"]))
    value = record.get("EdgeEndTimestamp", record.get("EdgeStartTimestamp"))
    if isinstance(value, int):
        return value if value > 10**15 else value * NS
    return parse_logpull_time(str(value))


class Dataset:
    """Records sorted by time; `times[i]` is the ns time of `record(i)`."""

    kind: str
    times: list[int]

    def __len__(self) -> int:
        return len(self.times)

    def record(self, index: int) -> dict[str, Any]:
        raise NotImplementedError

    def records(self) -> Iterator[dict[str, Any]]:
        for i in range(len(self)):
            yield self.record(i)

    def warm(self) -> None:
        """Prepare every record now, so that answering a request costs no generation (a benchmark's API)."""

    def index_range(self, low_ns: int | None, high_ns: int | None, *, high_inclusive: bool) -> tuple[int, int]:
        """Index span [i0, i1) of records with low <= time and time <= / < high."""
        i0 = 0 if low_ns is None else bisect.bisect_left(self.times, low_ns)
        if high_ns is None:
            return i0, len(self.times)
        i1 = (bisect.bisect_right if high_inclusive else bisect.bisect_left)(self.times, high_ns)
        return i0, max(i0, i1)


class ListDataset(Dataset):
    def __init__(self, kind: str, records: list[dict[str, Any]]) -> None:
        self.kind = kind
        keyed = sorted(((record_time(kind, r), n, r) for n, r in enumerate(records)), key=lambda t: (t[0], t[1]))
        self.times = [t for t, _, _ in keyed]
        self._records = [r for _, _, r in keyed]

    def record(self, index: int) -> dict[str, Any]:
        return json.loads(json.dumps(self._records[index]))  # a copy: handlers may reshape it


class GeneratedDataset(Dataset):
    """`count` records at seeded random times in [start, end), each built from its own seeded RNG."""

    def __init__(self, kind: str, count: int, seed: int, start_ns: int, end_ns: int,
                 context: dict[str, Any]) -> None:
        if end_ns <= start_ns:
            raise DatasetError("`to` must be later than `from`")
        self.kind, self.seed, self.context = kind, seed, context
        rng = random.Random(seed)
        span_ms = max(1, (end_ns - start_ns) // 1_000_000)
        times = []
        for _ in range(count):
            t = start_ns + rng.randrange(span_ms) * 1_000_000
            if kind != "logpull" and rng.random() < 0.5:
                t -= t % NS  # half the audit records have whole-second times
            times.append(t)
        times.sort()
        self.times = times
        self._build: Callable[..., dict[str, Any]] = generators.BUILDERS[kind]
        self._warmed: list[dict[str, Any]] | None = None

    def record(self, index: int) -> dict[str, Any]:
        if self._warmed is not None:
            return self._warmed[index]  # shared: handlers read records, never reshape them in place
        rng = random.Random(self.seed * 10_000_019 + index)
        return self._build(rng, self.times[index], self.context)

    def warm(self) -> None:
        if self._warmed is None:
            self._warmed = [self.record(i) for i in range(len(self.times))]


class UnionDataset(Dataset):
    def __init__(self, kind: str, parts: list[Dataset]) -> None:
        self.kind = kind
        keyed = sorted((t, p, i) for p, part in enumerate(parts) for i, t in enumerate(part.times))
        self.times = [t for t, _, _ in keyed]
        self._where = [(p, i) for _, p, i in keyed]
        self._parts = parts

    def record(self, index: int) -> dict[str, Any]:
        p, i = self._where[index]
        return self._parts[p].record(i)

    def warm(self) -> None:
        for part in self._parts:
            part.warm()


class DatasetFactory:
    """Builds (and caches) datasets from specs for one server."""

    def __init__(self, named: dict[str, Any], anchor_ns: int, host_path: Callable[[str], Path],
                 settings: dict[str, Any], *, default_account: str | None = None) -> None:
        self.named, self.anchor_ns, self.host_path, self.settings = named, anchor_ns, host_path, settings
        self.default_account = default_account or generators.stable_hex("account:Example Corp")
        self._cache: dict[str, Dataset] = {}
        self._lock = threading.Lock()

    def build(self, spec: Any, kind: str) -> Dataset:
        key = json.dumps([spec, kind], sort_keys=True, default=str)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = self._build(spec, kind, depth=0)
            return self._cache[key]

    def _build(self, spec: Any, kind: str, depth: int) -> Dataset:
        if depth > 8:
            raise DatasetError("dataset references nest too deep (a cycle?)")
        if isinstance(spec, list):
            return UnionDataset(kind, [self._build(s, kind, depth + 1) for s in spec])
        if isinstance(spec, str):
            if spec in self.named:
                return self._build(self.named[spec], kind, depth + 1)
            return self._file(spec, kind)
        if not isinstance(spec, dict):
            raise DatasetError("expected a dataset name, {generator: ...}, {file: ...} or a list of them")
        if "file" in spec:
            return self._file(str(spec["file"]), kind)
        if "scenario" in spec:
            return self._scenario(spec, kind)
        generator = spec.get("generator")
        if generator not in KINDS:
            raise DatasetError(f"generator: expected one of {', '.join(KINDS)}")
        if generator != kind:
            raise DatasetError(f"generator {generator} cannot feed a {kind} handler")
        count, seed = spec.get("count", 100), spec.get("seed", 1)
        if not isinstance(count, int) or count < 0 or not isinstance(seed, int):
            raise DatasetError("count and seed must be integers (count >= 0)")
        try:
            start = resolve_instant(spec.get("from", "-24h"), self.anchor_ns)
            end = resolve_instant(spec.get("to", "-5m"), self.anchor_ns)
        except ValueError as exc:
            raise DatasetError(f"from/to: {exc}") from None
        return GeneratedDataset(kind, count, seed, start, end, self.context(spec))

    def context(self, spec: dict[str, Any]) -> dict[str, Any]:
        """What a generator spec's records belong to: account (id, name), zones, hosts."""
        accounts = self.settings.get("accounts") or {}
        zones_cfg = self.settings.get("zones") or {}
        account = str(spec.get("account") or self.default_account)
        account_name = spec.get("account_name") or (accounts.get(account) or {}).get("name") or "Example Corp"
        zones = spec.get("zones")
        if zones is None:
            zones = [{"id": zid, "name": (z or {}).get("name", "example.com")} for zid, z in zones_cfg.items()
                     if not (z or {}).get("account") or (z or {}).get("account") == account]
        if not zones:
            zones = [{"id": generators.stable_hex("zone:example.com"), "name": "example.com"}]
        return {"account": account, "account_name": account_name, "zones": zones,
                "hosts": spec.get("hosts")}

    def _scenario(self, spec: dict[str, Any], kind: str) -> Dataset:
        """A scripted story (`scenarios.py`) starting at `from`, e.g. `{scenario: incident, from: "+1m"}`."""
        if spec["scenario"] not in scenarios.SCENARIOS or kind != "audit_v2":
            raise DatasetError(f"scenario: expected one of {', '.join(scenarios.SCENARIOS)} (audit_v2)")
        try:
            start = resolve_instant(spec.get("from", "+1m"), self.anchor_ns)
        except ValueError as exc:
            raise DatasetError(f"from: {exc}") from None
        return ListDataset(kind, scenarios.incident_audit_v2(start, self.context(spec)))

    def _file(self, name: str, kind: str) -> Dataset:
        path = self.host_path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise DatasetError(f"{path}: cannot read dataset file ({exc.strerror})") from None
        records = _parse_records(text, path)
        try:
            return ListDataset(kind, records)
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"{path}: a record has no usable time for {kind} ({exc})") from None


def _parse_records(text: str, path: Path) -> list[dict[str, Any]]:
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")) and not path.suffix == ".ndjson":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            if stripped.startswith("["):
                raise DatasetError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
            data = None
        if isinstance(data, dict) and isinstance(data.get("result"), list):
            return data["result"]
        if isinstance(data, list):
            return data
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{n}:{exc.colno}: invalid NDJSON line: {exc.msg}") from None
    return out
