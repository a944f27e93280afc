"""`intpkg benchmark collector` measures what it claims: every run lands every record (small dataset)."""

from __future__ import annotations

from pathlib import Path

import pytest

from intpkg.benchmark.collector import run

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("api_version", ["v1", "v2"])
def test_every_run_indexes_the_whole_dataset(search_client, api_version) -> None:
    result = run(search_client, REPO, api_version=api_version, page_size=500, rounds=1,
                 dataset=f"audit_{api_version}_main")
    data = result.to_dict()
    assert data["events"] == 2500  # run() raises if any namespace did not get exactly the dataset
    for key in ("collector_eps", "interval_eps", "direct_eps", "fetch_bulk_eps"):
        assert len(data[key]) == 1 and data[key][0] > 0
    assert data["interval_eps"][0] >= data["collector_eps"][0]  # the interval excludes start-up
    assert 20 < data["agent_peak_rss_mb"] < 2000
    assert set(data["overhead_percent"]) == {"process_vs_direct", "interval_vs_direct", "process_vs_fetch_bulk",
                                             "interval_vs_fetch_bulk"}


def test_a_logpull_window_lands_whole_in_every_run(search_client) -> None:
    result = run(search_client, REPO, data_stream="logpull", rounds=1, records=3000)
    data = result.to_dict()
    assert data["events"] == 3000  # run() raises if any namespace did not get exactly the window
    assert all(len(data[key]) == 1 and data[key][0] > 0
               for key in ("collector_eps", "interval_eps", "direct_eps", "fetch_bulk_eps"))
    assert 3 < data["body_mb"] < 8  # ~1.85 kB per line
    only = run(search_client, REPO, data_stream="logpull", rounds=1, records=2000, baselines=False).to_dict()
    assert only["events"] == 2000 and only["direct_eps"] == [] and only["overhead_percent"]["process_vs_direct"] is None
