"""EventBuilder: each document stands alone, whatever parts documents share while they are only serialized."""

from __future__ import annotations

from intpkg.agent.events import EventBuilder, build_processors


def builder(**options) -> EventBuilder:
    return EventBuilder(dataset="cloudflare.audit", ds_type="logs", namespace="default", input_type="httpjson",
                        **options)


def test_a_dotted_field_under_root_does_not_carry_into_the_next_document():
    make = builder(fields={"data_stream.dataset": "custom.x", "cloud": {"account": {"id": "a1"}}},
                   fields_under_root=True)
    first, second = make.build({"n": 1}), make.build({"n": 2})
    for doc in (first, second):
        assert doc["data_stream"] == {"type": "logs", "dataset": "custom.x", "namespace": "default"}
        assert doc["event"]["dataset"] == "cloudflare.audit"
        assert doc["cloud"] == {"account": {"id": "a1"}}
    assert make.data_stream["dataset"] == "cloudflare.audit"


def test_a_processor_edits_only_its_own_document():
    processors = build_processors([{"add_fields": {"target": "ecs", "fields": {"extra": "x"}}}], "test")
    make = builder(processors=processors, fields={"cloud": {"region": "r"}}, fields_under_root=True)
    first = make.build({"n": 1})
    first["cloud"]["region"] = "edited"
    second = make.build({"n": 2})
    assert second["ecs"] == {"version": "8.17.0", "extra": "x"} and second["cloud"] == {"region": "r"}


def test_documents_without_processors_serialize_the_same_constant_parts():
    make = builder(tags=["t"], fields={"env": "prod"})
    first, second = make.build({"n": 1}), make.build({"n": 2})
    assert first["fields"] == second["fields"] == {"env": "prod"}
    assert (first["input"], first["ecs"], first["tags"]) == ({"type": "httpjson"}, {"version": "8.17.0"}, ["t"])
    assert first["message"] == '{"n":1}' and second["message"] == '{"n":2}'
