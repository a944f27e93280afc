"""`intpkg-elasticsearch`: the embedded engine behind Elasticsearch's command line.

It understands the part of `bin/elasticsearch` that test harnesses such as pytest-elasticsearch use:

    -V, --version, -Vv     print the engine's version and exit
    -p PIDFILE             write the node's pid
    -E key=value           a node setting (repeatable); Elasticsearch-only settings (xpack.*,
                           index-level settings) are ignored with a warning
    -d                     not supported (run it in the background yourself)

It provisions the engine like `intpkg stack up`, writes the node's config in a state folder
(INTPKG_STATE_DIR, default: beside path.data) and then replaces itself with the engine process,
so the pid it reports is the node's pid and signals reach the node directly.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from intpkg import settings
from intpkg.errors import IntpkgError
from intpkg.stack.java import java_major
from intpkg.stack.node import LocalNode, NodeConfig, java_home_for, parse_settings

USAGE = "usage: intpkg-elasticsearch [-V] [-p PIDFILE] [-E key=value ...]"


def parse_args(argv: list[str]) -> tuple[bool, str | None, list[str]]:
    """Return (want_version, pidfile, settings). Accepts `-Ekey=value` and combined `-Vv`."""
    want_version = False
    pidfile: str | None = None
    pairs: list[str] = []
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in ("--version",) or (arg.startswith("-V") and set(arg[1:]) <= {"V", "v"}):
            want_version = True
        elif arg in ("-v", "--verbose", "-s", "--silent"):
            continue
        elif arg in ("-p", "--pidfile"):
            if not args:
                raise IntpkgError(f"{arg} needs a file name. {USAGE}")
            pidfile = args.pop(0)
        elif arg == "-E":
            if not args:
                raise IntpkgError(f"-E needs key=value. {USAGE}")
            pairs.append(args.pop(0))
        elif arg.startswith("-E"):
            pairs.append(arg[2:])
        elif arg == "-d":
            raise IntpkgError("-d (daemonize) is not supported; use `intpkg stack up` for a background node.")
        else:
            raise IntpkgError(f"unknown argument {arg!r}. {USAGE}")
    return want_version, pidfile, pairs


def version_line(node: LocalNode) -> str:
    """Elasticsearch's `-V` line for the engine the node would run (provisioned first if needed)."""
    engine = node.choose_engine(quiet=True)
    return f"Version: {engine.version}, Distribution: {engine.flavor.name}, JVM: {java_major(java_home_for(engine))}"


def run(argv: list[str]) -> int:
    want_version, pidfile, pairs = parse_args(argv)
    node_settings = parse_settings(pairs)
    config = NodeConfig()
    if want_version:
        print(version_line(LocalNode(config)))
        return 0
    host = node_settings.get("network.host", "127.0.0.1").strip("'\"")
    if host not in ("127.0.0.1", "localhost", "_local_"):
        raise IntpkgError(f"network.host={host}: this launcher binds 127.0.0.1 only.")
    node_settings.pop("network.host", None)
    if "http.port" in node_settings:
        config.port = int(node_settings.pop("http.port"))
    data = node_settings.get("path.data")
    if not settings.node_state_dir_is_set() and data:
        config.state_dir = Path(data).resolve().parent / "intpkg-node"
    config.extra_settings = node_settings
    node = LocalNode(config)
    home, java_home = node.prepare(quiet=True)
    cmd, env = node.command(home, java_home)
    if pidfile:
        Path(pidfile).write_text(f"{os.getpid()}\n")
    os.chdir(home)
    os.execvpe(cmd[0], cmd, env)
    return 1  # not reached


def main(argv: list[str] | None = None) -> int:
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except IntpkgError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
