"""set/append/delete on every target, value-template result rules, and split variants."""

from __future__ import annotations

import pytest

from intpkg.golang.httpvalues import GoURL, Header
from intpkg.input.config import parse_split, parse_transforms
from intpkg.input.split import SplitError, run_split
from intpkg.input.transforms import (
    ResponseState,
    TemplateFailure,
    Transformable,
    TransformContext,
    TransformError,
    apply_transform,
    execute_value,
)


def request_tr() -> Transformable:
    header = Header()
    header.Set("User-Agent", "default-agent")
    return Transformable(body={"keep": 1}, header=header, url=GoURL("https://h/p?b=2&a=1"))


def run(items: list, tr: Transformable, ctx: TransformContext | None = None, namespace: str = "request"):
    ctx = ctx or TransformContext()
    results = [apply_transform(t, ctx, tr) for t in parse_transforms(items, "t", namespace)]
    return tr, results


def test_set_on_every_request_target():
    tr, applied = run([
        {"set": {"target": "body.a.b", "value": "x"}},
        {"set": {"target": "body.n", "value": "42", "value_type": "int"}},
        {"set": {"target": "body.j", "value": '{"k":[1,2]}', "value_type": "json"}},
        {"set": {"target": "header.User-Agent", "value": "mine"}},
        {"set": {"target": "url.params.c", "value": "3 4"}},
        {"set": {"target": "url.params.a", "value": "9"}},
    ], request_tr())
    assert applied == [True] * 6
    assert tr.body == {"keep": 1, "a": {"b": "x"}, "n": 42, "j": {"k": [1, 2]}}
    assert tr.header.Values("User-Agent") == ["default-agent", "mine"]  # set adds (pitfall 11)
    assert tr.url.String() == "https://h/p?a=9&b=2&c=3+4"  # re-encoded, sorted like url.Values.Encode


def test_delete_then_set_replaces_a_header_and_url_value():
    tr, _ = run([
        {"delete": {"target": "header.User-Agent"}},
        {"set": {"target": "header.User-Agent", "value": "mine"}},
        {"delete": {"target": "url.params.b"}},
        {"delete": {"target": "body.keep"}},
        {"delete": {"target": "body.missing.path"}},
    ], request_tr())
    assert tr.header.Values("User-Agent") == ["mine"]
    assert tr.url.String() == "https://h/p?a=1"
    assert tr.body == {}
    tr, _ = run([{"set": {"target": "url.value", "value": "https://other/q?x=1"}}], request_tr())
    assert tr.url.String() == "https://other/q?x=1"


def test_append_semantics():
    tr = request_tr()
    tr.body.update({"list": ["a"], "scalar": 1, "nums": [1]})
    tr, _ = run([
        {"append": {"target": "body.new", "value": "v"}},
        {"append": {"target": "body.list", "value": "b"}},
        {"append": {"target": "body.scalar", "value": "2", "value_type": "int"}},
        {"append": {"target": "body.nums", "value": "2", "value_type": "int"}},
        {"append": {"target": "header.X-Multi", "value": "1"}},
        {"append": {"target": "header.X-Multi", "value": "2"}},
        {"append": {"target": "url.params.a", "value": "5"}},
    ], tr)
    assert tr.body["new"] == ["v"] and tr.body["list"] == ["a", "b"]
    assert tr.body["scalar"] == [1, 2] and tr.body["nums"] == [1, 2]
    assert tr.header.Values("X-Multi") == ["1", "2"]
    assert tr.url.RawQuery == "a=1&a=5&b=2"
    with pytest.raises(TransformError, match="non-string"):
        run([{"append": {"target": "body.list", "value": "3", "value_type": "int"}}], tr)


def test_empty_and_failed_values_are_noops_unless_fail_on_template_error():
    ctx = TransformContext(cursor={"empty": ""})
    tr, applied = run([
        {"set": {"target": "body.a", "value": "[[.cursor.missing]]"}},
        {"set": {"target": "body.b", "value": "[[.cursor.empty]]"}},
        {"set": {"target": "body.c", "value": "[[.last_response.body.x]]"}},
        {"set": {"target": "body.d", "value": '[[terminate "stop"]]', "default": "dflt"}},
    ], request_tr(), ctx)
    assert applied == [False, False, False, False] and tr.body == {"keep": 1}
    with pytest.raises(TemplateFailure):
        run([{"set": {"target": "body.a", "value": "[[.cursor.missing]]", "fail_on_template_error": True}}],
            request_tr(), ctx)
    with pytest.raises(TransformError, match="can't convert template value"):
        run([{"set": {"target": "body.a", "value": "abc", "value_type": "int"}}], request_tr())


def test_value_result_rules_and_default_fallback():
    (t_missing, t_novalue, t_ok, t_term, t_bad_default) = parse_transforms([
        {"set": {"target": "body.a", "value": "[[.cursor.nope]]", "default": "[[.cursor.x]]fallback"}},
        {"set": {"target": "body.a", "value": "a[[.cursor.nil]]", "default": "d"}},
        {"set": {"target": "body.a", "value": "[[.cursor.v]]", "default": "d"}},
        {"set": {"target": "body.a", "value": '[[terminate "done"]]', "default": "d"}},
        {"set": {"target": "body.a", "value": "", "default": "[[.cursor.v]]"}},
    ], "t", "request")
    ctx = TransformContext(cursor={"v": "val", "nil": None})
    # default is evaluated with an EMPTY context: .cursor.x is missing there → default fails too
    with pytest.raises(TemplateFailure):
        execute_value(t_missing.value, ctx, None, t_missing.default)
    assert execute_value(t_novalue.value, ctx, None, t_novalue.default) == "d"  # "<no value>" → default
    assert execute_value(t_ok.value, ctx, None, t_ok.default) == "val"
    assert execute_value(t_term.value, ctx, None, t_term.default) == ""  # terminate skips default
    with pytest.raises(TemplateFailure):
        execute_value(t_bad_default.value, ctx, None, t_bad_default.default)


def test_request_template_context_exposes_url_header_body_and_last_response():
    ctx = TransformContext(last_response=ResponseState(url=GoURL("https://h/p?page=4"), header=Header(
        [("Link", "<https://h/p?page=5>; rel=next")]), body={"n": 3}, page=2))
    tr, _ = run([
        {"set": {"target": "body.page", "value": '[[.last_response.url.params.Get "page"]]'}},
        {"set": {"target": "body.next", "value": '[[getRFC5988Link "next" .last_response.header.Link]]'}},
        {"set": {"target": "body.n", "value": "[[.last_response.body.n]]/[[.last_response.page]]"}},
        {"set": {"target": "body.seen", "value": '[[.url.Host]] [[.header.Get "User-Agent"]] [[.body.keep]]'}},
    ], request_tr(), ctx)
    assert tr.body["page"] == "4" and tr.body["next"] == "https://h/p?page=5" and tr.body["n"] == "3/2"
    assert tr.body["seen"] == "h default-agent 1"


# --------------------------------------------------------------------------- split


def split_events(spec: dict, body: dict, ctx: TransformContext | None = None) -> list[dict]:
    events: list[dict] = []
    run_split(parse_split(spec, "response.split"), ctx or TransformContext(), body, events.append)
    return events


def test_split_array_objects_and_wrapped_elements():
    body = {"result": [{"id": 1}, "text", [1, 2], 7, None], "meta": "m"}
    assert split_events({"target": "body.result"}, body) == [
        {"id": 1}, {"result": "text"}, {"result": [1, 2]}]


def test_split_keep_parent_and_transforms():
    body = {"result": [{"id": 1}, {"id": 2}], "meta": "m"}
    events = split_events({"target": "body.result", "keep_parent": True, "transforms": [
        {"set": {"target": "body.tag", "value": "[[.last_response.page]]"}}]}, body)
    assert events == [{"result": {"id": 1}, "meta": "m", "tag": "0"}, {"result": {"id": 2}, "meta": "m", "tag": "0"}]
    assert body == {"result": [{"id": 1}, {"id": 2}], "meta": "m"}  # original untouched


def test_split_map_with_key_field_and_string_split():
    events = split_events({"target": "body.zones", "type": "map", "key_field": "zone"},
                          {"zones": {"z1": {"n": 1}, "z2": {"n": 2}}})
    assert events == [{"n": 1, "zone": "z1"}, {"n": 2, "zone": "z2"}]
    events = split_events({"target": "body.lines", "type": "string", "delimiter": "\n"},
                          {"lines": "a\nb", "other": 1})
    assert events == [{"lines": "a", "other": 1}, {"lines": "b", "other": 1}]


def test_nested_split():
    body = {"groups": [{"name": "g1", "items": [{"i": 1}, {"i": 2}]}, {"name": "g2", "items": []}]}
    events = split_events({"target": "body.groups", "split": {"target": "body.items", "keep_parent": True}}, body)
    # g2's empty nested array emits the current document (Filebeat semantics for a non-root split)
    assert events == [{"name": "g1", "items": {"i": 1}}, {"name": "g1", "items": {"i": 2}},
                      {"name": "g2", "items": []}]


@pytest.mark.parametrize(("spec", "body", "expected"), [
    # the empty-envelope pitfall (integrations #5392): without ignore_empty_value the root is emitted
    ({"target": "body.result"}, {"result": [], "success": True}, [{"result": [], "success": True}]),
    ({"target": "body.result", "ignore_empty_value": True}, {"result": [], "success": True}, []),
    ({"target": "body.result", "ignore_empty_value": True, "keep_parent": True}, {"result": []}, [{"result": []}]),
    ({"target": "body.result"}, {"success": True}, []),
    ({"target": "body.result", "keep_parent": True}, {"success": True}, [{"success": True}]),
    ({"target": "body.result", "ignore_empty_value": True}, {"result": None}, []),
    ({"target": "body.result", "type": "map"}, {"result": {}}, []),
    ({"target": "body.result", "type": "string", "delimiter": ","}, {"result": ""}, []),
])
def test_split_empty_targets(spec, body, expected):
    assert split_events(spec, body) == expected


def test_split_type_mismatch_is_an_error():
    with pytest.raises(SplitError, match="expecting field to be an array"):
        split_events({"target": "body.result"}, {"result": {"a": 1}})
