"""Sigma rules of the package (`_dev/detection/`) to Kibana security rules (`kibana/security_rule/*.json`).

Sources (see `_dev/detection/README.md`):

* `pipeline.yml`: the pySigma processing pipeline (Sigma field names to the data streams' fields);
* `rules/<slug>.yml`: one Sigma rule, or a Sigma correlation (`event_count`, `value_count`) with the rules it
  counts, as YAML documents of one file;
* `tests/<slug>.yml`: raw Cloudflare records the rule must (`positives`) and must not (`negatives`) match;
* `attack.yml`: the MITRE ATT&CK tactics and techniques the rules' tags name.

Each rule becomes one Kibana `security-rule` saved object whose id and `rule_id` are the Sigma id: a `query` rule,
a `threshold` rule (from a correlation) or a `new_terms` rule (`custom.kibana.type: new_terms`), all with
pySigma's Lucene (query_string) query. The JSON is written here from the Sigma metadata (pySigma's `siem_rule`
output downloads MITRE data); nothing is downloaded.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intpkg.errors import IntpkgError
from intpkg.yamlpos import Loaded, ParseError, load_documents, load_file

DETECTION_DIR = "_dev/detection"
PIPELINE = f"{DETECTION_DIR}/pipeline.yml"
ATTACK = f"{DETECTION_DIR}/attack.yml"
RULES_DIR = f"{DETECTION_DIR}/rules"
TESTS_DIR = f"{DETECTION_DIR}/tests"
SECURITY_RULE_DIR = "kibana/security_rule"
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")

#: (logsource product, service) -> data stream
LOGSOURCES = {("cloudflare", "audit"): "audit", ("cloudflare", "http_request"): "logpull"}
DATASETS = {"audit": "cloudflare.audit", "logpull": "cloudflare.logpull"}
DATA_SOURCE_TAGS = {"audit": ["Domain: Cloud", "Data Source: Cloudflare", "Data Source: Cloudflare Audit Logs"],
                    "logpull": ["Domain: Web", "Data Source: Cloudflare", "Data Source: Cloudflare HTTP Requests"]}
SEVERITY = {"informational": ("low", 21), "low": ("low", 21), "medium": ("medium", 47), "high": ("high", 73),
            "critical": ("critical", 99)}

#: schedule of every rule unless its `custom.kibana` says otherwise; a threshold rule looks back its timespan
INTERVAL = "5m"
LOOK_BACK = "now-9m"
MAX_SIGNALS = 100
#: the window of a query rule is on the time the collector created the event: records that arrive late (the
#: audit API reports some 90 s after their time, the collector polls every few minutes, catches up after
#: downtime) are still inside the window of the next run. Threshold and new-terms rules count and compare by
#: the events' own time (@timestamp): a first collection of 30 days of history, or an hour of Logpull caught up
#: at once, is not a burst, and new terms are judged against the history as it happened.
DURATION = re.compile(r"^(\d+)([smhd])$")
DATEMATH = re.compile(r"^now-(\d+)([smhd])$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class RuleError(IntpkgError):
    """A problem of one `_dev/detection` file, at a key `path` of its document number `doc`."""

    def __init__(self, rel: str, message: str, *, doc: int = 0, path: tuple = (), code: str = "DET002") -> None:
        super().__init__(f"{rel}: {message}")
        self.rel, self.message, self.doc, self.path, self.code = rel, message, doc, tuple(path), code


# ------------------------------------------------------------------------------------------------- sources


@dataclass
class RuleFile:
    """One `rules/<slug>.yml`: its YAML documents with positions."""

    rel: str
    slug: str
    docs: list[Loaded]

    @property
    def main(self) -> int:
        """Index of the document that becomes the Kibana rule: the correlation, else the first."""
        for i, doc in enumerate(self.docs):
            if isinstance(doc.data, dict) and "correlation" in doc.data:
                return i
        return 0

    @property
    def is_correlation(self) -> bool:
        data = self.docs[self.main].data if self.docs else None
        return isinstance(data, dict) and "correlation" in data

    def data(self, doc: int | None = None) -> dict:
        value = self.docs[self.main if doc is None else doc].data if self.docs else None
        return value if isinstance(value, dict) else {}


def seconds(duration: str) -> int | None:
    """`15m` -> 900 (units s, m, h, d); `now-15m` too; None when it is neither."""
    match = DURATION.match(duration) or DATEMATH.match(duration)
    return int(match[1]) * UNIT_SECONDS[match[2]] if match else None


@dataclass
class AttackTable:
    """`attack.yml`: tactics by id (name, Sigma tag, reference) and techniques (name, tactics, reference)."""

    tactics: dict[str, dict]
    techniques: dict[str, dict]

    @classmethod
    def from_data(cls, data: Any) -> AttackTable:
        data = data if isinstance(data, dict) else {}
        tactics = data.get("tactics") if isinstance(data.get("tactics"), dict) else {}
        techniques = data.get("techniques") if isinstance(data.get("techniques"), dict) else {}
        return cls({str(k): v for k, v in tactics.items() if isinstance(v, dict)},
                   {str(k): v for k, v in techniques.items() if isinstance(v, dict)})

    def tactic_by_tag(self, tag: str) -> str | None:
        return next((tid for tid, t in self.tactics.items() if t.get("tag") == tag), None)

    def technique_tactics(self, technique: str) -> list[str]:
        parent = self.techniques.get(technique.split(".")[0], {})
        return [str(t) for t in parent.get("tactics") or []]


def rule_files(package_dir: Path) -> tuple[list[RuleFile], list[ParseError]]:
    """Every `rules/*.yml` (parsed with positions) and the parse errors of those that are not YAML."""
    base = Path(package_dir) / RULES_DIR
    files, errors = [], []
    for path in sorted(base.glob("*.yml")) if base.is_dir() else []:
        rel = path.relative_to(package_dir).as_posix()
        try:
            files.append(RuleFile(rel=rel, slug=path.stem, docs=load_documents(path)))
        except ParseError as exc:
            errors.append(exc)
    return files, errors


def load_attack(package_dir: Path) -> AttackTable:
    path = Path(package_dir) / ATTACK
    if not path.is_file():
        raise IntpkgError(f"{path} is missing: the ATT&CK names of the rules' tags are read from it")
    return AttackTable.from_data(load_file(path).data)


def load_pipeline_text(package_dir: Path) -> str:
    path = Path(package_dir) / PIPELINE
    if not path.is_file():
        raise IntpkgError(f"{path} is missing: the Sigma rules are converted with it")
    load_file(path)  # a YAML error names the line
    return path.read_text(encoding="utf-8")


def has_detection(package_dir: Path) -> bool:
    return (Path(package_dir) / RULES_DIR).is_dir()


def record_time(record: Any, data_stream: str) -> dt.datetime | None:
    """When a raw record happened, as the ingest pipeline reads it (None when it has no readable time):
    audit v1 `when`, v2 `action.time`; Logpull `EdgeStartTimestamp` (else `EdgeEndTimestamp`) in RFC 3339, unix
    seconds, milliseconds, microseconds or nanoseconds."""
    if not isinstance(record, dict):
        return None
    if data_stream == "audit":
        action = record.get("action")
        value = record.get("when") if "when" in record else action.get("time") if isinstance(action, dict) else None
    else:
        value = record.get("EdgeStartTimestamp") or record.get("EdgeEndTimestamp")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        for limit, scale in ((10**11, 1), (10**14, 10**3), (10**17, 10**6), (None, 10**9)):
            if limit is None or value < limit:
                return dt.datetime.fromtimestamp(value / scale, dt.UTC)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return None


def rule_run_at(test: dict, data_stream: str) -> dt.datetime:
    """When the rule of a tests file runs (Kibana's `now`): its `run_at`, else one second after the newest of its
    positives and negatives. ValueError when neither gives a time."""
    if isinstance(test.get("run_at"), str):
        return dt.datetime.fromisoformat(test["run_at"].replace("Z", "+00:00").replace("z", "+00:00"))
    times = [record_time(r, data_stream) for key in ("positives", "negatives") for r in test.get(key) or []]
    times = [t for t in times if t is not None]
    if not times:
        raise ValueError("no run_at and no record with a time")
    return max(times) + dt.timedelta(seconds=1)


# ---------------------------------------------------------------------------------------------- conversion


def _backend(pipeline_text: str):
    """pySigma's Lucene backend with the package pipeline (a fresh one per rule: a pipeline keeps state, and
    applying it twice to a rule adds its conditions twice)."""
    from sigma.backends.elasticsearch import LuceneBackend
    from sigma.processing.pipeline import ProcessingPipeline

    class Lucene(LuceneBackend):
        # The Lucene backend escapes only `/` in regular expressions, but query_string parses them with every
        # Lucene RegExp operator on: an unescaped `<` (interval), `>`, `@` (any string) or `"` (literal)
        # silently matches nothing. re.escape (the pipeline's case-insensitive `regex` transformation) already
        # escapes `#`, `&` and `~`.
        re_escape = ("/", "<", ">", "@", '"')

    return Lucene(ProcessingPipeline.from_yaml(pipeline_text))


def _sigma_objects(docs: list[dict]):
    from sigma.collection import SigmaCollection

    collection = SigmaCollection.from_dicts(copy.deepcopy(docs))
    collection.resolve_rule_references()
    return list(collection)


@dataclass
class FieldUse:
    """A document field a rule reads (after the pipeline), with how: `match` (exact), `pattern` (wildcards or
    a regular expression), `exists`, `compare`, `group`, `cardinality`, `new_terms` or `show`."""

    name: str
    how: str
    doc: int
    path: tuple


@dataclass
class DetectionRule:
    """One converted rule."""

    rel: str
    slug: str
    rule_id: str
    name: str
    data_stream: str
    type: str
    query: str
    saved_object: dict
    fields: list[FieldUse] = field(default_factory=list)

    @property
    def attributes(self) -> dict:
        return self.saved_object["attributes"]

    @property
    def file(self) -> str:
        return f"{SECURITY_RULE_DIR}/{self.rule_id}.json"

    @property
    def window_seconds(self) -> int:
        return seconds(self.attributes["from"]) or 0

    @property
    def history_seconds(self) -> int | None:
        start = self.attributes.get("history_window_start")
        return seconds(start) if isinstance(start, str) else None


def _logsource_stream(rf: RuleFile, doc: int) -> str:
    logsource = rf.data(doc).get("logsource")
    key = (logsource.get("product"), logsource.get("service")) if isinstance(logsource, dict) else None
    if key not in LOGSOURCES:
        known = ", ".join(f"product: {p}, service: {s}" for p, s in LOGSOURCES)
        raise RuleError(rf.rel, f"unknown logsource {logsource!r}: the rules read {known}", doc=doc,
                        path=("logsource",))
    return LOGSOURCES[key]


def _sigma_error(rf: RuleFile, exc: Exception, doc: int, path: tuple = ()) -> RuleError:
    message = str(exc).replace("\n", " ")
    return RuleError(rf.rel, f"pySigma: {message}", doc=doc, path=path)


def _convert_query(rf: RuleFile, pipeline_text: str, doc: int) -> tuple[str, Any]:
    """The Lucene query of the Sigma rule in document `doc`, and the processed pySigma rule."""
    from sigma.exceptions import SigmaError

    data = copy.deepcopy(rf.data(doc))
    data.pop("custom", None)
    try:
        (rule,) = _sigma_objects([data])
        queries = _backend(pipeline_text).convert_rule(rule)
    except SigmaError as exc:
        raise _sigma_error(rf, exc, doc, ("detection",)) from None
    if len(queries) != 1 or not isinstance(queries[0], str):
        raise RuleError(rf.rel, f"pySigma made {len(queries)} queries of the rule, not one", doc=doc,
                        path=("detection",))
    return queries[0], rule


def _detection_fields(rule: Any, doc: int) -> list[FieldUse]:
    from sigma.rule import SigmaDetection, SigmaDetectionItem
    from sigma.types import SigmaCompareExpression, SigmaExists, SigmaRegularExpression, SigmaString

    out: list[FieldUse] = []

    def walk(detection: Any, path: tuple) -> None:
        for item in detection.detection_items:
            if isinstance(item, SigmaDetection):
                walk(item, path)
            elif isinstance(item, SigmaDetectionItem) and item.field:
                for value in item.value:
                    if isinstance(value, SigmaRegularExpression) or \
                            isinstance(value, SigmaString) and value.contains_special():
                        how = "pattern"
                    elif isinstance(value, SigmaExists):
                        how = "exists"
                    elif isinstance(value, SigmaCompareExpression):
                        how = "compare"
                    else:
                        how = "match"
                    out.append(FieldUse(item.field, how, doc, path))

    for name, detection in rule.detection.detections.items():
        walk(detection, ("detection", name))
    return out


def map_fields(pipeline_text: str, data_stream: str, names: list[str]) -> list[str]:
    """Sigma field names of a data stream's logsource as the pipeline maps them (a field it does not map is a
    pySigma error)."""
    if not names:
        return []
    product, service = next(k for k, v in LOGSOURCES.items() if v == data_stream)
    selections = {f"field{i}": {f"{name}|exists": True} for i, name in enumerate(names)}
    rule = {"title": "fields", "logsource": {"product": product, "service": service},
            "detection": {**selections, "condition": "1 of field*"}}
    (sigma_rule,) = _sigma_objects([rule])
    _backend(pipeline_text).convert_rule(sigma_rule)
    return [f.name for f in _detection_fields(sigma_rule, 0) if f.path[1] in selections]


def _mapped(rf: RuleFile, pipeline_text: str, data_stream: str, names: Any, path: tuple) -> list[str]:
    from sigma.exceptions import SigmaError

    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise RuleError(rf.rel, f"{'.'.join(map(str, path))} must be a list of field names", doc=rf.main,
                        path=path)
    try:
        return map_fields(pipeline_text, data_stream, names)
    except SigmaError as exc:
        raise _sigma_error(rf, exc, rf.main, path) from None


def _threat(rf: RuleFile, attack: AttackTable) -> list[dict]:
    """Kibana `threat` from the rule's `attack.*` tags: each tactic with the tagged techniques it covers."""
    tags = [t for t in rf.data().get("tags") or [] if isinstance(t, str) and t.startswith("attack.")]
    tactics, techniques = [], []
    for i, tag in enumerate(tags):
        name = tag.split(".", 1)[1]
        if re.fullmatch(r"t\d{4}(\.\d{3})?", name):
            tid = name.upper()
            if tid not in attack.techniques or tid.split(".")[0] not in attack.techniques:
                raise RuleError(rf.rel, f"technique {tid} is not in {ATTACK}: add it (name, tactics, reference "
                                f"from attack.mitre.org)", doc=rf.main, path=("tags", i), code="DET005")
            techniques.append((i, tid))
        else:
            tactic = attack.tactic_by_tag(name)
            if tactic is None:
                raise RuleError(rf.rel, f"tactic {name!r} is not in {ATTACK}", doc=rf.main, path=("tags", i),
                                code="DET005")
            tactics.append(tactic)
    if not tactics:
        raise RuleError(rf.rel, "no ATT&CK tactic tag (attack.<tactic>)", doc=rf.main, path=("tags",),
                        code="DET005")
    for i, tid in techniques:
        if not set(attack.technique_tactics(tid)) & set(tactics):
            names = ", ".join(attack.tactics[t]["name"] for t in attack.technique_tactics(tid) if t in attack.tactics)
            raise RuleError(rf.rel, f"technique {tid} belongs to {names}, none of the rule's tactics",
                            doc=rf.main, path=("tags", i), code="DET005")
    threat = []
    for tactic in dict.fromkeys(tactics):
        entries: dict[str, dict] = {}
        for _, tid in techniques:
            if tactic not in attack.technique_tactics(tid):
                continue
            parent = tid.split(".")[0]
            entry = entries.setdefault(parent, {"id": parent, "name": attack.techniques[parent]["name"],
                                                "reference": attack.techniques[parent]["reference"]})
            if tid != parent:
                sub = attack.techniques[tid]
                entry.setdefault("subtechnique", []).append(
                    {"id": tid, "name": sub["name"], "reference": sub["reference"]})
        info = attack.tactics[tactic]
        threat.append({"framework": "MITRE ATT&CK",
                       "tactic": {"id": tactic, "name": info["name"], "reference": info["reference"]},
                       "technique": list(entries.values())})
    return threat


def _kibana_custom(rf: RuleFile) -> dict:
    custom = rf.data().get("custom")
    kibana = custom.get("kibana") if isinstance(custom, dict) else None
    return kibana if isinstance(kibana, dict) else {}


def _threshold(rf: RuleFile, pipeline_text: str) -> tuple[str, str, dict, list[FieldUse]]:
    """(data stream, query, Kibana `threshold`, fields) of a correlation file."""
    from sigma.correlations import SigmaCorrelationConditionOperator, SigmaCorrelationType
    from sigma.exceptions import SigmaError

    main = rf.main
    corr = rf.data()["correlation"]
    names = corr.get("rules") if isinstance(corr, dict) else None
    names = [names] if isinstance(names, str) else names
    if not isinstance(names, list) or not names:
        raise RuleError(rf.rel, "correlation.rules must name the rules it counts", doc=main,
                        path=("correlation", "rules"))
    by_name = {rf.data(i).get("name"): i for i in range(len(rf.docs)) if i != main}
    streams, queries, fields = set(), [], []
    for j, name in enumerate(names):
        if name not in by_name:
            raise RuleError(rf.rel, f"correlation.rules names {name!r}, which no rule of this file has as `name`",
                            doc=main, path=("correlation", "rules", j))
        doc = by_name[name]
        streams.add(_logsource_stream(rf, doc))
        query, rule = _convert_query(rf, pipeline_text, doc)
        queries.append(query)
        fields += _detection_fields(rule, doc)
    unused = sorted(set(by_name) - set(names), key=str)
    if unused:
        raise RuleError(rf.rel, f"rule {unused[0]!r} is not counted by the correlation", doc=by_name[unused[0]])
    if len(streams) > 1:
        raise RuleError(rf.rel, "the counted rules read different logsources", doc=main, path=("correlation",))
    (stream,) = streams
    try:
        objects = _sigma_objects([rf.data(i) for i in range(len(rf.docs))])
        correlation = next(o for o in objects if hasattr(o, "group_by"))
        _backend(pipeline_text).processing_pipeline.apply(correlation)
    except SigmaError as exc:
        raise _sigma_error(rf, exc, main, ("correlation",)) from None
    if correlation.type not in (SigmaCorrelationType.EVENT_COUNT, SigmaCorrelationType.VALUE_COUNT):
        raise RuleError(rf.rel, f"correlation type {correlation.type.name.lower()} has no Kibana rule type: use "
                        "event_count or value_count (a threshold rule)", doc=main, path=("correlation", "type"))
    condition = correlation.condition
    op = condition.op
    if op not in (SigmaCorrelationConditionOperator.GTE, SigmaCorrelationConditionOperator.GT):
        raise RuleError(rf.rel, "a Kibana threshold counts at least N: the condition must be gte or gt", doc=main,
                        path=("correlation", "condition"))
    count = int(condition.count) + (1 if op == SigmaCorrelationConditionOperator.GT else 0)
    group_by = list(correlation.group_by or [])
    threshold: dict[str, Any] = {"field": group_by, "value": count}
    for f in group_by:
        fields.append(FieldUse(f, "group", main, ("correlation", "group-by")))
    if correlation.type == SigmaCorrelationType.VALUE_COUNT:
        threshold = {"field": group_by, "value": 1, "cardinality": [{"field": condition.fieldref, "value": count}]}
        fields.append(FieldUse(condition.fieldref, "cardinality", main, ("correlation", "condition", "field")))
    query = queries[0] if len(queries) == 1 else " OR ".join(f"({q})" for q in queries)
    return stream, query, threshold, fields


_CONVERTED: dict[tuple, DetectionRule | RuleError] = {}
_CACHE_SIZE = 256


def convert(rf: RuleFile, pipeline_text: str, attack: AttackTable) -> DetectionRule:
    """The Kibana security rule of one rule file; RuleError names what stops it. Conversions are remembered by
    content for the process (lint and build convert the same rules again and again; pySigma takes a while)."""
    key = (rf.rel, json.dumps([d.data for d in rf.docs], sort_keys=True, default=str), pipeline_text,
           json.dumps([attack.tactics, attack.techniques], sort_keys=True, default=str))
    found = _CONVERTED.get(key)
    if found is None:
        try:
            found = _convert(rf, pipeline_text, attack)
        except RuleError as exc:
            found = exc
        if len(_CONVERTED) >= _CACHE_SIZE:
            _CONVERTED.clear()
        _CONVERTED[key] = found
    if isinstance(found, RuleError):
        raise RuleError(found.rel, found.message, doc=found.doc, path=found.path, code=found.code)
    return copy.deepcopy(found)


def _convert(rf: RuleFile, pipeline_text: str, attack: AttackTable) -> DetectionRule:
    if not SLUG.match(rf.slug):
        raise RuleError(rf.rel, f"file name {rf.slug!r} must be a slug: lower-case letters, digits and hyphens")
    if not rf.docs or not all(isinstance(d.data, dict) for d in rf.docs):
        raise RuleError(rf.rel, "every YAML document of a rule file must be a Sigma rule (a mapping)")
    if len(rf.docs) > 1 and not rf.is_correlation:
        raise RuleError(rf.rel, "several documents in a rule file are a correlation and the rules it counts, but "
                        "none has `correlation`", doc=1)
    data = rf.data()
    kibana = _kibana_custom(rf)
    rule_id = str(data.get("id", ""))
    if rf.is_correlation:
        stream, query, threshold, fields = _threshold(rf, pipeline_text)
        timespan = rf.data()["correlation"].get("timespan")
        if not isinstance(timespan, str) or seconds(timespan) is None:
            raise RuleError(rf.rel, f"correlation.timespan {timespan!r} must be a number and one of s, m, h, d",
                            doc=rf.main, path=("correlation", "timespan"))
        kind, look_back = "threshold", f"now-{timespan}"
    else:
        stream = _logsource_stream(rf, 0)
        query, rule = _convert_query(rf, pipeline_text, 0)
        fields, threshold = _detection_fields(rule, 0), None
        kind = str(kibana.get("type", "query"))
        look_back = str(kibana.get("from", LOOK_BACK))
    interval = str(kibana.get("interval", INTERVAL))
    if kind == "threshold" and seconds(look_back) < seconds(interval):
        raise RuleError(rf.rel, f"timespan {look_back[4:]} is shorter than the interval {interval}: events between "
                        "two runs would never be counted", doc=rf.main, path=("correlation", "timespan"))
    severity, risk = SEVERITY.get(str(data.get("level")), ("low", 21))
    author = data.get("author")
    attrs: dict[str, Any] = {
        "author": [a.strip() for a in author.split(",")] if isinstance(author, str) else [],
        "description": " ".join(str(data.get("description", "")).split()),
        "enabled": True,
        "false_positives": [str(f) for f in data.get("falsepositives") or []],
        "from": look_back,
        "index": [f"logs-{DATASETS[stream]}-*"],
        "interval": interval,
        "language": "lucene",
        "license": str(data.get("license", "")),
        "max_signals": MAX_SIGNALS,
        "name": str(data.get("title", "")),
        "note": str(kibana.get("note", "")),
        "query": query,
        "references": [str(r) for r in data.get("references") or []],
        "risk_score": risk,
        "rule_id": rule_id,
        "severity": severity,
        "tags": DATA_SOURCE_TAGS[stream] + ["Use Case: Threat Detection"],
        "threat": _threat(rf, attack),
        "type": kind,
        "version": kibana.get("version", 1),
    }
    attrs["tags"] += [f"Tactic: {t['tactic']['name']}" for t in attrs["threat"]]
    if attrs["note"]:
        attrs["tags"].append("Resources: Investigation Guide")
    if threshold is not None:
        attrs["threshold"] = threshold
    if kind == "new_terms":
        new_terms = _mapped(rf, pipeline_text, stream, kibana.get("new_terms_fields"),
                            ("custom", "kibana", "new_terms_fields"))
        attrs["new_terms_fields"] = new_terms
        attrs["history_window_start"] = str(kibana.get("history_window_start", "now-30d"))
        fields += [FieldUse(f, "new_terms", rf.main, ("custom", "kibana", "new_terms_fields")) for f in new_terms]
    elif kind not in ("query", "threshold"):
        raise RuleError(rf.rel, f"custom.kibana.type {kind!r}: only new_terms is set there (a threshold rule is a "
                        "correlation; other rules are query rules)", doc=rf.main, path=("custom", "kibana", "type"))
    shown = _mapped(rf, pipeline_text, stream, data.get("fields") or [], ("fields",))
    fields += [FieldUse(f, "show", rf.main, ("fields",)) for f in shown]
    if shown:
        attrs["investigation_fields"] = {"field_names": shown}
    saved = {"attributes": attrs, "id": rule_id, "type": "security-rule"}
    return DetectionRule(rel=rf.rel, slug=rf.slug, rule_id=rule_id, name=attrs["name"], data_stream=stream,
                         type=kind, query=query, saved_object=saved, fields=fields)


def saved_object_text(obj: dict) -> str:
    """A security rule file as written: keys sorted, 4-space indent, non-ASCII kept, one trailing newline."""
    return json.dumps(obj, indent=4, sort_keys=True, ensure_ascii=False) + "\n"


def convert_all(package_dir: Path) -> list[DetectionRule]:
    """Every rule of the package, converted; the first problem raises (lint reports them all)."""
    package_dir = Path(package_dir)
    files, errors = rule_files(package_dir)
    if errors:
        raise errors[0]
    pipeline_text = load_pipeline_text(package_dir)
    attack = load_attack(package_dir)
    rules = [convert(rf, pipeline_text, attack) for rf in files]
    seen: dict[str, str] = {}
    for rule in rules:
        if rule.rule_id in seen:
            raise RuleError(rule.rel, f"id {rule.rule_id} is also the id of {seen[rule.rule_id]}", path=("id",))
        seen[rule.rule_id] = rule.rel
    return rules


def generate(package_dir: Path) -> dict[str, str]:
    """`kibana/security_rule/<rule_id>.json` -> text, for every Sigma rule of the package ({} without rules)."""
    if not has_detection(package_dir):
        return {}
    return {rule.file: saved_object_text(rule.saved_object) for rule in convert_all(package_dir)}
