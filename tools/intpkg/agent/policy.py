"""Package policies: which streams to run, with which variables, validated against the manifests.

A policy file is Fleet's simplified package policy, in YAML or JSON:

    namespace: default
    vars: {}                          # package-level variables
    inputs:
      cloudflare-httpjson:            # <policy template>-<input type>
        enabled: true
        vars: {}
        streams:
          cloudflare.audit:           # the data stream's dataset
            enabled: true
            vars:
              account_id: 0a1b2c3d4e5f60718293a4b5c6d7e8f9
              api_token: ${env:CLOUDFLARE_API_TOKEN}

String values `${env:NAME}` (or `${NAME}`) are read from the environment, so secrets need not be
written into the file. Every problem names the variable by its path in the policy.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from intpkg.errors import IntpkgError
from intpkg.package import Package
from intpkg.yamlpos import ParseError, loads, read_yaml

_ENV_REF = re.compile(r"^\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)\}$")
_DURATION = re.compile(r"^(\d+(ns|us|µs|ms|s|m|h))+$")
SECRET_TYPES = {"password"}


class PolicyError(IntpkgError):
    """The policy does not fit the package; the message lists every problem."""


@dataclass
class StreamPlan:
    """One enabled stream, ready to render and run."""

    policy_template: str
    input_type: str
    data_stream: str
    dataset: str
    ds_type: str
    namespace: str
    template_path: Path
    variables: dict[str, Any]
    yaml_vars: set[str] = field(default_factory=set)
    secret_values: list[str] = field(default_factory=list, repr=False)
    instance: str = ""  # the value this plan was fanned out for (see `fan_out`)

    @property
    def index(self) -> str:
        return f"{self.ds_type}-{self.dataset}-{self.namespace}"

    @property
    def stream_id(self) -> str:
        base = f"{self.input_type}-{self.dataset}-{self.namespace}"
        return f"{base}-{self.instance}" if self.instance else base


_FANOUT = re.compile(r"\{\{!--\s*intpkg:fan-out\s+([A-Za-z0-9_]+)\s*--\}\}")


def fan_out(plan: StreamPlan) -> list[StreamPlan]:
    """One plan per value of the variable a template names in `{{!-- intpkg:fan-out VAR --}}`.

    Fleet renders a stream once per policy; a template that declares a fan-out variable (e.g. a
    list of zone ids) is run by intpkg's agent once per value, each with its own cursor. The
    directive is a Handlebars comment, so Fleet ignores it.
    """
    try:
        match = _FANOUT.search(plan.template_path.read_text())
    except OSError:
        return [plan]
    if not match:
        return [plan]
    name = match.group(1)
    values = plan.variables.get(name)
    values = values if isinstance(values, list) else [values]
    plans = []
    for value in dict.fromkeys(str(v) for v in values if not _is_empty(v)):
        variables = {**plan.variables, name: value}
        plans.append(dataclasses.replace(plan, variables=variables, instance=re.sub(r"[^A-Za-z0-9_.]", "_", value)))
    return plans


def load_policy_file(path: Path) -> dict[str, Any]:
    policy = read_yaml(path)  # a syntax error names the file, line and column
    if not isinstance(policy, dict):
        raise PolicyError(f"{path}: a policy is a YAML or JSON mapping")
    if "inputs" not in policy or not isinstance(policy["inputs"], dict):
        raise PolicyError(f"{path}: a policy needs an `inputs` mapping (see `intpkg run --help`)")
    return policy


IDENTIFIER = re.compile(r"[A-Za-z0-9_-]+")
MIN_SECRET_LENGTH = 8  # shorter values could not be masked in logs without masking common words


def plan_streams(package: Package, policy: dict[str, Any], *, env: dict[str, str] | None = None) -> list[StreamPlan]:
    """Resolve and validate the policy's variables; return the enabled streams."""
    env = dict(os.environ) if env is None else env
    problems: list[str] = []
    namespace = str(policy.get("namespace", "default"))
    if not re.fullmatch(r"[a-z0-9_]+", namespace):
        problems.append(f"namespace: {namespace!r} must be lower-case letters, digits and _")
    package_vars = _resolve(package.manifest.get("vars") or [], policy.get("vars") or {}, "vars", env, problems)
    plans: list[StreamPlan] = []
    streams = {ds.name: ds for ds in package.data_streams()}
    known_inputs = {}
    for template in package.manifest.get("policy_templates") or []:
        for input_def in template.get("inputs") or []:
            known_inputs[f"{template['name']}-{input_def['type']}"] = (template, input_def)
    for input_key, input_policy in (policy.get("inputs") or {}).items():
        where = f"inputs.{input_key}"
        if input_key not in known_inputs:
            problems.append(f"{where}: no such input; the package offers {', '.join(sorted(known_inputs))}")
            continue
        if not (input_policy or {}).get("enabled", True):
            continue
        template, input_def = known_inputs[input_key]
        input_vars = _resolve(input_def.get("vars") or [], (input_policy or {}).get("vars") or {},
                              f"{where}.vars", env, problems)
        datasets = {streams[ds].dataset: ds for ds in template.get("data_streams") or streams if ds in streams}
        for dataset, stream_policy in ((input_policy or {}).get("streams") or {}).items():
            swhere = f"{where}.streams.{dataset}"
            if dataset not in datasets:
                problems.append(f"{swhere}: no such data stream; expected one of {', '.join(sorted(datasets))}")
                continue
            if not (stream_policy or {}).get("enabled", True):
                continue
            ds = datasets[dataset]
            ds_manifest = streams[ds].manifest
            stream_def = next((s for s in ds_manifest.get("streams") or [] if s.get("input") == input_def["type"]),
                              None)
            if stream_def is None:
                problems.append(f"{swhere}: data stream {ds} has no stream for input {input_def['type']}")
                continue
            defs = [*(package.manifest.get("vars") or []), *(input_def.get("vars") or []),
                    *(stream_def.get("vars") or [])]
            stream_vars = _resolve(stream_def.get("vars") or [], (stream_policy or {}).get("vars") or {},
                                   f"{swhere}.vars", env, problems)
            merged = {**package_vars, **input_vars, **stream_vars}
            _check_required_groups(stream_def, merged, f"{swhere}.vars", problems)
            plans.append(StreamPlan(
                policy_template=template["name"],
                input_type=input_def["type"],
                data_stream=ds,
                dataset=dataset,
                ds_type=ds_manifest.get("type", "logs"),
                namespace=namespace,
                template_path=streams[ds].path / "agent" / "stream"
                / stream_def.get("template_path", "stream.yml.hbs"),
                variables=merged,
                yaml_vars={d["name"] for d in defs if d.get("type") == "yaml"},
                secret_values=[str(merged[d["name"]]) for d in defs
                               if (d.get("secret") or d.get("type") in SECRET_TYPES) and merged.get(d["name"])],
            ))
    if problems:
        raise PolicyError("the policy does not fit the package:\n  " + "\n  ".join(problems))
    plans = [expanded for plan in plans for expanded in fan_out(plan)]
    if not plans:
        raise PolicyError("the policy enables no stream")
    return plans


def _resolve(defs: list[dict], given: dict[str, Any], where: str, env: dict[str, str],
             problems: list[str]) -> dict[str, Any]:
    """Values for `defs`: given or default, env references expanded, type-checked."""
    by_name = {d["name"]: d for d in defs}
    for name in given:
        if name not in by_name:
            problems.append(f"{where}.{name}: unknown variable; known: {', '.join(sorted(by_name)) or 'none'}")
    values: dict[str, Any] = {}
    for name, definition in by_name.items():
        path = f"{where}.{name}"
        value = given.get(name, definition.get("default"))
        value = _expand_env(value, path, env, problems)
        value = _coerce(value, definition, path, problems)
        if _is_empty(value):
            if definition.get("required"):
                problems.append(f"{path}: required ({definition.get('title', name)})")
            value = [] if definition.get("multi") else ("" if definition.get("type") != "bool" else False)
        values[name] = value
    return values


def _expand_env(value: Any, path: str, env: dict[str, str], problems: list[str]) -> Any:
    if isinstance(value, list):
        return [_expand_env(v, path, env, problems) for v in value]
    if isinstance(value, str):
        match = _ENV_REF.match(value.strip())
        if match:
            if match.group(1) not in env:
                problems.append(f"{path}: environment variable {match.group(1)} is not set")
                return None
            return env[match.group(1)]
    return value


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _coerce(value: Any, definition: dict[str, Any], path: str, problems: list[str]) -> Any:
    if _is_empty(value):
        return value
    if definition.get("multi"):
        items = value if isinstance(value, list) else [value]
        return [_coerce_one(v, definition, f"{path}[{i}]", problems) for i, v in enumerate(items)]
    if isinstance(value, list):
        problems.append(f"{path}: a single value is expected, not a list")
        return None
    return _coerce_one(value, definition, path, problems)


def _coerce_one(value: Any, definition: dict[str, Any], path: str, problems: list[str]) -> Any:
    kind = definition.get("type", "text")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        problems.append(f"{path}: {value!r} is not a boolean (true/false)")
    elif kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        try:
            return int(str(value), 10)
        except ValueError:
            problems.append(f"{path}: {value!r} is not an integer")
    elif kind == "select":
        options = [str(o["value"]) for o in definition.get("options") or []]
        if str(value) in options:
            return str(value)
        problems.append(f"{path}: {value!r} is not one of {', '.join(options)}")
    elif kind == "yaml":
        if not isinstance(value, str):
            return yaml.safe_dump(value)
        try:
            loads(value, str(path))
            return value
        except ParseError as exc:
            problems.append(f"{path}: not valid YAML ({exc.message})")
    elif kind == "duration":
        if _DURATION.match(str(value)):
            return str(value)
        problems.append(f"{path}: {value!r} is not a duration like 30s, 5m or 1h30m")
    elif kind == "url":
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/]+", str(value)):
            return str(value)
        problems.append(f"{path}: {value!r} is not a URL")
    elif kind == "email":
        if re.fullmatch(r"[^@\s]+@[^@\s]+", str(value)):
            return str(value)
        problems.append(f"{path}: {value!r} is not an e-mail address")
    else:  # text, password, textarea and the rest
        if isinstance(value, (dict, list)):
            problems.append(f"{path}: a text value is expected")
            return None
        text = str(value)
        name = str(definition.get("name", ""))
        if (name.endswith("_id") or name.endswith("_ids")) and not IDENTIFIER.fullmatch(text.strip()):
            # ids are placed into API paths: `x/../../y` or `?` would reach another endpoint with the credential
            problems.append(f"{path}: {text!r} is not an id (letters, digits, - and _ only)")
            return None
        if (kind == "password" or definition.get("secret")) and len(text.strip()) < MIN_SECRET_LENGTH:
            problems.append(f"{path}: a credential of {len(text.strip())} character(s) is not plausible (at least "
                            f"{MIN_SECRET_LENGTH}); check that the whole value was copied")
            return None
        return text.strip() if kind == "password" else text
    return None


def _check_required_groups(stream_def: dict[str, Any], values: dict[str, Any], where: str,
                           problems: list[str]) -> None:
    """`required_vars`: at least one named group must have all of its variables set."""
    groups = stream_def.get("required_vars") or {}
    if not groups:
        return
    for members in groups.values():
        if all(not _is_empty(values.get(m["name"] if isinstance(m, dict) else m)) for m in members):
            return
    described = " or ".join(
        f"{name} ({' + '.join(m['name'] if isinstance(m, dict) else m for m in members)})"
        for name, members in groups.items()
    )
    problems.append(f"{where}: set {described}")
