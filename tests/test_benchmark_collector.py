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
