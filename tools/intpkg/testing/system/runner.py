"""The system test runner: mock up, agent on, documents checked, everything torn down (see the package docstring)."""

from __future__ import annotations

import json
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from intpkg import dotted
from intpkg.agent.policy import plan_streams
from intpkg.agent.runner import Agent
from intpkg.assets.install import install_package
from intpkg.cloudflare.ratelimit import BUDGET
from intpkg.errors import IntpkgError
from intpkg.golang.gotime import parse_duration
from intpkg.package import Package
from intpkg.stack.client import SearchClient
from intpkg.testing.fieldcheck import load_validator
from intpkg.testing.result import SKIP, TestResult
from intpkg.testing.runner import RunOptions, TestRunner, register_runner
from intpkg.testing.system.config import SystemTestCase, policy_for

MAX_HITS = 500


class SystemRunner(TestRunner):
    test_type = "system"

    def __init__(self, client: SearchClient, *, state_root: Path | None = None) -> None:
        self.client = client
        self.state_root = state_root

    def run(self, options: RunOptions) -> list[TestResult]:
        package = Package.load(options.package_dir)
        results = []
        for stream in package.data_streams(options.data_streams or None):
            ds = stream.name
            folder = stream.path / "_dev" / "test" / "system"
            for config_path in sorted(folder.glob("test-*-config.yml")):
                results.append(self._run_case(package, ds, config_path, options))
        return results

    def _run_case(self, package: Package, ds: str, config_path: Path, options: RunOptions) -> TestResult:
        name = config_path.name.removeprefix("test-").removesuffix("-config.yml")
        result = TestResult("system", package.name, ds, name)
        started = time.monotonic()
        try:
            self._execute(package, ds, config_path, options, result)
        except IntpkgError as exc:
            result.error(str(exc))
        result.duration = time.monotonic() - started
        return result

    def _execute(self, package: Package, ds: str, config_path: Path, options: RunOptions,
                 result: TestResult) -> None:
        from intpkg.cloudflare.mockapi import CloudflareMock

        case = SystemTestCase.load(config_path)
        if case.skip_reason is not None:
            result.status = SKIP
            result.failures.append(f"skipped: {case.skip_reason}")
            return
        run_id = uuid.uuid4().hex[:8]
        with CloudflareMock.from_package(package.path, service=case.service) as mock:
            config = case.render(mock.host, mock.port, run_id)
            plans = plan_streams(package, policy_for(package, ds, config, namespace=f"ep{run_id}"), env={})
            install_package(self.client, package.path, ecs_dir=options.ecs_dir)
            index = plans[0].index
            state = Path(tempfile.mkdtemp(prefix=f"intpkg-system-{run_id}-", dir=self.state_root))
            agent = Agent(plans, self.client, state, budget_policy=BUDGET)
            worker = threading.Thread(target=agent.run, daemon=True)
            worker.start()
            try:
                hits = self._wait_for_hits(index, config, worker)
            finally:
                agent.stop()
                worker.join()
                _remove_tree(state)
            try:
                self._check(package, ds, hits, config, options, result)
                result.details["hits"] = len(hits)
                if options.generate and hits and result.ok:
                    sample = package.path / "data_stream" / ds / "sample_event.json"
                    sample.write_text(json.dumps(hits[0], indent=4, sort_keys=True, ensure_ascii=False) + "\n")
                    result.details["generated"] = str(sample)
            finally:
                self.client.request("DELETE", f"/_data_stream/{index}", ignore=(404,))

    def _wait_for_hits(self, index: str, config: dict[str, Any], worker: threading.Thread) -> list[dict]:
        assertions = config.get("assert") or {}
        timeout = parse_duration(str(config.get("wait_for_data_timeout", "10m"))).Seconds()
        deadline = time.monotonic() + timeout
        hits: list[dict] = []
        while time.monotonic() < deadline:
            self.client.request("POST", f"/{index}/_refresh", ignore=(404,))
            found = self.client.request("GET", f"/{index}/_search", ignore=(404,),
                                        body={"size": MAX_HITS, "sort": [{"@timestamp": "asc"}]})
            hits = [h["_source"] for h in (found.get("hits") or {}).get("hits", [])]
            if _satisfied(hits, assertions):
                break
            if not worker.is_alive():
                break
            time.sleep(1.0)
        return hits

    def _check(self, package: Package, ds: str, hits: list[dict], config: dict[str, Any],
               options: RunOptions, result: TestResult) -> None:
        assertions = config.get("assert") or {}
        if not hits:
            result.fail("no documents arrived before wait_for_data_timeout")
            return
        expected = assertions.get("hit_count")
        if expected is not None and len(hits) != int(expected):
            result.fail(f"assert.hit_count: expected {expected} documents, found {len(hits)}")
        minimum = assertions.get("min_count")
        if minimum is not None and len(hits) < int(minimum):
            result.fail(f"assert.min_count: expected at least {minimum} documents, found {len(hits)}")
        for field_name in assertions.get("fields_present") or []:
            if not any(dotted.find(h, field_name, None) is not None for h in hits):
                result.fail(f"assert.fields_present: no document has {field_name}")
        for i, hit in enumerate(hits):
            message = dotted.find(hit, "error.message", None)
            if dotted.find(hit, "event.kind", None) == "pipeline_error" or message:
                result.fail(f"document {i} is a pipeline error: {message}")
        validator = load_validator(package.path, ds, options.ecs_dir)
        seen: set[str] = set()
        for hit in hits:
            for problem in validator.validate_document(
                hit, numeric_keyword_fields=config.get("numeric_keyword_fields") or ()):
                if problem not in seen:
                    seen.add(problem)
                    result.fail(problem)


def _satisfied(hits: list[dict], assertions: dict[str, Any]) -> bool:
    if not hits:
        return False
    if "hit_count" in assertions:
        return len(hits) >= int(assertions["hit_count"])
    if "min_count" in assertions:
        return len(hits) >= int(assertions["min_count"])
    return True


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


register_runner("system", SystemRunner)
