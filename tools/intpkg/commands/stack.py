"""`intpkg stack up|down|status|logs`: the local search node, or a report on an external cluster."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from intpkg.commands._target import add_target_args, target_from_args
from intpkg.errors import IntpkgError
from intpkg.stack.client import SearchClient
from intpkg.stack.node import LocalNode, NodeConfig, parse_settings


def register(sub: argparse._SubParsersAction) -> None:
    stack = sub.add_parser("stack", help="manage the local search node (or inspect an external cluster)")
    actions = stack.add_subparsers(dest="stack_command", metavar="ACTION")
    actions.required = True

    up = actions.add_parser("up", help="provision (first time) and start the local node, wait for health")
    _node_args(up)
    up.add_argument("--heap", help="JVM heap, e.g. 1g or 512m (INTPKG_HEAP; default 1g)")
    up.add_argument("--geoip-dir", type=Path, help="GeoIP databases to install (INTPKG_GEOIP_DIR)")
    up.add_argument("-E", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                    help="extra node setting (repeatable)")
    up.add_argument("--distribution", type=Path, metavar="PATH",
                    help="an Elasticsearch 8.x/9.x archive or unpacked folder to run (INTPKG_ES_DISTRIBUTION)")
    up.add_argument("--offline", action="store_true", help="download nothing (use what is cached)")
    up.add_argument("--timeout", type=float, default=240.0, help="seconds to wait for health (default 240)")
    add_target_args(up)
    up.set_defaults(func=cmd_up)

    down = actions.add_parser("down", help="stop the local node")
    _node_args(down)
    down.set_defaults(func=cmd_down)

    status = actions.add_parser("status", help="print the cluster's health")
    _node_args(status)
    add_target_args(status)
    status.set_defaults(func=cmd_status)

    logs = actions.add_parser("logs", help="print (and follow) the local node's log")
    _node_args(logs)
    logs.add_argument("-n", "--lines", type=int, default=50)
    logs.add_argument("-f", "--follow", action="store_true")
    logs.set_defaults(func=cmd_logs)


def _node_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, help="HTTP port of the local node (INTPKG_ES_PORT; default 9200)")
    parser.add_argument("--state-dir", type=Path, help="node state folder (INTPKG_STATE_DIR)")


def _local_node(args: argparse.Namespace) -> LocalNode:
    config = NodeConfig()
    if getattr(args, "port", None):
        config.port = args.port
    if getattr(args, "state_dir", None):
        config.state_dir = args.state_dir.resolve()
    if getattr(args, "heap", None):
        config.heap = args.heap
    if getattr(args, "geoip_dir", None):
        config.geoip_dir = args.geoip_dir.resolve()
    if getattr(args, "offline", False):
        config.offline = True
    if getattr(args, "distribution", None):
        config.distribution = args.distribution
    config.extra_settings = parse_settings(getattr(args, "settings", []) or [])
    return LocalNode(config)


def cmd_up(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    if target.external:
        client = SearchClient(target)
        print(f"Using the external cluster at {target.url} ({client.flavor} {client.version}); nothing to start.")
        return cmd_status(args)
    node = _local_node(args)
    meta = node.up(timeout=args.timeout)
    if meta.get("already_running"):
        print(f"The local node is already running at {meta['url']} (pid {meta['pid']}).")
    else:
        print(f"Local node up at {meta['url']}: {meta['flavor']} {meta['version']} "
              f"(pid {meta['pid']}, heap {meta['heap']}, healthy after {meta['startup_seconds']}s)")
        if not meta.get("geoip_dir"):
            print("note: GeoIP lookups use the engine's own databases (INTPKG_GEOIP_DIR names others)",
                  file=sys.stderr)
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    node = _local_node(args)
    if node.down():
        print("Local node stopped.")
    else:
        print("No local node was running.")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    if not target.external:
        node = _local_node(args)
        if not node.running_pid():
            print(f"No local node is running (state folder {node.state}). Start one with `intpkg stack up`.")
            return 1
        target = target.__class__(url=node.config.url)
    client = SearchClient(target)
    health = client.health()
    print(f"{target.url}: {client.flavor} {client.version}, cluster '{health.get('cluster_name')}' "
          f"health {health.get('status')}, {health.get('number_of_nodes')} node(s), "
          f"{health.get('active_shards')} active shard(s)")
    return 0 if health.get("status") in ("green", "yellow") else 1


def cmd_logs(args: argparse.Namespace) -> int:
    node = _local_node(args)
    try:
        for line in node.follow_log(lines=args.lines, follow=args.follow):
            sys.stdout.write(line)
            sys.stdout.flush()
    except BrokenPipeError:
        pass
    except IntpkgError:
        raise
    return 0
