"""Every panel of every dashboard the package ships draws data from the bundled mock's logs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fixtures.mockdata import collect_mock_logs
from intpkg.dashboards.check import empty_panels
from intpkg.dashboards.filters import phrase_filter
from intpkg.dashboards.saved_objects import load_dashboards

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
RANGE = {"start": "now-60d", "end": "now"}


@pytest.fixture(scope="module")
def namespace(search_client, tmp_path_factory) -> str:
    return collect_mock_logs(search_client, tmp_path_factory.mktemp("agent"))


def test_the_package_ships_its_dashboards() -> None:
    titles = {d.title for d in load_dashboards(REPO)}
    assert {"[Cloudflare] Audit overview", "[Cloudflare] HTTP overview", "[Cloudflare] HTTP security"} <= titles


def test_no_panel_is_empty_on_the_mocks_data(search_client, namespace: str) -> None:
    only_ours = [phrase_filter("data_stream.namespace", namespace)]
    assert empty_panels(search_client, REPO, filters=only_ours, **RANGE) == []


def test_a_misspelled_field_names_its_dashboard_and_panel(search_client, namespace: str, tmp_path: Path) -> None:
    copy = tmp_path / "package"
    shutil.copytree(REPO / "kibana", copy / "kibana")
    dashboard = next(d for d in load_dashboards(REPO) if d.title == "[Cloudflare] Audit overview")
    text = dashboard.path.read_text()
    assert '"sourceField": "event.action"' in text
    (copy / "kibana" / "dashboard" / dashboard.path.name).write_text(
        text.replace('"sourceField": "event.action"', '"sourceField": "event.acton"'))
    problems = empty_panels(search_client, copy, filters=[phrase_filter("data_stream.namespace", namespace)], **RANGE)
    assert problems and all(p.startswith("[Cloudflare] Audit overview › ") for p in problems)
    assert all(p.split(" › ", 1)[1].split(": ", 1)[0] for p in problems)  # each names its panel


def test_benchmark_dashboards_reports_each_dashboard(search_client, namespace: str) -> None:
    from intpkg.benchmark.dashboards import run

    figures = {f.title: f.to_dict() for f in run(search_client, REPO, rounds=1, **RANGE)}
    assert set(figures) == {d.title for d in load_dashboards(REPO)}
    for figure in figures.values():
        assert figure["panels"] >= 10 and figure["empty_panels"] == [] and len(figure["rounds_ms"]) == 1
        assert figure["slowest_panel"] and figure["slowest_panel_median_ms"] <= figure["median_ms"]
