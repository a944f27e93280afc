"""The detection engine on the real node: alerts from query, threshold and new-terms rules, written once,
on schedule, for enabled rules only. Each test indexes fixture records into its own namespace and points
the fixture rules at that namespace's data stream, with its own alerts index."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fixtures.detectionpkg import RULE_IDS, detection_package, fixture_rule, fixture_tests
from intpkg.assets.install import install_package
from intpkg.detection import DetectionError
from intpkg.detection.alerts import alert_counts, recent_alerts
from intpkg.detection.engine import DetectionEngine
from intpkg.detection.execute import execute
from intpkg.detection.ingest import delete_data_stream, index_records
from intpkg.detection.rules import Threshold
from intpkg.package import Package

REPO = Path(__file__).resolve().parents[1]
T0 = datetime(2025, 6, 1, 12, 4, 1, tzinfo=UTC)  # one second after the fixtures' latest records


@pytest.fixture(scope="module")
def package(search_client, ecs_dir) -> Package:
    install_package(search_client, REPO, ecs_dir=ecs_dir)
    return Package.load(REPO)


class Case:
    """A namespace of its own for the records, an alerts index of its own, and an engine on both."""

    def __init__(self, client, package: Package, tmp_path: Path) -> None:
        self.client, self.package, self.tmp_path = client, package, tmp_path
        self.namespace = f"eng{uuid.uuid4().hex[:8]}"
        self.alerts_index = f"intpkg-alerts-test{self.namespace}"
        self.streams: set[str] = set()

    def index(self, data_stream: str, records: list) -> list:
        self.streams.add(f"logs-cloudflare.{data_stream}-{self.namespace}")
        return index_records(self.client, self.package, data_stream, self.namespace,
                             [(f"r{i}", r) for i, r in enumerate(records)])

    def rule(self, slug: str, **changes):
        rule = fixture_rule(slug)
        pattern = rule.index[0].replace("-*", f"-{self.namespace}")
        return dataclasses.replace(rule, index=(pattern,), **changes)

    def engine(self, rules, state: str = "state.json", **kwargs) -> DetectionEngine:
        return DetectionEngine(self.client, rules, self.tmp_path / state, alerts_index=self.alerts_index, **kwargs)

    def alerts(self, rule_id=None) -> list[dict]:
        return recent_alerts(self.client, 100, rule_id, index=self.alerts_index)

    def close(self) -> None:
        for stream in self.streams:
            delete_data_stream(self.client, stream)
        self.client.request("DELETE", f"/{self.alerts_index}", ignore=(404,))


@pytest.fixture
def case(search_client, package, tmp_path):
    made = Case(search_client, package, tmp_path)
    yield made
    made.close()


def records(slug: str, *groups: str) -> list:
    tests = fixture_tests(slug)
    return [r for g in groups for r in getattr(tests, g)]


def login_failure(time: str, email: str, ip: str, n: int) -> dict:
    return {"id": f"6f2e0000-0000-4000-8000-{n:012d}", "account": {"id": "0a1b2c3d4e5f60718293a4b5c6d7e8f9"},
            "action": {"description": "Login", "result": "failure", "time": time, "type": "login"},
            "actor": {"id": "9f8e7d6c5b4a39281706f5e4d3c2b1a0", "email": email, "ip_address": ip, "type": "user"},
            "resource": {"id": f"{n:032x}", "product": "user", "type": "user"}}


def test_a_query_alert_is_written_once_even_when_its_window_runs_again(case):
    indexed = case.index("audit", records("token-created", "positives", "negatives"))
    rule = case.rule("token-created")
    (run,) = case.engine([rule]).run_once(T0)
    assert (run.matches, run.new_alerts, run.error) == (2, 2, None)
    # A second engine that lost its state runs an overlapping window: the same alerts, no copies.
    (again,) = case.engine([rule], state="other.json").run_once(T0 + timedelta(minutes=1))
    assert (again.matches, again.new_alerts, again.existing_alerts) == (2, 0, 2)
    alerts = case.alerts()
    assert len(alerts) == 2
    newest = next(a for a in alerts if a["kibana"]["alert"]["ancestors"][0]["id"] == indexed[1].id)
    alert = newest["kibana"]["alert"]
    assert newest["event"]["kind"] == "signal" and alert["status"] == "active"
    assert alert["rule"]["rule_id"] == rule.rule_id and alert["rule"]["name"] == rule.name
    assert (alert["severity"], alert["risk_score"]) == ("high", 73)
    assert alert["original_time"] == "2025-06-01T12:02:00.000Z" and alert["uuid"] == newest["_id"]
    assert alert["ancestors"][0]["index"].startswith(".ds-logs-cloudflare.audit-")
    assert alert["original_event"]["action"] == "update"
    assert alert["original_data_stream"]["namespace"] == case.namespace
    assert newest["user"]["email"] == "ops@example.com" and newest["source"]["ip"] == "89.160.20.128"
    assert newest["cloudflare"]["audit"]["resource"]["type"] == "token"
    assert newest["message"].startswith("Fixture: API token created or rolled: update token by ops@example.com "
                                        "from 89.160.20.128 (SE)")
    assert alert_counts(case.client, index=case.alerts_index) == {rule.rule_id: 2}
    assert case.alerts("no-such-rule") == []


def test_a_threshold_alerts_once_per_burst_and_again_only_for_new_events(case):
    case.index("audit", records("login-failure-burst", "positives", "negatives"))
    rule = case.rule("login-failure-burst")
    engine = case.engine([rule])
    (run,) = engine.run_once(T0)
    assert (run.matches, run.new_alerts) == (1, 1)
    (alert,) = case.alerts()
    result = alert["kibana"]["alert"]["threshold_result"]
    assert result == {"terms": [{"field": "user.email", "value": "alice@example.com"}], "count": 3,
                      "from": "2025-06-01T12:00:00.000Z"}
    assert len(alert["kibana"]["alert"]["ancestors"]) == 3 and alert["user"] == {"email": "alice@example.com"}
    # One more failure: with the three already alerted on left out, the group is under the threshold.
    case.index("audit", [login_failure("2025-06-01T12:06:00Z", "alice@example.com", "81.2.69.142", 1)])
    (run,) = engine.run_once(T0 + timedelta(minutes=5))
    assert (run.matches, run.new_alerts) == (0, 0)
    case.index("audit", [login_failure(f"2025-06-01T12:1{m}:00Z", "alice@example.com", "81.2.69.142", 2 + m)
                         for m in range(2)])
    (run,) = engine.run_once(T0 + timedelta(minutes=10))
    assert (run.matches, run.new_alerts) == (1, 1)
    counts = sorted(a["kibana"]["alert"]["threshold_result"]["count"] for a in case.alerts())
    assert counts == [3, 3]


def test_a_threshold_cardinality_counts_distinct_values(case):
    case.index("audit", records("login-failure-burst", "positives"))
    threshold = Threshold(fields=("user.email",), value=3, cardinality=(("source.ip", 2),))
    rule = case.rule("login-failure-burst", threshold=threshold)
    assert execute(case.client, rule, T0).matches == []  # three failures, one address
    case.index("audit", [login_failure("2025-06-01T12:03:00Z", "alice@example.com", "175.16.199.1", 9)])
    (match,) = execute(case.client, rule, T0).matches
    assert (match.count, match.cardinality) == (4, [{"field": "source.ip", "value": 2}])
    no_fields = case.rule("login-failure-burst", threshold=Threshold(fields=(), value=4))
    (match,) = execute(case.client, no_fields, T0).matches
    assert match.terms == [] and len(match.events) == 4


def test_a_new_terms_rule_alerts_on_the_first_event_of_each_new_combination(case):
    indexed = case.index("audit", records("login-new-country", "history", "positives", "negatives"))
    rule = case.rule("login-new-country")
    (run,) = case.engine([rule]).run_once(T0)
    assert (run.matches, run.new_alerts) == (1, 1)
    (alert,) = case.alerts()
    assert alert["kibana"]["alert"]["new_terms"] == ["alice@example.com", "GB"]
    assert [a["id"] for a in alert["kibana"]["alert"]["ancestors"]] == [indexed[2].id, indexed[3].id]
    assert alert["kibana"]["alert"]["original_time"] == "2025-06-01T12:00:00.000Z"
    assert alert["source"]["geo"]["country_iso_code"] == "GB"
    # A history window that no longer reaches the earlier logins makes them new too.
    short = case.rule("login-new-country", history_window_start="now-1d")
    assert len(execute(case.client, short, T0).matches) == 3


def test_disabled_rules_do_not_run_and_switches_persist(case):
    case.index("audit", records("token-created", "positives", "negatives"))
    token, burst = case.rule("token-created"), case.rule("login-failure-burst")
    engine = case.engine([token, burst])
    state = engine.set_enabled(token.rule_id, False)
    assert state["enabled"] is False and state["enabled_by_default"] is True
    assert [r.rule_id for r in engine.run_once(T0)] == [burst.rule_id]
    assert case.alerts(token.rule_id) == []
    reread = case.engine([token, burst])  # another process (the UI) sees the switch
    assert {s["rule_id"]: s["enabled"] for s in reread.rule_states()} == {token.rule_id: False, burst.rule_id: True}
    reread.set_enabled(token.rule_id, True)
    assert [r.rule_id for r in engine.run_once(T0 + timedelta(seconds=30))] == [token.rule_id]
    assert len(case.alerts(token.rule_id)) == 2
    with pytest.raises(DetectionError, match="no rule has rule_id 'nope'"):
        engine.set_enabled("nope", True)


def test_the_interval_is_respected_and_a_restart_neither_skips_nor_repeats(case):
    rule = case.rule("token-created")
    engine = case.engine([rule])
    assert [r.now for r in engine.run_once(T0)] == ["2025-06-01T12:04:01.000Z"]
    assert engine.run_once(T0 + timedelta(minutes=1)) == []
    assert [r.now for r in engine.run_once(T0 + timedelta(minutes=5, seconds=3))] == ["2025-06-01T12:09:01.000Z"]
    (state,) = engine.rule_states()
    assert (state["status"], state["last_run"], state["next_run"]) == \
        ("succeeded", "2025-06-01T12:09:01.000Z", "2025-06-01T12:14:01.000Z")
    restarted = case.engine([rule])  # the same state file: nothing is due yet
    assert restarted.run_once(T0 + timedelta(minutes=6)) == []
    # Down for a quarter of an hour: the missed executions run, in order, each over its own window.
    runs = restarted.run_once(T0 + timedelta(minutes=21))
    assert [r.now for r in runs] == ["2025-06-01T12:14:01.000Z", "2025-06-01T12:19:01.000Z",
                                     "2025-06-01T12:24:01.000Z"]
    capped = case.engine([rule], state="capped.json", max_catchup=2)
    capped.run_once(T0)
    assert len(capped.run_once(T0 + timedelta(hours=1))) == 2
    assert capped.rule_states()[0]["gap"]["executions_skipped"] == 10


def test_extra_lookback_catches_events_that_arrive_late(case):
    case.index("audit", records("token-created", "positives"))
    rule = case.rule("token-created")
    late = T0 + timedelta(minutes=3)  # the first token event (12:00) is 7 minutes old: outside now-6m
    assert [m.source["event"]["action"] for m in execute(case.client, rule, late).matches] == ["update"]
    (run,) = case.engine([rule], extra_lookback=timedelta(minutes=5)).run_once(late)
    assert (run.matches, run.new_alerts) == (2, 2)


def test_a_failing_rule_is_reported_and_retried_an_interval_later(case):
    case.index("audit", records("token-created", "positives"))
    bad = case.rule("token-created", query="event.action:(", language="lucene")
    good = case.rule("scanner-user-agent")
    engine = case.engine([bad, good])
    runs = {r.rule_id: r for r in engine.run_once(T0)}
    assert "the search failed" in runs[bad.rule_id].error and runs[good.rule_id].error is None
    states = {s["rule_id"]: s for s in engine.rule_states()}
    assert states[bad.rule_id]["status"] == "failed" and states[bad.rule_id]["last_run"] is None
    assert engine.run_once(T0 + timedelta(minutes=1)) == []


def test_run_forever_runs_until_stopped_and_holds_the_state_lock(case):
    case.index("audit", records("token-created", "positives"))
    rule = case.rule("token-created")
    clock = [T0]
    engine = case.engine([rule], clock=lambda: clock[0])
    stop = threading.Event()
    worker = threading.Thread(target=engine.run_forever, args=(stop,), kwargs={"poll_seconds": 0.05})
    worker.start()
    try:
        for _ in range(200):
            if engine.rule_states()[0]["status"] == "succeeded":
                break
            stop.wait(0.05)
        with pytest.raises(DetectionError, match="another detection engine"):
            with case.engine([rule]).locked():
                pass
    finally:
        stop.set()
        worker.join(10)
    assert not worker.is_alive() and len(case.alerts()) == 2


def test_the_detect_command_lists_switches_and_runs_once(search_client, tmp_path):
    package = detection_package(tmp_path / "pkg")
    state = tmp_path / "state"
    base = [sys.executable, "-m", "intpkg.cli", "detect", str(package), "--state-dir", str(state)]
    listed = subprocess.run(base + ["--disable", RULE_IDS["token-created"]], capture_output=True, text=True,
                            timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert f"off  {RULE_IDS['token-created']}  query      never_run" in listed.stdout
    assert f"on   {RULE_IDS['login-new-country']}  new_terms  never_run" in listed.stdout
    existed = "intpkg-alerts-default" in (search_client.request("GET", "/intpkg-alerts-default", ignore=(404,)) or {})
    try:
        done = subprocess.run(base + ["--once", "--es-url", search_client.target.url], capture_output=True,
                              text=True, timeout=120)
    finally:
        if not existed:
            search_client.request("DELETE", "/intpkg-alerts-default", ignore=(404,))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3 and not any("Fixture: API token" in line for line in lines)
    assert all(" match(es), " in line for line in lines)
    assert json.loads((state / "enabled_rules.json").read_text()) == {RULE_IDS["token-created"]: False}


def test_a_timestamp_override_windows_on_that_field_and_falls_back_to_timestamp(search_client) -> None:
    """Kibana's timestamp_override: documents with the field are windowed on it, the others on @timestamp."""
    from datetime import UTC, datetime

    from intpkg.detection.execute import _range
    from intpkg.detection.rules import Rule

    rule = Rule(rule_id="r", name="r", type="query", query="*", language="lucene", index=("x",), severity="low",
                risk_score=21, interval="5m", from_="now-6m", timestamp_override="event.created")
    index = f"intpkg-override-{datetime.now(UTC).strftime('%H%M%S%f')}"
    docs = {"a": {"@timestamp": "2026-01-01T00:00:00Z", "event": {"created": "2026-01-02T00:00:00Z"}},
            "b": {"@timestamp": "2026-01-02T00:00:00Z"},
            "c": {"@timestamp": "2026-01-02T00:00:00Z", "event": {"created": "2026-01-01T00:00:00Z"}}}
    search_client.request("PUT", f"/{index}", body={"mappings": {"properties": {
        "@timestamp": {"type": "date"}, "event": {"properties": {"created": {"type": "date"}}}}}})
    try:
        for doc_id, doc in docs.items():
            search_client.request("PUT", f"/{index}/_doc/{doc_id}", body=doc, params={"refresh": "true"})
        window = _range(rule, gte=datetime(2026, 1, 1, 12, tzinfo=UTC), lte=datetime(2026, 1, 3, tzinfo=UTC))
        found = search_client.request("POST", f"/{index}/_search", body={"query": window})
        assert sorted(hit["_id"] for hit in found["hits"]["hits"]) == ["a", "b"]
    finally:
        search_client.request("DELETE", f"/{index}", ignore=(404,))
