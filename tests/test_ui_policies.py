"""The add/edit form is generated from the manifests; policies are saved with their secrets apart."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from intpkg.agent.health import next_run, stream_health
from intpkg.agent.policy import PolicyError, plan_streams
from intpkg.package import Package
from intpkg.ui.forms import build_form, default_policy, field_name, policy_from_form
from intpkg.ui.store import PolicyStore

REPO = Path(__file__).resolve().parents[1]
ACCOUNT = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
TOKEN = "tok-0123456789abcdef0123456789abcdef"
AUDIT = ("inputs", "cloudflare-httpjson", "streams", "cloudflare.audit")
LOGPULL = ("inputs", "cloudflare-httpjson", "streams", "cloudflare.logpull")


def var(stream: tuple[str, ...], name: str) -> str:
    return field_name((*stream, "vars", name))


@pytest.fixture(scope="module")
def package() -> Package:
    return Package.load(REPO)


@pytest.fixture
def store(tmp_path: Path, package: Package) -> PolicyStore:
    return PolicyStore(tmp_path / "policies", package)


def form_data(**overrides: str) -> MultiDict:
    """What the browser submits for an audit-only policy with a token."""
    data = MultiDict({"name": "cloudflare-1", "namespace": "default",
                      field_name(("inputs", "cloudflare-httpjson", "enabled")): "true",
                      field_name((*AUDIT, "enabled")): "true",
                      var(AUDIT, "account_id"): ACCOUNT, var(AUDIT, "api_token"): TOKEN,
                      var(AUDIT, "api_version"): "v2", var(AUDIT, "interval"): "5m",
                      var(AUDIT, "initial_interval"): "720h", var(AUDIT, "lag"): "2m", var(AUDIT, "overlap"): "5m",
                      var(AUDIT, "page_size"): "1000", var(AUDIT, "http_client_timeout"): "60s",
                      var(AUDIT, "api_url"): "https://api.cloudflare.com"})
    data.setlist(var(AUDIT, "tags"), ["forwarded", "cloudflare-audit"])
    for key, value in overrides.items():
        data[key] = value
    return data


def test_form_follows_the_manifest(package: Package) -> None:
    form = build_form(package, default_policy(package, "cloudflare-1"))
    (httpjson,) = form.inputs
    audit = next(s for s in httpjson.streams if s.key == "cloudflare.audit")
    fields = {f.slot.name: f for f in audit.fields}
    # widgets by type
    assert fields["api_token"].widget == "password" and fields["api_token"].secret
    assert fields["api_version"].widget == "select" and fields["api_version"].value == "v2"
    assert [o["value"] for o in fields["api_version"].options] == ["v2", "v1"]
    assert fields["page_size"].widget == "number"
    assert fields["tags"].widget == "multi" and fields["tags"].value == ["forwarded", "cloudflare-audit"]
    assert fields["ssl"].widget == "yaml"
    assert fields["preserve_original_event"].widget == "switch"
    # the advanced-options rule: up front when show_user, or required without a default
    assert not fields["account_id"].advanced and not fields["api_token"].advanced
    assert fields["lag"].advanced and fields["page_size"].advanced and fields["api_url"].advanced
    # Optional tag: not required, and never on a switch
    assert fields["api_token"].optional and not fields["account_id"].optional
    assert not fields["preserve_original_event"].optional
    assert audit.required_groups == [("api_token", ["api_token"]), ("global_api_key", ["auth_email", "auth_key"])]


def test_a_submitted_form_is_the_policy_intpkg_run_reads(package: Package) -> None:
    body = policy_from_form(package, form_data())
    assert body["inputs"]["cloudflare-httpjson"]["streams"]["cloudflare.logpull"]["enabled"] is False
    (plan,) = plan_streams(package, body, env={})
    assert plan.dataset == "cloudflare.audit" and plan.instance == "cloudflare-1"
    assert plan.variables["api_token"] == TOKEN and plan.variables["page_size"] == 1000
    assert plan.variables["tags"] == ["forwarded", "cloudflare-audit"]


def test_problems_are_shown_next_to_their_field(package: Package, store: PolicyStore) -> None:
    data = form_data(**{var(AUDIT, "page_size"): "lots", var(AUDIT, "account_id"): "../zones", "namespace": "Prod",
                        var(AUDIT, "ssl"): "a: [b"})
    del data[var(AUDIT, "api_token")]
    body = policy_from_form(package, data)
    form = build_form(package, body, store.problems(body))
    audit = next(s for s in form.inputs[0].streams if s.key == "cloudflare.audit")
    fields = {f.slot.name: f for f in audit.fields}
    assert fields["page_size"].errors == ["'lots' is not an integer"]
    assert fields["account_id"].errors == ["'../zones' is not an id (letters, digits, - and _ only)"]
    assert fields["ssl"].errors and "not valid YAML" in fields["ssl"].errors[0]
    assert form.errors["namespace"] == ["'Prod' must be lower-case letters, digits and _"]
    assert audit.errors == ["one of these settings groups is required: api_token (api_token) or global_api_key "
                            "(auth_email + auth_key)"]
    assert audit.advanced_errors == 2  # page_size and ssl are advanced: the accordion shows the count
    # a disabled stream is not validated (as Fleet)
    data[field_name((*AUDIT, "enabled"))] = "false"
    data[field_name((*LOGPULL, "enabled"))] = "true"
    data[var(LOGPULL, "zone_id")] = ACCOUNT
    data[var(LOGPULL, "api_token")] = TOKEN
    body = policy_from_form(package, data)
    assert [p.path[-1] for p in store.problems(body)] == ["namespace"]


def test_secrets_are_stored_apart_and_never_in_the_policy(store: PolicyStore, package: Package) -> None:
    saved = store.create(policy_from_form(package, form_data()))
    ref = saved["inputs"]["cloudflare-httpjson"]["streams"]["cloudflare.audit"]["vars"]["api_token"]
    assert ref["isSecretRef"] is True and ref["id"]
    policy_file = store.folder / "policies" / f"{saved['id']}.json"
    assert TOKEN not in policy_file.read_text()
    secrets_file = store.folder / "secrets.json"
    assert json.loads(secrets_file.read_text()) == {ref["id"]: TOKEN}
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    # the collector gets the value through its environment, the policy file only a reference to it
    runnable, env = store.for_agent(saved)
    token_ref = runnable["inputs"]["cloudflare-httpjson"]["streams"]["cloudflare.audit"]["vars"]["api_token"]
    assert token_ref == "${env:UI_SECRET_" + ref["id"] + "}" and env == {"UI_SECRET_" + ref["id"]: TOKEN}
    (plan,) = plan_streams(package, runnable, env=env)
    assert plan.variables["api_token"] == TOKEN


def test_edit_keeps_or_replaces_a_secret_and_forgets_the_old_one(store: PolicyStore, package: Package) -> None:
    from intpkg.ui.service import keep_unsent_secrets

    saved = store.create(policy_from_form(package, form_data()))
    old_id = saved["inputs"]["cloudflare-httpjson"]["streams"]["cloudflare.audit"]["vars"]["api_token"]["id"]
    # the edit form leaves the secret's field disabled (not sent) unless "Replace" was clicked
    unsent = form_data(name="renamed")
    del unsent[var(AUDIT, "api_token")]
    body = keep_unsent_secrets(policy_from_form(package, unsent), saved, store)
    assert store.problems(body, policy_id=saved["id"]) == []
    kept = store.update(saved["id"], body)
    assert kept["inputs"]["cloudflare-httpjson"]["streams"]["cloudflare.audit"]["vars"]["api_token"]["id"] == old_id
    assert kept["name"] == "renamed" and kept["revision"] == 2
    # Replace: a new value gets a new secret, and the old one is deleted
    replaced = store.update(saved["id"], policy_from_form(package, form_data(**{var(AUDIT, "api_token"): TOKEN[::-1]})))
    new_id = replaced["inputs"]["cloudflare-httpjson"]["streams"]["cloudflare.audit"]["vars"]["api_token"]["id"]
    assert new_id != old_id
    assert json.loads((store.folder / "secrets.json").read_text()) == {new_id: TOKEN[::-1]}
    store.delete(saved["id"])
    assert json.loads((store.folder / "secrets.json").read_text()) == {}


def test_a_policy_cannot_borrow_another_policys_secret(store: PolicyStore, package: Package) -> None:
    first = store.create(policy_from_form(package, form_data()))
    stolen = policy_from_form(package, form_data(name="second"))
    stolen["inputs"]["cloudflare-httpjson"]["streams"]["cloudflare.audit"]["vars"]["api_token"] = \
        first["inputs"]["cloudflare-httpjson"]["streams"]["cloudflare.audit"]["vars"]["api_token"]
    with pytest.raises(PolicyError, match="secret reference"):
        store.create(stolen)


def test_names_are_unique(store: PolicyStore, package: Package) -> None:
    store.create(policy_from_form(package, form_data()))
    problems = store.problems(policy_from_form(package, form_data()))
    assert [(p.path, p.message) for p in problems] == [(("name",), "another integration policy is named "
                                                                   "'cloudflare-1'")]


@pytest.mark.parametrize(("entry", "running", "state"), [
    (None, False, "stopped"),
    ({"intervals": 0, "state": "running"}, True, "starting"),
    ({"intervals": 1, "state": "ok", "last_ok": 10.0, "last_error": None}, True, "healthy"),
    ({"intervals": 2, "state": "error", "last_error": "HTTP 403"}, True, "failed"),
    ({"intervals": 2, "state": "error", "last_ok": 10.0, "last_error": "HTTP 429"}, True, "degraded"),
    ({"intervals": 2, "state": "running", "last_ok": 10.0, "last_error": None, "last_rejected": 3}, True, "degraded"),
])
def test_stream_health(entry, running: bool, state: str) -> None:
    assert stream_health(entry, running=running).state == state


def test_next_run() -> None:
    assert next_run({"last_run_started": 100.0, "interval_seconds": 60.0}) == 160.0
    assert next_run({}) is None


def test_a_secret_typed_into_a_form_sent_back_must_be_entered_again(package: Package, store: PolicyStore) -> None:
    body = policy_from_form(package, form_data(**{var(AUDIT, "page_size"): "lots"}))
    form = build_form(package, body, store.problems(body))
    token = next(f for f in form.inputs[0].streams[0].fields if f.slot.name == "api_token")
    assert token.value == "" and not token.secret_saved and token.secret_retype  # not "saved": nothing was stored
    saved = store.create(policy_from_form(package, form_data()))
    token = next(f for f in build_form(package, saved).inputs[0].streams[0].fields if f.slot.name == "api_token")
    assert token.value == "" and token.secret_saved and not token.secret_retype
