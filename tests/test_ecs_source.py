"""The ECS reference provisioned for the package's ECS version (intpkg.fields.ecs_source)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from intpkg.errors import IntpkgError
from intpkg.fields import load_ecs
from intpkg.fields.ecs_source import (
    SOURCE_FILE,
    choose_npm_version,
    ecs_reference_dir,
    package_ecs_version,
)
from intpkg.settings import ECS_REPOSITORY_ENV

REPO = Path(__file__).resolve().parents[1]
SMALL_REFERENCE = b"""\
'@timestamp':
  flat_name: '@timestamp'
  type: date
event.kind:
  flat_name: event.kind
  type: keyword
"""


@pytest.fixture
def repository(monkeypatch, tmp_path):
    """A local stand-in for the ECS repository's raw files, serving v9.9.9 only."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            requests.append(self.path)
            if self.path == "/v9.9.9/generated/ecs/ecs_flat.yml":
                self.send_response(200)
                self.send_header("Content-Length", str(len(SMALL_REFERENCE)))
                self.end_headers()
                self.wfile.write(SMALL_REFERENCE)
            else:
                self.send_error(404)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv(ECS_REPOSITORY_ENV, f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("INTPKG_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("INTPKG_ECS_DIR", raising=False)
    yield requests
    server.shutdown()


@pytest.mark.parametrize(("wanted", "published", "chosen"), [
    ("8.17.0", ["8.11.1", "8.17.0", "9.0.0"], "8.17.0"),  # exact
    ("8.17.0", ["8.11.1", "8.11.5", "9.0.0", "9.3.0"], "9.0.0"),  # the oldest newer release
    ("9.9.0", ["8.11.5", "9.4.0", "9.5.0-rc1"], "9.4.0"),  # else the newest; pre-releases never
])
def test_npm_version_choice(wanted, published, chosen) -> None:
    assert choose_npm_version(wanted, published) == chosen


def test_the_package_names_its_ecs_version() -> None:
    assert package_ecs_version(REPO) == "8.17.0"


def test_a_package_without_a_version_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(IntpkgError, match=r"_dev/build/build.yml does not exist.*INTPKG_ECS_DIR"):
        package_ecs_version(tmp_path)
    (tmp_path / "_dev" / "build").mkdir(parents=True)
    (tmp_path / "_dev" / "build" / "build.yml").write_text("dependencies:\n  ecs:\n    reference: main\n")
    with pytest.raises(IntpkgError, match=r"build.yml: dependencies.ecs.reference is 'main'; expected git@v"):
        package_ecs_version(tmp_path)


def test_the_repository_copy_is_fetched_once_and_records_its_source(repository) -> None:
    folder = ecs_reference_dir("9.9.9")
    assert (folder / "ecs_flat.yml").read_bytes() == SMALL_REFERENCE
    assert "ECS 9.9.9 from http://127.0.0.1:" in (folder / SOURCE_FILE).read_text()
    assert ecs_reference_dir("9.9.9") == folder and len(repository) == 1


def test_without_repository_or_npm_the_error_names_both_and_the_setting(repository, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))  # no npm, no node
    with pytest.raises(IntpkgError) as err:
        ecs_reference_dir("1.2.3")
    text = str(err.value)
    assert "From the ECS repository: " in text and "HTTP 404" in text
    assert "npm and node are needed" in text and "INTPKG_ECS_DIR" in text
    assert not (tmp_path / "home" / "cache" / "ecs-reference" / "1.2.3").exists()


def test_the_session_reference_is_the_packages_version_and_says_where_it_came_from(ecs) -> None:
    assert "event.category" in ecs and ecs.allowed_values("event.kind")
    if ecs.source.startswith("ECS "):  # provisioned, not INTPKG_ECS_DIR
        assert "8.17.0" in ecs.source


def test_load_ecs_without_folder_provisions_for_the_package(repository, tmp_path) -> None:
    package = tmp_path / "pkg"
    (package / "_dev" / "build").mkdir(parents=True)
    (package / "_dev" / "build" / "build.yml").write_text("dependencies:\n  ecs:\n    reference: git@v9.9.9\n")
    reference = load_ecs(package_dir=package)
    assert set(reference.fields) == {"@timestamp", "event.kind"}
    assert reference.source.startswith("ECS 9.9.9 from ")
