"""Audit log handlers of the mock (v1 page paging, v2 cursors) against their datasets' ground truth."""

from __future__ import annotations

import json

import pytest
import requests

from fixtures.clocks import ManualClock
from fixtures.mock.mockhelp import ACCOUNT, ACCOUNT_SETTINGS, BEARER, serve
from intpkg.mock.timeutil import parse_rfc3339

CLOCK_START = parse_rfc3339("2025-03-20T12:00:00Z") / 1e9

CONFIG = ACCOUNT_SETTINGS + """
  datasets:
    v1: {generator: audit_v1, count: 1234, seed: 11, from: "-30d", to: "-10m"}
    v2: {generator: audit_v2, count: 600, seed: 12, from: "-30d", to: "-10m"}
    v2_exact: {generator: audit_v2, count: 300, seed: 13, from: "-3d", to: "-10m"}
rules:
  - path: /client/v4/accounts/{account}/audit_logs
    x-intpkg-handler: {kind: audit_v1, dataset: v1}
  - path: /client/v4/user/audit_logs
    x-intpkg-handler: {kind: audit_v1, dataset: boundary.json, result_info: true}
  - path: /client/v4/accounts/{account}/logs/audit
    query_params: {limit: ["25"], exact: ["1"]}
    x-intpkg-handler: {kind: audit_v2, dataset: v2_exact}
  - path: /client/v4/accounts/{account}/logs/audit
    x-intpkg-handler: {kind: audit_v2, dataset: v2}
"""


def _v1_record(rid: str, when: str, **extra) -> dict:
    record = {"id": rid, "when": when, "action": {"type": "login", "result": True},
              "actor": {"id": "9f8e7d6c5b4a39281706f5e4d3c2b1a0", "email": "ops@example.com", "ip": "198.51.100.23",
                        "type": "user"}, "interface": "UI", "metadata": {}, "newValue": "", "oldValue": "",
              "owner": {"id": ACCOUNT}, "resource": {"id": "9f8e7d6c5b4a39281706f5e4d3c2b1a0", "type": "user"}}
    record.update(extra)
    return record


BOUNDARY = [
    _v1_record("b", "2025-03-14T10:00:00.500Z"),
    _v1_record("a", "2025-03-14T10:00:00Z"),
    _v1_record("c", "2025-03-14T10:05:00Z", actor={"id": "1", "type": "system"}),
    _v1_record("d", "2025-03-14T10:10:00Z", action={"type": "rec_add", "result": True},
               metadata={"zone_name": "example.com"}, resource={"id": "6b5a4c3d2e1f0a9b8c7d6e5f4a3b2c1d",
                                                                "type": "DNS_record"}),
]


@pytest.fixture(scope="module")
def mock(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("audit")
    (tmp / "boundary.json").write_text(json.dumps(BOUNDARY))
    with serve(tmp, CONFIG, clock=ManualClock(CLOCK_START)) as server:
        yield server


def _v1(mock, **params):
    return requests.get(f"{mock.base_url}/client/v4/accounts/{ACCOUNT}/audit_logs", headers=BEARER, params=params)


def _v2(mock, **params):
    return requests.get(f"{mock.base_url}/client/v4/accounts/{ACCOUNT}/logs/audit", headers=BEARER, params=params)


def test_v1_defaults_desc_100_per_page_and_empty_page_ends(mock):
    truth = list(mock.dataset("v1").records())
    first = _v1(mock).json()
    assert first["success"] is True and first["errors"] == [] and first["messages"] == []
    assert "result_info" not in first
    assert [r["id"] for r in first["result"]] == [r["id"] for r in truth[::-1][:100]]
    last = _v1(mock, page=13).json()["result"]
    assert [r["id"] for r in last] == [r["id"] for r in truth[::-1][1200:]]
    assert _v1(mock, page=14).json() == {"success": True, "errors": [], "messages": [], "result": []}


def test_v1_asc_paging_collects_every_record_once(mock):
    truth = [r["id"] for r in mock.dataset("v1").records()]
    seen, page = [], 1
    while True:
        result = _v1(mock, direction="asc", per_page=500, page=page).json()["result"]
        seen.extend(r["id"] for r in result)
        if len(result) < 500:
            break
        page += 1
    assert page == 3 and seen == truth


def test_v1_per_page_is_capped_at_1000_and_validated(mock):
    assert len(_v1(mock, per_page=5000).json()["result"]) == 1000
    for params in ({"per_page": 0}, {"page": 0}, {"page": "x"}, {"direction": "up"}, {"since": "yesterday"}):
        r = _v1(mock, **params)
        body = r.json()
        assert r.status_code == 400 and body["success"] is False and body["result"] is None
        assert body["errors"][0]["code"] == 1004


def test_v1_since_and_before_are_inclusive(mock):
    url = f"{mock.base_url}/client/v4/user/audit_logs"

    def ids(**params):
        body = requests.get(url, headers=BEARER, params=dict(direction="asc", **params)).json()
        return [r["id"] for r in body["result"]]

    assert ids() == ["a", "b", "c", "d"]
    assert ids(since="2025-03-14T10:00:00Z", before="2025-03-14T10:05:00Z") == ["a", "b", "c"]
    assert ids(since="2025-03-14T10:00:00.500Z") == ["b", "c", "d"]
    assert ids(since="2025-03-14T11:05:00+01:00") == ["c", "d"]
    assert ids(since="2025-03-14", before="2025-03-14") == []
    assert ids(before="2025-03-15") == ["a", "b", "c", "d"]
    assert ids(**{"action.type": "REC_ADD"}) == ["d"]
    assert ids(**{"zone.name": "example.com"}) == ["d"]
    assert ids(hide_user_logs="true") == ["d"]
    body = requests.get(url, headers=BEARER, params={"per_page": 3, "page": 2}).json()
    assert body["result_info"] == {"page": 2, "per_page": 3, "count": 1}


def test_v1_filters(mock):
    truth = list(mock.dataset("v1").records())
    email = next(r["actor"]["email"] for r in truth if r["actor"].get("email"))
    got = _v1(mock, per_page=1000, **{"actor.email": email.upper()}).json()["result"]
    expected = [r["id"] for r in truth[::-1] if r["actor"].get("email") == email]
    assert [r["id"] for r in got] == expected[:1000] and got
    in_net = _v1(mock, per_page=1000, **{"actor.ip": "198.51.100.0/24"}).json()["result"]
    assert in_net and all(r["actor"]["ip"].startswith("198.51.100.") for r in in_net)
    assert len(in_net) == sum(1 for r in truth if str(r["actor"].get("ip", "")).startswith("198.51.100."))
    one = _v1(mock, id=truth[3]["id"]).json()["result"]
    assert one == [truth[3]]


def test_v1_dataset_variety(mock):
    truth = list(mock.dataset("v1").records())
    assert {r["actor"]["type"] for r in truth} >= {"user", "system"}
    assert any(":" in str(r["actor"].get("ip", "")) for r in truth)  # IPv6
    assert any(r["action"]["result"] is False for r in truth)
    assert len({r["action"]["type"].lower() for r in truth}) >= 12
    assert len({r["id"] for r in truth}) == len(truth)
    assert {r["owner"]["id"] for r in truth} == {ACCOUNT}


def test_v2_requires_since_and_before(mock):
    for params in ({}, {"since": "2025-03-01"}, {"before": "2025-03-01"}):
        r = _v2(mock, **params)
        assert r.status_code == 400 and r.json()["errors"][0]["code"] == 1004


def _collect_v2(mock, **params):
    pages, cursor = [], None
    while True:
        body = _v2(mock, **params, **({"cursor": cursor} if cursor else {})).json()
        assert body["success"] is True
        pages.append(body)
        cursor = body["result_info"].get("cursor")
        if not cursor:
            return pages


def test_v2_cursor_paging_returns_the_window_once(mock):
    truth = list(mock.dataset("v2").records())
    since, before = "2025-03-01T00:00:00Z", "2025-03-15T00:00:00Z"
    lo, hi = parse_rfc3339(since), parse_rfc3339(before)
    expected = [r["id"] for r in truth if lo <= parse_rfc3339(r["action"]["time"]) <= hi]
    pages = _collect_v2(mock, since=since, before=before, limit=100, direction="asc")
    got = [r["id"] for p in pages for r in p["result"]]
    assert got == expected and len(pages) == len(expected) // 100 + 1
    assert all(isinstance(p["result_info"]["count"], str) for p in pages)
    assert pages[-1]["result_info"]["count"] == str(len(expected) % 100)
    desc = _collect_v2(mock, since=since, before=before, limit=1000)
    assert [r["id"] for p in desc for r in p["result"]] == expected[::-1]


def test_v2_full_last_page_is_followed_by_an_empty_page(mock):
    pages = _collect_v2(mock, since="2025-01-01", before="2025-03-20T12:00:00Z", limit=25, exact=1)
    assert [p["result_info"]["count"] for p in pages] == ["25"] * 12 + ["0"]
    assert pages[-1]["result"] == [] and "cursor" not in pages[-1]["result_info"]


def test_v2_cursor_is_bound_to_the_query(mock):
    first = _v2(mock, since="2025-03-01", before="2025-03-15", limit=10).json()
    cursor = first["result_info"]["cursor"]
    changed = _v2(mock, since="2025-03-02", before="2025-03-15", limit=10, cursor=cursor)
    assert changed.status_code == 400 and "cursor" in changed.json()["errors"][0]["message"]
    garbage = _v2(mock, since="2025-03-01", before="2025-03-15", limit=10, cursor="not-a-cursor")
    assert garbage.status_code == 400


def test_v2_filters_and_exclusions(mock):
    truth = list(mock.dataset("v2").records())
    window = {"since": "2025-01-01", "before": "2025-03-20T12:00:00Z", "limit": 1000}

    def ids(**params):
        return [r["id"] for p in _collect_v2(mock, **window, **params) for r in p["result"]]

    def expect(pred):
        return [r["id"] for r in truth[::-1] if pred(r)]

    assert ids(action_type="delete") == expect(lambda r: r["action"]["type"] == "delete")
    assert ids(action_result="failure") == expect(lambda r: r["action"]["result"] == "failure")
    assert ids(**{"actor_context.not": "dash"}) == expect(lambda r: r["actor"]["context"] != "dash")
    both = requests.get(f"{mock.base_url}/client/v4/accounts/{ACCOUNT}/logs/audit", headers=BEARER,
                        params=[("since", "2025-01-01"), ("before", "2025-03-20T12:00:00Z"), ("limit", "1000"),
                                ("raw_method", "POST"), ("raw_method", "DELETE")]).json()
    assert [r["id"] for r in both["result"]] == expect(lambda r: r["raw"]["method"] in ("POST", "DELETE"))
    assert ids(**{"resource_scope[]": "zones"}) == expect(lambda r: r["resource"]["scope"]["type"] == "zones")
    assert ids(raw_status_code="403") == expect(lambda r: r["raw"]["status_code"] == 403)


def test_v2_dataset_variety(mock):
    truth = list(mock.dataset("v2").records())
    assert {r["actor"]["context"] for r in truth} >= {"dash", "api_token", "api_key", "oauth"}
    assert {r["actor"]["type"] for r in truth} >= {"user", "account"}
    assert {r["action"]["type"] for r in truth} == {"create", "update", "delete", "login"}
    logins = [r for r in truth if r["action"]["type"] == "login"]  # sign-ins, as v2 records them
    assert {r["action"]["result"] for r in logins} == {"success", "failure"}
    assert all(r["actor"]["context"] == "dash" and r["resource"]["type"] == "user" for r in logins)
    tokens = [r for r in truth if r["actor"]["context"] == "api_token"]
    assert tokens and all(r["actor"]["token_id"] and r["actor"]["token_name"] for r in tokens)
    assert all(isinstance(r["raw"]["status_code"], int) for r in truth)
