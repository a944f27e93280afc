"""Credential checks of the mock: header shape, unknown credentials, scope, permissions, token verify."""

from __future__ import annotations

import pytest
import requests

from fixtures.mock.mockhelp import ACCOUNT, OTHER_ACCOUNT, ZONE, serve

KEY = "0123456789abcdef0123456789abcdef01234"
CONFIG = f"""
x-intpkg:
  accounts:
    {ACCOUNT}: {{name: Example Corp}}
    {OTHER_ACCOUNT}: {{name: Other Corp}}
  zones:
    {ZONE}: {{name: example.com, account: {ACCOUNT}}}
  credentials:
    - token: test-token-0123456789
      token_id: 4f1e2d3c4b5a69788796a5b4c3d2e1f0
      accounts: [{ACCOUNT}]
      expires_on: "2099-01-01T00:00:00Z"
    - token: test-account-token-0123456789
      token_id: 7e6d5c4b3a29180f7e6d5c4b3a291800
      owner: account
      account: {ACCOUNT}
    - token: test-token-access-only
      accounts: [{ACCOUNT}]
      permissions: [access_audit_logs:read]
    - token: test-token-disabled
      status: disabled
    - token: test-token-expired
      expires_on: "2020-01-01T00:00:00Z"
    - email: ops@example.com
      key: {KEY}
  datasets:
    v1: {{generator: audit_v1, count: 10, seed: 1}}
    v2: {{generator: audit_v2, count: 10, seed: 2}}
rules:
  - path: /client/v4/user/tokens/verify
    x-intpkg-handler: {{kind: token_verify}}
  - path: /client/v4/accounts/{{account}}/tokens/verify
    x-intpkg-handler: {{kind: token_verify}}
  - path: /client/v4/accounts/{{account}}/audit_logs
    x-intpkg-handler: {{kind: audit_v1, dataset: v1}}
  - path: /client/v4/accounts/{{account}}/logs/audit
    x-intpkg-handler: {{kind: audit_v2, dataset: v2}}
  - path: /client/v4/zones/{{zone}}/logs/received/fields
    x-intpkg-handler: {{kind: logpull_fields}}
"""


@pytest.fixture(scope="module")
def mock(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("auth"), CONFIG) as server:
        yield server


def _get(mock, path, headers, **params):
    return requests.get(f"{mock.base_url}/client/v4{path}", headers=headers, params=params)


def _error(response):
    body = response.json()
    assert body["success"] is False and body["result"] is None and body["messages"] == []
    return response.status_code, body["errors"][0]["code"], body["errors"][0].get("error_chain")


AUDIT = f"/accounts/{ACCOUNT}/audit_logs"


@pytest.mark.parametrize(("headers", "expected"), [
    ({}, (400, 9106, None)),
    ({"Authorization": "test-token-0123456789"}, (400, 6003, [{"code": 6111,
                                                               "message": "Invalid format for Authorization header"}])),
    ({"Authorization": "Bearer bad token"}, (400, 6003, [{"code": 6111,
                                                          "message": "Invalid format for Authorization header"}])),
    ({"X-Auth-Email": "ops@example.com", "X-Auth-Key": "not-hex"},
     (400, 6003, [{"code": 6103, "message": "Invalid format for X-Auth-Key header"}])),
    ({"X-Auth-Email": "ops@example.com"}, (400, 9106, None)),
    ({"Authorization": "Bearer unknown-token"}, (401, 1000, None)),
    ({"Authorization": "Bearer test-token-disabled"}, (401, 1000, None)),
    ({"Authorization": "Bearer test-token-expired"}, (401, 1000, None)),
    ({"X-Auth-Email": "ops@example.com", "X-Auth-Key": "f" * 37}, (403, 9103, None)),
    ({"Authorization": "Bearer test-token-access-only"}, (403, 10000, None)),
])
def test_auth_errors(mock, headers, expected):
    assert _error(_get(mock, AUDIT, headers)) == expected


def test_valid_credentials(mock):
    for headers in ({"Authorization": "Bearer test-token-0123456789"},
                    {"Authorization": "Bearer test-account-token-0123456789"},
                    {"X-Auth-Email": "ops@example.com", "X-Auth-Key": KEY}):
        r = _get(mock, AUDIT, headers)
        assert r.status_code == 200 and r.json()["success"] is True, headers
        assert len(_get(mock, f"/accounts/{ACCOUNT}/logs/audit", headers, since="2000-01-01",
                        before="2099-01-01").json()["result"]) == 10


def test_wrong_or_malformed_ids(mock):
    token = {"Authorization": "Bearer test-token-0123456789"}
    assert _error(_get(mock, f"/accounts/{OTHER_ACCOUNT}/audit_logs", token)) == (403, 10000, None)
    assert _error(_get(mock, "/accounts/ffffffffffffffffffffffffffffffff/audit_logs", token)) == (403, 10000, None)
    assert _error(_get(mock, "/accounts/not-an-id/audit_logs", token)) == (400, 7003, None)
    assert _error(_get(mock, "/zones/example.com/logs/received/fields", token)) == (404, 1003, None)
    account_token = {"Authorization": "Bearer test-account-token-0123456789"}
    assert _error(_get(mock, f"/accounts/{OTHER_ACCOUNT}/audit_logs", account_token)) == (403, 10000, None)
    fields = _get(mock, f"/zones/{ZONE}/logs/received/fields", token)
    assert fields.status_code == 200 and "success" not in fields.json() and "RayID" in fields.json()


def test_user_token_verify(mock):
    body = _get(mock, "/user/tokens/verify", {"Authorization": "Bearer test-token-0123456789"}).json()
    assert body == {"success": True, "errors": [], "messages": [
        {"code": 10000, "message": "This API Token is valid and active", "type": None}],
        "result": {"id": "4f1e2d3c4b5a69788796a5b4c3d2e1f0", "status": "active",
                   "expires_on": "2099-01-01T00:00:00Z"}}


def test_account_token_pitfall(mock):
    headers = {"Authorization": "Bearer test-account-token-0123456789"}
    # works on data endpoints ...
    assert _get(mock, AUDIT, headers).status_code == 200
    # ... but the user verify endpoint calls it invalid
    assert _error(_get(mock, "/user/tokens/verify", headers)) == (401, 1000, None)
    good = _get(mock, f"/accounts/{ACCOUNT}/tokens/verify", headers).json()
    assert good["success"] is True and good["result"] == {"id": "7e6d5c4b3a29180f7e6d5c4b3a291800",
                                                          "status": "active"}
    assert _error(_get(mock, f"/accounts/{OTHER_ACCOUNT}/tokens/verify", headers)) == (401, 1000, None)
    # a user token is not an account token
    user = {"Authorization": "Bearer test-token-0123456789"}
    assert _error(_get(mock, f"/accounts/{ACCOUNT}/tokens/verify", user)) == (401, 1000, None)


def test_verify_reports_status_and_rejects_bad_shapes(mock):
    disabled = _get(mock, "/user/tokens/verify", {"Authorization": "Bearer test-token-disabled"}).json()
    assert disabled["success"] is True and disabled["result"]["status"] == "disabled" and disabled["messages"] == []
    expired = _get(mock, "/user/tokens/verify", {"Authorization": "Bearer test-token-expired"}).json()
    assert expired["result"]["status"] == "expired"
    assert _error(_get(mock, "/user/tokens/verify", {"Authorization": "Bearer nope"})) == (401, 1000, None)
    assert _error(_get(mock, "/user/tokens/verify", {}))[:2] == (400, 9106)
    assert _error(_get(mock, "/user/tokens/verify", {"X-Auth-Email": "ops@example.com", "X-Auth-Key": KEY}))[:2] \
        == (400, 6003)
    assert _error(_get(mock, "/accounts/xyz/tokens/verify", {"Authorization": "Bearer test-token-0123456789"})) \
        == (400, 7003, None)


@pytest.mark.parametrize(("credential", "message"), [
    ("{token: 'has space'}", "token: must be letters"),
    ("{email: ops@example.com, key: short}", "key: a global API key is 37"),
    ("{token: t1, owner: account}", "account: an account-owned token needs"),
    ("{token: t1, permissions: [everything]}", "permissions: expected"),
])
def test_bad_credentials_in_config(tmp_path, credential, message):
    from intpkg.mock import ConfigError
    with pytest.raises(ConfigError) as info:
        serve(tmp_path, f"x-intpkg:\n  credentials:\n    - {credential}\nrules: []\n")
    assert ":3:7: x-intpkg.credentials[0]:" in str(info.value) and message in str(info.value)


def test_account_token_is_refused_on_user_level_endpoints(tmp_path):
    config = CONFIG.replace("rules:\n", "rules:\n  - path: /client/v4/user/audit_logs\n"
                                        "    x-intpkg-handler: {kind: audit_v1, dataset: v1}\n")
    with serve(tmp_path, config) as mock:
        account = {"Authorization": "Bearer test-account-token-0123456789"}
        assert _error(_get(mock, "/user/audit_logs", account)) == (403, 10000, None)
        assert _get(mock, "/user/audit_logs", {"Authorization": "Bearer test-token-0123456789"}).status_code == 200


def test_bad_zone_entry_in_config(tmp_path):
    from intpkg.mock import ConfigError
    with pytest.raises(ConfigError, match=r"config.yml:3:\d+: x-intpkg.zones.example.com: expected a 32-hex id"):
        serve(tmp_path, "x-intpkg:\n  zones:\n    example.com: {name: example.com}\nrules: []\n")
