"""The agent's delivery contract against the real node, with a scripted input in place of httpjson.

The input engine has its own tests; here it is replaced by a script of intervals so that each test
controls exactly what was collected and what failed, while shipping, acknowledgement and cursor
persistence run for real against the search node.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from intpkg.agent.policy import StreamPlan
from intpkg.agent.runner import Agent
from intpkg.stack.client import SearchClient, Target


@dataclass
class Result:
    cursor: dict | None
    error: str | None = None


class ScriptedInput:
    """Each interval publishes the given events, then returns the given result."""

    def __init__(self, intervals: list[tuple[list[dict], Result]]) -> None:
        self.intervals = list(intervals)
        self.seen_cursors: list[dict] = []

    def run_interval(self, cursor: dict, publish) -> Result:
        self.seen_cursors.append(dict(cursor))
        events, result = self.intervals.pop(0)
        for event in events:
            publish(event, result.cursor)
        return result


def make_plan(tmp_path: Path, dataset: str) -> StreamPlan:
    template = tmp_path / "stream.yml.hbs"
    template.write_text("interval: 1s\ntags:\n  - preserve_original_event\n  - {{tag}}\n")
    return StreamPlan(policy_template="t", input_type="httpjson", data_stream="x", dataset=dataset, ds_type="logs",
                      namespace="default", template_path=template, variables={"tag": "scripted"},
                      secret_values=["s3cr3t-value"])


@pytest.fixture
def stream_index(search_client: SearchClient, unique_name: str):
    """A data stream template with a strict mapping: unknown fields are rejected by the cluster."""
    dataset = unique_name.replace("-", "_") + ".x"
    search_client.request("PUT", f"/_index_template/{unique_name}", body={
        "index_patterns": [f"logs-{dataset}-*"], "data_stream": {}, "priority": 500,
        "template": {"settings": {"number_of_replicas": 0}, "mappings": {"dynamic": "strict", "properties": {
            "@timestamp": {"type": "date"}, "message": {"type": "text"}, "tags": {"type": "keyword"},
            "event": {"properties": {"created": {"type": "date"}, "dataset": {"type": "keyword"}}},
            "data_stream": {"properties": {k: {"type": "keyword"} for k in ("type", "dataset", "namespace")}},
            "input": {"properties": {"type": {"type": "keyword"}}},
            "ecs": {"properties": {"version": {"type": "keyword"}}},
        }}},
    })
    yield dataset, f"logs-{dataset}-default"
    search_client.request("DELETE", f"/_data_stream/logs-{dataset}-default", ignore=(404,))
    search_client.request("DELETE", f"/_index_template/{unique_name}", ignore=(404,))


def count(client: SearchClient, index: str) -> int:
    client.request("POST", f"/{index}/_refresh", ignore=(404,))
    return client.request("GET", f"/{index}/_count", ignore=(404,)).get("count", 0)


def test_cursor_is_saved_after_every_event_is_acknowledged(tmp_path, search_client, stream_index) -> None:
    dataset, index = stream_index
    scripted = ScriptedInput([([{"id": i} for i in range(25)], Result({"since": "t1"}))])
    agent = Agent([make_plan(tmp_path, dataset)], search_client, tmp_path / "state",
                  input_factory=lambda plan, config: scripted)
    status = agent.run(once=True)
    assert count(search_client, index) == 25
    assert agent.cursors.load(f"httpjson-{dataset}-default") == {"since": "t1"}
    (entry,) = status["streams"].values()
    assert (entry["events_published"], entry["events_acked"], entry["state"]) == (25, 25, "ok")
    hit = search_client.request("GET", f"/{index}/_search", params={"size": 1})["hits"]["hits"][0]["_source"]
    assert json.loads(hit["message"]) in [{"id": i} for i in range(25)]
    assert hit["tags"] == ["preserve_original_event", "scripted"]
    assert hit["data_stream"] == {"type": "logs", "dataset": dataset, "namespace": "default"}


def test_a_failed_interval_ships_its_events_but_keeps_the_cursor(tmp_path, search_client, stream_index) -> None:
    dataset, index = stream_index
    scripted = ScriptedInput([
        ([{"id": 1}], Result({"since": "t1"})),
        ([{"id": 2}, {"id": 3}], Result(None, error="server responded with status code 503")),
    ])
    agent = Agent([make_plan(tmp_path, dataset)], search_client, tmp_path / "state",
                  input_factory=lambda plan, config: scripted)
    stream = agent.streams[0]
    agent.shipper.start()
    try:
        assert agent.run_interval(stream) is True
        assert agent.run_interval(stream) is False
    finally:
        agent.shipper.stop()
    assert scripted.seen_cursors == [{}, {"since": "t1"}]
    assert agent.cursors.load(stream.plan.stream_id) == {"since": "t1"}
    assert count(search_client, index) == 3


def test_rejected_documents_are_recorded_and_counted(tmp_path, search_client, stream_index) -> None:
    dataset, index = stream_index
    plan = make_plan(tmp_path, dataset)
    plan.template_path.write_text("interval: 1s\nprocessors:\n  - add_fields: {target: '', fields: {surprise: 1}}\n")
    scripted = ScriptedInput([([{"id": 1}, {"id": 2}], Result({"since": "t1"}))])
    agent = Agent([plan], search_client, tmp_path / "state", input_factory=lambda p, c: scripted)
    status = agent.run(once=True)
    (entry,) = status["streams"].values()
    assert (entry["events_acked"], entry["events_rejected"]) == (0, 2)
    rejected = [json.loads(line) for line in (tmp_path / "state" / "rejected.ndjson").read_text().splitlines()]
    assert len(rejected) == 2 and all(r["status"] == 400 for r in rejected)
    assert "strict" in json.dumps(rejected[0]["error"])  # the cluster's own reason is kept
    assert count(search_client, index) == 0
    code, problems = agent.outcome(status)  # `intpkg run` / `up` exit non-zero and say so
    assert code == 1 and problems == [f"the cluster refused 2 document(s) in this run; they are in "
                                      f"{tmp_path / 'state' / 'rejected.ndjson'} with the reasons"]


def test_a_document_that_cannot_be_encoded_is_rejected_and_the_others_ship(tmp_path, search_client,
                                                                          stream_index) -> None:
    dataset, index = stream_index
    plan = make_plan(tmp_path, dataset)
    scripted = ScriptedInput([([{"id": 1}, {"id": 2}, {"id": 3}], Result({"since": "t1"}))])
    agent = Agent([plan], search_client, tmp_path / "state", input_factory=lambda p, c: scripted)
    build = agent.streams[0].builder.build
    agent.streams[0].builder.build = lambda body: {**build(body), **({"tags": {1, 2}} if body["id"] == 2 else {})}
    status = agent.run(once=True)
    (entry,) = status["streams"].values()
    assert (entry["events_acked"], entry["events_rejected"]) == (2, 1)
    (rejected,) = [json.loads(line) for line in (tmp_path / "state" / "rejected.ndjson").read_text().splitlines()]
    assert rejected["error"]["type"] == "encoding_error" and "set" in rejected["error"]["reason"]
    assert count(search_client, index) == 2


def test_refused_documents_are_settled_even_when_the_rejected_file_cannot_be_written(
        tmp_path, search_client, stream_index, caplog) -> None:
    dataset, index = stream_index
    plan = make_plan(tmp_path, dataset)
    plan.template_path.write_text("interval: 1s\nprocessors:\n  - add_fields: {target: '', fields: {surprise: 1}}\n")
    scripted = ScriptedInput([([{"id": i} for i in range(5)], Result({"since": "t1"}))])
    agent = Agent([plan], search_client, tmp_path / "state", input_factory=lambda p, c: scripted)
    agent.shipper.rejected_file = tmp_path / "state"  # a folder: it cannot be opened for appending
    status = agent.run(once=True)
    (entry,) = status["streams"].values()
    assert (entry["events_acked"], entry["events_rejected"], entry["state"]) == (0, 5, "ok")
    assert "the cluster rejected 5 document(s)" in caplog.text  # one line per request, not per document
    assert "cannot write 5 rejected document(s)" in caplog.text


def test_a_bulk_request_over_the_byte_limit_is_sent_in_parts(tmp_path, search_client, stream_index,
                                                              monkeypatch) -> None:
    from intpkg.agent import shipper

    dataset, index = stream_index
    monkeypatch.setattr(shipper, "MAX_BULK_BYTES", 2000)  # about five of these documents
    scripted = ScriptedInput([([{"id": i, "pad": "x" * 200} for i in range(40)], Result({"since": "t1"}))])
    agent = Agent([make_plan(tmp_path, dataset)], search_client, tmp_path / "state",
                  input_factory=lambda p, c: scripted)
    sizes: list[int] = []
    send = agent.shipper.client.send_bulk
    monkeypatch.setattr(agent.shipper.client, "send_bulk", lambda body, n: (sizes.append(len(body)), send(body, n))[1])
    status = agent.run(once=True)
    (entry,) = status["streams"].values()
    assert entry["events_acked"] == 40 and count(search_client, index) == 40
    assert len(sizes) >= 8 and max(sizes) <= 2000


def test_a_clean_run_exits_zero_and_a_failed_stream_does_not(tmp_path, search_client, stream_index) -> None:
    dataset, _ = stream_index
    plan = make_plan(tmp_path, dataset)
    ok = ScriptedInput([([{"id": 1}], Result({"since": "t1"}))])
    agent = Agent([plan], search_client, tmp_path / "ok", input_factory=lambda p, c: ok)
    assert agent.outcome(agent.run(once=True)) == (0, [])
    failing = ScriptedInput([([], Result(None, error="HTTP 500 from the API"))])
    agent = Agent([plan], search_client, tmp_path / "failed", input_factory=lambda p, c: failing)
    code, problems = agent.outcome(agent.run(once=True))
    assert code == 1 and "failed: HTTP 500 from the API" in problems[0]


class LateForwarder:
    """A TCP port that refuses connections until `open()`, then forwards to the real node."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._server: socket.socket | None = None
        self._connections: list[socket.socket] = []

    def open(self) -> None:
        self._server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        server = self._server
        while server is not None and server is self._server:
            try:
                client, _ = server.accept()
            except OSError:
                return
            if server is not self._server:
                client.close()
                return
            upstream = socket.create_connection(self.upstream)
            self._connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        """Stop listening and cut every established connection (keep-alive ones included)."""
        if self._server is not None:
            server, self._server = self._server, None
            try:
                server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone does not
            except OSError:
                pass
            server.close()
        for conn in self._connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._connections = []


def client_behind(forwarder: LateForwarder) -> SearchClient:
    """A client of the real node through `forwarder` (connected once, to learn the product)."""
    forwarder.open()
    try:
        return SearchClient(Target(url=f"http://127.0.0.1:{forwarder.port}"))
    finally:
        forwarder.close()


def upstream_of(client: SearchClient) -> tuple[str, int]:
    host, port = client.target.url.split("://", 1)[1].rsplit(":", 1)
    return host, int(port)


def test_cluster_outage_delays_delivery_and_loses_nothing(tmp_path, search_client, stream_index) -> None:
    dataset, index = stream_index
    forwarder = LateForwarder(upstream_of(search_client))
    client = client_behind(forwarder)  # the "cluster" is away from here on
    scripted = ScriptedInput([([{"id": i} for i in range(10)], Result({"since": "t9"}))])
    agent = Agent([make_plan(tmp_path, dataset)], client, tmp_path / "state", input_factory=lambda p, c: scripted)
    reopen = threading.Timer(3.0, forwarder.open)
    reopen.start()
    started = time.monotonic()
    try:
        agent.run(once=True)
    finally:
        reopen.cancel()
        forwarder.close()
    assert time.monotonic() - started >= 3.0  # it waited for the cluster instead of dropping events
    assert count(search_client, index) == 10
    assert agent.cursors.load(f"httpjson-{dataset}-default") == {"since": "t9"}


def test_stop_before_acknowledgement_keeps_the_cursor(tmp_path, search_client, stream_index) -> None:
    dataset, index = stream_index
    client = client_behind(LateForwarder(upstream_of(search_client)))  # never comes back
    scripted = ScriptedInput([([{"id": 1}], Result({"since": "t1"}))])
    agent = Agent([make_plan(tmp_path, dataset)], client, tmp_path / "state", flush_timeout=1.0,
                  input_factory=lambda p, c: scripted)
    threading.Timer(1.5, agent.stop).start()
    status = agent.run(once=True)
    assert agent.cursors.load(f"httpjson-{dataset}-default") == {}
    (entry,) = status["streams"].values()
    assert entry["events_acked"] == 0
    assert count(search_client, index) == 0
