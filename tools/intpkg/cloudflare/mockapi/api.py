"""The Cloudflare HandlerSet: the mock account built from `x-intpkg`, its handlers and the global rate limit.

`x-intpkg` keys: `accounts` and `zones` (32-hex id -> name/account/retention/bot_management),
`credentials` (see `auth.parse_credential`), `rate_limit` and `logpull_rate_limit` (`{quota, window}`),
named `datasets` (see `datasets.py`), `primary` (see `primary.py`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from intpkg.cloudflare import envelope
from intpkg.cloudflare.mockapi.auth import HEX32, identify, parse_credential
from intpkg.cloudflare.mockapi.datasets import DatasetError, DatasetFactory
from intpkg.cloudflare.mockapi.handlers import HANDLERS, ApiState
from intpkg.cloudflare.mockapi.primary import Primary, choose_primary
from intpkg.cloudflare.mockapi.ratelimit import RateLimiter
from intpkg.cloudflare.ratelimit import WINDOW_SECONDS
from intpkg.mock.config import ConfigError, MockConfig
from intpkg.mock.handlerset import Admission, ApiFactory, HandlerSet
from intpkg.mock.reply import Reply
from intpkg.mock.server import duration_seconds
from intpkg.mock.timeutil import NS, parse_rfc3339


class CloudflareApi(HandlerSet):
    """Cloudflare's endpoints over one mock account; `limiter` is the global (per credential) rate limit,
    `primary` the account, zone and token a client uses by default."""

    def __init__(self, state: ApiState, limiter: RateLimiter | None, primary: Primary) -> None:
        super().__init__({kind: functools.partial(handler, state) for kind, handler in HANDLERS.items()})
        self.state, self.limiter, self.primary = state, limiter, primary

    def admit(self, headers: dict[str, str], client: str) -> Admission:
        """Cloudflare's global rate limit: `Ratelimit` headers on every answer, 429 over the quota."""
        if self.limiter is None:
            return Admission()
        decision = self.limiter.check(identify(headers) or f"anonymous:{client}")
        admission = Admission(headers=self.limiter.headers(decision))
        if not decision.allowed:
            admission.note = "rate limited"
            admission.reply = envelope.error(
                429, envelope.RATE_LIMITED, f"More than {self.limiter.quota} requests per {int(self.limiter.window)} "
                "seconds reached. Please wait and consider throttling your request speed")
        return admission

    def fault_reply(self, status: int, message: str) -> Reply:
        return envelope.error(status, envelope.INJECTED_FAULT, message)


def api_factory(*, anchor: Any = None, rate_limit: Any = None, record_counts: dict[str, int] | None = None,
                scenarios: tuple[str, ...] = ()) -> ApiFactory:
    """An ApiFactory for `MockServer(api=...)`.

    `anchor`: the time relative dataset bounds are resolved from (datetime, epoch seconds or RFC 3339;
    default: the server's start). `rate_limit` overrides `x-intpkg.rate_limit`: False disables it, a
    mapping `{quota, window}` replaces it. `record_counts` resizes generated datasets by name (a
    benchmark's window of a chosen size).
    """
    def build(config: MockConfig, clock: Callable[[], float]) -> CloudflareApi:
        return CloudflareApi(*build_state(config, clock, anchor_ns(anchor, clock), rate_limit, record_counts,
                                          scenarios))
    return build


def anchor_ns(anchor: Any, clock: Callable[[], float]) -> int:
    if anchor is None:
        return int(clock()) * NS
    if isinstance(anchor, datetime):
        return int(anchor.timestamp()) * NS
    if isinstance(anchor, (int, float)):
        return int(anchor * NS)
    return parse_rfc3339(str(anchor))


def build_state(config: MockConfig, clock: Callable[[], float], anchor_ns: int, rate_limit: Any = None,
                record_counts: dict[str, int] | None = None,
                scenarios: tuple[str, ...] = ()) -> tuple[ApiState, RateLimiter | None, Primary]:
    """Validate `x-intpkg` and build the mock account (credentials, zones, datasets, limits, primary ids).

    `scenarios` adds each named story to the dataset it plays in (`x-intpkg.scenarios`: name ->
    {dataset: <the dataset it joins>, records: <a dataset spec of its own>}).
    """
    settings = dict(config.settings)
    for name in scenarios:
        spec = (settings.get("scenarios") or {}).get(name)
        if not isinstance(spec, dict) or spec.get("dataset") not in (settings.get("datasets") or {}):
            raise ConfigError(f"{config.path}: x-intpkg.scenarios has no scenario {name!r} joining a named dataset")
        named = dict(settings["datasets"])
        named[spec["dataset"]] = [named[spec["dataset"]], spec["records"]]
        settings["datasets"] = named
    if record_counts:
        named = dict(settings.get("datasets") or {})
        for name, count in record_counts.items():
            if not isinstance(named.get(name), dict) or "generator" not in named[name]:
                raise ConfigError(f"{config.path}: x-intpkg.datasets has no generated dataset {name!r} to resize")
            named[name] = {**named[name], "count": int(count)}
        settings["datasets"] = named
    if rate_limit is False:
        settings.pop("rate_limit", None)
    elif rate_limit is not None:
        settings["rate_limit"] = rate_limit

    def where(*keys: Any) -> str:
        return config.locate(("x-intpkg",) + keys)

    credentials = []
    for i, raw in enumerate(settings.get("credentials") or []):
        if not isinstance(raw, dict):
            raise ConfigError(f"{where('credentials', i)}: x-intpkg.credentials[{i}]: expected a mapping")
        try:
            credentials.append(parse_credential(raw, i))
        except ValueError as exc:
            raise ConfigError(f"{where('credentials', i)}: x-intpkg.credentials[{i}]: {exc}") from None
    for name in ("accounts", "zones", "datasets"):
        if not isinstance(settings.get(name) or {}, dict):
            raise ConfigError(f"{where(name)}: x-intpkg.{name}: expected a mapping keyed by id/name")
    for name in ("accounts", "zones"):
        for key, value in (settings.get(name) or {}).items():
            if not HEX32.match(str(key)) or not isinstance(value or {}, dict):
                raise ConfigError(f"{where(name, key)}: x-intpkg.{name}.{key}: expected a 32-hex id mapped to "
                                  "{name: ..., ...}")
    limiters = []
    for name in ("rate_limit", "logpull_rate_limit"):
        spec = settings.get(name)
        if spec is None:
            limiters.append(None)
            continue
        try:
            limiters.append(RateLimiter(int(spec["quota"]), duration_seconds(spec.get("window", WINDOW_SECONDS)),
                                        clock, block=bool(spec.get("block", name == "rate_limit"))))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where(name)}: x-intpkg.{name}: expected {{quota: N, window: seconds}} "
                              f"({exc})") from None
    primary = choose_primary(settings, credentials, where)
    factory = DatasetFactory(settings.get("datasets") or {}, anchor_ns, config.host_path, settings,
                             default_account=primary.account_id)
    state = ApiState(credentials, dict(settings.get("accounts") or {}), dict(settings.get("zones") or {}),
                     factory, logpull_limiter=limiters[1])
    for rule in config.rules:
        if rule.handler and rule.handler["kind"] in ("audit_v1", "audit_v2", "logpull"):
            try:
                factory.build(rule.handler.get("dataset"), rule.handler["kind"])
            except DatasetError as exc:
                raise ConfigError(f"{config.locate(('rules', rule.index, 'x-intpkg-handler', 'dataset'))}: "
                                  f"rules[{rule.index}].x-intpkg-handler.dataset: {exc}") from None
    return state, limiters[0], primary
