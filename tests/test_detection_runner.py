"""`intpkg test rules` on the real node, with the fixture rules of fixtures/detection/."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from fixtures.detectionpkg import RULE_IDS, detection_package
from intpkg.detection.testrunner import RulesRunner
from intpkg.stack.client import SearchClient
from intpkg.testing.result import ERROR, FAIL, PASS
from intpkg.testing.runner import RunOptions

TESTS = Path("_dev/detection/tests")


@pytest.fixture
def package(tmp_path: Path) -> Path:
    return detection_package(tmp_path / "pkg")


def run(client: SearchClient, package: Path, **options) -> dict:
    return {r.name: r for r in RulesRunner(client).run(RunOptions(package_dir=package, **options))}


def edit(package: Path, slug: str, change) -> None:
    path = package / TESTS / f"{slug}.yml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_every_fixture_rule_matches_exactly_its_positives(search_client, package, ecs_dir):
    results = run(search_client, package, ecs_dir=ecs_dir)
    assert {name: r.status for name, r in results.items()} == {slug: PASS for slug in RULE_IDS}, \
        {name: r.failures for name, r in results.items()}
    burst = results["login-failure-burst"].details
    assert burst["summary"] == "positives 3/3 matched, negatives 0/3 matched"
    assert burst["now"] == "2025-06-01T12:04:01.000Z"  # one second after the latest record
    assert burst["window"] == ["2025-06-01T11:49:01.000Z", "2025-06-01T12:04:01.000Z"]  # from: now-15m
    assert results["login-new-country"].details["history"] == 2
    assert results["scanner-user-agent"].data_stream == "logpull"
    leftovers = search_client.request("GET", "/_data_stream/logs-cloudflare.*-rt*", ignore=(404,))
    assert not leftovers.get("data_streams")


def test_missed_positives_and_matched_negatives_fail_with_their_place_in_the_file(search_client, package):
    def swap(data):  # the token roll becomes a negative, a DNS record creation a positive
        data["positives"][1], data["negatives"][1] = data["negatives"][1], data["positives"][1]

    edit(package, "token-created", swap)

    def early(data):  # a third failure long before the others: outside the 15-minute look-back
        data["positives"][0]["action"]["time"] = "2025-06-01T10:00:00Z"

    edit(package, "login-failure-burst", early)
    results = run(search_client, package, data_streams=["audit"])
    assert "scanner-user-agent" not in results  # -d audit
    token = results["token-created"]
    assert token.status == FAIL and token.details["summary"] == "positives 1/2 matched, negatives 1/2 matched"
    assert token.failures[0].startswith("missed positive(s): positives[1] (_id ")
    assert token.failures[1].startswith("matched record(s) that are not positives: negatives[1] (_id ")
    burst = results["login-failure-burst"]
    assert burst.status == FAIL
    assert "missed positive(s): positives[0] (_id" in burst.failures[0]
    assert "before the rule's look-back window" in burst.failures[0]
    assert "positives[1]" in burst.failures[0] and "positives[2]" in burst.failures[0]  # two left: under 3


def test_history_inside_the_window_and_duplicate_records_are_reported(search_client, package):
    def late_history(data):
        data["history"][0]["action"]["time"] = "2025-06-01T12:03:30Z"
        data["negatives"].append(dict(data["negatives"][0]))  # the same record twice: one _id

    edit(package, "login-new-country", late_history)
    result = run(search_client, package, data_streams=["audit"])["login-new-country"]
    assert result.status == FAIL
    assert any(f.startswith("negatives[3]: its document _id ") and "is that of negatives[0]" in f
               for f in result.failures), result.failures
    assert "history[0] (2025-06-01T12:03:30.000Z) is inside the rule's window [2025-06-01T11:58:01.000Z, " \
           "2025-06-01T12:04:01.000Z]: history records must be older than 2025-06-01T11:58:01.000Z" \
           not in result.failures  # a record failing to index stops the case before the rule runs

    def only_late_history(data):
        data["negatives"].pop()

    edit(package, "login-new-country", only_late_history)
    result = run(search_client, package, data_streams=["audit"])["login-new-country"]
    assert "history[0] (2025-06-01T12:03:30.000Z) is inside the rule's window [2025-06-01T11:58:01.000Z, " \
           "2025-06-01T12:04:01.000Z]: history records must be older than 2025-06-01T11:58:01.000Z" in result.failures


def test_rules_without_tests_and_malformed_tests_files_are_errors_naming_the_file(search_client, package):
    (package / TESTS / "scanner-user-agent.yml").unlink()
    (package / TESTS / "token-created.yml").write_text("data_stream: audit\npositives: []\nnegatives: []\n")
    (package / TESTS / "orphan.yml").write_text("data_stream: audit\npositives: [{a: 1}]\nnegatives: [{a: 2}]\n")
    results = run(search_client, package, data_streams=["nothing"])
    assert {name: r.status for name, r in results.items()} == {
        RULE_IDS["scanner-user-agent"]: ERROR, "token-created": ERROR, "orphan": ERROR}
    assert "has no tests file in _dev/detection/tests/" in results[RULE_IDS["scanner-user-agent"]].failures[0]
    assert str(package / TESTS / "token-created.yml") in results["token-created"].failures[0]
    assert "no Sigma rule _dev/detection/rules/orphan.yml" in results["orphan"].failures[0]


def test_the_command_writes_json_and_xunit_reports(search_client, package, tmp_path):
    common = [sys.executable, "-m", "intpkg.cli", "test", "rules", str(package), "--es-url",
              search_client.target.url, "-d", "logpull"]
    report = tmp_path / "report.json"
    done = subprocess.run(common + ["--report-format", "json", "--report-output", str(report)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "DETAILS" in done.stdout and "positives 2/2 matched, negatives 0/1 matched" in done.stdout
    (case,) = json.loads(report.read_text())["results"]
    assert case["test_type"] == "rules" and case["details"]["rule_id"] == RULE_IDS["scanner-user-agent"]
    assert case["details"]["positives_matched"] == 2 and case["details"]["negatives_matched"] == 0
    done = subprocess.run(common + ["--report-format", "xunit"], capture_output=True, text=True, timeout=300)
    suite = ET.fromstring(done.stdout.split("\n", 1)[1]).find("testsuite")
    assert suite.get("name") == "rules:logpull" and suite.find("testcase/system-out").text.startswith("positives 2/2")
