"""Hostile or damaged input and state: clear errors, never a traceback, a hang or a silent reset."""

from __future__ import annotations

import logging
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from intpkg.agent.runner import state_lock
from intpkg.agent.state import CursorStore
from intpkg.errors import IntpkgError
from intpkg.golang.httpvalues import Header
from intpkg.input.tracer import RequestTracer
from intpkg.redact import Redactor
from intpkg.stack.ports import port_is_free
from intpkg.yamlpos import read_yaml

REPO = Path(__file__).resolve().parents[1]

HOSTILE_YAML = {
    "latin-1": ("namespace: d\xe9faut\n".encode("latin-1"), "not UTF-8 text"),
    "binary": (b"\x7fELF\x02\x01\x01\x00\x00\x00", "binary file"),
    "deep nesting": (b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested"),
    "alias bomb": (b"a: &a [x, x, x, x, x, x, x, x, x]\n" + b"".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n".encode() for i in range(12)),
        "more than 100 aliases"),
}


@pytest.mark.parametrize("kind", list(HOSTILE_YAML))
def test_hostile_yaml_is_a_clear_error_naming_the_file(tmp_path, kind) -> None:
    data, message = HOSTILE_YAML[kind]
    path = tmp_path / "policy.yml"
    path.write_bytes(data)
    with pytest.raises(IntpkgError, match=message) as err:
        read_yaml(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("kind", ["latin-1", "binary", "alias bomb"])
def test_the_cli_reports_a_hostile_policy_without_a_traceback(tmp_path, kind) -> None:
    path = tmp_path / "policy.yml"
    path.write_bytes(HOSTILE_YAML[kind][0])
    result = subprocess.run([sys.executable, "-m", "intpkg.cli", "run", str(REPO), "--policy", str(path), "--once",
                             "--state-dir", str(tmp_path / "state"), "--es-url", "http://127.0.0.1:9"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert str(path) in result.stderr


def test_a_corrupt_cursor_is_kept_and_reported_not_silently_reset(tmp_path, caplog) -> None:
    store = CursorStore(tmp_path)
    store.save("s1", {"last_event_time": "2025-03-14T09:31:07Z"})
    store.path("s1").write_text('{"cursor": {"last_event_ti')  # torn by a disk fault
    with caplog.at_level(logging.ERROR, logger="intpkg.agent"):
        assert store.load("s1") == {}
    kept = list(tmp_path.glob("s1.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_text() == '{"cursor": {"last_event_ti'
    assert "corrupt" in caplog.text and str(kept[0]) in caplog.text


def test_two_collectors_cannot_share_a_state_folder(tmp_path) -> None:
    with state_lock(tmp_path):
        probe = subprocess.run([sys.executable, "-c", (
            "import sys; from pathlib import Path; from intpkg.agent.runner import state_lock\n"
            "try:\n    state_lock(Path(sys.argv[1])).__enter__()\nexcept Exception as e:\n    print(e)")
            , str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert f"pid {os.getpid()}" in probe.stdout and "is using the state folder" in probe.stdout
    with state_lock(tmp_path):  # released: usable again
        pass


def test_request_traces_are_readable_by_their_owner_only(tmp_path) -> None:
    tracer = RequestTracer(tmp_path / "traces" / "t.ndjson", Redactor([]))
    tracer.trace(method="GET", url="https://api.example.com/x", request_headers=Header(), request_body=None,
                 status=200, response_headers=Header(), response_body=b"{}")
    assert stat.S_IMODE((tmp_path / "traces" / "t.ndjson").stat().st_mode) == 0o600


def test_a_port_whose_last_connections_are_closing_is_free() -> None:
    """After `stack down`, the node's connections linger in TIME_WAIT; `stack up` must not call the port busy."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the engine's HTTP server does
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        served, _ = listener.accept()
        served.close()  # the server side closes first: its end of the connection waits in TIME_WAIT
        client.close()
    import time

    time.sleep(0.5)  # the closing handshake completes: the server's end is now in TIME_WAIT
    assert port_is_free(port)
