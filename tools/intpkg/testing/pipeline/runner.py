"""The pipeline test runner: each case file is one `_simulate` call, compared with its expected file."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from intpkg import dotted
from intpkg.errors import IntpkgError
from intpkg.package import DataStream, Package
from intpkg.stack.client import SearchClient
from intpkg.testing import fieldcheck
from intpkg.testing.pipeline import cases as cases_mod
from intpkg.testing.pipeline import coverage as coverage_mod
from intpkg.testing.pipeline.compare import differences, strip_dynamic
from intpkg.testing.pipeline.installer import InstalledPipelines, install
from intpkg.testing.result import SKIP, TestResult
from intpkg.testing.runner import RunOptions, TestRunner, register_runner

TEST_TYPE = "pipeline"


class PipelineRunner(TestRunner):
    test_type = TEST_TYPE

    def __init__(self, client: SearchClient) -> None:
        self.client = client
        self.coverage: dict[str, dict[str, Any]] = {}  # data stream -> coverage summary (with --coverage)

    def run(self, options: RunOptions) -> list[TestResult]:
        package = Package.load(options.package_dir)
        results: list[TestResult] = []
        for data_stream in package.data_streams(options.data_streams or None):
            test_dir = data_stream.path / "_dev" / "test" / "pipeline"
            if not test_dir.is_dir():
                continue
            try:
                results += self._run_data_stream(data_stream, test_dir, options)
            except IntpkgError as exc:  # the data stream could not be set up: report it, test the others
                setup = TestResult(TEST_TYPE, package.name, data_stream.name, "(setup)")
                setup.error(str(exc))
                results.append(setup)
        return results

    def _run_data_stream(self, ds: DataStream, test_dir: Path, options: RunOptions) -> list[TestResult]:
        cases = cases_mod.discover(test_dir)
        validator = fieldcheck.load_validator(ds.package.path, ds.name, options.ecs_dir)
        installed = install(self.client, ds)
        try:
            names = list(installed.names.values())
            before = coverage_mod.snapshot(self.client, names) if options.coverage else {}
            results = [self._run_case(ds, case, installed, validator, options) for case in cases]
            if options.coverage:
                after = coverage_mod.snapshot(self.client, names)
                display = {v: k for k, v in installed.names.items()}
                self.coverage[ds.name] = coverage_mod.summary(coverage_mod.hits(before, after, display))
        finally:
            installed.delete()
        return results

    def _run_case(self, ds: DataStream, case: cases_mod.Case, installed: InstalledPipelines,
                  validator: fieldcheck.DocumentValidator, options: RunOptions) -> TestResult:
        result = TestResult(TEST_TYPE, ds.package.name, ds.name, case.name)
        started = time.perf_counter()
        try:
            if case.config.skip:
                result.status = SKIP
                result.failures.append(f"skipped: {case.config.skip.get('reason', 'no reason given')}")
                return result
            events = case.events()
            docs, raised = self._simulate(installed, ds.index, events)
            for i, reason in raised.items():
                result.fail(f"event {i + 1}: the pipeline raised: {reason}")
            self._check_documents(case, docs, raised, validator, result)
            if options.generate:
                write_expected(case.expected_path, docs)
            else:
                self._compare(case, docs, result)
        except IntpkgError as exc:
            result.error(str(exc))
        finally:
            result.duration = time.perf_counter() - started
        return result

    def _simulate(self, installed: InstalledPipelines, index: str, events: list[dict[str, Any]]
                  ) -> tuple[list[dict[str, Any] | None], dict[int, str]]:
        """Output documents (None when dropped) and the events whose pipeline run raised.

        Installed pipeline names in the output (error messages) are replaced by their Fleet names,
        so expected files do not depend on the test run."""
        body = {"docs": [{"_index": index, "_source": event} for event in events]}
        answer = self.client.request("POST", f"/_ingest/pipeline/{installed.entry}/_simulate", body=body)
        answer = json.loads(installed.canonical(json.dumps(answer, ensure_ascii=False)))
        docs: list[dict[str, Any] | None] = []
        raised: dict[int, str] = {}
        for i, item in enumerate(answer.get("docs", [])):
            if item is None or item.get("doc") is None and "error" not in item:
                docs.append(None)  # dropped
            elif "error" in item:
                raised[i] = (item["error"] or {}).get("reason") or json.dumps(item["error"])
                docs.append(None)
            else:
                docs.append(item["doc"].get("_source"))
        if len(docs) != len(events):
            raise IntpkgError(f"_simulate returned {len(docs)} documents for {len(events)} events.")
        return docs, raised

    def _check_documents(self, case: cases_mod.Case, docs: list[dict[str, Any] | None], raised: dict[int, str],
                         validator: fieldcheck.DocumentValidator, result: TestResult) -> None:
        config = case.config
        for i, doc in enumerate(docs):
            if doc is None:
                if i not in raised and config.expects_failure(i):
                    result.fail(f"event {i + 1}: expected a pipeline error, but the document was dropped")
                continue
            message = dotted.find(doc, "error.message")
            has_error = message is not dotted.MISSING
            if has_error and not config.expects_failure(i):
                result.fail(f"event {i + 1}: unexpected error.message: {_text(message)}")
            elif not has_error and config.expects_failure(i):
                result.fail(f"event {i + 1}: expected a pipeline error (expect_failure), got none")
            _, problems = strip_dynamic(doc, config.dynamic_fields)
            for problem in problems:
                result.fail(f"event {i + 1}: {problem}")
            for problem in validator.validate_document(
                    doc, numeric_keyword_fields=config.numeric_keyword_fields,
                    string_number_fields=config.string_number_fields):
                result.fail(f"event {i + 1}: {problem}")

    def _compare(self, case: cases_mod.Case, docs: list[dict[str, Any] | None], result: TestResult) -> None:
        path = case.expected_path
        if not path.is_file():
            result.fail(f"missing expected file {path.name}; run `intpkg test pipeline --generate` and review it")
            return
        data = cases_mod.read_json(path)
        expected = data.get("expected") if isinstance(data, dict) else None
        if not isinstance(expected, list):
            raise IntpkgError(f"{path}: expected an object with an `expected` list.")
        if len(expected) != len(docs):
            result.fail(f"{path.name}: {len(expected)} expected document(s), the pipeline produced {len(docs)}")
            return
        dynamic = case.config.dynamic_fields
        for i, (want, got) in enumerate(zip(expected, docs, strict=True)):
            want_s, _ = strip_dynamic(want, dynamic)
            got_s, _ = strip_dynamic(got, dynamic)
            for diff in differences(want_s, got_s):
                result.fail(f"event {i + 1}: {diff}")


def _text(value: Any) -> str:
    text = "; ".join(map(str, value)) if isinstance(value, list) else str(value)
    return text if len(text) <= 300 else text[:297] + "..."


def write_expected(path: Path, docs: list[dict[str, Any] | None]) -> None:
    """`{"expected": [...]}` with 4-space indent, sorted keys and unescaped non-ASCII text."""
    text = json.dumps({"expected": docs}, indent=4, sort_keys=True, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


register_runner(TEST_TYPE, lambda client, **_: PipelineRunner(client))
