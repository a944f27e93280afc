"""`intpkg benchmark pipeline [PACKAGE_DIR]`: ingest pipeline throughput vs. plain indexing, and test time."""

from __future__ import annotations

import argparse
import json
import statistics

from intpkg.benchmark import collector as collector_bench
from intpkg.benchmark import dashboards as dashboards_bench
from intpkg.benchmark import pipeline as bench
from intpkg.commands._package import add_package_arg, package_dir
from intpkg.commands._target import add_target_args, client_from_args
from intpkg.package import Package


def register(sub: argparse._SubParsersAction) -> None:
    benchmark = sub.add_parser("benchmark", help="measure ingest pipeline, collector and dashboard performance")
    kinds = benchmark.add_subparsers(dest="benchmark_type", metavar="TYPE")
    kinds.required = True
    pipeline = kinds.add_parser(
        "pipeline", help="docs/s through each data stream's pipeline vs. the same docs with no pipeline",
        description="Bulk-index the data stream's pipeline test inputs (copied up to --docs documents) into "
                    "fresh indices on the same cluster: raw with no pipeline, the pipeline's output with no "
                    "pipeline, and raw through the pipeline; alternating rounds after a warm-up. Reports median "
                    "docs/s and ratios, and times `intpkg test pipeline` for the data stream (warm). Everything "
                    "created is deleted.")
    add_package_arg(pipeline, repository_fallback=True)
    pipeline.add_argument("-d", "--data-streams", default="", help="comma-separated data streams (default: all "
                          "with pipeline tests)")
    pipeline.add_argument("--docs", type=int, default=20000, help="documents per round (default 20000)")
    pipeline.add_argument("--batch-size", type=int, default=1000, help="documents per _bulk request (default 1000)")
    pipeline.add_argument("--clients", type=int, default=2, help="concurrent _bulk requests (default 2)")
    pipeline.add_argument("--rounds", type=int, default=3, help="measured rounds after the warm-up (default 3)")
    pipeline.add_argument("--skip-test-timing", action="store_true", help="do not time `intpkg test pipeline`")
    pipeline.add_argument("--format", choices=("human", "json"), default="human")
    add_target_args(pipeline)
    pipeline.set_defaults(func=cmd_pipeline)

    collector = kinds.add_parser(
        "collector", help="events/s of an audit backfill or a Logpull window from the mock API vs. baselines",
        description=collector_bench.__doc__)
    add_package_arg(collector, repository_fallback=True)
    collector.add_argument("--data-stream", choices=("audit", "logpull"), default="audit",
                           help="audit: a backfill of the account's history; logpull: one zone's window")
    collector.add_argument("--records", type=int, help="records of the dataset (default 100000)")
    collector.add_argument("--no-baselines", action="store_true",
                           help="run only the collector (a window too large to hold in memory for the baselines)")
    collector.add_argument("--api-version", choices=("v1", "v2"), default="v1")
    collector.add_argument("--page-size", type=int, default=1000)
    collector.add_argument("--rounds", type=int, default=2, help="rounds of the three runs (default 2)")
    collector.add_argument("--format", choices=("human", "json"), default="human")
    add_target_args(collector)
    collector.set_defaults(func=cmd_collector)

    dashboards = kinds.add_parser("dashboards", help="render time of each dashboard over the cluster's data",
                                  description=dashboards_bench.__doc__)
    add_package_arg(dashboards, repository_fallback=True)
    dashboards.add_argument("--start", default="now-30d", help="time range start (default now-30d)")
    dashboards.add_argument("--end", default="now", help="time range end (default now)")
    dashboards.add_argument("--rounds", type=int, default=5, help="measured rounds after a warm-up (default 5)")
    dashboards.add_argument("--format", choices=("human", "json"), default="human")
    add_target_args(dashboards)
    dashboards.set_defaults(func=cmd_dashboards)


def cmd_pipeline(args: argparse.Namespace) -> int:
    package = Package.load(package_dir(args))
    only = [d.strip() for d in args.data_streams.split(",") if d.strip()] or None
    streams = [ds for ds in package.data_streams(only) if (ds.path / "_dev" / "test" / "pipeline").is_dir()]
    client = client_from_args(args)
    reports = []
    for ds in streams:
        result = bench.run(client, ds, docs=args.docs, batch_size=args.batch_size, clients=args.clients,
                           rounds=args.rounds)
        report = result.to_dict()
        if not args.skip_test_timing:
            times = bench.pipeline_test_wall_time(client, package.path, ds.name)
            report["test_pipeline_seconds"] = [round(t, 3) for t in times]
        reports.append(report)
    if args.format == "json":
        print(json.dumps({"cluster": f"{client.flavor} {client.version}", "benchmarks": reports}, indent=2))
        return 0
    print(f"Cluster: {client.target.url} ({client.flavor} {client.version})")
    for r in reports:
        print(f"\n{r['data_stream']}: {r['docs']} docs/round, batch {r['batch_size']}, {r['clients']} client(s), "
              f"{r['rounds']} round(s) after warm-up")
        for run, label in (("raw", "raw, no pipeline"), ("processed", "processed, no pipeline"),
                           ("pipeline", "raw through pipeline"), ("empty", "processed, empty pipeline")):
            rounds = ", ".join(f"{v:,.0f}" for v in r["docs_per_second"][run])
            print(f"  {label:<23}: {r['median_docs_per_second'][run]:>9,.0f} docs/s  (rounds: {rounds})")
        print(f"  pipeline vs processed  : {r['ratio_vs_processed']:.0%}  (goal >= 70%)")
        print(f"  pipeline vs raw        : {r['ratio_vs_raw']:.0%}")
        print(f"  empty pipeline vs processed: {r['empty_pipeline_vs_processed']:.0%} (the ingest machinery alone)")
        print(f"  time in the pipeline   : {r['ingest_us_per_doc']:.0f} us/doc (ingest stats)")
        if r["pipeline_failed_docs"]:
            print(f"  warning: {r['pipeline_failed_docs']} document(s) were rejected through the pipeline")
        if "test_pipeline_seconds" in r:
            times = r["test_pipeline_seconds"]
            print(f"  intpkg test pipeline (warm): median {statistics.median(times):.2f}s over {len(times)} runs "
                  "(goal < 5s)")
    return 0


def cmd_collector(args: argparse.Namespace) -> int:
    client = client_from_args(args)
    result = collector_bench.run(client, package_dir(args), data_stream=args.data_stream,
                                 api_version=args.api_version, page_size=args.page_size, rounds=args.rounds,
                                 records=args.records, baselines=not args.no_baselines)
    data = result.to_dict()
    if args.format == "json":
        print(json.dumps({"cluster": f"{client.flavor} {client.version}", **data}, indent=2))
        return 0
    median, overhead = data["median_eps"], data["overhead_percent"]
    what = (f"Logpull window of {result.events:,} lines ({result.body_mb:,.0f} MB of NDJSON)"
            if result.data_stream == "logpull" else f"audit {result.api_version} backfill of {result.events:,} records")
    print(f"Cluster: {client.target.url} ({client.flavor} {client.version}); {what} from the mock API in its own "
          f"process; medians of {result.rounds} round(s)")
    rows = (("collector, whole process", "collector_eps"), ("collector, interval only", "interval_eps"),
            ("direct bulk from memory", "direct_eps"), ("fetch pages + bulk", "fetch_bulk_eps"))
    for label, key in rows:
        if getattr(result, key):
            rounds = ", ".join(f"{v:,.0f}" for v in getattr(result, key))
            print(f"  {label:<25}: {median[key]:>8,.0f} events/s  (rounds: {rounds})")
    if result.direct_eps:
        print(f"  overhead vs direct bulk  : {overhead['process_vs_direct']}% whole process, "
              f"{overhead['interval_vs_direct']}% interval  (goal <= 10%)")
        print(f"  overhead vs fetch + bulk : {overhead['process_vs_fetch_bulk']}% whole process, "
              f"{overhead['interval_vs_fetch_bulk']}% interval")
    print(f"  agent peak RSS           : {result.agent_peak_rss_mb} MB  (goal < 150 MB)")
    return 0


def cmd_dashboards(args: argparse.Namespace) -> int:
    client = client_from_args(args)
    figures = [f.to_dict() for f in dashboards_bench.run(client, package_dir(args), start=args.start, end=args.end,
                                                          rounds=args.rounds)]
    if args.format == "json":
        print(json.dumps({"cluster": f"{client.flavor} {client.version}", "start": args.start, "end": args.end,
                          "dashboards": figures}, indent=2))
        return 0
    print(f"Cluster: {client.target.url} ({client.flavor} {client.version}); {args.start} .. {args.end}, "
          f"{args.rounds} round(s) after a warm-up")
    for f in figures:
        empty = f"; EMPTY: {', '.join(f['empty_panels'])}" if f["empty_panels"] else ""
        print(f"  {f['title']:<32} {f['panels']:>3} panels  {f['median_ms']:>8.1f} ms  (slowest panel: "
              f"{f['slowest_panel']} {f['slowest_panel_median_ms']} ms){empty}")
    return 0
