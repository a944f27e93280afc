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


def test_policies_with_names_keep_separate_cursors_in_one_index(package: Package) -> None:
    other = "3d4e5f60718293a4b5c6d7e8f90a1b2c"
    plans = [plan for name, account in (("acme", ACCOUNT), ("acme-eu", other))
             for plan in plan_streams(package, {**policy(account_id=account, api_token="tok-123456"), "name": name},
                                      env={})]
    assert [p.stream_id for p in plans] == ["httpjson-cloudflare.audit-default-acme",
                                            "httpjson-cloudflare.audit-default-acme-eu"]
    assert {p.index for p in plans} == {"logs-cloudflare.audit-default"}
    assert [p.variables["account_id"] for p in plans] == [ACCOUNT, other]
    (unnamed,) = plan_streams(package, policy(api_token="tok-123456"), env={})
    assert unnamed.stream_id == "httpjson-cloudflare.audit-default"


@pytest.mark.parametrize("credentials", [{}, {"auth_email": "ops@example.com"}, {"auth_key": "k" * 37}])
def test_missing_credentials_are_refused_naming_both_groups(package: Package, credentials) -> None:
    with pytest.raises(PolicyError, match=r"cloudflare.audit.vars: one of these settings groups is required: "
                       r"api_token \(api_token\) or global_api_key \(auth_email \+ auth_key\)"):
        plan_streams(package, policy(**credentials), env={})


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


def test_a_broken_policy_file_is_named_with_its_line(package: Package, tmp_path: Path) -> None:
    from intpkg.agent.policy import load_policy_file

    broken = tmp_path / "policy.yml"
    broken.write_text("namespace: default\ninputs: [\n")
    with pytest.raises(IntpkgError, match=rf"{broken}:3:1: invalid YAML"):
        load_policy_file(broken)
    broken.write_text("- a list\n")
    with pytest.raises(PolicyError, match=rf"{broken}:1:1: a policy is a YAML or JSON mapping"):
        plan_streams(package, load_policy_file(broken), env={})
    broken.write_text("namespace: default\n")
    with pytest.raises(PolicyError, match=rf"{broken}:1:1: inputs: a policy needs an `inputs` mapping"):
        plan_streams(package, load_policy_file(broken), env={})


def test_problems_in_a_policy_file_name_their_line_and_column(package: Package, tmp_path: Path) -> None:
    from intpkg.agent.policy import load_policy_file

    path = tmp_path / "policy.yml"
    path.write_text(
        "namespace: Default\n"
        "inputs:\n"
        "  cloudflare-httpjson:\n"
        "    streams:\n"
        "      cloudflare.audit:\n"
        "        vars:\n"
        f"          account_id: {ACCOUNT}\n"
        "          api_token: ${env:CF_TOKEN}\n"
        "          page_size: lots\n"
        "          bogus: 1\n")
    with pytest.raises(PolicyError) as err:
        plan_streams(package, load_policy_file(path), env={"CF_TOKEN": "tok-123456"})
    where = "inputs.cloudflare-httpjson.streams.cloudflare.audit.vars"
    assert str(err.value).splitlines()[1:] == [
        f"  {path}:1:12: namespace: 'Default' must be lower-case letters, digits and _",
        f"  {path}:9:22: {where}.page_size: 'lots' is not an integer",
        f"  {path}:10:11: {where}.bogus: unknown variable; known: account_id, api_token, api_url, api_version, "
        "auth_email, auth_key, enable_request_tracer, http_client_timeout, initial_interval, interval, lag, overlap, "
        "page_size, preserve_original_event, processors, proxy_url, ssl, tags",
    ]


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


def test_an_implausibly_short_credential_is_refused_without_repeating_it() -> None:
    repo = Path(__file__).resolve().parents[1]
    policy = {"inputs": {"cloudflare-httpjson": {"streams": {"cloudflare.audit": {"vars": {
        "account_id": "0a1b2c3d4e5f60718293a4b5c6d7e8f9", "api_token": "xq7"}}}}}}
    with pytest.raises(PolicyError, match="api_token: a credential shorter than 8 characters") as err:
        plan_streams(Package.load(repo), policy, env={})
    assert "xq7" not in str(err.value)


def test_a_list_of_accounts_is_refused_one_policy_per_account_as_in_fleet() -> None:
    repo = Path(__file__).resolve().parents[1]
    accounts = ["0a1b2c3d4e5f60718293a4b5c6d7e8f9", "3d4e5f60718293a4b5c6d7e8f90a1b2c"]
    policy = {"inputs": {"cloudflare-httpjson": {"streams": {"cloudflare.audit": {"vars": {
        "account_id": accounts, "api_token": "a-plausible-token-0123456789"}}}}}}
    with pytest.raises(PolicyError, match="vars.account_id: a single value is expected, not a list"):
        plan_streams(Package.load(repo), policy, env={})
