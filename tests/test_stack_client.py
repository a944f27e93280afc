"""Targeting a cluster: flags and environment, credentials sent and never shown."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from intpkg.errors import IntpkgError
from intpkg.stack.client import SearchClient, Target

SECRET_KEY = "c2VjcmV0LWtleS1kby1ub3Qtc2hvdw=="
SECRET_PASSWORD = "pa55-do-not-show"


class Recorder(BaseHTTPRequestHandler):
    """Answers like an Elasticsearch 8 root endpoint and records the Authorization headers it got."""

    seen: list[str | None] = []
    status = 200

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        Recorder.seen.append(self.headers.get("Authorization"))
        body = {"version": {"number": "8.14.3", "build_flavor": "default"}, "tagline": "You Know, for Search",
                "cluster_name": "rec", "status": "green", "number_of_nodes": 1, "active_shards": 0}
        payload = json.dumps(body).encode()
        self.send_response(Recorder.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    Recorder.seen = []
    Recorder.status = 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_environment_names_the_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTPKG_ES_URL", "https://es.example.com:9243/")
    monkeypatch.setenv("INTPKG_ES_API_KEY", SECRET_KEY)
    monkeypatch.setenv("INTPKG_ES_CA_CERT", "/etc/ssl/ca.pem")
    target = Target.from_env(default_url="http://127.0.0.1:9200")
    assert (target.url, target.external, target.ca_cert) == ("https://es.example.com:9243", True, "/etc/ssl/ca.pem")
    assert SECRET_KEY not in repr(target)
    flags = Target.from_env(default_url="http://127.0.0.1:9200", url="http://127.0.0.1:9999", password="x")
    assert flags.url == "http://127.0.0.1:9999"


def test_without_a_cluster_the_local_node_is_the_target(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("INTPKG_ES_URL", "INTPKG_ES_HOST", "ELASTIC_PACKAGE_ELASTICSEARCH_HOST"):
        monkeypatch.delenv(name, raising=False)
    target = Target.from_env(default_url="http://127.0.0.1:9200")
    assert (target.url, target.external) == ("http://127.0.0.1:9200", False)


def test_api_key_is_sent_by_the_probe_and_the_elasticsearch_client(recorder: str) -> None:
    client = SearchClient(Target(url=recorder, api_key=SECRET_KEY, external=True))
    assert (client.flavor, client.version) == ("elasticsearch", "8.14.3")
    client.health()
    assert Recorder.seen == [f"ApiKey {SECRET_KEY}"] * 2
    assert SECRET_KEY not in repr(client)


def test_basic_auth_is_sent(recorder: str) -> None:
    SearchClient(Target(url=recorder, username="elastic", password=SECRET_PASSWORD)).health()
    expected = "Basic " + base64.b64encode(f"elastic:{SECRET_PASSWORD}".encode()).decode()
    assert Recorder.seen == [expected, expected]


def test_refused_credentials_are_a_clear_error_without_the_secret(recorder: str) -> None:
    Recorder.status = 401
    with pytest.raises(IntpkgError) as err:
        SearchClient(Target(url=recorder, username="elastic", password=SECRET_PASSWORD))
    assert "refused the credentials (HTTP 401)" in str(err.value)
    assert SECRET_PASSWORD not in str(err.value)


def test_status_of_an_external_cluster_by_flag(search_client: SearchClient) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "intpkg.cli", "stack", "status", "--es-url", search_client.target.url],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert f"{search_client.target.url}: {search_client.flavor} {search_client.version}" in result.stdout


def test_unreachable_cluster_is_a_clear_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "intpkg.cli", "stack", "status", "--es-url", "http://127.0.0.1:9"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert "Cannot reach the cluster at http://127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr


def test_credentials_in_the_cluster_url_are_used_but_never_shown(search_target, monkeypatch, capsys) -> None:
    from intpkg.cli import main
    from intpkg.stack.client import Target

    for name in ("INTPKG_ES_URL", "INTPKG_ES_USERNAME", "INTPKG_ES_PASSWORD", "INTPKG_ES_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    host = search_target.url.split("://", 1)[1]
    with_password = f"http://elastic:Pa%24%24-w0rd-123@{host}"
    target = Target.from_env(url=with_password)
    assert target.url == search_target.url and (target.username, target.password) == ("elastic", "Pa$$-w0rd-123")
    assert main(["stack", "status", "--es-url", with_password]) == 0
    unreachable = "http://elastic:Pa%24%24-w0rd-123@127.0.0.1:9"
    assert main(["install", "--es-url", unreachable]) == 1
    out, err = capsys.readouterr()
    assert host in out and "127.0.0.1:9" in err
    assert "Pa" + "%24%24" not in out + err and "Pa$$" not in out + err and "elastic:" not in out + err


def test_bulk_create_reports_each_documents_outcome_in_order(search_client: SearchClient) -> None:
    index = f"bulk-create-{uuid.uuid4().hex[:8]}"
    search_client.request("PUT", f"/{index}", body={"mappings": {"properties": {"n": {"type": "integer"}}}})
    try:
        results = search_client.bulk_create([(index, {"n": 1}), (index, {"n": "not a number"}), (index, {"n": 3})])
        assert [r["status"] for r in results] == [201, 400, 201]
        assert "n" in json.dumps(results[1]["error"])  # the reason names the field
        assert all(set(r) <= {"status", "error"} for r in results)  # only what a shipper reads comes back
        search_client.request("POST", f"/{index}/_refresh")
        assert search_client.request("GET", f"/{index}/_count")["count"] == 2
    finally:
        search_client.request("DELETE", f"/{index}", ignore=(404,))


def test_bulk_create_gives_every_document_the_status_of_a_request_refused_whole(recorder: str) -> None:
    client = SearchClient(Target(url=recorder))  # answers GET only: a bulk POST gets HTTP 501
    results = client.bulk_create([("logs-x-default", {"a": 1}), ("logs-x-default", {"a": 2})])
    assert [r["status"] for r in results] == [501, 501]


def test_bulk_create_raises_when_nothing_answers() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = SearchClient(Target(url=f"http://127.0.0.1:{server.server_address[1]}"), request_timeout=5)
    server.shutdown()
    server.server_close()
    with pytest.raises(Exception) as raised:
        client.bulk_create([("logs-x-default", {"a": 1})])
    assert "ConnectionError" in type(raised.value).__name__


def test_only_an_error_status_the_cluster_answered_settles_a_bulk_request() -> None:
    from types import SimpleNamespace

    from intpkg.stack.client import _answered_status

    class Refused(Exception):
        status_code = 413  # opensearch-py TransportError

    class NoAnswer(Exception):
        status_code = "N/A"  # opensearch-py ConnectionError

    class Unsupported(Exception):
        meta = SimpleNamespace(status=200)  # elasticsearch UnsupportedProductError: not a refusal

    class ApiRefused(Exception):
        meta = SimpleNamespace(status=429)  # elasticsearch ApiError

    assert [_answered_status(e()) for e in (Refused, NoAnswer, Unsupported, ApiRefused, ValueError)] == \
        [413, None, None, 429, None]
