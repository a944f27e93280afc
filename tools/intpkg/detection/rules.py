"""The package's detection rules: `kibana/security_rule/<rule_id>.json`, Kibana security-rule saved objects.

    {"id": "<saved object id>", "type": "security-rule", "attributes": {
        "rule_id", "name", "description", "type": "query" | "threshold" | "new_terms",
        "language": "lucene" | "kuery", "query", "filters"?, "index": [patterns],
        "severity", "risk_score", "threat", "tags", "enabled", "max_signals",
        "from": "now-6m", "to"?: "now", "interval": "5m",
        "threshold"?: {"field": [..] | "..", "value": N, "cardinality"?: [{"field", "value"}]},
        "new_terms_fields"?: [..], "history_window_start"?: "now-30d", ...}}

Attributes a built package or a Kibana export keeps as JSON strings are parsed; a bare rule object (the
detection rules API's shape, `{"rule_id", "name", ...}`) is read as the attributes. Other rule types
(eql, esql, machine_learning, ...) are refused with the file named: intpkg cannot run them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from intpkg.detection import DetectionError

RULE_DIR = Path("kibana") / "security_rule"
RULE_TYPES = ("query", "threshold", "new_terms")
LANGUAGES = ("lucene", "kuery")
DEFAULT_MAX_SIGNALS = 100  # Kibana's default
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Threshold:
    """Group by `fields` (none: all events in one group); a group alerts when it has at least `value`
    events and, for each `cardinality` (field, n), at least n distinct values of the field."""

    fields: tuple[str, ...]
    value: int
    cardinality: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Rule:
    rule_id: str
    name: str
    type: str
    query: str
    language: str
    index: tuple[str, ...]
    severity: str
    risk_score: int
    interval: str
    from_: str
    to: str = "now"
    description: str = ""
    enabled: bool = True
    max_signals: int = DEFAULT_MAX_SIGNALS
    threshold: Threshold | None = None
    new_terms_fields: tuple[str, ...] = ()
    history_window_start: str | None = None
    timestamp_override: str | None = None  # the time field the window is on (Kibana; @timestamp as fallback)
    filters: tuple[dict[str, Any], ...] = ()
    tags: tuple[str, ...] = ()
    threat: tuple[dict[str, Any], ...] = ()
    uuid: str = ""  # the saved object id
    path: Path | None = None
    attributes: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def interval_seconds(self) -> int:
        return duration_seconds(self.interval)

    def summary(self) -> dict[str, Any]:
        """The rule as the UI lists it (no cluster state)."""
        return {
            "rule_id": self.rule_id, "uuid": self.uuid, "name": self.name, "description": self.description,
            "type": self.type, "language": self.language, "query": self.query, "index": list(self.index),
            "severity": self.severity, "risk_score": self.risk_score, "interval": self.interval,
            "from": self.from_, "tags": list(self.tags), "max_signals": self.max_signals,
            "threat": [dict(t) for t in self.threat],
            **({"threshold": {"field": list(self.threshold.fields), "value": self.threshold.value,
                              "cardinality": [{"field": f, "value": v} for f, v in self.threshold.cardinality]}}
               if self.threshold else {}),
            **({"new_terms_fields": list(self.new_terms_fields),
                "history_window_start": self.history_window_start} if self.type == "new_terms" else {}),
        }


def duration_seconds(text: str) -> int:
    """`5m` → 300 (Kibana rule intervals: a number and s, m, h or d)."""
    match = _DURATION.match(str(text).strip())
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration such as 30s, 5m, 1h or 1d")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def interval_delta(rule: Rule) -> timedelta:
    return timedelta(seconds=rule.interval_seconds)


def load_rules(package_dir: Path) -> list[Rule]:
    """Every `kibana/security_rule/*.json` of the package, sorted by file name (none: an empty list).

    Raises DetectionError naming the file for one that cannot be read or run, and for two files
    sharing a rule_id."""
    folder = Path(package_dir) / RULE_DIR
    rules: list[Rule] = []
    seen: dict[str, Path] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        rule = load_rule(path)
        if rule.rule_id in seen:
            raise DetectionError(f"{path}: rule_id {rule.rule_id} is also the rule_id of {seen[rule.rule_id]}.")
        seen[rule.rule_id] = path
        rules.append(rule)
    return rules


def load_rule(path: Path) -> Rule:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DetectionError(f"{path}: cannot read the rule: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise DetectionError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    return rule_from_saved_object(data, path)


def rule_from_saved_object(data: Any, path: Path | None = None) -> Rule:
    where = str(path) if path else "security rule"
    if isinstance(data, dict) and "attributes" not in data and "rule_id" in data:
        data = {"id": data.get("id"), "type": "security-rule", "attributes": data}  # the rules API's shape
    if not isinstance(data, dict) or not isinstance(data.get("attributes"), dict):
        raise DetectionError(f"{where}: expected a saved object with `attributes`.")
    if data.get("type") not in (None, "security-rule"):
        raise DetectionError(f"{where}: saved object type {data.get('type')!r}, expected security-rule.")
    attrs = {key: _decoded(value, key) for key, value in data["attributes"].items()}

    def need(key: str) -> Any:
        value = attrs.get(key)
        if value is None or value == "":
            raise DetectionError(f"{where}: attributes.{key} is missing.")
        return value

    rule_type = need("type")
    if rule_type not in RULE_TYPES:
        raise DetectionError(f"{where}: rule type {rule_type!r} cannot be run by intpkg "
                             f"(supported: {', '.join(RULE_TYPES)}).")
    language = str(attrs.get("language") or "kuery").lower()
    if language not in LANGUAGES:
        raise DetectionError(f"{where}: query language {language!r} is not supported ({', '.join(LANGUAGES)}).")
    index = attrs.get("index") or []
    if isinstance(index, str):
        index = [index]
    if not index or not all(isinstance(p, str) and p for p in index):
        raise DetectionError(f"{where}: attributes.index must list index patterns.")
    interval = str(attrs.get("interval") or "5m")
    try:
        duration_seconds(interval)
    except ValueError as exc:
        raise DetectionError(f"{where}: attributes.interval {exc}.") from None
    from_ = str(attrs.get("from") or "now-6m")
    _check_date_math(from_, where, "from")
    threshold = _threshold(attrs, where) if rule_type == "threshold" else None
    new_terms_fields: tuple[str, ...] = ()
    history = None
    if rule_type == "new_terms":
        raw_fields = attrs.get("new_terms_fields")
        if isinstance(raw_fields, str):
            raw_fields = [raw_fields]
        if not raw_fields or not all(isinstance(f, str) and f for f in raw_fields):
            raise DetectionError(f"{where}: a new_terms rule needs attributes.new_terms_fields (1 to 3 fields).")
        if len(raw_fields) > 3:
            raise DetectionError(f"{where}: new_terms_fields has {len(raw_fields)} fields; Kibana allows 3.")
        new_terms_fields = tuple(raw_fields)
        history = str(need("history_window_start"))
        _check_date_math(history, where, "history_window_start")
    try:
        risk_score = int(attrs.get("risk_score", 21))
        max_signals = int(attrs.get("max_signals") or DEFAULT_MAX_SIGNALS)
    except (TypeError, ValueError):
        raise DetectionError(f"{where}: risk_score and max_signals must be numbers.") from None
    filters = attrs.get("filters") or []
    return Rule(
        rule_id=str(need("rule_id")), name=str(need("name")), type=rule_type,
        query=str(attrs.get("query") or ""), language=language, index=tuple(index),
        severity=str(attrs.get("severity") or "low"), risk_score=risk_score, interval=interval, from_=from_,
        to=str(attrs.get("to") or "now"), description=str(attrs.get("description") or ""),
        enabled=bool(attrs.get("enabled", True)), max_signals=max_signals, threshold=threshold,
        new_terms_fields=new_terms_fields, history_window_start=history,
        timestamp_override=str(attrs["timestamp_override"]) if attrs.get("timestamp_override") else None,
        filters=tuple(f for f in filters if isinstance(f, dict)),
        tags=tuple(str(t) for t in attrs.get("tags") or []),
        threat=tuple(t for t in attrs.get("threat") or [] if isinstance(t, dict)),
        uuid=str(data.get("id") or attrs["rule_id"]), path=Path(path) if path else None, attributes=attrs,
    )


def _threshold(attrs: dict[str, Any], where: str) -> Threshold:
    raw = attrs.get("threshold")
    if not isinstance(raw, dict) or "value" not in raw:
        raise DetectionError(f"{where}: a threshold rule needs attributes.threshold with a value.")
    fields = raw.get("field") or []
    if isinstance(fields, str):
        fields = [fields] if fields else []
    try:
        value = int(raw["value"])
        cardinality = tuple((str(c["field"]), int(c["value"])) for c in raw.get("cardinality") or [])
    except (KeyError, TypeError, ValueError):
        raise DetectionError(f"{where}: threshold.value and each threshold.cardinality "
                             "{field, value} must be given, values as numbers.") from None
    if value < 1:
        raise DetectionError(f"{where}: threshold.value must be at least 1.")
    return Threshold(fields=tuple(str(f) for f in fields), value=value, cardinality=cardinality)


def _check_date_math(text: str, where: str, key: str) -> None:
    from intpkg.dashboards.timerange import TimeRangeError, resolve

    try:
        resolve(text)
    except TimeRangeError as exc:
        raise DetectionError(f"{where}: attributes.{key}: {exc}") from None


def _decoded(value: Any, key: str) -> Any:
    """Attributes kept as JSON text (a built package's or an export's encoding) parsed back."""
    if key in ("threat", "threshold", "filters", "index", "tags", "new_terms_fields", "meta") \
            and isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
