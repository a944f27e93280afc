"""The mock says which account, zone and token a client uses by default; nothing else needs to repeat them."""

from __future__ import annotations

import pytest
import requests

from fixtures.mock.mockhelp import ACCOUNT, OTHER_ACCOUNT, REPO_ROOT, ZONE, serve
from intpkg.cloudflare.mockapi import CloudflareMock
from intpkg.commands.up import mock_policies
from intpkg.mock import ConfigError

OTHER_ZONE = "6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c"
SETTINGS = f"""
x-intpkg:
  accounts: {{{OTHER_ACCOUNT}: {{name: Other Corp}}, {ACCOUNT}: {{name: Example Corp}}}}
  zones: {{{OTHER_ZONE}: {{account: {OTHER_ACCOUNT}}}, {ZONE}: {{account: {ACCOUNT}}}}}
  credentials: [{{name: disabled, token: test-token-disabled, status: disabled}},
                {{name: other, token: test-token-other, accounts: [{OTHER_ACCOUNT}]}},
                {{name: main, token: test-token-main, accounts: [{ACCOUNT}]}}]
  datasets: {{v1: {{generator: audit_v1, count: 3, seed: 1}}}}
"""


def test_the_first_fitting_account_zone_and_token_by_default(tmp_path) -> None:
    with serve(tmp_path, SETTINGS + "rules: []\n") as mock:
        assert (mock.account_id, mock.zone_id, mock.token) == (OTHER_ACCOUNT, OTHER_ZONE, "test-token-other")
        assert mock.dataset_account("v1") == OTHER_ACCOUNT  # a dataset naming no account holds the primary's


def test_x_intpkg_primary_chooses_them(tmp_path) -> None:
    config = SETTINGS + f"  primary: {{account: {ACCOUNT}, credential: main}}\nrules: []\n"
    with serve(tmp_path, config) as mock:
        assert (mock.account_id, mock.zone_id, mock.token) == (ACCOUNT, ZONE, "test-token-main")
        assert [r["owner"]["id"] for r in mock.dataset("v1").records()] != []
        assert mock.dataset_account("v1") == ACCOUNT


@pytest.mark.parametrize("primary,message", [
    ("{account: abc}", "x-intpkg.primary.account: no account 'abc'"),
    ("{credential: nobody}", "x-intpkg.primary.credential: no token credential named 'nobody'"),
    ("[1]", "x-intpkg.primary: expected {account, zone, credential}"),
])
def test_a_wrong_primary_is_a_located_config_error(tmp_path, primary, message) -> None:
    with pytest.raises(ConfigError) as info:
        serve(tmp_path, SETTINGS + f"  primary: {primary}\nrules: []\n")
    assert str(info.value).startswith(str(tmp_path / "config.yml") + ":") and message in str(info.value)


def test_intpkg_up_collects_from_the_bundled_mock_with_what_it_exposes() -> None:
    with CloudflareMock.from_package(REPO_ROOT) as mock:
        audit_policy, logpull_policy = mock_policies(mock)
        audit = audit_policy["inputs"]["cloudflare-httpjson"]["streams"]["cloudflare.audit"]["vars"]
        logpull = logpull_policy["inputs"]["cloudflare-httpjson"]["streams"]["cloudflare.logpull"]["vars"]
        assert (audit_policy["name"], audit["account_id"]) == (mock.account_id, mock.account_id)
        assert (logpull_policy["name"], logpull["zone_id"]) == (mock.zone_id, mock.zone_id)
        assert logpull["bot_management_fields"] is True  # the primary zone has Bot Management
        token = audit["api_token"]
        verified = requests.get(f"{mock.base_url}/client/v4/user/tokens/verify",
                                headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        page = requests.get(f"{mock.base_url}/client/v4/accounts/{mock.account_id}/audit_logs",
                             headers={"Authorization": f"Bearer {token}"}, params={"per_page": 1}, timeout=10)
    assert verified["result"]["status"] == "active"
    assert page.status_code == 200 and page.json()["result"]
