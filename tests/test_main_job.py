"""README's first command runs `intpkg up`: node, install, collect (here: one interval from the mock)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from intpkg.package import Package

REPO = Path(__file__).resolve().parents[1]


def up(search_client, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
    return subprocess.run([sys.executable, "-m", "intpkg.cli", "up", str(REPO), "--once", "--state-dir",
                           str(tmp_path / "agent"), "--es-url", search_client.target.url],
                          capture_output=True, text=True, env={**clean, **env}, timeout=600)


def test_without_credentials_the_bundled_mock_fills_both_data_streams(search_client, tmp_path) -> None:
    result = up(search_client, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "collecting audit and HTTP request logs from the bundled mock API" in result.stdout
    assert "cloudflare.audit: 2500 documents in logs-cloudflare.audit-default" in result.stdout
    assert f"{search_client.target.url}/logs-cloudflare.audit-default/_search" in result.stdout
    logpull = [line for line in result.stdout.splitlines() if line.startswith("[") and "cloudflare.logpull:" in line]
    assert logpull, result.stdout
    assert int(logpull[-1].split("cloudflare.logpull: ")[1].split(" ")[0]) > 0  # the last hour of example.com
    assert f"{search_client.target.url}/logs-cloudflare.logpull-default/_search" in result.stdout


def test_the_environment_gives_one_policy_per_account_and_zone_with_one_credential() -> None:
    from intpkg.agent.policy import plan_policies
    from intpkg.commands.up import credentials_policies

    env = {"CLOUDFLARE_API_TOKEN": "t" * 40, "CLOUDFLARE_ACCOUNT_ID": "a1, a2", "CLOUDFLARE_ZONE_ID": "z1,z2,"}
    policies = credentials_policies(env)
    streams = [(p["name"], dataset, stream["vars"]) for p in policies
               for dataset, stream in p["inputs"]["cloudflare-httpjson"]["streams"].items()]
    token = "${env:CLOUDFLARE_API_TOKEN}"
    assert streams == [("a1", "cloudflare.audit", {"account_id": "a1", "api_token": token}),
                       ("a2", "cloudflare.audit", {"account_id": "a2", "api_token": token}),
                       ("z1", "cloudflare.logpull", {"zone_id": "z1", "api_token": token}),
                       ("z2", "cloudflare.logpull", {"zone_id": "z2", "api_token": token})]
    plans = plan_policies(Package.load(REPO), policies, env=env)
    assert [p.stream_id for p in plans] == [f"httpjson-cloudflare.{ds}-default-{name}" for ds, name in
                                            (("audit", "a1"), ("audit", "a2"), ("logpull", "z1"), ("logpull", "z2"))]
    only_audit = credentials_policies({"CLOUDFLARE_EMAIL": "ops@example.com", "CLOUDFLARE_API_KEY": "k" * 37,
                                       "CLOUDFLARE_ACCOUNT_ID": "a1"})
    assert [list(p["inputs"]["cloudflare-httpjson"]["streams"]) for p in only_audit] == [["cloudflare.audit"]]


def test_two_policies_running_the_same_stream_must_be_named_apart() -> None:
    from intpkg.agent.policy import PolicyError, plan_policies
    from intpkg.commands.up import credentials_policies

    (policy,) = credentials_policies({"CLOUDFLARE_API_TOKEN": "t" * 40, "CLOUDFLARE_ACCOUNT_ID": "a1"})
    twin = {**policy, "name": "a1"}
    with pytest.raises(PolicyError, match="policy 2: runs stream httpjson-cloudflare.audit-default-a1 like policy 1"):
        plan_policies(Package.load(REPO), [policy, twin], env={"CLOUDFLARE_API_TOKEN": "t" * 40})


def test_credentials_without_an_account_are_a_clear_error(search_client, tmp_path) -> None:
    result = up(search_client, tmp_path, CLOUDFLARE_API_TOKEN="some-token-value")
    assert result.returncode == 1
    assert "CLOUDFLARE_ACCOUNT_ID is not" in result.stderr
    assert "some-token-value" not in result.stdout + result.stderr


def test_up_serves_the_integrations_ui_with_the_mock_offered(search_client, tmp_path) -> None:
    import re
    import signal

    import requests

    from intpkg import settings

    home = tmp_path / "home"
    home.mkdir()
    (home / "cache").symlink_to(settings.intpkg_home() / "cache")  # the ECS reference, not fetched again
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDFLARE_", "INTPKG_HOME"))}
    process = subprocess.Popen([sys.executable, "-m", "intpkg", "up", str(REPO), "--ui-port", "0", "--state-dir",
                                str(tmp_path / "agent"), "--es-url", search_client.target.url],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**clean, "INTPKG_HOME": str(home)})
    try:
        seen = []
        for line in process.stdout:
            seen.append(line)
            if line.startswith("integrations UI: "):
                break
        url = re.match(r"integrations UI: (http://127\.0\.0\.1:\d+)", seen[-1])
        assert url, "".join(seen)
        page = requests.get(f"{url.group(1)}/app/integrations/cloudflare/add", timeout=30)
        assert page.status_code == 200 and 'id="mock-hint"' in page.text
    finally:
        process.send_signal(signal.SIGTERM)  # as Ctrl-C: a service manager's stop flushes and saves too
        rest = process.communicate(timeout=120)[0]
    assert process.returncode == 0, "".join(seen) + rest
    assert "stopping: flushing queued events and saving cursors" in rest
