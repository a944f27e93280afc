"""`intpkg test <type> [PACKAGE_DIR]`: run the package's tests of one type against a cluster."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from intpkg.commands._package import add_ecs_arg, add_package_arg, package_dir
from intpkg.commands._target import add_target_args, client_from_args
from intpkg.errors import IntpkgError
from intpkg.testing import report
from intpkg.testing.runner import RUNNERS, RunOptions

# Modules that register a runner (static, system and asset runners go here when they exist).
RUNNER_MODULES = ["intpkg.testing.pipeline.runner", "intpkg.testing.system.runner", "intpkg.detection.testrunner"]


def register(sub: argparse._SubParsersAction) -> None:
    for module in RUNNER_MODULES:
        importlib.import_module(module)
    test = sub.add_parser("test", help="run package tests (pipeline, system, rules)")
    types = test.add_subparsers(dest="test_type", metavar="TYPE")
    types.required = True

    pipeline = types.add_parser(
        "pipeline", help="run _dev/test/pipeline cases through the data streams' ingest pipelines",
        description="Install each data stream's ingest pipelines under unique names, run every "
                    "_dev/test/pipeline case through _simulate, compare with <case>-expected.json and "
                    "validate every field; the pipelines are deleted afterwards.")
    _common_args(pipeline)
    pipeline.add_argument("-g", "--generate", action="store_true",
                          help="write <case>-expected.json from the output (review them before committing)")
    pipeline.add_argument("--coverage", action="store_true",
                          help="report processors no case ran (from _nodes/stats/ingest)")
    add_target_args(pipeline)
    pipeline.set_defaults(func=cmd_test)

    system = types.add_parser(
        "system", help="collect from the package's mock service into the cluster and check the documents",
        description="For each data_stream/<ds>/_dev/test/system/test-<name>-config.yml: start the mock API of "
                    "_dev/deploy, install the package, run the agent with the config's vars until the "
                    "assertions hold (or wait_for_data_timeout), fail on pipeline errors and on fields the "
                    "definitions do not allow; the data stream is deleted afterwards.")
    _common_args(system)
    system.add_argument("-g", "--generate", action="store_true",
                        help="write the first document as the data stream's sample_event.json")
    add_target_args(system)
    system.set_defaults(func=cmd_test)

    rules = types.add_parser(
        "rules", help="run every detection rule against its positive and negative sample records",
        description="For each kibana/security_rule/*.json rule and its _dev/detection/tests/<slug>.yml: send the "
                    "raw Cloudflare records (history, positives, negatives) through the package's ingest pipeline "
                    "into a fresh data stream, run the rule just after the latest record and require its matches "
                    "to be exactly the positives; the data stream is deleted afterwards.")
    _common_args(rules)
    add_target_args(rules)
    rules.set_defaults(func=cmd_test)


def _common_args(parser: argparse.ArgumentParser) -> None:
    add_package_arg(parser, repository_fallback=True)
    parser.add_argument("-d", "--data-streams", default="",
                        help="comma-separated data streams to test (default: all)")
    add_ecs_arg(parser)
    parser.add_argument("--report-format", choices=report.FORMATS, default="human")
    parser.add_argument("--report-output", type=Path, metavar="FILE",
                        help="write the report to FILE (the table still goes to stdout)")


def cmd_test(args: argparse.Namespace) -> int:
    options = RunOptions(
        package_dir=package_dir(args),
        data_streams=[d.strip() for d in args.data_streams.split(",") if d.strip()],
        generate=getattr(args, "generate", False),
        coverage=getattr(args, "coverage", False),
        ecs_dir=args.ecs_dir,
    )
    runner = RUNNERS[args.test_type](client_from_args(args))
    results = runner.run(options)
    if not results:
        raise IntpkgError(f"{options.package_dir}: no {args.test_type} test cases found.")
    coverage = getattr(runner, "coverage", {}) or {}
    rendered = report.render(results, args.report_format)
    if args.report_format == "json" and coverage:
        data = json.loads(rendered)
        data["coverage"] = coverage
        rendered = json.dumps(data, indent=2) + "\n"
    if args.report_output:
        try:
            args.report_output.write_text(rendered, encoding="utf-8")
        except OSError as exc:
            raise IntpkgError(f"{args.report_output}: cannot write the report: {exc.strerror}") from None
        sys.stdout.write(report.human(results))
    else:
        sys.stdout.write(rendered)
    if coverage and (args.report_format == "human" or args.report_output):
        sys.stdout.write(coverage_text(coverage))
    sys.stdout.flush()
    if options.generate:
        print("Expected files written; review every document before committing them.", file=sys.stderr)
    return 0 if all(r.ok for r in results) else 1


def coverage_text(coverage: dict[str, dict]) -> str:
    lines = []
    for data_stream, summary in coverage.items():
        lines.append(f"\nProcessor coverage for {data_stream}: {summary['hit']}/{summary['processors']} hit")
        lines += [f"  never hit: {item}" for item in summary["unhit"]]
    return "\n".join(lines) + "\n"
