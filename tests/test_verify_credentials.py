"""`intpkg verify-credentials` against the mock Cloudflare API: plain findings, right exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from intpkg.cloudflare.mockapi import CloudflareMock

REPO = Path(__file__).resolve().parents[1]
ZONE_OFF = "6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c"  # example.net: log retention off
GLOBAL_KEY = "0123456789abcdef0123456789abcdef01234"


@pytest.fixture(scope="module")
def mock():
    with CloudflareMock.from_package(REPO) as server:
        yield server


def verify(mock, *args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
    return subprocess.run([sys.executable, "-m", "intpkg.cli", "verify-credentials", str(REPO), "--api-url",
                           mock.base_url, *args], capture_output=True, text=True, env={**clean, **env}, timeout=60)


def test_a_good_token_passes(mock) -> None:
    result = verify(mock, "--account-id", mock.account_id, "--zone-id", mock.zone_id, CLOUDFLARE_API_TOKEN=mock.token)
    assert result.returncode == 0, result.stdout
    assert "API token is active (user-owned" in result.stdout
    assert "Audit logs v2: readable" in result.stdout and "log retention is on" in result.stdout


def test_an_account_owned_token_is_verified_on_the_account_endpoint(mock) -> None:
    result = verify(mock, "--account-id", mock.account_id, CLOUDFLARE_API_TOKEN="test-account-token-0123456789")
    assert result.returncode == 0, result.stdout
    assert "API token is active (account-owned)" in result.stdout


def test_missing_permission_is_named(mock) -> None:
    result = verify(mock, "--account-id", mock.account_id, "--zone-id", mock.zone_id,
                    CLOUDFLARE_API_TOKEN="test-token-access-only")
    assert result.returncode == 1
    assert f"Audit logs v2: missing permission Account › Account Settings: Read on account {mock.account_id}" \
        in result.stdout
    assert f"Logpull for zone {mock.zone_id}: missing permission Zone › Logs: Read" in result.stdout


def test_disabled_token_and_wrong_ids(mock) -> None:
    disabled = verify(mock, "--account-id", mock.account_id, CLOUDFLARE_API_TOKEN="test-token-disabled")
    assert disabled.returncode == 1 and "API token is disabled" in disabled.stdout
    assert "Cloudflare refuses the API token (HTTP 401, code 1000" in disabled.stdout
    bad_id = verify(mock, "--account-id", "not-an-id", CLOUDFLARE_API_TOKEN=mock.token)
    assert bad_id.returncode == 1 and "Cloudflare does not know account not-an-id" in bad_id.stdout


def test_retention_off_is_reported(mock) -> None:
    result = verify(mock, "--zone-id", ZONE_OFF, CLOUDFLARE_API_TOKEN=mock.token)
    assert result.returncode == 1 and "log retention is off" in result.stdout


def test_global_key_works_with_a_deprecation_warning_and_stays_secret(mock) -> None:
    result = verify(mock, "--account-id", mock.account_id, CLOUDFLARE_EMAIL="ops@example.com",
                    CLOUDFLARE_API_KEY=GLOBAL_KEY)
    assert result.returncode == 0, result.stdout
    assert "global API key is deprecated" in result.stderr
    assert GLOBAL_KEY not in result.stdout + result.stderr


def test_credentials_from_a_policy_file(mock, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text(yaml.safe_dump({"inputs": {"cloudflare-httpjson": {"streams": {"cloudflare.audit": {"vars": {
        "account_id": mock.account_id, "api_token": "${env:MY_TOKEN}", "api_version": "v1",
        "api_url": mock.base_url}}}}}}))
    result = verify(mock, "--policy", str(policy), MY_TOKEN=mock.token)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Audit logs v1: readable" in result.stdout


def test_no_credentials_is_a_clear_error(mock) -> None:
    result = verify(mock)
    assert result.returncode == 1 and "No Cloudflare credentials: set CLOUDFLARE_API_TOKEN" in result.stderr
