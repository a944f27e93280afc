"""The audit stream template (`agent/stream/httpjson.yml.hbs`): rendered as Fleet does, read by the input engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from intpkg.agent.render import render_template
from intpkg.golang.httpvalues import GoURL
from intpkg.input.config import parse_config
from intpkg.input.transforms import ResponseState, TemplateFailure, TransformContext, execute_value

TEMPLATE = (Path(__file__).resolve().parents[1] / "data_stream" / "audit" / "agent" / "stream"
            / "httpjson.yml.hbs").read_text()
BASE = {
    "account_id": "0a1b2c3d4e5f60718293a4b5c6d7e8f9", "api_version": "v2", "interval": "5m",
    "initial_interval": "720h", "page_size": 3, "http_client_timeout": "60s", "lag": "2m", "overlap": "5m",
    "api_url": "https://api.cloudflare.com", "tags": ["forwarded", "cloudflare-audit"],
    "preserve_original_event": False, "enable_request_tracer": False,
}


def render(**overrides) -> dict:
    return render_template(TEMPLATE, {**BASE, **overrides}, yaml_vars={"ssl", "processors"}, name="httpjson.yml.hbs")


def transforms(doc: dict, section: str = "request.transforms") -> dict[str, str]:
    return {t["set"]["target"]: t["set"]["value"] for t in doc[section] if "set" in t}


def test_token_wins_and_only_the_bearer_header_is_sent():
    doc = render(api_token="tok'en", auth_email="a@example.com", auth_key="key")
    headers = {k: v for k, v in transforms(doc).items() if k.startswith("header.")}
    assert headers == {"header.Authorization": "Bearer tok'en"}  # quote survives YAML quoting


def test_email_and_key_are_quoted_safely():
    doc = render(auth_email="a@example.com", auth_key="ke'y: {x}\n#y")
    assert transforms(doc)["header.X-Auth-Email"] == "a@example.com"
    assert transforms(doc)["header.X-Auth-Key"] == "ke'y: {x}\n#y"
    assert "header.Authorization" not in transforms(doc)


def test_the_configured_account_is_added_to_every_event():
    doc = render(api_token="t", api_version="v1")
    assert doc["fields_under_root"] is True
    assert doc["fields"] == {"cloud": {"account": {"id": "0a1b2c3d4e5f60718293a4b5c6d7e8f9"}}}


def test_v2_window_cursor_and_retry_settings():
    doc = render(api_token="t")
    assert doc["request.url"].endswith("/client/v4/accounts/0a1b2c3d4e5f60718293a4b5c6d7e8f9/logs/audit"
                                       "?direction=asc&limit=3")
    config = parse_config(doc)
    assert 3 <= config.retry.max_attempts <= 5 and config.retry.wait_max >= 300
    assert config.split.target == "result" and config.split.ignore_empty_value
    assert [c.name for c in config.cursor] == ["last_event_time"]
    assert doc["cursor"] == {"last_event_time": {"value": "[[.last_event.action.time]]"}}
    assert doc["publisher_pipeline.disable_host"] is True
    assert doc["tags"] == ["forwarded", "cloudflare-audit"]


def _pagination(doc: dict) -> dict[str, object]:
    return {t.target_name: t for t in parse_config(doc).pagination}


def _run(transform, url: str, body: dict) -> str:
    ctx = TransformContext(last_response=ResponseState(url=GoURL(url), body=body, page=0))
    return execute_value(transform.value, ctx, None, transform.default)


def test_v1_pages_follow_full_pages_and_stop_on_a_short_or_empty_page():
    doc = render(api_version="v1", api_token="t")
    assert "per_page=3&page=1" in doc["request.url"] and "direction=asc" in doc["request.url"]
    page = _pagination(doc)["page"]
    assert page.fail_on_template_error
    first = "https://api.cloudflare.com/client/v4/accounts/x/audit_logs?direction=asc&per_page=3&page=1"
    assert _run(page, first, {"result": [{}, {}, {}]}) == "2"  # first page is 1 in the URL, next is 2
    assert _run(page, first.replace("page=1", "page=2"), {"result": [{}, {}, {}]}) == "3"
    for short in ({"result": [{}]}, {"result": []}, {"success": False}):
        with pytest.raises(TemplateFailure):
            _run(page, first, short)


def test_window_bounds_are_pinned_from_the_previous_page():
    for version, end in (("v1", "before"), ("v2", "before")):
        pag = _pagination(render(api_version=version, api_token="t"))
        url = ("https://api.cloudflare.com/x?since=2025-03-01T00:00:00Z&before=2025-03-02T00:00:00Z&page=1")
        assert _run(pag["since"], url, {"result": []}) == "2025-03-01T00:00:00Z"
        assert _run(pag[end], url, {"result": []}) == "2025-03-02T00:00:00Z"


def test_v2_cursor_paging_stops_without_a_cursor():
    cursor = _pagination(render(api_token="t"))["cursor"]
    url = "https://api.cloudflare.com/x?since=a&before=b"
    assert _run(cursor, url, {"result": [{}], "result_info": {"cursor": "abc"}}) == "abc"
    for body in ({"result": [{}], "result_info": {"cursor": ""}}, {"result": [{}], "result_info": {}}):
        with pytest.raises(TemplateFailure):
            _run(cursor, url, body)


def test_v1_cursor_is_the_newest_when_and_first_run_looks_back_initial_interval():
    doc = render(api_version="v1", api_token="t", initial_interval="13140h")
    since = next(t["set"] for t in doc["request.transforms"] if t["set"]["target"] == "url.params.since")
    assert ".cursor.last_event_time" in since["value"]
    assert '"-13140h"' in since["default"]
    assert doc["cursor"] == {"last_event_time": {"value": "[[.last_event.when]]"}}


@pytest.mark.parametrize("api_version", ["v1", "v2"])
def test_each_interval_starts_overlap_before_the_newest_record_and_ends_lag_before_now(api_version):
    from datetime import UTC, datetime

    doc = render(api_version=api_version, api_token="t", lag="3m", overlap="10m")
    tr = {t.target_name: t for t in parse_config(doc).request_transforms}
    ctx = TransformContext()
    ctx.cursor = {"last_event_time": "2025-03-14T09:31:07Z"}
    assert execute_value(tr["since"].value, ctx, None, tr["since"].default) == "2025-03-14T09:21:07Z"
    before = datetime.fromisoformat(execute_value(tr["before"].value, ctx, None).replace("Z", "+00:00"))
    assert 175 <= (datetime.now(UTC) - before).total_seconds() <= 185
    first_run = TransformContext()
    first_run.cursor = {}
    since = datetime.fromisoformat(execute_value(tr["since"].value, first_run, None, tr["since"].default)
                                   .replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - since).total_seconds() - 720 * 3600) < 60  # initial_interval (BASE)


def test_options_tracer_proxy_ssl_processors_and_preserve_original():
    doc = render(api_token="t", enable_request_tracer=True, proxy_url="http://proxy.example.com:3128",
                 ssl="verification_mode: certificate", processors="- add_fields:\n    target: x\n    fields: {a: 1}",
                 preserve_original_event=True, tags=["cloudflare-audit"])
    assert doc["request.tracer.filename"] == "../../logs/httpjson/http-request-trace-*.ndjson"
    assert doc["request.proxy_url"] == "http://proxy.example.com:3128"
    assert doc["request.ssl"] == {"verification_mode": "certificate"}
    assert doc["processors"] == [{"add_fields": {"target": "x", "fields": {"a": 1}}}]
    assert doc["tags"] == ["preserve_original_event", "cloudflare-audit"]
    assert "publisher_pipeline.disable_host" not in doc
    parse_config(doc)
