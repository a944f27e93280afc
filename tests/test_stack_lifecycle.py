"""`intpkg stack` as a user runs it: a second local node, its life cycle, and clear errors."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from intpkg import settings
from intpkg.stack import ports as node_ports
from intpkg.stack.distribution import OPENSEARCH_COORDINATES
from intpkg.stack.rootless import user_namespaces_available

pytestmark = pytest.mark.slow


@pytest.fixture
def node_dir(tmp_path: Path) -> Path:
    """A state folder the unprivileged node user can reach (pytest's tmp_path is private to root)."""
    folder = settings.intpkg_home() / "test-tmp" / tmp_path.name
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def free_port_pair() -> int:
    """An HTTP port whose transport port (+100) is free too, away from the usual 9200/9250."""
    return node_ports.free_port_pair(avoid=(9200, 9250))


def intpkg(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("INTPKG_ES_")}
    full_env.setdefault("INTPKG_HOME", str(settings.intpkg_home()))
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "intpkg.cli", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout)


def node_processes(marker: str) -> list[int]:
    """Pids whose command line mentions `marker` (the node's state folder)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def node_env(state: Path) -> dict:
    # the config folder (OPENSEARCH_PATH_CONF) lives in the state folder and shows in the java command line
    return {"INTPKG_STATE_DIR": str(state)}


def test_up_status_logs_down_leaves_no_process(node_dir: Path) -> None:
    port = free_port_pair()
    state = node_dir / "node"
    env = node_env(state)
    up = intpkg("stack", "up", "--port", str(port), "--heap", "512m", env=env)
    assert up.returncode == 0, up.stderr
    assert f"Local node up at http://127.0.0.1:{port}" in up.stdout
    assert requests.get(f"http://127.0.0.1:{port}/_cluster/health", timeout=5).json()["status"] in ("green", "yellow")
    assert node_processes(str(state)), "no node process found for the state folder"

    again = intpkg("stack", "up", "--port", str(port), env=env)
    assert again.returncode == 0 and "already running" in again.stdout

    status = intpkg("stack", "status", "--port", str(port), env=env)
    assert status.returncode == 0 and "health" in status.stdout

    logs = intpkg("stack", "logs", "-n", "5", env=env)
    assert logs.returncode == 0 and len(logs.stdout.splitlines()) == 5

    down = intpkg("stack", "down", env=env)
    assert down.returncode == 0 and "stopped" in down.stdout
    assert node_processes(str(state)) == []
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # the port is free again
    assert intpkg("stack", "status", env=env).returncode == 1


def test_free_port_pair_prefers_the_asked_port_and_moves_away_when_it_is_taken() -> None:
    wanted = free_port_pair()
    assert node_ports.free_port_pair(wanted) == wanted
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", wanted))
        holder.listen()
        other = node_ports.free_port_pair(wanted)
        assert other != wanted
        assert node_ports.port_is_free(other) and node_ports.port_is_free(other + 100)
    with socket.socket() as holder:  # a busy transport port (+100) moves the pair too
        holder.bind(("127.0.0.1", wanted + 100))
        holder.listen()
        assert node_ports.free_port_pair(wanted) != wanted


def test_port_busy_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = intpkg("stack", "up", "--port", str(port), env=node_env(tmp_path / "node"))
    assert result.returncode == 1
    assert f"Port {port} on 127.0.0.1 (HTTP) is already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_java_missing_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {**node_env(tmp_path / "node"), "PATH": str(empty), "JAVA_HOME": "", "INTPKG_JVM_ROOTS": str(empty)}
    result = intpkg("stack", "up", "--port", str(free_port_pair()), env=env)
    assert result.returncode == 1
    assert re.search(r"No Java (17|21)\+ found for (elasticsearch|opensearch) ", result.stderr), result.stderr
    assert "no Java runtime at all" in result.stderr


def test_java_too_old_names_the_setting(tmp_path: Path) -> None:
    old = tmp_path / "jdk11"
    (old / "bin").mkdir(parents=True)
    java = old / "bin" / "java"
    java.write_text('#!/bin/sh\necho \'openjdk version "11.0.22" 2024-01-16\' >&2\n')
    java.chmod(0o755)
    env = {**node_env(tmp_path / "node"), "INTPKG_JAVA_HOME": str(old)}
    result = intpkg("stack", "up", "--port", str(free_port_pair()), env=env)
    assert result.returncode == 1
    assert f"INTPKG_JAVA_HOME={old} is Java 11" in result.stderr


def test_offline_with_an_empty_cache_is_a_clear_error(tmp_path: Path) -> None:
    env = {**node_env(tmp_path / "node"), "INTPKG_HOME": str(tmp_path / "home")}
    result = intpkg("stack", "up", "--offline", "--port", str(free_port_pair()), env=env)
    assert result.returncode == 1
    assert f"Maven could not fetch {OPENSEARCH_COORDINATES}" in result.stderr
    assert "unreachable" in result.stderr


def test_maven_missing_is_a_clear_error(tmp_path: Path) -> None:
    java_only = tmp_path / "bin"
    java_only.mkdir()
    env = {**node_env(tmp_path / "node"), "INTPKG_HOME": str(tmp_path / "home"), "PATH": str(java_only),
           "INTPKG_ENGINE": "opensearch"}
    result = intpkg("stack", "up", "--port", str(free_port_pair()), env=env)
    assert result.returncode == 1
    assert "Maven (mvn) is not on PATH" in result.stderr


def test_node_that_fails_to_start_reports_its_log(node_dir: Path) -> None:
    state = node_dir / "node"
    result = intpkg("stack", "up", "--port", str(free_port_pair()), "-E", "bogus.setting=1",
                    env=node_env(state))
    assert result.returncode == 1
    assert "The search node failed to start" in result.stderr
    assert "unknown setting [bogus.setting]" in result.stderr
    assert node_processes(str(state)) == []


def test_launcher_speaks_the_elasticsearch_command_line(node_dir: Path, search_client) -> None:
    tmp_path = node_dir
    version = subprocess.run([sys.executable, "-m", "intpkg.stack.launcher", "-Vv"], capture_output=True,
                             text=True, check=True).stdout
    assert version.startswith("Version: ")
    if search_client.flavor == "opensearch" and not search_client.target.external:
        assert f"Version: {search_client.version}," in version

    port = free_port_pair()
    pidfile = tmp_path / "es.pid"
    cmd = [sys.executable, "-m", "intpkg.stack.launcher", "-p", str(pidfile),
           "-E", f"http.port={port}", "-E", f"transport.port={port + 100}",
           "-E", f"path.data={tmp_path / 'data'}", "-E", f"path.logs={tmp_path / 'logs'}",
           "-E", "cluster.name=launcher-test", "-E", "network.host='127.0.0.1'",
           "-E", "xpack.security.enabled=false", "-E", "index.store.type=mmapfs"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTPKG_ES_")}
    env.pop("INTPKG_STATE_DIR", None)
    (tmp_path / "data").mkdir()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 180
        root = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                root = requests.get(f"http://127.0.0.1:{port}/", timeout=2).json()
                break
            except requests.RequestException:
                time.sleep(0.5)
        assert root is not None, proc.stderr.read() if proc.poll() is not None else "node did not answer"
        assert root["cluster_name"] == "launcher-test"
        assert int(pidfile.read_text()) == proc.pid  # the launcher became the node
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert "ignoring setting [index.store.type]" in err  # index-level: Elasticsearch refuses it in node settings
    engine = version.split("Distribution: ")[1].split(",")[0]
    assert ("ignoring setting [xpack.security.enabled]" in err) == (engine == "opensearch")


def test_launcher_refuses_a_public_bind_address() -> None:
    result = subprocess.run([sys.executable, "-m", "intpkg.stack.launcher", "-E", "network.host=0.0.0.0"],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "binds 127.0.0.1 only" in result.stderr


def test_state_folder_the_node_user_cannot_reach_is_a_clear_error(tmp_path: Path) -> None:
    if os.geteuid() != 0 or user_namespaces_available():
        pytest.skip("the node runs as `nobody` only under root without user namespaces")
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    result = intpkg("stack", "up", "--port", str(free_port_pair()), env=node_env(private / "node"))
    assert result.returncode == 1
    assert "is not reachable by the user 'nobody'" in result.stderr
