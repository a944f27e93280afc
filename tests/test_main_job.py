"""README's first command runs `intpkg up`: node, install, collect (here: one interval from the mock)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def up(search_client, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
    return subprocess.run([sys.executable, "-m", "intpkg.cli", "up", str(REPO), "--once", "--state-dir",
                           str(tmp_path / "agent"), "--es-url", search_client.target.url],
                          capture_output=True, text=True, env={**clean, **env}, timeout=600)


def test_without_credentials_the_bundled_mock_fills_the_audit_data_stream(search_client, tmp_path) -> None:
    result = up(search_client, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "collecting from the bundled mock API" in result.stdout
    assert "cloudflare.audit: 2500 documents in logs-cloudflare.audit-default" in result.stdout
    assert f"{search_client.target.url}/logs-cloudflare.audit-default/_search" in result.stdout


def test_credentials_without_an_account_are_a_clear_error(search_client, tmp_path) -> None:
    result = up(search_client, tmp_path, CLOUDFLARE_API_TOKEN="some-token-value")
    assert result.returncode == 1
    assert "CLOUDFLARE_ACCOUNT_ID is not" in result.stderr
    assert "some-token-value" not in result.stdout + result.stderr
