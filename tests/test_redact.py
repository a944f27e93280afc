"""One list of sensitive names and one mask: every writer of logs, traces and errors masks through `intpkg.redact`.

Each test adds a header name to the shared list only; that alone must make the writer mask it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import requests

from fixtures.clocks import ManualClock
from fixtures.scripted_server import Reply, ScriptedServer
from intpkg import redact
from intpkg.agent.policy import StreamPlan
from intpkg.agent.redact import RedactingFilter
from intpkg.agent.runner import Agent
from intpkg.agent.state import StatusBoard
from intpkg.golang.httpvalues import Header
from intpkg.input.httpjson import HttpJsonInput
from intpkg.input.session import CredentialSafeSession
from intpkg.input.tracer import RequestTracer
from intpkg.mock import MockServer
from intpkg.redact import MASK, Redactor

NEW_HEADER = "X-Vendor-Secret"
VALUE = "vendor-secret-value-42"


@pytest.fixture
def extended(monkeypatch) -> None:
    monkeypatch.setattr(redact, "SENSITIVE_HEADERS", (*redact.SENSITIVE_HEADERS, NEW_HEADER))


def test_header_values_are_masked_keeping_the_auth_scheme() -> None:
    assert redact.header_value("authorization", "Bearer abc.def") == f"Bearer {MASK}"
    assert redact.header_value("X-Auth-Key", "0123456789abcdef") == MASK
    assert redact.header_value("Accept", "application/json") == "application/json"
    text = redact.named_values('Authorization: Bearer t0k3n, "api_token": "t1", x-auth-key=k2&page=2')
    assert "t0k3n" not in text and "t1" not in text and "k2" not in text and "page=2" in text


def test_a_masked_json_document_stays_json() -> None:
    line = json.dumps({"Authorization": [f"Bearer {MASK}"], "api_token": "abc123", "n": 1})
    assert json.loads(Redactor().text(line)) == {"Authorization": [f"Bearer {MASK}"], "api_token": MASK, "n": 1}


def test_the_tracer_masks_a_newly_listed_header(tmp_path: Path, monkeypatch) -> None:
    def trace(name: str) -> str:
        tracer = RequestTracer(tmp_path / name, Redactor())
        tracer.trace(method="GET", url="https://api.example.com/x", request_headers=Header([(NEW_HEADER, VALUE)]),
                     request_body=None, status=200, response_headers=Header(), response_body=b"{}")
        return (tmp_path / name).read_text()

    assert VALUE in trace("before.ndjson")  # not listed: shown as is
    monkeypatch.setattr(redact, "SENSITIVE_HEADERS", (*redact.SENSITIVE_HEADERS, NEW_HEADER))
    record = json.loads(trace("after.ndjson"))
    assert record["http.request.header"][NEW_HEADER] == [MASK]


def test_the_mock_request_log_masks_a_newly_listed_header(tmp_path: Path, extended) -> None:
    (tmp_path / "config.yml").write_text("rules:\n  - path: /x\n    responses: [{status_code: 200, body: ok}]\n")
    with MockServer.from_config_file(tmp_path / "config.yml") as mock:
        requests.get(f"{mock.base_url}/x", headers={NEW_HEADER: VALUE}, timeout=10)
        (logged,) = mock.requests
    assert logged.headers[NEW_HEADER.lower()] == MASK


def test_log_lines_mask_a_newly_listed_header(extended) -> None:
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "sent %s: %s", (NEW_HEADER, VALUE), None)
    RedactingFilter(Redactor()).filter(record)
    assert VALUE not in record.getMessage() and MASK in record.getMessage()


class _Failing:
    def run_interval(self, cursor: dict, publish) -> None:
        raise RuntimeError(f"the API refused {NEW_HEADER}: {VALUE}")


def test_the_agent_status_masks_errors(tmp_path: Path, extended) -> None:
    template = tmp_path / "stream.yml.hbs"
    template.write_text("interval: 1s\n")
    plan = StreamPlan(policy_template="t", input_type="httpjson", data_stream="x", dataset="t.x", ds_type="logs",
                      namespace="default", template_path=template, variables={}, secret_values=[])
    agent = Agent([plan], None, tmp_path / "state", input_factory=lambda p, c: _Failing())
    assert not agent.run_interval(agent.streams[0])
    status = StatusBoard.read(tmp_path / "state" / "status.json")
    (entry,) = status["streams"].values()
    assert VALUE not in entry["last_error"] and MASK in entry["last_error"]


def test_input_errors_mask_a_newly_listed_header(extended) -> None:
    cfg = {"request.retry.max_attempts": 1,
           "request.transforms": [{"set": {"target": f"header.{NEW_HEADER}", "value": VALUE}}]}
    clock = ManualClock()
    with ScriptedServer([Reply(401, {"message": f"unknown key {VALUE}"})], clock=clock) as server:
        result = HttpJsonInput({**cfg, "request.url": server.url + "/x"}, clock=clock).run_interval({}, lambda *_: None)
    assert result.status == 401
    assert VALUE not in result.error and VALUE not in result.body


def test_the_session_drops_a_newly_listed_header_on_a_cross_host_redirect(extended) -> None:
    session = CredentialSafeSession()
    redirected = requests.Request("GET", "https://other.example.net/x", headers={NEW_HEADER: VALUE}).prepare()
    response = requests.Response()
    response.request = requests.Request("GET", "https://api.example.com/x").prepare()
    session.rebuild_auth(redirected, response)
    assert NEW_HEADER not in redirected.headers
