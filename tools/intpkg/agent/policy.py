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
written into the file. The policy is checked against the JSON Schema generated from the package
(`intpkg.agent.policy_schema`); every problem names the variable by its path in the policy, and by
file, line and column when the policy came from a file.

A policy's optional `name` tells its streams apart from those of another policy of the same package
(one policy per Cloudflare account or zone, as in Fleet): each stream keeps its own cursor under it.
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from intpkg.agent.policy_schema import is_secret, policy_schema
from intpkg.dotted import at
from intpkg.errors import IntpkgError
from intpkg.package import Package
from intpkg.validation import Finding, dotted, findings, validator_for
from intpkg.yamlpos import Loaded, load_file

_SCALARS = {("name",), ("description",), ("namespace",)}
_ENV_REF = re.compile(r"^\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)\}$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a policy: the key path of the value at fault (() for the whole policy), and why."""

    path: tuple[Any, ...]
    message: str


class PolicyError(IntpkgError):
    """The policy does not fit the package; the message lists every problem, `problems` has them by path."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems if problems is not None else [Problem((), message)]


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
    instance: str = ""  # the policy's name, when it has one: streams of two policies keep separate cursors

    @property
    def index(self) -> str:
        return f"{self.ds_type}-{self.dataset}-{self.namespace}"

    @property
    def stream_id(self) -> str:
        base = f"{self.input_type}-{self.dataset}-{self.namespace}"
        return f"{base}-{self.instance}" if self.instance else base


def load_policy_file(path: Path) -> Loaded:
    """A policy file with the position of each value; a syntax error names the file, line and column."""
    return load_file(path)


class _Problems:
    """Problems by key path, reported with the policy file's line and column when there is one."""

    def __init__(self, loaded: Loaded, positioned: bool) -> None:
        self.loaded, self.positioned = loaded, positioned
        self.lines: list[str] = []
        self.items: list[Problem] = []

    def add(self, path: tuple[Any, ...], message: str) -> None:
        self.items.append(Problem(path, message))
        text = f"{dotted(path)}: {message}" if path else message
        if self.positioned:
            line, column = self.loaded.pos(path)
            text = f"{self.loaded.path}:{line}:{column}: {text}"
        self.lines.append(text)

    def add_finding(self, finding: Finding) -> None:
        prefix = f"{dotted(finding.path)}: " if finding.path else ""
        self.items.append(Problem(finding.path, finding.message.removeprefix(prefix)))
        self.lines.append(finding.located(self.loaded.path) if self.positioned else finding.message)

    def raise_any(self) -> None:
        if self.lines:
            raise PolicyError("the policy does not fit the package:\n  " + "\n  ".join(self.lines), self.items)


def plan_streams(package: Package, policy: dict[str, Any] | Loaded, *,
                 env: dict[str, str] | None = None) -> list[StreamPlan]:
    """Resolve and validate the policy's variables; return the enabled streams."""
    env = dict(os.environ) if env is None else env
    positioned = isinstance(policy, Loaded)
    source = policy if isinstance(policy, Loaded) else Loaded(path=Path("<policy>"), data=policy)
    data = copy.deepcopy(source.data)
    problems = _Problems(source, positioned)
    if isinstance(data, dict):
        _expand_env(data, (), env, problems)
    checked = Loaded(path=source.path, data=data, positions=source.positions, key_positions=source.key_positions)
    for finding in findings(validator_for(policy_schema(package)), checked):
        if finding.path[-2:-1] == ("vars",) and at(data, finding.path) == "":
            continue  # an empty value is unset: `required` is reported below when it must be set
        problems.add_finding(finding)
    if any("vars" not in p.path[:-1] and p.path not in _SCALARS for p in problems.items):
        problems.raise_any()  # the policy's shape is wrong; bad values are reported with what follows

    namespace = str(data.get("namespace", "default"))
    instance = re.sub(r"[^A-Za-z0-9_.-]", "_", str(data.get("name") or ""))
    package_vars = _resolve(package.manifest.get("vars") or [], data.get("vars") or {}, ("vars",), problems)
    streams = {ds.name: ds for ds in package.data_streams()}
    plans: list[StreamPlan] = []
    for template in package.manifest.get("policy_templates") or []:
        for input_def in template.get("inputs") or []:
            input_key = f"{template['name']}-{input_def['type']}"
            input_policy = data["inputs"].get(input_key) or {}
            if input_key not in data["inputs"] or not _enabled(input_policy):
                continue
            where = ("inputs", input_key)
            input_vars = _resolve(input_def.get("vars") or [], input_policy.get("vars") or {}, where + ("vars",),
                                  problems)
            for ds in (streams[name] for name in template.get("data_streams") or streams if name in streams):
                stream_policy = (input_policy.get("streams") or {}).get(ds.dataset)
                if stream_policy is None and ds.dataset not in (input_policy.get("streams") or {}):
                    continue
                if not _enabled(stream_policy or {}):
                    continue
                stream_def = next(s for s in ds.manifest.get("streams") or [] if s.get("input") == input_def["type"])
                swhere = where + ("streams", ds.dataset, "vars")
                stream_vars = _resolve(stream_def.get("vars") or [], (stream_policy or {}).get("vars") or {},
                                       swhere, problems)
                merged = {**package_vars, **input_vars, **stream_vars}
                _check_required_groups(stream_def, merged, swhere, problems)
                defs = [*(package.manifest.get("vars") or []), *(input_def.get("vars") or []),
                        *(stream_def.get("vars") or [])]
                plans.append(StreamPlan(
                    policy_template=template["name"],
                    input_type=input_def["type"],
                    data_stream=ds.name,
                    dataset=ds.dataset,
                    ds_type=ds.manifest.get("type", "logs"),
                    namespace=namespace,
                    template_path=ds.path / "agent" / "stream" / stream_def.get("template_path", "stream.yml.hbs"),
                    variables=merged,
                    yaml_vars={d["name"] for d in defs if d.get("type") == "yaml"},
                    secret_values=[str(merged[d["name"]]) for d in defs if is_secret(d) and merged.get(d["name"])],
                    instance=instance,
                ))
    problems.raise_any()
    if not plans:
        raise PolicyError("the policy enables no stream")
    return plans


def plan_policies(package: Package, policies: list[dict[str, Any] | Loaded], *,
                  env: dict[str, str] | None = None) -> list[StreamPlan]:
    """The streams of several policies (one per account or zone, say); each stream must be told apart by name."""
    plans: list[StreamPlan] = []
    seen: dict[str, int] = {}
    for number, policy in enumerate(policies, 1):
        for plan in plan_streams(package, policy, env=env):
            if plan.stream_id in seen:
                where = policy.path if isinstance(policy, Loaded) else f"policy {number}"
                raise PolicyError(f"{where}: runs stream {plan.stream_id} like policy {seen[plan.stream_id]}; give "
                                  "each policy its own `name` so that each keeps its own cursor")
            seen[plan.stream_id] = number
            plans.append(plan)
    return plans


def _enabled(section: dict[str, Any]) -> bool:
    return _true(section.get("enabled", True))


def _true(value: Any) -> bool:
    """A schema-checked boolean: true/false, or the strings "true"/"false" (as an environment gives them)."""
    return value if isinstance(value, bool) else str(value).lower() == "true"


def _expand_env(node: Any, path: tuple[Any, ...], env: dict[str, str], problems: _Problems) -> Any:
    """Replace `${env:NAME}` strings in place; a variable left without a value (null) is dropped."""
    if isinstance(node, dict):
        for key in list(node):
            node[key] = _expand_env(node[key], path + (key,), env, problems)
            if node[key] is None and len(path) >= 1 and path[-1] == "vars":
                del node[key]
    elif isinstance(node, list):
        return [_expand_env(item, path + (i,), env, problems) for i, item in enumerate(node)]
    elif isinstance(node, str):
        match = _ENV_REF.match(node.strip())
        if match:
            if match.group(1) not in env:
                problems.add(path, f"environment variable {match.group(1)} is not set")
                return None
            return env[match.group(1)]
    return node


def _resolve(defs: list[dict], given: dict[str, Any], where: tuple[Any, ...],
             problems: _Problems) -> dict[str, Any]:
    """Values for `defs` (schema-checked): given or default, converted to their type; required ones set."""
    values: dict[str, Any] = {}
    for definition in defs:
        name = definition["name"]
        value = given.get(name, definition.get("default"))
        if definition.get("multi"):
            items = value if isinstance(value, list) else [value]
            value = [_convert(v, definition) for v in items if not _is_empty(v)]
        elif not _is_empty(value):
            value = _convert(value, definition)
        if _is_empty(value):
            if definition.get("required"):
                problems.add(where + (name,), f"required ({definition.get('title', name)})")
            value = [] if definition.get("multi") else ("" if definition.get("type") != "bool" else False)
        values[name] = value
    return values


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _convert(value: Any, definition: dict[str, Any]) -> Any:
    """A schema-checked value in the form templates expect."""
    kind = definition.get("type", "text")
    if kind == "bool":
        return _true(value)
    if kind == "integer":
        text = str(value).strip()
        # a value that is not an integer was reported by the schema; it stays as given until then
        return value if isinstance(value, int) or not text.lstrip("+-").isdigit() else int(text, 10)
    if kind == "yaml":
        return value if isinstance(value, str) else yaml.safe_dump(value)
    text = str(value)
    return text.strip() if is_secret(definition) or str(definition.get("name", "")).endswith(("_id", "_ids")) \
        else text


def _check_required_groups(stream_def: dict[str, Any], values: dict[str, Any], where: tuple[Any, ...],
                           problems: _Problems) -> None:
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
    problems.add(where, f"one of these settings groups is required: {described}")
