"""Detection rules: Sigma sources in _dev/detection converted to Kibana security rules by `intpkg build`, and the
lint checks of both (schemas with positions, conversion, tests files, fields, ATT&CK tags, windows, sync)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
from pathlib import Path

import pytest

from fixtures.lint.pkgcopy import REPO, copy_real_package
from intpkg.builder import build_package
from intpkg.detection import authoring
from intpkg.detection.authoring import (
    RULES_DIR,
    SECURITY_RULE_DIR,
    TESTS_DIR,
    convert_all,
    generate,
    record_time,
    rule_run_at,
)
from intpkg.errors import IntpkgError
from intpkg.packagespec import lint_package
from intpkg.yamlpos import parse_yaml_documents, read_yaml

TOKEN = "api-token-created-or-rolled"
TOKEN_ID = "69155bdc-cdef-4e47-b52e-5921374ac030"
BURST = "sign-in-failures-burst"
AGENTS = "many-user-agents-from-source"
COUNTRY = "sign-in-from-new-country"
XSS = "xss-probe"


@pytest.fixture
def package(tmp_path) -> Path:
    return copy_real_package(tmp_path / "pkg")


def _problems(root: Path, ecs, *codes: str) -> list:
    """Lint problems of `root` with one of `codes` (all but notices when none is given)."""
    found = [p for p in lint_package(root, ecs=ecs) if not p.is_notice]
    return [p for p in found if p.code in codes] if codes else found


def _edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(root: Path, rel: str, text: str) -> int:
    return next(i + 1 for i, line in enumerate((root / rel).read_text(encoding="utf-8").splitlines()) if text in line)


def _rule(rel_slug: str) -> str:
    return f"{RULES_DIR}/{rel_slug}.yml"


def _tests(rel_slug: str) -> str:
    return f"{TESTS_DIR}/{rel_slug}.yml"


def _attributes(root: Path, rule_id: str) -> dict:
    return json.loads((root / SECURITY_RULE_DIR / f"{rule_id}.json").read_text(encoding="utf-8"))["attributes"]


# ------------------------------------------------------------------------------------------------------- build


def test_the_repository_rules_are_in_sync_and_lint_clean(ecs):
    assert _problems(REPO, ecs) == []
    rules = convert_all(REPO)
    assert len(rules) >= 20
    committed = sorted(p.relative_to(REPO).as_posix() for p in (REPO / SECURITY_RULE_DIR).glob("*.json"))
    assert committed == sorted(r.file for r in rules)
    assert sorted(p.stem for p in (REPO / RULES_DIR).glob("*.yml")) == \
        sorted(p.stem for p in (REPO / TESTS_DIR).glob("*.yml"))


def test_generation_is_deterministic_and_equals_the_committed_files(package, tmp_path, ecs):
    authoring._CONVERTED.clear()  # a real conversion, not the cache
    first = generate(package)
    authoring._CONVERTED.clear()
    assert generate(package) == first
    for rel, text in first.items():
        assert (REPO / rel).read_text(encoding="utf-8") == text
    result = build_package(package, tmp_path / "out", ecs=ecs, make_zip=False, update_source_docs=False)
    built = {p.relative_to(result.folder).as_posix(): p.read_text(encoding="utf-8")
             for p in (result.folder / SECURITY_RULE_DIR).glob("*.json")}
    assert built == first
    assert result.rules_updated == []


def test_one_security_rule_per_sigma_rule_with_the_sigma_metadata(package):
    rules = {r.slug: r for r in convert_all(package)}
    token = rules[TOKEN].saved_object
    assert token["id"] == token["attributes"]["rule_id"] == TOKEN_ID
    assert token["type"] == "security-rule"
    sigma = read_yaml(package / _rule(TOKEN))
    attrs = token["attributes"]
    assert attrs["name"] == sigma["title"]
    assert attrs["false_positives"] == sigma["falsepositives"]
    assert attrs["note"] == sigma["custom"]["kibana"]["note"]
    assert (attrs["severity"], attrs["risk_score"]) == ("medium", 47)
    assert attrs["index"] == ["logs-cloudflare.audit-*"]
    assert (attrs["type"], attrs["language"], attrs["interval"], attrs["from"]) == ("query", "lucene", "5m", "now-9m")
    assert attrs["query"].startswith("data_stream.dataset:cloudflare.audit AND ")
    assert "event.action:(token_create OR token_roll)" in attrs["query"]
    assert attrs["threat"] == [{
        "framework": "MITRE ATT&CK",
        "tactic": {"id": "TA0003", "name": "Persistence", "reference": "https://attack.mitre.org/tactics/TA0003/"},
        "technique": [{"id": "T1098", "name": "Account Manipulation",
                       "reference": "https://attack.mitre.org/techniques/T1098/",
                       "subtechnique": [{"id": "T1098.001", "name": "Additional Cloud Credentials",
                                         "reference": "https://attack.mitre.org/techniques/T1098/001/"}]}]}]
    shown = attrs["investigation_fields"]["field_names"]
    assert shown[:3] == ["user.email", "source.ip", "source.geo.country_iso_code"]
    assert "timestamp_override" not in attrs  # windows on the events' own time (see _dev/detection/README.md)
    assert {r.type for r in rules.values()} == {"query", "threshold", "new_terms"}


def test_correlations_become_threshold_rules(package):
    rules = {r.slug: r for r in convert_all(package)}
    burst = rules[BURST].attributes
    assert burst["type"] == "threshold" and burst["from"] == "now-15m"
    assert "timestamp_override" not in burst  # a burst is counted by the events' own time
    assert burst["threshold"] == {"field": ["user.email"], "value": 5}
    assert burst["query"] == ("data_stream.dataset:cloudflare.audit AND ((event.action:(login OR sso_login)) AND "
                              "event.outcome:failure)")
    agents = rules[AGENTS].attributes
    assert agents["threshold"] == {"field": ["source.ip"], "value": 1,
                                   "cardinality": [{"field": "user_agent.original", "value": 10}]}
    # the counted rule is not a Kibana rule of its own
    counted = parse_yaml_documents((package / _rule(BURST)).read_text(encoding="utf-8"), Path("x"))[0].data["id"]
    assert not (package / SECURITY_RULE_DIR / f"{counted}.json").exists()
    _edit(package, _rule(BURST), "    gte: 5", "    gt: 5")
    assert {r.slug: r for r in convert_all(package)}[BURST].attributes["threshold"]["value"] == 6


def test_new_terms_fields_are_mapped_by_the_pipeline(package):
    attrs = {r.slug: r for r in convert_all(package)}[COUNTRY].attributes
    assert attrs["type"] == "new_terms"
    assert attrs["new_terms_fields"] == ["user.email", "source.geo.country_iso_code"]
    assert attrs["history_window_start"] == "now-30d"
    assert attrs["from"] == "now-15m" and "timestamp_override" not in attrs


def test_free_text_matches_are_case_insensitive_and_lucene_escaped(package):
    query = {r.slug: r for r in convert_all(package)}[XSS].query
    assert r"url.original:/.*\<[sS][cC][rR][iI][pP][tT].*/" in query  # `<` would silently match nothing
    sqli = {r.slug: r for r in convert_all(package)}["sql-injection-probe"].query
    assert r"url.original:/.*\@\@[vV][eE][rR][sS][iI][oO][nN].*/" in sqli


def test_build_downloads_nothing(package, tmp_path, ecs, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access during the build")

    authoring._CONVERTED.clear()
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    result = build_package(package, tmp_path / "out", ecs=ecs, make_zip=True)
    assert len(list((result.folder / SECURITY_RULE_DIR).glob("*.json"))) == len(list((package / RULES_DIR).glob("*")))


def test_build_writes_and_removes_rule_files_in_the_source(package, tmp_path, ecs):
    stale = package / SECURITY_RULE_DIR / "0e0e0e0e-0000-4000-8000-000000000000.json"
    stale.write_text("{}", encoding="utf-8")
    (package / SECURITY_RULE_DIR / f"{TOKEN_ID}.json").unlink()
    _edit(package, _rule(TOKEN), "level: medium", "level: high")
    result = build_package(package, tmp_path / "out", ecs=ecs, make_zip=False)
    assert result.rules_updated == [f"{SECURITY_RULE_DIR}/{stale.name}", f"{SECURITY_RULE_DIR}/{TOKEN_ID}.json"]
    assert not stale.exists() and not (result.folder / SECURITY_RULE_DIR / stale.name).exists()
    assert _attributes(package, TOKEN_ID)["severity"] == "high"
    assert _attributes(result.folder, TOKEN_ID)["severity"] == "high"


def test_a_package_without_sigma_rules_keeps_its_own_security_rules(package, tmp_path, ecs):
    shutil.rmtree(package / "_dev" / "detection")
    result = build_package(package, tmp_path / "out", ecs=ecs, make_zip=False)
    assert (package / SECURITY_RULE_DIR / f"{TOKEN_ID}.json").is_file()
    assert (result.folder / SECURITY_RULE_DIR / f"{TOKEN_ID}.json").is_file()
    assert result.rules_updated == []


def test_a_rule_that_does_not_convert_fails_the_build_naming_the_file(package, tmp_path, ecs):
    _edit(package, _rule(TOKEN), "  service: audit", "  service: dns")
    with pytest.raises(IntpkgError, match=f"{_rule(TOKEN)}: unknown logsource"):
        build_package(package, tmp_path / "out", ecs=ecs, make_zip=False)


# -------------------------------------------------------------------------------------------------------- lint


def test_a_changed_sigma_rule_puts_its_security_rule_out_of_sync(package, ecs, tmp_path):
    _edit(package, _rule(TOKEN), "      - token_roll\n", "      - token_roll\n      - token_update\n")
    found = _problems(package, ecs)
    assert [(p.path, p.code) for p in found] == [(f"{SECURITY_RULE_DIR}/{TOKEN_ID}.json", "DET001")]
    assert "run `intpkg build`" in found[0].message and _rule(TOKEN) in found[0].message
    build_package(package, tmp_path / "out", ecs=ecs, make_zip=False)
    assert _problems(package, ecs) == []


def test_missing_and_left_over_security_rule_files(package, ecs):
    (package / SECURITY_RULE_DIR / f"{TOKEN_ID}.json").unlink()
    extra = f"{SECURITY_RULE_DIR}/0e0e0e0e-0000-4000-8000-000000000000.json"
    (package / extra).write_text("{}\n", encoding="utf-8")
    found = {(p.path, p.message.split(" ", 2)[2][:20]) for p in _problems(package, ecs, "DET001")}
    assert found == {(f"{SECURITY_RULE_DIR}/{TOKEN_ID}.json", "missing: the convers"),
                     (extra, "not the conversion o")}


def test_unknown_logsource_is_a_schema_problem_at_its_line(package, ecs):
    _edit(package, _rule(TOKEN), "  service: audit", "  service: dns")
    found = _problems(package, ecs, "SCH012")
    assert [(p.path, p.line) for p in found] == [(_rule(TOKEN), _line_of(package, _rule(TOKEN), "service: dns"))]
    assert "'dns' is not a logsource of the package" in found[0].message


def test_missing_tests_file_and_tests_file_without_rule(package, ecs):
    (package / _tests(TOKEN)).rename(package / _tests("no-such-rule"))
    found = {(p.path, p.code) for p in _problems(package, ecs)}
    assert found == {(_rule(TOKEN), "DET003"), (_tests("no-such-rule"), "DET003")}


def test_tests_file_without_positives_or_negatives(package, ecs):
    path = package / _tests(TOKEN)
    text = path.read_text(encoding="utf-8")
    path.write_text(text[:text.index("positives:")], encoding="utf-8")
    found = _problems(package, ecs, "SCH012")
    assert [(p.path, p.line) for p in found] == [(_tests(TOKEN), 2), (_tests(TOKEN), 2)]  # positives, negatives
    assert all("needs `data_stream`, `positives` and `negatives`" in p.message for p in found)
    path.write_text(text.replace("negatives:\n", "negatives: []\nignored:\n"), encoding="utf-8")
    messages = {p.message for p in _problems(package, ecs, "SCH012")}
    assert any("negatives must list at least one" in m for m in messages)


def test_tests_of_another_data_stream(package, ecs):
    _edit(package, _tests(TOKEN), "data_stream: audit", "data_stream: logpull")
    found = _problems(package, ecs)
    assert [(p.path, p.code, p.line) for p in found] == [(_tests(TOKEN), "DET003", 2)]


def test_an_unmapped_field_fails_conversion(package, ecs):
    _edit(package, _rule(TOKEN), "    action.result: failure", "    action.outcome: failure")
    found = _problems(package, ecs)
    assert [(p.path, p.code) for p in found] == [(_rule(TOKEN), "DET002")]
    assert "action.outcome" in found[0].message


def test_a_pipeline_mapping_to_an_undefined_field(package, ecs):
    _edit(package, "_dev/detection/pipeline.yml", "      interface: cloudflare.audit.interface",
          "      interface: cloudflare.audit.interface_name")
    _edit(package, _rule(TOKEN), "  - metadata.token_name\n", "  - metadata.token_name\n  - interface\n")
    found = _problems(package, ecs, "DET004")
    assert [(p.path, p.line) for p in found] == [(_rule(TOKEN), _line_of(package, _rule(TOKEN), "fields:"))]
    assert "'cloudflare.audit.interface_name' is not defined in data stream 'audit'" in found[0].message


def test_a_pattern_on_a_flattened_key_fails_on_opensearch(package, ecs):
    _edit(package, _rule(TOKEN), "    action.result: failure", "    metadata.token_name|contains: temp")
    found = _problems(package, ecs, "DET004")
    assert [(p.path, p.line) for p in found] == [(_rule(TOKEN), _line_of(package, _rule(TOKEN), "  failed:"))]
    assert "flat_object" in found[0].message


def test_attack_tags_must_be_in_the_local_table_under_a_tactic(package, ecs):
    _edit(package, _rule(TOKEN), "  - attack.t1098.001", "  - attack.t1098.001\n  - attack.t9999")
    found = _problems(package, ecs, "DET005")
    assert [(p.path, p.line) for p in found] == [(_rule(TOKEN), _line_of(package, _rule(TOKEN), "attack.t9999"))]
    _edit(package, _rule(TOKEN), "  - attack.t9999", "  - attack.t1485")
    found = _problems(package, ecs, "DET005")
    assert "T1485 belongs to Impact, none of the rule's tactics" in found[0].message


def test_test_records_outside_the_window_or_without_a_time(package, ecs):
    _edit(package, _tests(TOKEN), '"when": "2026-11-20T10:00:00.000Z"', '"when": "2026-11-20T09:00:00.000Z"')
    found = _problems(package, ecs, "DET006")
    assert [(p.path, p.line) for p in found] == [(_tests(TOKEN), _line_of(package, _tests(TOKEN), "09:00:00.000Z"))]
    assert "outside the window of the run at 2026-11-20T10:03:21Z (now-9m)" in found[0].message
    _edit(package, _tests(TOKEN), '"when": "2026-11-20T09:00:00.000Z"', '"at": "2026-11-20T10:00:00.000Z"')
    assert "positives[0] has no readable `when` (v1) or `action.time` (v2)" in \
        _problems(package, ecs, "DET006")[0].message


def test_threshold_tests_need_enough_positives_and_only_new_terms_have_history(package, ecs):
    path = package / _tests(BURST)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if line.startswith("  - {"))
    path.write_text("".join(lines[:first] + lines[first + 1:]), encoding="utf-8")
    found = _problems(package, ecs, "DET006")
    assert [p.message.split(":")[0] for p in found] == ["a threshold of 5 needs at least 5 positives (the records "
                                                        "of a group that reaches it)"]
    _edit(package, _tests(TOKEN), "positives:", "history:\n  - {\"id\": \"x\", \"when\": \"2026-11-01T00:00:00Z\"}\n"
                                               "positives:")
    assert any("a query rule has no history" in p.message for p in _problems(package, ecs, "DET006"))


def test_duplicate_rule_ids(package, ecs):
    text = (package / _rule(TOKEN)).read_text(encoding="utf-8")
    (package / _rule("token-copy")).write_text(text, encoding="utf-8")
    shutil.copy(package / _tests(TOKEN), package / _tests("token-copy"))
    found = _problems(package, ecs, "DET002")
    assert [(p.path, p.line) for p in found] == [(_rule("token-copy"), 2)]
    assert f"id {TOKEN_ID} is also the id of a rule in {_rule(TOKEN)}" in found[0].message


def test_a_rule_file_that_is_not_yaml(package, ecs):
    (package / _rule(TOKEN)).write_text("title: [unclosed\n", encoding="utf-8")
    found = _problems(package, ecs, "PRS001")
    assert [(p.path, p.line) for p in found] == [(_rule(TOKEN), 2)]


def test_an_unsupported_correlation_type(package, ecs):
    _edit(package, _rule(BURST), "  type: event_count", "  type: temporal")
    found = _problems(package, ecs, "SCH012")
    assert [(p.path, p.line) for p in found] == [(_rule(BURST), _line_of(package, _rule(BURST), "type: temporal"))]
    assert "no Kibana rule type" in found[0].message


# ---------------------------------------------------------------------------------------------------- helpers


def test_multi_document_yaml_keeps_positions_of_the_whole_file():
    docs = parse_yaml_documents("a: 1\n---\nb:\n  c: 2\n", Path("x.yml"))
    assert [d.data for d in docs] == [{"a": 1}, {"b": {"c": 2}}]
    assert docs[1].pos(("b", "c")) == (4, 6)


@pytest.mark.parametrize(("record", "stream", "expected"), [
    ({"when": "2026-11-20T10:00:00.250Z"}, "audit", "2026-11-20T10:00:00.250000+00:00"),
    ({"action": {"time": "2026-11-20T10:00:00Z"}}, "audit", "2026-11-20T10:00:00+00:00"),
    ({"EdgeStartTimestamp": 1795168800000000000}, "logpull", "2026-11-20T10:00:00+00:00"),
    ({"EdgeStartTimestamp": "1795168800"}, "logpull", "2026-11-20T10:00:00+00:00"),
    ({"EdgeEndTimestamp": 1795168800000}, "logpull", "2026-11-20T10:00:00+00:00"),
    ({"EdgeStartTimestamp": "2026-11-20T10:00:00Z"}, "logpull", "2026-11-20T10:00:00+00:00"),
    ({"action": "login"}, "audit", None),
    ({"EdgeStartTimestamp": "yesterday"}, "logpull", None),
])
def test_record_time_reads_what_the_pipelines_read(record, stream, expected):
    when = record_time(record, stream)
    assert (when.isoformat() if isinstance(when, dt.datetime) else when) == expected


def test_run_at_is_the_given_time_else_a_second_after_the_newest_record():
    records = [{"when": "2026-11-20T10:00:00Z"}, {"action": {"time": "2026-11-20T10:02:00Z"}}]
    assert rule_run_at({"positives": records[:1], "negatives": records[1:]}, "audit").isoformat() == \
        "2026-11-20T10:02:01+00:00"
    assert rule_run_at({"run_at": "2026-11-20T11:00:00Z", "positives": records}, "audit").hour == 11
