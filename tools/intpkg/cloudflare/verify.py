"""Check Cloudflare credentials and permissions before collecting (reference §2, §3, §7.7).

1. The credential: an API token is verified on `/accounts/{id}/tokens/verify` (account-owned tokens)
   and `/user/tokens/verify` (user-owned); it is invalid only if both refuse it. The global API key
   has no verify endpoint and is deprecated: it is checked by the probes alone, with a warning.
2. One minimal real request per data set: audit logs v2 and v1 on the account, and for each zone the
   Logpull field list and its log-retention flag.

Every finding is a plain sentence naming the permission or id at fault; secrets are never shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import requests

from intpkg.cloudflare import envelope, ratelimit
from intpkg.input.session import CredentialSafeSession
from intpkg.redact import Redactor

if TYPE_CHECKING:
    from intpkg.agent.policy import StreamPlan

DEFAULT_API_URL = "https://api.cloudflare.com"

PERMISSION = {
    "audit_v2": "Account › Account Settings: Read",
    "audit_v1": "Account › Account Settings: Read",
    "logpull": "Zone › Logs: Read",
}


@dataclass
class Credentials:
    token: str | None = None
    email: str | None = None
    key: str | None = None

    def headers(self) -> dict[str, str]:
        if self.token:
            return {"Authorization": f"Bearer {self.token.strip()}"}
        return {"X-Auth-Email": (self.email or "").strip(), "X-Auth-Key": (self.key or "").strip()}

    @property
    def kind(self) -> str:
        return "an API token" if self.token else "the global API key"

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Credentials | None:
        if env.get("CLOUDFLARE_API_TOKEN"):
            return cls(token=env["CLOUDFLARE_API_TOKEN"])
        if env.get("CLOUDFLARE_EMAIL") and env.get("CLOUDFLARE_API_KEY"):
            return cls(email=env["CLOUDFLARE_EMAIL"], key=env["CLOUDFLARE_API_KEY"])
        return None


@dataclass
class Finding:
    ok: bool
    check: str
    message: str


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)

    def add(self, ok: bool, check: str, message: str) -> None:
        self.findings.append(Finding(ok, check, message))


@dataclass
class Check:
    """What to verify for one stream of a policy: with which credential, where, for which ids."""

    credentials: Credentials
    api_url: str
    account_id: str | None
    zone_ids: list[str]
    streams: set[str]

    @classmethod
    def for_plan(cls, plan: StreamPlan, api_url: str | None = None) -> Check:
        """The check of one planned stream (audit logs v1/v2 on its account, or Logpull on its zone)."""
        v = plan.variables
        creds = Credentials(token=v.get("api_token") or None, email=v.get("auth_email") or None,
                            key=v.get("auth_key") or None)
        zones = v.get("zone_id") or []
        zones = zones if isinstance(zones, list) else [zones]
        stream = "logpull" if plan.data_stream == "logpull" else f"audit_{v.get('api_version', 'v2')}"
        return cls(creds, api_url or v.get("api_url") or DEFAULT_API_URL, v.get("account_id") or None,
                   [str(z) for z in zones], {stream})

    @property
    def has_credentials(self) -> bool:
        return bool(self.credentials.token or (self.credentials.email and self.credentials.key))

    def run(self, *, timeout: float = 30.0) -> Report:
        return Verifier(self.api_url, self.credentials, timeout=timeout).verify(
            account_id=self.account_id, zone_ids=self.zone_ids, streams=self.streams)


class Verifier:
    def __init__(self, api_url: str, credentials: Credentials, *, timeout: float = 30.0,
                 session: requests.Session | None = None) -> None:
        self.base = api_url.rstrip("/") + "/client/v4"
        self.credentials = credentials
        self.timeout = timeout
        self.session = session or CredentialSafeSession()  # credentials never follow a cross-host redirect

    def _get(self, path: str, params: dict[str, Any] | None = None) -> tuple[int, Any]:
        try:
            resp = self.session.get(self.base + path, params=params, headers=self.credentials.headers(),
                                    timeout=self.timeout)
        except requests.RequestException as exc:
            return 0, {"errors": [{"code": 0, "message": f"cannot reach {self.base}: {exc.__class__.__name__}"}]}
        try:
            return resp.status_code, resp.json()
        except ValueError:
            return resp.status_code, {"errors": [{"code": 0, "message": resp.text[:200]}]}

    def verify(self, *, account_id: str | None, zone_ids: list[str], streams: set[str]) -> Report:
        """Every check's finding; texts the API sent back are masked (it may echo the credential)."""
        report = self._verify(account_id=account_id, zone_ids=zone_ids, streams=streams)
        redactor = Redactor([v for v in (self.credentials.token, self.credentials.key, self.credentials.email) if v])
        for finding in report.findings:
            finding.message = redactor.text(finding.message)
        report.warnings = [redactor.text(w) for w in report.warnings]
        return report

    def _verify(self, *, account_id: str | None, zone_ids: list[str], streams: set[str]) -> Report:
        report = Report()
        if self.credentials.token:
            self._verify_token(report, account_id)
        else:
            report.warnings.append("The global API key is deprecated by Cloudflare (the previous authorization "
                                   "scheme, with every right of the user): create an API token instead.")
        if account_id and {"audit_v1", "audit_v2"} & streams:
            now = datetime.now(UTC).replace(microsecond=0)
            if "audit_v2" in streams:
                self._probe(report, "audit_v2", "Audit logs v2", f"/accounts/{account_id}/logs/audit",
                            {"since": _iso(now - timedelta(hours=1)), "before": _iso(now - timedelta(minutes=2)),
                             "limit": 1}, account_id=account_id)
            if "audit_v1" in streams:
                self._probe(report, "audit_v1", "Audit logs v1", f"/accounts/{account_id}/audit_logs",
                            {"per_page": 1}, account_id=account_id)
        if "logpull" in streams:
            for zone in zone_ids:
                if self._probe(report, "logpull", f"Logpull for zone {zone}", f"/zones/{zone}/logs/received/fields",
                               None, zone_id=zone):
                    self._retention(report, zone)
        return report

    def _verify_token(self, report: Report, account_id: str | None) -> None:
        paths = ([f"/accounts/{account_id}/tokens/verify"] if account_id else []) + ["/user/tokens/verify"]
        refusals = []
        for path in paths:
            status, body = self._get(path)
            if status == 0:
                message = envelope.describe(status, body).removeprefix("HTTP 0, code 0: ")
                report.add(False, "token", message[0].upper() + message[1:])
                return
            result = (body or {}).get("result") or {}
            if status == 200 and body.get("success"):
                state = result.get("status", "unknown")
                owner = "account-owned" if path.startswith("/accounts") else "user-owned"
                expiry = f", expires {result['expires_on']}" if result.get("expires_on") else ""
                report.add(state == "active", "token",
                           f"API token is {state} ({owner}{expiry})" if state == "active" else
                           f"API token is {state}: Cloudflare will refuse it; create or enable a token")
                return
            refusals.append(envelope.describe(status, body))
        report.add(False, "token", "Cloudflare does not accept the API token (" + "; ".join(refusals) + "). Check that "
                   "the whole token was copied, and that it is not expired or revoked.")

    def _probe(self, report: Report, stream: str, title: str, path: str, params: dict[str, Any] | None, *,
               account_id: str | None = None, zone_id: str | None = None) -> bool:
        status, body = self._get(path, params)
        if status == 0:
            report.add(False, stream, f"{title}: {envelope.describe(status, body).removeprefix('HTTP 0, code 0: ')}")
            return False
        if status == 200 and (stream == "logpull" or (body or {}).get("success")):
            report.add(True, stream, f"{title}: readable")
            return True
        codes = envelope.error_codes(body)
        what = f"account {account_id}" if account_id else f"zone {zone_id}"
        if codes & envelope.UNKNOWN_ID or status == 404:
            message = (f"{title}: Cloudflare does not know {what} ({envelope.describe(status, body)}); check the id "
                       "(32 hexadecimal characters).")
        elif status == 401 or codes & envelope.REFUSED_CREDENTIAL:
            credential = self.credentials.kind.split(" ", 1)[1]
            message = f"{title}: Cloudflare refuses the {credential} ({envelope.describe(status, body)})."
        elif status == 403 or codes & envelope.NOT_PERMITTED:
            message = (f"{title}: missing permission {PERMISSION[stream]} on {what}, or the credential is not "
                       f"for that {'account' if account_id else 'zone'} ({envelope.describe(status, body)}).")
            if stream == "logpull":
                message += " Logpull also needs the Enterprise plan."
        elif status == 429:
            message = (f"{title}: rate limited by Cloudflare ({envelope.describe(status, body)}); "
                       f"try again in {ratelimit.WINDOW_SECONDS // 60} minutes.")
        else:
            message = f"{title}: unexpected answer ({envelope.describe(status, body)})."
        report.add(False, stream, message)
        return False

    def _retention(self, report: Report, zone: str) -> None:
        status, body = self._get(f"/zones/{zone}/logs/control/retention/flag")
        flag = ((body or {}).get("result") or {}).get("flag") if status == 200 else None
        if flag is True:
            report.add(True, "logpull", f"Logpull for zone {zone}: log retention is on")
        elif flag is False:
            report.add(False, "logpull", f"Logpull for zone {zone}: log retention is off, so Cloudflare keeps no logs "
                       "to pull. Turn it on (POST /zones/{zone}/logs/control/retention/flag {\"flag\": true}, "
                       "needs a Super Administrator, Administrator or Log Share role).")
        else:
            report.warnings.append(f"Logpull for zone {zone}: could not read the log retention flag "
                                   f"({envelope.describe(status, body)}).")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
