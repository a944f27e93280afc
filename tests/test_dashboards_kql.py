"""KQL to Elasticsearch DSL (the subset dashboards use), syntax errors with positions, and Kibana filters."""

from __future__ import annotations

import pytest

from intpkg.dashboards import DashboardError
from intpkg.dashboards.filters import (
    exists_filter,
    filters_to_dsl,
    phrase_filter,
    phrases_filter,
    query_filter,
    range_filter,
)
from intpkg.dashboards.kql import KqlError, kql_to_dsl, parse_kql, query_to_dsl

MATCH_ALL = {"match_all": {}}


def m(field: str, value: str) -> dict:
    return {"match": {field: value}}


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_matches_everything(text) -> None:
    assert parse_kql(text) is None
    assert kql_to_dsl(text) == MATCH_ALL


@pytest.mark.parametrize(("text", "dsl"), [
    ("event.action:login", m("event.action", "login")),
    ("event.action : login", m("event.action", "login")),
    ('cloud.account.name:"Example Corp"', {"match_phrase": {"cloud.account.name": "Example Corp"}}),
    ("cloud.account.name:Example Corp", m("cloud.account.name", "Example Corp")),  # spaces belong to the value
    ("message:cannot connect", m("message", "cannot connect")),  # `not` inside a word is no keyword
    ("user.email:*", {"exists": {"field": "user.email"}}),
    ("url.path:/api/v1/*", {"wildcard": {"url.path": {"value": "/api/v1/*"}}}),
    ("url.path:*.env", {"wildcard": {"url.path": {"value": "*.env"}}}),
    ("url.query:a?b*", {"wildcard": {"url.query": {"value": "a\\?b*"}}}),  # `?` is no KQL wildcard
    ("url.path:a\\*", m("url.path", "a*")),  # an escaped star is a plain character
    ("url.path:a\\:b\\(c\\)", m("url.path", "a:b(c)")),
    ("tags:\\or", m("tags", "or")),
    ('user_agent.original:"say \\"hi\\" \\\\ now"', {"match_phrase": {"user_agent.original": 'say "hi" \\ now'}}),
    ('"event.action":login', m("event.action", "login")),
    ("http.response.status_code >= 400", {"range": {"http.response.status_code": {"gte": "400"}}}),
    ("http.response.status_code>400", {"range": {"http.response.status_code": {"gt": "400"}}}),
    ("http.response.status_code < 500", {"range": {"http.response.status_code": {"lt": "500"}}}),
    ('@timestamp <= "2025-03-14T10:00:00Z"', {"range": {"@timestamp": {"lte": "2025-03-14T10:00:00Z"}}}),
])
def test_field_expressions(text, dsl) -> None:
    assert kql_to_dsl(text) == dsl


@pytest.mark.parametrize(("text", "dsl"), [
    ("login", {"multi_match": {"type": "best_fields", "query": "login", "lenient": True}}),
    ("login failure", {"multi_match": {"type": "best_fields", "query": "login failure", "lenient": True}}),
    ('"api token"', {"multi_match": {"type": "phrase", "query": "api token", "lenient": True}}),
    ("fire*", {"query_string": {"query": "fire*", "analyze_wildcard": True, "lenient": True}}),
    ("a b*", {"query_string": {"query": "a\\ b*", "analyze_wildcard": True, "lenient": True}}),
    ("*", MATCH_ALL),
    ("*:*", MATCH_ALL),
    ("*:login", {"multi_match": {"type": "best_fields", "query": "login", "lenient": True}}),
    ("event.*:login", {"multi_match": {"type": "best_fields", "query": "login", "fields": ["event.*"],
                                       "lenient": True}}),
    ('user.*:"a b"', {"multi_match": {"type": "phrase", "query": "a b", "fields": ["user.*"], "lenient": True}}),
])
def test_free_text_and_field_patterns_search_every_field_leniently(text, dsl) -> None:
    assert kql_to_dsl(text) == dsl


def test_and_binds_tighter_than_or_and_keywords_ignore_case() -> None:
    assert kql_to_dsl("a:1 or b:2 AND c:3") == {"bool": {"should": [
        m("a", "1"), {"bool": {"filter": [m("b", "2"), m("c", "3")]}}], "minimum_should_match": 1}}
    assert kql_to_dsl("(a:1 Or b:2) and c:3") == {"bool": {"filter": [
        {"bool": {"should": [m("a", "1"), m("b", "2")], "minimum_should_match": 1}}, m("c", "3")]}}
    assert kql_to_dsl("a:1 and b:2 and c:3") == {"bool": {"filter": [m("a", "1"), m("b", "2"), m("c", "3")]}}


def test_not_negates_the_next_expression() -> None:
    assert kql_to_dsl("not event.outcome:success") == {"bool": {"must_not": [m("event.outcome", "success")]}}
    assert kql_to_dsl("NOT (a:1 or b:2) and c:3") == {"bool": {"filter": [
        {"bool": {"must_not": [{"bool": {"should": [m("a", "1"), m("b", "2")], "minimum_should_match": 1}}]}},
        m("c", "3")]}}
    assert kql_to_dsl("not (not a:1)") == {"bool": {"must_not": [{"bool": {"must_not": [m("a", "1")]}}]}}


def test_value_lists_apply_the_field_to_each_value() -> None:
    assert kql_to_dsl("event.action:(create or delete)") == {"bool": {"should": [
        m("event.action", "create"), m("event.action", "delete")], "minimum_should_match": 1}}
    assert kql_to_dsl('tags:(a and not "b c")') == {"bool": {"filter": [
        m("tags", "a"), {"bool": {"must_not": [{"match_phrase": {"tags": "b c"}}]}}]}}
    assert kql_to_dsl("url.path:(/api* or *.env)") == {"bool": {"should": [
        {"wildcard": {"url.path": {"value": "/api*"}}}, {"wildcard": {"url.path": {"value": "*.env"}}}],
        "minimum_should_match": 1}}


def error_at(text: str) -> KqlError:
    with pytest.raises(KqlError) as caught:
        kql_to_dsl(text)
    return caught.value


@pytest.mark.parametrize(("text", "position", "words"), [
    # two expressions with no operator between them: the value runs to the second `:`
    ("event.action:login event.outcome:failure", 32, "Expected AND, OR or end of input but ':' found"),
    ("event.action:(login", 19, "Expected ')' to close the '(' at column 14"),
    ("(a:1 or b:2", 11, "Expected ')' to close the '(' at column 1"),
    ("a:1)", 3, "Expected AND, OR or end of input but ')' found"),
    ('user.email:"ops@example', 11, "Unterminated quoted string (opened at column 12)"),
    ("event.action:", 13, "Expected a value after ':' but end of input found"),
    ("event.action:)", 13, "Expected a value but ')' found"),
    ("()", 1, "Expected a query inside the parentheses"),
    (":login", 0, "Expected a field, a value or '(' but ':' found"),
    ("bytes >= ", 9, "Expected a value after '>=' but end of input found"),
    ("a:1 and )", 8, "Expected a field, a value or '(' but ')' found"),
    ("user:{name:x}", 5, "Nested field queries"),
    ("url.path:a\\x", 10, "Unknown escape '\\x'"),
    ("a:1 or (b:2 c:3)", 13, "Expected AND, OR or ')' but ':' found"),
])
def test_syntax_errors_name_the_position(text, position, words) -> None:
    error = error_at(text)
    assert error.position == position
    assert words in error.reason
    assert f"at column {position + 1}:" in str(error)
    assert str(error).endswith(f"    {text}\n    {' ' * position}^")  # the query and a caret under the spot
    assert isinstance(error, DashboardError)


def test_query_objects_in_both_languages() -> None:
    assert query_to_dsl({"language": "kuery", "query": "a:1"}) == m("a", "1")
    assert query_to_dsl({"language": "kuery", "query": ""}) == MATCH_ALL
    assert query_to_dsl({"language": "lucene", "query": "a:1 AND b:2"}) == {
        "query_string": {"query": "a:1 AND b:2", "analyze_wildcard": True, "lenient": True}}
    assert query_to_dsl({"language": "lucene", "query": {"match_all": {}}}) == MATCH_ALL  # older objects: DSL
    assert query_to_dsl("a:1") == m("a", "1") and query_to_dsl(None) == MATCH_ALL
    with pytest.raises(DashboardError, match="Unsupported query language 'sql'"):
        query_to_dsl({"language": "sql", "query": "select 1"})
    with pytest.raises(KqlError):
        query_to_dsl({"language": "kuery", "query": "a:(1"})


# -- filters

DATASET = {"$state": {"store": "appState"},
           "meta": {"alias": None, "disabled": False, "key": "data_stream.dataset", "negate": False,
                    "params": {"query": "cloudflare.audit"}, "type": "phrase", "index": "ref"},
           "query": {"match_phrase": {"data_stream.dataset": "cloudflare.audit"}}}


def test_no_filter_or_only_disabled_ones_match_everything() -> None:
    assert filters_to_dsl([]) == MATCH_ALL
    assert filters_to_dsl([{**DATASET, "meta": {**DATASET["meta"], "disabled": True}}]) == MATCH_ALL


def test_filters_carry_their_dsl_and_negate_goes_to_must_not() -> None:
    assert filters_to_dsl([DATASET]) == DATASET["query"]
    failed = phrase_filter("event.outcome", "failure", negate=True)
    assert filters_to_dsl([DATASET, failed, exists_filter("user.email")]) == {"bool": {
        "filter": [DATASET["query"], {"exists": {"field": "user.email"}}],
        "must_not": [{"match_phrase": {"event.outcome": "failure"}}]}}


def test_combined_filters_join_their_parts_by_relation() -> None:
    ban = phrase_filter("cloudflare.edge.pathing.op", "ban")
    err = phrase_filter("cloudflare.edge.pathing.op", "errHost")
    combined = {"meta": {"type": "combined", "relation": "OR", "params": [ban, err], "negate": False,
                         "disabled": False}, "query": {}}
    assert filters_to_dsl([combined]) == {"bool": {"should": [ban["query"], err["query"]],
                                                   "minimum_should_match": 1}}
    combined_and = {"meta": {"type": "combined", "params": [DATASET, {**ban, "meta": {**ban["meta"], "negate": True}},
                                                            {**err, "meta": {**err["meta"], "disabled": True}}]},
                    "query": {}}
    assert filters_to_dsl([combined_and]) == {"bool": {"filter": [
        DATASET["query"], {"bool": {"must_not": [ban["query"]]}}]}}
    negated = {**combined, "meta": {**combined["meta"], "negate": True}}
    assert filters_to_dsl([negated]) == {"bool": {"must_not": [filters_to_dsl([combined])]}}


def test_older_filters_and_filters_with_only_meta() -> None:
    assert filters_to_dsl([{"meta": {"type": "exists", "key": "a"}, "exists": {"field": "a"}}]) == \
        {"exists": {"field": "a"}}
    assert filters_to_dsl([{"meta": {"type": "range", "key": "n"}, "range": {"n": {"gte": 1}}}]) == \
        {"range": {"n": {"gte": 1}}}
    assert filters_to_dsl([{"meta": {"type": "phrase", "key": "a", "params": {"query": "x"}}}]) == \
        {"match_phrase": {"a": "x"}}
    assert filters_to_dsl([{"meta": {"type": "phrases", "key": "a", "params": ["x", "y"]}}]) == \
        {"bool": {"should": [{"match_phrase": {"a": "x"}}, {"match_phrase": {"a": "y"}}], "minimum_should_match": 1}}
    assert filters_to_dsl([{"meta": {"type": "range", "key": "n", "params": {"gte": 1, "lt": 5}}}]) == \
        {"range": {"n": {"gte": 1, "lt": 5}}}
    assert filters_to_dsl([{"meta": {"type": "custom", "value": '{"term": {"a": 1}}'}}]) == {"term": {"a": 1}}
    with pytest.raises(DashboardError, match="A spatial_filter filter on no field carries no query"):
        filters_to_dsl([{"meta": {"type": "spatial_filter"}}])
    with pytest.raises(DashboardError, match="A filter is an object"):
        filters_to_dsl(["a:1"])


def test_click_filters_have_kibanas_shape() -> None:
    assert phrase_filter("event.action", "login") == {
        "meta": {"alias": None, "disabled": False, "negate": False, "key": "event.action", "type": "phrase",
                 "params": {"query": "login"}},
        "query": {"match_phrase": {"event.action": "login"}}}
    other = phrases_filter("event.action", ["a", "b"], negate=True)
    assert other["meta"]["negate"] and other["meta"]["params"] == ["a", "b"]
    assert filters_to_dsl([other]) == {"bool": {"must_not": [{"bool": {"should": [
        {"match_phrase": {"event.action": "a"}}, {"match_phrase": {"event.action": "b"}}],
        "minimum_should_match": 1}}]}}
    assert range_filter("@timestamp", gte="2025-03-14T10:00:00.000Z", lt="2025-03-14T10:05:00.000Z")["query"] == \
        {"range": {"@timestamp": {"gte": "2025-03-14T10:00:00.000Z", "lt": "2025-03-14T10:05:00.000Z"}}}
    custom = query_filter({"term": {"a": 1}}, label="2xx")
    assert custom["meta"]["alias"] == "2xx" and filters_to_dsl([custom]) == {"term": {"a": 1}}
