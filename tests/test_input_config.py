"""Stream config parsing: dotted/nested keys, defaults, and errors that name the offending key."""

from __future__ import annotations

import jsonschema
import pytest

from intpkg.input.config import SCHEMA, ConfigError, expand_dotted, parse_config
from intpkg.yamlpos import loads, read_yaml

BASE = {"request.url": "https://api.example.com/x"}


def test_dotted_and_nested_forms_are_equivalent():
    dotted = parse_config({"interval": "5m", "request.url": "https://h/x", "request.retry.max_attempts": 3,
                           "request.retry.wait_max": "300s", "response.split.target": "body.result"})
    nested = parse_config({"interval": "5m", "request": {"url": "https://h/x", "retry": {"max_attempts": 3,
                           "wait_max": "300s"}}, "response": {"split": {"target": "body.result"}}})
    for cfg in (dotted, nested):
        assert cfg.interval == 300
        assert cfg.retry.max_attempts == 3 and cfg.retry.wait_max == 300 and cfg.retry.wait_min == 1
        assert cfg.split is not None and cfg.split.target == "result" and cfg.split.type == "array"


def test_defaults():
    cfg = parse_config(dict(BASE))
    assert (cfg.interval, cfg.method, cfg.timeout) == (60, "GET", 30)
    assert (cfg.retry.max_attempts, cfg.retry.wait_min, cfg.retry.wait_max) == (5, 1, 60)
    assert cfg.max_redirects == 10 and cfg.rate_limit is None and not cfg.tracer.enabled
    assert cfg.cursor == [] and cfg.pagination == [] and cfg.decode_as == ""


def test_reference_example_config_parses():
    text = """
interval: 5m
request.url: https://api.cloudflare.com/client/v4/accounts/ACCOUNT_ID/logs/audit?direction=asc&limit=1000
request.timeout: 60s
request.retry.max_attempts: 4
request.retry.wait_max: 300s
request.transforms:
  - set: {target: header.Authorization, value: "Bearer TOKEN"}
  - set:
      target: url.params.since
      value: '[[.cursor.window_end]]'
      default: '[[formatDate (now (parseDuration "-24h"))]]'
response.split: {target: body.result, ignore_empty_value: true}
response.pagination:
  - set:
      target: url.params.cursor
      value: '[[.last_response.body.result_info.cursor]]'
      fail_on_template_error: true
      do_not_log_failure: true
cursor:
  window_end:
    value: '[[.last_response.url.params.Get "before"]]'
    fail_on_template_error: true
"""
    cfg = parse_config(loads(text))
    assert [t.target_type + ":" + t.target_name for t in cfg.request_transforms] == [
        "header:Authorization", "url.params:since"]
    assert cfg.request_transforms[1].default is not None
    assert cfg.pagination[0].fail_on_template_error and cfg.pagination[0].do_not_log_failure
    assert cfg.cursor[0].name == "window_end" and cfg.cursor[0].ignore_empty_value


@pytest.mark.parametrize(("raw", "key"), [
    ({}, "request.url: required"),
    ({"request.url": "ftp://h/x"}, "request.url: must be an http"),
    ({**BASE, "interval": "0s"}, "interval: must be greater than 0"),
    ({**BASE, "interval": "5 minutes"}, "interval: invalid duration"),
    ({**BASE, "request.method": "PUT"}, "request.method: unsupported method"),
    ({**BASE, "request.body": {"a": 1}}, "request.body: can't be used with method GET"),
    ({**BASE, "request.retry.max_attempts": 0}, "request.retry.max_attempts: must be greater than 0"),
    ({**BASE, "request.retry.wait_min": "-1s"}, "request.retry.wait_min: must be greater than 0"),
    ({**BASE, "request.transforms": [{"set": {"target": "body.a", "value": "x"}, "delete": {"target": "body.b"}}]},
     "request.transforms[0]: each transform needs exactly one action"),
    ({**BASE, "request.transforms": [{"set": {"target": "cookie.a", "value": "x"}}]},
     "request.transforms[0].set.target: invalid target"),
    ({**BASE, "request.transforms": [{"append": {"target": "url.value", "value": "x"}}]},
     "request.transforms[0].append.target: invalid target"),
    ({**BASE, "response.transforms": [{"set": {"target": "header.X", "value": "x"}}]},
     "response.transforms[0].set.target: invalid target"),
    ({**BASE, "request.transforms": [{"set": {"target": "body.a", "value": "[[.a"}}]},
     "request.transforms[0].set.value: invalid template"),
    ({**BASE, "request.transforms": [{"set": {"target": "body.a", "value": "x", "value_type": "float"}}]},
     "request.transforms[0].set.value_type: must be"),
    ({**BASE, "request.transforms": [{"set": {"target": "body.a"}}]}, "request.transforms[0].set.value: required"),
    ({**BASE, "response.split": {"target": "result"}}, "response.split.target: required and must start with body."),
    ({**BASE, "response.split": {"target": "body.r", "key_field": "k"}}, "response.split.key_field: can only"),
    ({**BASE, "response.split": {"target": "body.r", "type": "string"}}, "response.split.delimiter: required"),
    ({**BASE, "response.split": {"target": "body.r", "split": {"target": "x"}}}, "response.split.split.target"),
    ({**BASE, "response.decode_as": "application/xml"}, "response.decode_as: unsupported"),
    ({**BASE, "chain": [{"step": {}}]}, "chain: unsupported"),
    ({**BASE, "auth.oauth2.client.id": "x"}, "auth.oauth2: unsupported"),
    ({**BASE, "auth.basic.user": "u"}, "auth.basic: both user and password are required"),
    ({**BASE, "request.ssl.verification_mode": "maybe"}, "request.ssl.verification_mode: must be"),
    ({**BASE, "request.tracer.enabled": True}, "request.tracer.filename: required"),
    ({**BASE, "request.rate_limit.remaining": "[[.x", }, "request.rate_limit.remaining: invalid template"),
    ({**BASE, "request.encode_as": "application/x-www-form-urlencoded"}, "request.encode_as: unsupported"),
    ({**BASE, "request.bogus": 1}, "request.bogus: unknown option"),
    ({**BASE, "cursor": {"c": {"default": "x"}}}, "cursor.c.value: required"),
    ({"request.url": "https://h/x", "request": {"url": "https://h/y"}}, "request.url: set twice"),
])
def test_config_errors_name_the_key(raw, key):
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    assert str(info.value).startswith(key.split(":")[0])
    assert key in str(info.value)


def test_tracer_filename_star_is_the_input_id(tmp_path):
    cfg = parse_config({**BASE, "request.tracer.enabled": True,
                        "request.tracer.filename": str(tmp_path / "http-request-trace-*.ndjson")},
                       input_id="cloudflare-audit/1")
    assert cfg.tracer.filename.endswith("http-request-trace-cloudflare-audit_1.ndjson")


def test_processors_and_fields_are_not_dotted_expanded():
    out = expand_dotted({"processors": [{"add_fields": {"fields": {"a.b": 1}}}], "fields": {"x.y": 2}})
    assert out == {"processors": [{"add_fields": {"fields": {"a.b": 1}}}], "fields": {"x.y": 2}}


def test_every_schema_problem_is_listed_at_once():
    with pytest.raises(ConfigError) as info:
        parse_config({**BASE, "request.redirect.forward_headers": "maybe", "request.bogus": 1, "interval": "soon"})
    assert set(str(info.value).splitlines()) == {
        "request.redirect.forward_headers: expected true or false, got 'maybe'",
        "request.bogus: unknown option",
        "interval: invalid duration 'soon' (use Go syntax such as 30s, 5m, 1h30m)",
    }


def test_the_config_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(read_yaml(SCHEMA))
