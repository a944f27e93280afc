"""The shared fields API: load_ecs, load_fields, FieldSet.flat / validate_document / mappings."""

from __future__ import annotations

from pathlib import Path

import pytest

from intpkg.errors import IntpkgError
from intpkg.fields import FieldSet, flatten, load_ecs, load_fields

FIXTURE = Path(__file__).parent / "fixtures" / "lint"


@pytest.fixture(scope="module")
def example(ecs) -> FieldSet:
    return load_fields(FIXTURE, "example", ecs)


def fieldset(definitions: list, ecs=None) -> FieldSet:
    return FieldSet("t", entries=flatten(definitions, Path("fields.yml")), ecs=ecs)


def test_load_ecs_errors_name_the_setting(monkeypatch, tmp_path):
    monkeypatch.delenv("INTPKG_ECS_DIR", raising=False)
    with pytest.raises(IntpkgError, match="INTPKG_ECS_DIR"):
        load_ecs()
    with pytest.raises(IntpkgError, match="INTPKG_ECS_DIR"):
        load_ecs(tmp_path)
    monkeypatch.setenv("INTPKG_ECS_DIR", str(tmp_path))
    with pytest.raises(IntpkgError, match="ecs_flat.yml"):
        load_ecs()


def test_load_fields_resolves_external_only_with_ecs(example, ecs):
    assert example.flat["source.ip"]["type"] == "ip"
    assert example.flat["cloudflare.example.latency_ms"]["type"] == "long"
    assert example.flat["cloudflare.example"]["type"] == "group"
    unresolved = load_fields(FIXTURE, "example")
    assert unresolved.flat["source.ip"].get("external") == "ecs"
    assert unresolved.flat["source.ip"]["type"] is None


def test_load_fields_errors(tmp_path):
    with pytest.raises(IntpkgError, match="no such fields folder"):
        load_fields(tmp_path, "nope")
    folder = tmp_path / "data_stream" / "x" / "fields"
    folder.mkdir(parents=True)
    (folder / "bad.yml").write_text("- name: a\n  type: [\n")
    with pytest.raises(IntpkgError, match=r"bad\.yml:\d+:\d+"):
        load_fields(tmp_path, "x")


def test_valid_document_has_no_problem(example):
    doc = {
        "@timestamp": "2024-05-01T10:00:00.000Z",
        "data_stream": {"type": "logs", "dataset": "cloudflare.example", "namespace": "default"},
        "event": {"dataset": "cloudflare.example", "module": "cloudflare", "category": ["iam"], "type": ["change"],
                  "kind": "event", "outcome": "success"},
        "cloudflare": {"example": {"id": "1", "action": {"result": False}, "latency_ms": 3.0,
                                   "resource": {"type": "zone"}}},
        "source": {"ip": "2001:db8::1"},
        "user.email": "a@example.com",
        "tags": ["a", "b"],
    }
    assert example.validate_document(doc) == []


@pytest.mark.parametrize(("doc", "fragment"), [
    ({"cloudflare": {"example": {"nope": 1}}}, "'cloudflare.example.nope' is undefined"),
    ({"source": {"ip": "not-an-ip"}}, "'source.ip' is ip"),
    ({"cloudflare": {"example": {"latency_ms": "3"}}}, "'cloudflare.example.latency_ms' is long"),
    ({"cloudflare": {"example": {"latency_ms": 3.5}}}, "not an integer"),
    ({"cloudflare": {"example": {"action": {"result": "true"}}}}, "is boolean"),
    ({"cloudflare": {"example": {"id": 7}}}, "'cloudflare.example.id' is keyword"),
    ({"event": {"dataset": "other"}}, "constant_keyword of 'cloudflare.example'"),
    ({"event": {"category": ["bogus"]}}, "'event.category' value 'bogus' is not one of"),
    ({"event": {"category": "iam"}}, "must be an array"),
    ({"cloudflare": {"example": {"resource": {"type": "bucket"}}}}, "expected values"),
    ({"@timestamp": "yesterday"}, "'@timestamp' is date"),
    ({"source": {"ip": {"a": 1}}}, "'source.ip' is ip but the value is an object"),
    ({"other": [{"a": 1}]}, "array of objects"),
])
def test_document_problems_name_the_field(example, doc, fragment):
    problems = example.validate_document(doc)
    assert any(fragment in p for p in problems), problems


def test_numeric_keyword_and_string_number_relaxations(example):
    doc = {"cloudflare": {"example": {"id": 7, "latency_ms": "12"}}}
    assert len(example.validate_document(doc)) == 2
    assert example.validate_document(doc, numeric_keyword_fields=["cloudflare.example.id"],
                                     string_number_fields=["cloudflare.example.latency_ms"]) == []


def test_types_groups_nested_pattern_and_geo():
    fs = fieldset([
        {"name": "a", "type": "group", "fields": [
            {"name": "n", "type": "nested", "fields": [{"name": "k", "type": "keyword"}]},
            {"name": "g", "type": "group", "fields": [{"name": "k", "type": "keyword"}]},
            {"name": "geo", "type": "geo_point"},
            {"name": "flat", "type": "flattened"},
            {"name": "obj", "type": "object", "object_type": "long"},
            {"name": "code", "type": "keyword", "pattern": "^[A-Z]{3}$"},
            {"name": "ratio", "type": "scaled_float", "scaling_factor": 100},
            {"name": "t", "type": "match_only_text"},
            {"name": "w", "type": "wildcard"},
            {"name": "c", "type": "constant_keyword"},
        ]},
        {"name": "labels.*", "type": "keyword"},
    ])
    ok = {"a": {"n": [{"k": "x"}, {"k": "y"}], "g": [{"k": "x"}], "geo": {"lat": 1.5, "lon": 2},
                "flat": {"any": {"thing": 1}}, "obj": {"x": 1, "y": {"z": 2}}, "code": "ABC", "ratio": 0.5,
                "t": "text", "w": "w*", "c": "anything"},
          "labels": {"env": "prod"}}
    assert fs.validate_document(ok) == []
    bad = {"a": {"n": [{"k": 1}], "geo": "north", "obj": {"x": "one"}, "code": "abc", "flat": 3},
           "labels": {"env": 5}}
    problems = fs.validate_document(bad)
    for fragment in ("'a.n.k' is keyword", "'a.geo' is geo_point", "'a.obj.x' is long", "does not match pattern",
                     "'a.flat' is flattened", "'labels.env' is keyword"):
        assert any(fragment in p for p in problems), (fragment, problems)


def test_mappings(example):
    props = example.mappings()
    assert props["source"]["properties"]["ip"] == {"type": "ip"}
    assert props["data_stream"]["properties"]["dataset"]["type"] == "constant_keyword"
    assert props["event"]["properties"]["dataset"] == {"type": "constant_keyword", "value": "cloudflare.example"}
    assert props["cloudflare"]["properties"]["example"]["properties"]["id"] == {"type": "keyword",
                                                                                 "ignore_above": 1024}
    assert props["error"]["properties"]["message"]["type"] == "match_only_text"
    assert props["user"]["properties"]["email"]["type"] == "keyword"
    fs = fieldset([{"name": "labels.*", "type": "keyword"}, {"name": "m", "type": "object", "object_type": "long"},
                   {"name": "r", "type": "scaled_float"}])
    assert fs.mappings() == {"m": {"type": "object"}, "r": {"type": "scaled_float", "scaling_factor": 1000}}
    names = [next(iter(t)) for t in fs.dynamic_templates()]
    assert names == ["labels.*", "m"]


def test_ecs_json_cache_is_used_and_survives_corruption(ecs, tmp_path, monkeypatch):
    from intpkg.fields import ecs as ecs_module

    monkeypatch.setenv("INTPKG_HOME", str(tmp_path))
    ecs_module._read.cache_clear()
    first = load_ecs(ecs.path.parent)
    cached = list((tmp_path / "cache" / "ecs").glob("*.json"))
    assert len(cached) == 1
    assert first.fields == ecs.fields
    cached[0].write_text("{broken")
    ecs_module._read.cache_clear()
    assert load_ecs(ecs.path.parent).fields == ecs.fields
    ecs_module._read.cache_clear()
