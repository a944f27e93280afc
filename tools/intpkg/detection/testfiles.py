"""Rule tests files: `_dev/detection/tests/<slug>.yml`, one per rule.

    data_stream: audit            # the package data stream whose ingest pipeline reads the records
    positives:                    # raw Cloudflare records the rule must match (at least one)
      - {id: ..., action: {...}, actor: {...}, ...}
    negatives:                    # raw records it must not match (at least one)
      - {...}
    history:                      # optional (new-terms rules): records before the rule's window
      - {...}
    skip: {reason: ...}           # optional: report the case as skipped

Records are what the Cloudflare API returns (audit log v1/v2 record objects, Logpull NDJSON objects),
with absolute timestamps; a record may also be given as text, sent as it is (a malformed line).
The rule is the one whose rule_id is the `id` of the Sigma rule `_dev/detection/rules/<slug>.yml`
(or the tests file's own `rule_id`, when it has one).

`read_tests_file` is the only place that knows these keys.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from intpkg.detection import DetectionError
from intpkg.errors import IntpkgError
from intpkg.yamlpos import read_yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
TESTS_DIR = Path("_dev") / "detection" / "tests"
SIGMA_DIR = Path("_dev") / "detection" / "rules"
GROUPS = ("history", "positives", "negatives")  # the order records are indexed in


@dataclass(frozen=True)
class RuleTests:
    path: Path
    slug: str
    data_stream: str
    positives: list[Any]
    negatives: list[Any]
    history: list[Any]
    rule_id: str | None = None  # given in the tests file itself; else from the Sigma rule
    skip: str | None = None
    run_at: str | None = None  # when the rule runs (ISO 8601); else just after the newest record

    def records(self) -> list[tuple[str, int, Any]]:
        """`(group, index, record)` for every record, history first."""
        return [(group, i, record) for group in GROUPS for i, record in enumerate(getattr(self, group))]


def read_tests_file(path: Path) -> RuleTests:
    """Read one tests file; DetectionError naming the file and the key when it is malformed."""
    path = Path(path)
    try:
        data = read_yaml(path)
    except IntpkgError as exc:
        raise DetectionError(f"{path}: cannot read the tests file: {exc}") from None
    if not isinstance(data, dict):
        raise DetectionError(f"{path}: a tests file is a mapping with data_stream, positives and negatives.")
    known = {"data_stream", "positives", "negatives", "history", "rule_id", "skip", "description", "run_at"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise DetectionError(f"{path}: unknown key(s) {', '.join(unknown)} (expected {', '.join(sorted(known))}).")
    data_stream = data.get("data_stream")
    if not isinstance(data_stream, str) or not data_stream:
        raise DetectionError(f"{path}: `data_stream` must name the package data stream (audit or logpull).")
    groups: dict[str, list[Any]] = {}
    for key in GROUPS:
        value = data.get(key)
        if value is None and key == "history":
            value = []
        if not isinstance(value, list) or (key != "history" and not value):
            raise DetectionError(f"{path}: `{key}` must be a list of raw Cloudflare records"
                                 + ("" if key == "history" else " (at least one)") + ".")
        for i, record in enumerate(value):
            if not isinstance(record, dict | str) or not record:
                raise DetectionError(f"{path}: {key}[{i}] is not a record (an object, or a line of text).")
        groups[key] = value
    skip = data.get("skip")
    reason = (skip.get("reason") if isinstance(skip, dict) else None) or ("no reason given" if skip else None)
    rule_id = data.get("rule_id")
    run_at = data.get("run_at")
    if run_at is not None and not isinstance(run_at, str):
        raise DetectionError(f"{path}: `run_at` must be an ISO 8601 time (quote it in YAML).")
    return RuleTests(path=path, slug=path.stem, data_stream=data_stream, rule_id=str(rule_id) if rule_id else None,
                     skip=reason, run_at=run_at, **groups)


def tests_files(package_dir: Path) -> list[Path]:
    folder = Path(package_dir) / TESTS_DIR
    return sorted(p for p in folder.glob("*.yml") if p.is_file()) if folder.is_dir() else []


def rule_id_for(package_dir: Path, tests: RuleTests, known: Collection[str] = ()) -> str:
    """The rule_id the tests are for: the tests file's own, else the `id` of its Sigma rule. A Sigma file
    of several documents (a correlation and the rules it correlates) gives the first id among `known`
    (the package's rule_ids), else its first id."""
    if tests.rule_id:
        return tests.rule_id
    sigma = Path(package_dir) / SIGMA_DIR / f"{tests.slug}.yml"
    if not sigma.is_file():
        raise DetectionError(f"{tests.path}: no Sigma rule {SIGMA_DIR / (tests.slug + '.yml')} names the rule "
                             "these tests are for (or give `rule_id` in the tests file).")
    try:
        documents = list(yaml.load_all(sigma.read_text(encoding="utf-8"), Loader=_Loader))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DetectionError(f"{sigma}: cannot read the Sigma rule: {exc}") from None
    ids = [str(doc["id"]) for doc in documents if isinstance(doc, dict) and doc.get("id")]
    if not ids:
        raise DetectionError(f"{sigma}: the Sigma rule has no `id` (the rule_id of its Kibana rule).")
    return next((i for i in ids if i in known), ids[0])
