"""Loading Kibana security rules and rule tests files (no cluster needed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fixtures.detectionpkg import FIXTURE, RULE_IDS, fixture_rule, fixture_tests
from intpkg.detection import DetectionError
from intpkg.detection.alerts import alert_mappings, build_alert
from intpkg.detection.execute import EventRef, Execution, Match, parse_time, rule_query
from intpkg.detection.rules import duration_seconds, load_rule, load_rules
from intpkg.detection.testfiles import read_tests_file, rule_id_for


def write_rule(path: Path, **attributes) -> Path:
    base = {"rule_id": "r1", "name": "Rule one", "type": "query", "language": "lucene", "query": "a:b",
            "index": ["logs-*"], "severity": "low", "risk_score": 21, "from": "now-6m", "interval": "5m"}
    base.update(attributes)
    path.write_text(json.dumps({"id": "so-1", "type": "security-rule", "attributes": base}))
    return path


def test_the_fixture_rules_load_with_their_kibana_attributes():
    rules = {r.rule_id: r for r in load_rules(FIXTURE)}
    assert set(rules) == set(RULE_IDS.values())
    threshold = rules[RULE_IDS["login-failure-burst"]]
    assert threshold.threshold is not None and threshold.threshold.fields == ("user.email",)
    assert threshold.threshold.value == 3 and threshold.interval_seconds == 300 and threshold.from_ == "now-15m"
    new_terms = rules[RULE_IDS["login-new-country"]]
    assert new_terms.new_terms_fields == ("user.email", "source.geo.country_iso_code")
    assert new_terms.history_window_start == "now-30d"
    token = rules[RULE_IDS["token-created"]]
    assert token.threat[0]["tactic"]["id"] == "TA0003" and token.uuid == token.rule_id
    assert token.summary()["index"] == ["logs-cloudflare.audit-*"]


def test_a_built_package_s_json_encoded_attributes_are_read(tmp_path):
    path = write_rule(tmp_path / "r.json", type="threshold", threshold=json.dumps({"field": "source.ip", "value": 5}),
                      threat=json.dumps([{"framework": "MITRE ATT&CK"}]))
    rule = load_rule(path)
    assert rule.threshold.fields == ("source.ip",) and rule.threat[0]["framework"] == "MITRE ATT&CK"


@pytest.mark.parametrize(("attributes", "message"), [
    ({"type": "eql"}, "rule type 'eql' cannot be run by intpkg"),
    ({"language": "esql"}, "query language 'esql' is not supported"),
    ({"index": []}, "attributes.index must list index patterns"),
    ({"interval": "5 minutes"}, "attributes.interval '5 minutes' is not a duration"),
    ({"from": "yesterday"}, "attributes.from"),
    ({"type": "threshold"}, "a threshold rule needs attributes.threshold"),
    ({"type": "new_terms"}, "a new_terms rule needs attributes.new_terms_fields"),
    ({"type": "new_terms", "new_terms_fields": ["a"]}, "attributes.history_window_start is missing"),
    ({"rule_id": ""}, "attributes.rule_id is missing"),
])
def test_a_rule_intpkg_cannot_run_is_refused_naming_the_file(tmp_path, attributes, message):
    path = write_rule(tmp_path / "bad.json", **attributes)
    with pytest.raises(DetectionError) as info:
        load_rule(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_a_bare_rule_object_is_read_as_the_attributes(tmp_path):
    path = write_rule(tmp_path / "r.json")
    data = json.loads(path.read_text())["attributes"]
    path.write_text(json.dumps(data))
    rule = load_rule(path)
    assert (rule.rule_id, rule.uuid, rule.type) == ("r1", "r1", "query")


def test_two_rules_with_one_rule_id_are_refused(tmp_path):
    folder = tmp_path / "kibana" / "security_rule"
    folder.mkdir(parents=True)
    write_rule(folder / "a.json")
    write_rule(folder / "b.json")
    with pytest.raises(DetectionError, match="rule_id r1 is also the rule_id of"):
        load_rules(tmp_path)


def test_durations_and_queries():
    assert duration_seconds("90s") == 90 and duration_seconds("1h") == 3600
    with pytest.raises(ValueError):
        duration_seconds("0m")
    assert rule_query(fixture_rule("token-created"))["query_string"]["analyze_wildcard"] is True
    kql = rule_query(fixture_rule("scanner-user-agent"))
    assert {"wildcard": {"user_agent.original": {"value": "*sqlmap*"}}} in kql["bool"]["should"]
    assert parse_time("2025-03-14T09:26:53.212345678Z") == datetime(2025, 3, 14, 9, 26, 53, 212345, tzinfo=UTC)


def test_the_tests_file_reader():
    tests = fixture_tests("login-new-country")
    assert (tests.data_stream, len(tests.history), len(tests.positives), len(tests.negatives)) == ("audit", 2, 2, 3)
    assert [label for label, _, _ in tests.records()][:3] == ["history", "history", "positives"]
    assert rule_id_for(FIXTURE, tests) == RULE_IDS["login-new-country"]


@pytest.mark.parametrize(("text", "message"), [
    ("- a\n", "a tests file is a mapping"),
    ("data_stream: audit\npositives: []\nnegatives: [{a: 1}]\n", "`positives` must be a list of raw Cloudflare "
                                                                  "records (at least one)"),
    ("data_stream: audit\npositives: [{a: 1}]\n", "`negatives` must be a list"),
    ("positives: [{a: 1}]\nnegatives: [{a: 1}]\n", "`data_stream` must name the package data stream"),
    ("data_stream: audit\npositives: [3]\nnegatives: [{a: 1}]\n", "positives[0] is not a record"),
    ("data_stream: audit\npositive: [{a: 1}]\n", "unknown key(s) positive"),
    ("data_stream: audit\npositives: [{a: 1}\n", "cannot read the tests file"),
])
def test_a_malformed_tests_file_is_an_error_naming_it(tmp_path, text, message):
    path = tmp_path / "case.yml"
    path.write_text(text)
    with pytest.raises(DetectionError) as info:
        read_tests_file(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_tests_without_a_sigma_rule_name_no_rule(tmp_path):
    path = tmp_path / "_dev" / "detection" / "tests" / "orphan.yml"
    path.parent.mkdir(parents=True)
    path.write_text("data_stream: audit\npositives: [{a: 1}]\nnegatives: [{a: 2}]\n")
    with pytest.raises(DetectionError, match=r"no Sigma rule _dev/detection/rules/orphan.yml"):
        rule_id_for(tmp_path, read_tests_file(path))
    sigma = tmp_path / "_dev" / "detection" / "rules" / "orphan.yml"
    sigma.parent.mkdir(parents=True)
    sigma.write_text("title: base\nid: base-id\n---\ntitle: burst\nid: burst-id\ncorrelation: {type: event_count}\n")
    tests = read_tests_file(path)
    assert rule_id_for(tmp_path, tests) == "base-id"
    assert rule_id_for(tmp_path, tests, {"burst-id"}) == "burst-id"  # a correlation: the id that is a rule
    sigma.write_text("title: [\n")
    with pytest.raises(DetectionError, match="orphan.yml: cannot read the Sigma rule"):
        rule_id_for(tmp_path, tests)
    path.write_text("data_stream: audit\nrule_id: abc\npositives: [{a: 1}]\nnegatives: [{a: 2}]\n")
    assert rule_id_for(tmp_path, read_tests_file(path)) == "abc"


def test_alert_documents_have_the_ecs_and_kibana_shape():
    rule = fixture_rule("login-failure-burst")
    now = datetime(2025, 6, 1, 12, 4, 1, tzinfo=UTC)
    match = Match(key="k", events=[EventRef("e1", ".ds-x", "2025-06-01T12:00:00.000Z")],
                  source={"user": {"email": "alice@example.com"}, "source": {"ip": "81.2.69.142"}}, count=3,
                  terms=[{"field": "user.email", "value": "alice@example.com"}],
                  first_time="2025-06-01T12:00:00.000Z", last_time="2025-06-01T12:02:00.000Z")
    uid, doc = build_alert(rule, Execution(rule, now, now, now, [match]), match, now)
    alert = doc["kibana"]["alert"]
    assert doc["event"]["kind"] == "signal" and doc["user"] == {"email": "alice@example.com"}
    assert "source" not in doc  # a threshold alert carries its group's values only
    assert alert["threshold_result"] == {"terms": [{"field": "user.email", "value": "alice@example.com"}],
                                         "count": 3, "from": "2025-06-01T12:00:00.000Z"}
    assert alert["rule"]["rule_id"] == rule.rule_id and alert["uuid"] == uid and len(uid) == 64
    assert alert["ancestors"] == [{"id": "e1", "index": ".ds-x", "type": "event", "depth": 0}]
    assert doc["message"].startswith("Fixture: sign-in failures in a burst: 3 events for user.email alice@")
    props = alert_mappings()["properties"]
    assert props["kibana"]["properties"]["alert"]["properties"]["rule"]["properties"]["rule_id"] == {"type": "keyword"}
    assert props["source"]["properties"]["ip"] == {"type": "ip"}
