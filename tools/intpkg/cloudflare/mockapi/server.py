"""`CloudflareMock`: the generic mock server with Cloudflare's HandlerSet registered; the Python API of tests."""

from __future__ import annotations

from typing import Any

from intpkg.cloudflare.mockapi.api import CloudflareApi, api_factory
from intpkg.cloudflare.mockapi.datasets import Dataset
from intpkg.mock.config import MockConfig
from intpkg.mock.server import MockServer


class CloudflareMock(MockServer):
    """A running mock Cloudflare API; `base_url` is the package's `api_url`.

    Besides `MockServer`'s options: `anchor` (time that relative dataset bounds are resolved from;
    default: start time), `rate_limit` (False or `{quota, window}` to override the config) and
    `record_counts` (generated datasets resized by name) and `scenarios` (scripted stories added to the
    data, e.g. ("incident",): see `scenarios.py`).
    """

    api: CloudflareApi

    def __init__(self, config: MockConfig, *, anchor: Any = None, rate_limit: Any = None,
                 record_counts: dict[str, int] | None = None, scenarios: tuple[str, ...] = (),
                 **options: Any) -> None:
        super().__init__(config, api=api_factory(anchor=anchor, rate_limit=rate_limit, record_counts=record_counts,
                                                 scenarios=tuple(scenarios)), **options)

    @property
    def account_id(self) -> str | None:
        """The primary account (see `primary.py`): the one clients collect from by default."""
        return self.api.primary.account_id

    @property
    def zone_id(self) -> str | None:
        """The primary zone (Logpull)."""
        return self.api.primary.zone_id

    @property
    def token(self) -> str | None:
        """The primary API token, a test credential of the config (not a secret)."""
        return self.api.primary.token

    def dataset_account(self, name: str) -> str:
        """The account whose records the named generator dataset holds."""
        spec = self.api.state.datasets.named[name]
        return self.api.state.datasets.context(spec if isinstance(spec, dict) else {})["account"]

    def dataset(self, name: str, kind: str | None = None) -> Dataset:
        """A named dataset of `x-intpkg.datasets` (the ground truth handlers serve)."""
        named = self.api.state.datasets.named
        if name not in named:
            raise KeyError(f"no dataset named {name!r} (have: {', '.join(named) or 'none'})")
        spec = named[name]
        kind = kind or (spec.get("generator") if isinstance(spec, dict) else None)
        if kind is None:
            raise ValueError(f"dataset {name!r}: give kind= (audit_v1, audit_v2 or logpull)")
        return self.api.state.datasets.build(name, kind)
