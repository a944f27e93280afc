"""A system test case (`_dev/test/system/test-<name>-config.yml`) and the package policy it stands for."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from intpkg.agent.render import render_template
from intpkg.package import Package
from intpkg.yamlpos import read_yaml


@dataclass(frozen=True)
class SystemTestCase:
    path: Path
    service: str | None
    skip_reason: str | None

    @classmethod
    def load(cls, path: Path) -> SystemTestCase:
        raw = read_yaml(path) or {}
        skip = raw.get("skip")
        reason = (skip.get("reason") if isinstance(skip, dict) else None) or ("no reason given" if skip else None)
        return cls(path=path, service=raw.get("service"), skip_reason=reason)

    def render(self, host: str, port: int, run_id: str) -> dict[str, Any]:
        """The config with elastic-package's placeholders `{{Hostname}}`, `{{Port}}`, `{{TEST_RUN_ID}}` filled in."""
        placeholders = {"Hostname": host, "Port": str(port), "TEST_RUN_ID": run_id}
        return render_template(self.path.read_text(), placeholders, name=str(self.path))


def policy_for(package: Package, ds: str, config: dict[str, Any], *, namespace: str) -> dict[str, Any]:
    """The package policy enabling data stream `ds` with the rendered config's variables."""
    dataset = package.data_stream(ds).dataset
    template = config.get("policy_template") or package.manifest["policy_templates"][0]["name"]
    input_key = f"{template}-{config.get('input', 'httpjson')}"
    policy = {"namespace": namespace, "vars": {}, "inputs": {input_key: {
        "vars": config.get("vars") or {},
        "streams": {dataset: {"vars": (config.get("data_stream") or {}).get("vars") or {}}},
    }}}
    _split_vars(package, input_key, policy)
    return policy


def _split_vars(package: Package, input_key: str, policy: dict[str, Any]) -> None:
    """elastic-package's `vars` may hold package- or input-level vars: put each where it is declared."""
    given = policy["inputs"][input_key]["vars"]
    package_names = {v["name"] for v in package.manifest.get("vars") or []}
    input_names = {v["name"] for t in package.manifest.get("policy_templates") or []
                   for i in t.get("inputs") or [] if f"{t['name']}-{i['type']}" == input_key
                   for v in i.get("vars") or []}
    stream = next(iter(policy["inputs"][input_key]["streams"].values()))
    for name in list(given):
        if name in package_names:
            policy["vars"][name] = given.pop(name)
        elif name not in input_names:
            stream["vars"].setdefault(name, given.pop(name))
