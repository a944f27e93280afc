"""The generic mock's registration API: an API plugs its handlers and hooks in; the engine knows no API."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests

from intpkg.mock import Admission, Call, ConfigError, HandlerSet, MockServer
from intpkg.mock.reply import Reply

CONFIG = """
rules:
  - path: /greet/{name}
    x-intpkg-handler: {kind: greet, punctuation: "!"}
  - path: /broken
    x-intpkg-faults: [{kind: status, status_code: 503}]
    responses: [{status_code: 200, body: fine}]
"""


class Greeter(HandlerSet):
    """An API of one endpoint that refuses requests without an `X-Key` header."""

    def __init__(self) -> None:
        super().__init__()
        self.register("greet", self.greet)

    @staticmethod
    def greet(call: Call, spec: dict) -> Reply:
        return Reply(200, f"hello {call.vars['name']}{spec['punctuation']}".encode())

    def admit(self, headers: dict[str, str], client: str) -> Admission:
        if "x-key" not in headers:
            return Admission(reply=Reply(401, b"no key"), headers=[("X-Seen", "1")], note="no key")
        return Admission(headers=[("X-Seen", "1")])

    def fault_reply(self, status: int, message: str) -> Reply:
        return Reply(status, f"greeter says {message}".encode())


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_registered_handlers_and_hooks_answer(tmp_path: Path) -> None:
    with MockServer.from_config_file(_write(tmp_path, CONFIG), api=lambda config, clock: Greeter()) as mock:
        greeted = requests.get(f"{mock.base_url}/greet/ada", headers={"X-Key": "k"}, timeout=10)
        refused = requests.get(f"{mock.base_url}/greet/ada", timeout=10)
        broken = requests.get(f"{mock.base_url}/broken", headers={"X-Key": "k"}, timeout=10)
        notes = [r.note for r in mock.requests]
    assert (greeted.status_code, greeted.text, greeted.headers["X-Seen"]) == (200, "hello ada!", "1")
    assert (refused.status_code, refused.text, refused.headers["X-Seen"]) == (401, "no key", "1")
    assert (broken.status_code, broken.text) == (503, "greeter says Service Unavailable")
    assert notes[1] == "no key"


def test_a_handler_kind_nobody_registered_is_a_located_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        MockServer.from_config_file(_write(tmp_path, CONFIG))
    assert f"{tmp_path / 'config.yml'}:4:" in str(info.value)
    assert "rules[0].x-intpkg-handler.kind: expected kind: one of none" in str(info.value)


def test_the_generic_mock_imports_no_api() -> None:
    code = ("import sys, intpkg.mock, intpkg.mock.engine, intpkg.mock.server, intpkg.mock.deploy\n"
            "print(sorted(m for m in sys.modules if m.startswith('intpkg.cloudflare')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
