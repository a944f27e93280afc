"""`intpkg test rules`: every detection rule must match exactly its positive sample events.

For each rule (`kibana/security_rule/*.json`) and its tests file (`_dev/detection/tests/<slug>.yml`,
see `intpkg.detection.testfiles`):

1. the package is installed (once per run), and the test gets its own namespace `rt<run id><n>`, so
   its data stream `<type>-<dataset>-<namespace>` holds only its records;
2. the history, positive and negative records go through the package's ingest pipeline into that data
   stream, as the collector ships them (`intpkg.detection.ingest`); the pipeline's deterministic `_id`
   says which document each record became;
3. the rule runs once (`intpkg.detection.execute`), restricted to that namespace, with the execution
   time `now` one second after the latest positive or negative `@timestamp` (as the pipeline
   parsed it), or the tests file's `run_at`. The records carry absolute timestamps, so the rule is
   run at the moment right after they happened: its look-back window `[now - from, now]` then
   covers them as long as they span less than the look-back (e.g. 6 minutes for `from: now-6m`);
   records before the window are reported as such. History records (new-terms rules) must be older
   than the window's start; one older than `history_window_start` shows that the history has a
   bound (the rule must not see it);
4. the source events of the rule's matches (each query match, every event of a threshold group, every
   window event of a new combination) must be exactly the positives: missed positives and matched
   negatives (or history records) fail the case, each named by its place in the tests file;
5. the data stream is deleted.

A rule without a tests file, and a tests file that is malformed or names no rule, are errors naming
the file. Results use the common runner interface (table, xUnit, JSON).
"""

from __future__ import annotations

import fnmatch
import time
import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from pathlib import Path

from intpkg.assets.install import install_package
from intpkg.detection import DetectionError
from intpkg.detection.execute import execute, iso_time, parse_time
from intpkg.detection.ingest import IndexedRecord, data_stream_name, delete_data_stream, index_records
from intpkg.detection.rules import RULE_DIR, Rule, load_rules
from intpkg.detection.testfiles import RuleTests, read_tests_file, rule_id_for, tests_files
from intpkg.errors import IntpkgError
from intpkg.package import Package
from intpkg.stack.client import SearchClient
from intpkg.testing.result import SKIP, TestResult
from intpkg.testing.runner import RunOptions, TestRunner, register_runner

TEST_TYPE = "rules"
AFTER_LATEST = timedelta(seconds=1)


class RulesRunner(TestRunner):
    test_type = TEST_TYPE

    def __init__(self, client: SearchClient) -> None:
        self.client = client

    def run(self, options: RunOptions) -> list[TestResult]:
        package = Package.load(options.package_dir)
        results: list[TestResult] = []
        try:
            rules = {rule.rule_id: rule for rule in load_rules(package.path)}
        except DetectionError as exc:
            result = TestResult(TEST_TYPE, package.name, "-", "(rules)")
            result.error(str(exc))
            return [result]
        cases: list[tuple[RuleTests, Rule]] = []
        tested: set[str] = set()
        for path in tests_files(package.path):
            try:
                tests = read_tests_file(path)
                rule_id = rule_id_for(package.path, tests, rules)
                if rule_id not in rules:
                    raise DetectionError(f"{path}: no rule in {RULE_DIR} has rule_id {rule_id} "
                                         "(build the package to generate it).")
                if package.data_stream(tests.data_stream) is None:
                    raise DetectionError(f"{path}: data_stream {tests.data_stream!r} is not a data stream of the "
                                         f"package ({', '.join(d.name for d in package.data_streams())}).")
            except DetectionError as exc:
                result = TestResult(TEST_TYPE, package.name, "-", path.stem)
                result.error(str(exc))
                results.append(result)
                tested.add(_sigma_id(package, path, rules))  # its rule is not also reported as untested
                continue
            tested.add(rule_id)
            if not options.data_streams or tests.data_stream in options.data_streams:
                cases.append((tests, rules[rule_id]))
        for rule_id, rule in rules.items():
            if rule_id not in tested:
                result = TestResult(TEST_TYPE, package.name, "-", rule.path.stem if rule.path else rule_id)
                result.error(f"{rule.path}: rule {rule.name!r} ({rule_id}) has no tests file in "
                             "_dev/detection/tests/ (positives and negatives are required for every rule).")
                results.append(result)
        if cases:
            install_package(self.client, package.path, ecs_dir=options.ecs_dir)
        run_id = uuid.uuid4().hex[:8]
        for n, (tests, rule) in enumerate(cases):
            results.append(self._run_case(package, tests, rule, f"rt{run_id}{n}"))
        return results

    def _run_case(self, package: Package, tests: RuleTests, rule: Rule, namespace: str) -> TestResult:
        result = TestResult(TEST_TYPE, package.name, tests.data_stream, tests.slug)
        result.details = {"rule_id": rule.rule_id, "rule": rule.name, "rule_type": rule.type,
                          "tests_file": str(tests.path), "positives": len(tests.positives),
                          "negatives": len(tests.negatives), "history": len(tests.history)}
        started = time.perf_counter()
        try:
            if tests.skip is not None:
                result.status = SKIP
                result.failures.append(f"skipped: {tests.skip}")
                return result
            stream = data_stream_name(package, tests.data_stream, namespace)
            try:
                self._check(package, tests, rule, namespace, stream, result)
            finally:
                delete_data_stream(self.client, stream)
        except IntpkgError as exc:
            result.error(str(exc))
        finally:
            result.duration = time.perf_counter() - started
        return result

    def _check(self, package: Package, tests: RuleTests, rule: Rule, namespace: str, stream: str,
               result: TestResult) -> None:
        if not any(fnmatch.fnmatchcase(stream, pattern) for pattern in rule.index):
            result.fail(f"the rule's index patterns ({', '.join(rule.index)}) do not cover the data stream "
                        f"{stream} of data_stream {tests.data_stream}")
            return
        records = [(f"{group}[{i}]", record) for group, i, record in tests.records()]
        indexed = index_records(self.client, package, tests.data_stream, namespace, records)
        for item in indexed:
            if item.problem:
                result.fail(f"{item.label}: {item.problem}")
        if not result.ok:
            return
        by_group = {group: [i for i in indexed if i.label.startswith(group + "[")]
                    for group in ("history", "positives", "negatives")}
        latest = max(_parse(i.timestamp) for i in by_group["positives"] + by_group["negatives"])
        now = _parse(tests.run_at) if tests.run_at else latest + AFTER_LATEST
        execution = execute(self.client, rule, now, namespace=namespace)
        start = execution.start
        window = f"[{iso_time(start)}, {iso_time(execution.end)}]"
        result.details.update(now=iso_time(now), window=[iso_time(start), iso_time(execution.end)],
                              matches=len(execution.matches))
        if rule.type == "new_terms":
            for item in by_group["history"]:
                moment = _parse(item.timestamp)
                if moment >= start:
                    result.fail(f"{item.label} ({item.timestamp}) is inside the rule's window {window}: history "
                                f"records must be older than {iso_time(start)}")
        matched = execution.event_ids
        positives = by_group["positives"]
        missed = [i for i in positives if i.id not in matched]
        wrong = [i for i in by_group["negatives"] + by_group["history"] if i.id in matched]
        result.details.update(positives_matched=len(positives) - len(missed),
                              negatives_matched=sum(1 for i in wrong if i.label.startswith("negatives")))
        result.details["summary"] = (f"positives {len(positives) - len(missed)}/{len(positives)} matched, "
                                     f"negatives {result.details['negatives_matched']}/{len(tests.negatives)} "
                                     f"matched")
        if missed:
            result.fail("missed positive(s): " + "; ".join(_describe(i, start) for i in missed)
                        + f" (window {window}, now {iso_time(now)})")
        if wrong:
            result.fail("matched record(s) that are not positives: " + "; ".join(_describe(i, start) for i in wrong))
        if execution.truncated:
            result.fail(f"more matches than max_signals ({rule.max_signals}): some were not read")


def _sigma_id(package: Package, path: Path, known: Collection[str]) -> str:
    stub = RuleTests(path=path, slug=path.stem, data_stream="", positives=[], negatives=[], history=[])
    try:
        return rule_id_for(package.path, stub, known)
    except DetectionError:
        return ""


def _describe(item: IndexedRecord, start: datetime) -> str:
    text = f"{item.label} (_id {item.id}, @timestamp {item.timestamp}"
    if item.timestamp and _parse(item.timestamp) < start:
        text += ", before the rule's look-back window"
    return text + ")"


def _parse(stamp: str | None) -> datetime:
    if not stamp:
        raise DetectionError("a document has no @timestamp")
    return parse_time(stamp)


register_runner(TEST_TYPE, lambda client, **_: RulesRunner(client))
