"""Package policies are validated against the manifests; templates render as Fleet renders them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from intpkg.agent.policy import PolicyError, plan_streams
from intpkg.agent.render import render_template
from intpkg.errors import IntpkgError
from intpkg.package import Package

REPO = Path(__file__).resolve().parents[1]
ACCOUNT = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"


def policy(**stream_vars) -> dict:
    return {"namespace": "default", "inputs": {"cloudflare-httpjson": {"streams": {
        "cloudflare.audit": {"vars": {"account_id": ACCOUNT, **stream_vars}}}}}}


@pytest.fixture(scope="module")
def package() -> Package:
    return Package.load(REPO)


def test_defaults_and_env_secrets(package: Package) -> None:
    (plan,) = plan_streams(package, policy(api_token="${env:CF_TOKEN}"), env={"CF_TOKEN": " tok-123456 \n"})
    assert plan.dataset == "cloudflare.audit" and plan.index == "logs-cloudflare.audit-default"
    assert plan.variables["api_token"] == "tok-123456"  # secrets are trimmed
    assert plan.variables["api_version"] == "v2"  # the manifest default
    assert plan.secret_values == ["tok-123456"]
    assert plan.template_path.is_file()


def test_every_problem_is_named(package: Package) -> None:
    bad = policy(api_token="${env:MISSING_TOKEN}", api_version="v3", page_size="many", nonsense=1)
    bad["inputs"]["cloudflare-httpjson"]["streams"]["cloudflare.audit"]["vars"].pop("account_id")
    bad["inputs"]["cloudflare-httpjson"]["streams"]["cloudflare.nope"] = {}
    with pytest.raises(PolicyError) as err:
        plan_streams(package, bad, env={})
    message = str(err.value)
    where = "inputs.cloudflare-httpjson.streams.cloudflare.audit.vars"
    assert f"{where}.api_token: environment variable MISSING_TOKEN is not set" in message
    assert f"{where}.api_version: 'v3' is not one of v2, v1" in message
    assert f"{where}.page_size: 'many' is not an integer" in message
    assert f"{where}.nonsense: unknown variable" in message
    assert f"{where}.account_id: required" in message
    assert "inputs.cloudflare-httpjson.streams.cloudflare.nope: no such data stream" in message


def test_unknown_input_and_nothing_enabled(package: Package) -> None:
    with pytest.raises(PolicyError, match="inputs.cloudflare-cel: no such input"):
        plan_streams(package, {"inputs": {"cloudflare-cel": {}}}, env={})
    off = policy()
    off["inputs"]["cloudflare-httpjson"]["streams"]["cloudflare.audit"]["enabled"] = False
    with pytest.raises(PolicyError, match="enables no stream"):
        plan_streams(package, off, env={})


def test_render_with_fleet_helpers_and_yaml_vars() -> None:
    source = (
        "token: {{escape_string token}}\n"
        "url: {{api_url}}/x?name={{url_encode name}}\n"
        "{{#contains \"forwarded\" tags}}publisher_pipeline.disable_host: true\n{{/contains}}"
        "tags:\n{{#each tags as |tag|}}  - {{tag}}\n{{/each}}"
        "{{#if processors}}processors:\n{{processors}}\n{{/if}}"
        "{{#if ssl}}request.ssl: {{ssl}}\n{{/if}}"
        "body: {{to_json body}}\n"
    )
    doc = render_template(source, {
        "token": "it's: #not a comment", "api_url": "http://127.0.0.1:1", "name": "a b'(c)",
        "tags": ["forwarded", "cf"], "processors": "- add_fields:\n    target: x\n    fields: {a: 1}",
        "ssl": "verification_mode: none", "body": {"k": [1, "<&>"]},
    }, yaml_vars={"processors", "ssl"})
    assert doc["token"] == "it's: #not a comment"
    assert doc["url"] == "http://127.0.0.1:1/x?name=a%20b%27%28c%29"
    assert doc["publisher_pipeline.disable_host"] is True
    assert doc["tags"] == ["forwarded", "cf"]
    assert doc["processors"] == [{"add_fields": {"target": "x", "fields": {"a": 1}}}]
    assert doc["request.ssl"] == {"verification_mode": "none"}
    assert doc["body"] == {"k": [1, "<&>"]}  # noEscape: no HTML entities


def test_render_errors_name_the_template() -> None:
    with pytest.raises(IntpkgError, match=r"t.yml.hbs: the rendered template is not valid YAML"):
        render_template("a: [\n", {}, name="t.yml.hbs")
    with pytest.raises(IntpkgError, match=r"t.yml.hbs: variable 'processors' is not valid YAML"):
        render_template("a: 1\n", {"processors": "- [unclosed"}, yaml_vars={"processors"}, name="t.yml.hbs")


def test_the_audit_template_renders_for_both_api_versions(package: Package) -> None:
    for version in ("v1", "v2"):
        (plan,) = plan_streams(package, policy(api_token="tok-123456", api_version=version), env={})
        doc = render_template(plan.template_path.read_text(), plan.variables, yaml_vars=plan.yaml_vars)
        rendered = yaml.safe_dump(doc)
        assert ("/audit_logs" in rendered) == (version == "v1")
        assert ("/logs/audit" in rendered) == (version == "v2")
        assert "Bearer tok-123456" in rendered and "X-Auth-Key" not in rendered


def test_fan_out_runs_a_stream_per_value_with_its_own_cursor(tmp_path: Path) -> None:
    from intpkg.agent.policy import StreamPlan, fan_out

    template = tmp_path / "stream.yml.hbs"
    template.write_text("{{!-- intpkg:fan-out zone_id --}}\nrequest.url: https://x/zones/{{zone_id}}/logs\n")
    plan = StreamPlan(policy_template="p", input_type="httpjson", data_stream="logpull", dataset="cf.logpull",
                      ds_type="logs", namespace="default", template_path=template,
                      variables={"zone_id": ["z1", "z2", "z1"], "other": 1})
    plans = fan_out(plan)
    assert [p.variables["zone_id"] for p in plans] == ["z1", "z2"]
    assert [p.stream_id for p in plans] == ["httpjson-cf.logpull-default-z1", "httpjson-cf.logpull-default-z2"]
    assert all(p.index == "logs-cf.logpull-default" for p in plans)
    rendered = [render_template(template.read_text(), p.variables) for p in plans]
    assert [r["request.url"] for r in rendered] == ["https://x/zones/z1/logs", "https://x/zones/z2/logs"]
    template.write_text("request.url: https://x/\n")
    assert fan_out(plan) == [plan]  # no directive: Fleet's behaviour, one stream


def test_missing_credentials_are_refused_naming_both_options(package: Package, tmp_path: Path) -> None:
    from intpkg.agent.runner import Agent

    plans = plan_streams(package, policy(), env={})
    with pytest.raises(IntpkgError) as err:
        Agent(plans, client=None, state_dir=tmp_path)
    assert "api_token" in str(err.value) and "auth_email" in str(err.value) and "auth_key" in str(err.value)
    half = plan_streams(package, policy(auth_email="ops@example.com"), env={})
    with pytest.raises(IntpkgError, match="Auth Email is set without Auth Key"):
        Agent(half, client=None, state_dir=tmp_path)


def test_renders_share_the_compiled_template_but_no_values_and_write_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from intpkg.handlebars import engine

    engine()  # loaded from the session's cache before INTPKG_HOME moves
    monkeypatch.setenv("INTPKG_HOME", str(tmp_path))
    source = "a: {{escape_string tok}}\n{{#each tags as |t|}}{{#contains t \"x\"}}hit: {{t}}\n{{/contains}}{{/each}}"
    assert render_template(source, {"tok": "it's", "tags": ["y", "x"]}) == {"a": "it's", "hit": "x"}
    assert render_template(source, {"tok": "b", "tags": []}) == {"a": "b"}
    assert list(tmp_path.iterdir()) == []  # no disk cache of compiled templates any more


def test_a_template_handlebars_refuses_is_named_with_handlebars_reason() -> None:
    with pytest.raises(IntpkgError, match=r"^t.yml.hbs: Handlebars rendering failed: #if requires exactly one arg"):
        render_template("{{#if}}x{{/if}}", {}, name="t.yml.hbs")
    with pytest.raises(IntpkgError, match=r"^t.yml.hbs: Handlebars rendering failed: Parse error on line 1"):
        render_template("a: {{x", {}, name="t.yml.hbs")


def test_a_broken_policy_file_is_named_with_its_line(tmp_path: Path) -> None:
    from intpkg.agent.policy import load_policy_file

    broken = tmp_path / "policy.yml"
    broken.write_text("namespace: default\ninputs: [\n")
    with pytest.raises(IntpkgError, match=rf"{broken}:3:1: invalid YAML"):
        load_policy_file(broken)
    broken.write_text("- a list\n")
    with pytest.raises(PolicyError, match="a policy is a YAML or JSON mapping"):
        load_policy_file(broken)
    broken.write_text("namespace: default\n")
    with pytest.raises(PolicyError, match="a policy needs an `inputs` mapping"):
        load_policy_file(broken)


@pytest.mark.parametrize(("value", "message"), [
    ("x/../../user", "is not an id"),
    ("0a1b2c3d4e5f60718293a4b5c6d7e8f9?per_page=1", "is not an id"),
    ("0a1b 2c3d", "is not an id"),
])
def test_ids_that_would_change_the_api_path_are_refused(value, message) -> None:
    repo = Path(__file__).resolve().parents[1]
    policy = {"inputs": {"cloudflare-httpjson": {"streams": {"cloudflare.audit": {"vars": {
        "account_id": value, "api_token": "a-plausible-token-0123456789"}}}}}}
    with pytest.raises(PolicyError, match=rf"account_id(\[0\])?: .* {message}"):
        plan_streams(Package.load(repo), policy, env={})


def test_an_implausibly_short_credential_is_refused_before_it_could_leak_unmasked() -> None:
    repo = Path(__file__).resolve().parents[1]
    policy = {"inputs": {"cloudflare-httpjson": {"streams": {"cloudflare.audit": {"vars": {
        "account_id": "0a1b2c3d4e5f60718293a4b5c6d7e8f9", "api_token": "x"}}}}}}
    with pytest.raises(PolicyError, match="api_token: a credential of 1 character"):
        plan_streams(Package.load(repo), policy, env={})


def test_several_accounts_fan_out_with_one_cursor_each() -> None:
    repo = Path(__file__).resolve().parents[1]
    accounts = ["0a1b2c3d4e5f60718293a4b5c6d7e8f9", "3d4e5f60718293a4b5c6d7e8f90a1b2c"]
    policy = {"inputs": {"cloudflare-httpjson": {"streams": {"cloudflare.audit": {"vars": {
        "account_id": accounts, "api_token": "a-plausible-token-0123456789"}}}}}}
    plans = plan_streams(Package.load(repo), policy, env={})
    assert [p.variables["account_id"] for p in plans] == accounts
    assert len({p.stream_id for p in plans}) == 2  # separate cursors and status entries
    doc = render_template(plans[0].template_path.read_text(), plans[0].variables, yaml_vars=plans[0].yaml_vars,
                          name="httpjson.yml.hbs")
    assert "config_error" not in doc and f"/accounts/{accounts[0]}/logs/audit" in doc["request.url"]
    fleet = render_template(plans[0].template_path.read_text(), {**plans[0].variables, "account_id": accounts},
                            yaml_vars=plans[0].yaml_vars, name="httpjson.yml.hbs")
    assert "Several Account IDs in one stream" in fleet["config_error"]  # what Fleet would render
