"""Run one local single-node cluster: start, wait for health, report, stop.

Layout under the state folder (default `$INTPKG_HOME/node`):

    config/      the node's config folder (settings file, JVM options, log4j)
    data/<engine>/  index data (one folder per engine: elasticsearch, opensearch)
    logs/        the node's logs; `console.log` holds stdout/stderr of the process
    node.pid     written by the engine itself (`-p`)
    node.json    what `up` started: pid, url, version, heap

The engine (Elasticsearch or OpenSearch) is chosen when the node starts: see
`intpkg.stack.distribution.provision`. The node binds 127.0.0.1 only. Both engines refuse to run as
root, so when intpkg runs as root the node runs in a user namespace as an unprivileged user id
(`unshare --user`) that maps back to root outside: it can still use the root-owned state folder and
/tmp, which Elasticsearch's entitlement agent needs. Where user namespaces are unavailable it runs
as `nobody` (setpriv) instead.

GeoIP: without a GeoIP folder the engine's own databases are used (OpenSearch bundles GeoLite2;
Elasticsearch downloads them). With one (INTPKG_GEOIP_DIR, or the tests' MaxMind test databases),
Elasticsearch reads them from the node's `config/ingest-geoip/`; OpenSearch refuses databases there
that its module already bundles, so the node runs from a hard-linked copy of the engine home whose
module holds the given databases instead.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

from intpkg import settings
from intpkg.errors import IntpkgError
from intpkg.stack.distribution import ELASTICSEARCH, HOW_TO_SUPPLY_ELASTICSEARCH, OPENSEARCH, Engine, provision
from intpkg.stack.geoip import EDITIONS, geoip_database, opensearch_home_with_geoip
from intpkg.stack.java import find_java
from intpkg.stack.ports import check_port_free
from intpkg.stack.rootless import (
    UNPRIVILEGED_USER,
    check_reachable_by_others,
    group_of,
    namespace_prefix,
    root_drop,
    tmp_writable_by_others,
)

# index-level settings do not belong in a node's settings (Elasticsearch refuses to start); dropped with a warning
INDEX_SETTING_PREFIXES = ("index.",)
# settings of Elasticsearch that OpenSearch does not know; dropped with a warning on OpenSearch
FOREIGN_SETTING_PREFIXES = ("xpack.", "ingest.geoip.downloader.", *INDEX_SETTING_PREFIXES)
# node settings that are always right for a local, single-user Elasticsearch node
ELASTICSEARCH_SETTINGS = {
    "xpack.security.enabled": "false",  # loopback only; also skips the distribution's TLS auto-configuration
    "xpack.ml.enabled": "false",  # no machine-learning process beside the node
    "action.destructive_requires_name": "false",  # tests clean up with wildcards
}
OPENSEARCH_SETTINGS = {
    "action.destructive_requires_name": "false",
}


@dataclass
class NodeConfig:
    """How to run the local node; defaults come from the environment."""

    state_dir: Path = field(default_factory=settings.node_state_dir)
    cache_dir: Path = field(default_factory=lambda: settings.intpkg_home() / "cache")
    port: int = field(default_factory=settings.es_port)
    heap: str = field(default_factory=settings.heap)
    geoip_dir: Path | None = field(default_factory=settings.geoip_dir)
    extra_settings: dict[str, str] = field(default_factory=dict)
    offline: bool = False
    distribution: Path | None = None  # an Elasticsearch archive or folder (else INTPKG_ES_DISTRIBUTION, ...)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def transport_port(self) -> int:
        return int(self.extra_settings.get("transport.port", self.port + 100))


def java_home_for(engine: Engine) -> Path:
    """The JDK an Elasticsearch distribution bundles, else the first Java new enough for `engine`."""
    return engine.bundled_jdk or find_java(engine.min_java, purpose=f"{engine.flavor.name} {engine.version}")


def elasticsearch_blocked() -> str | None:
    """Why Elasticsearch cannot start on this machine, or None.

    Under root without user namespaces the node runs as `nobody`, and Elasticsearch's entitlement
    agent then needs a /tmp that `nobody` may write.
    """
    if root_drop() == "nobody" and not tmp_writable_by_others():
        return "running as root without user namespaces, and /tmp is not writable by others"
    return None


def parse_settings(pairs: list[str]) -> dict[str, str]:
    """Parse `key=value` items."""
    parsed: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise IntpkgError(f"Setting {pair!r} is not of the form key=value.")
        key, value = pair.split("=", 1)
        parsed[key] = value
    return parsed


def split_settings(settings_: dict[str, str], flavor: str) -> tuple[dict[str, str], list[str]]:
    """(settings the engine takes, names dropped as foreign to it: index-level ones, and xpack.* on OpenSearch)."""
    foreign = FOREIGN_SETTING_PREFIXES if flavor == OPENSEARCH.name else INDEX_SETTING_PREFIXES
    kept = {k: v for k, v in settings_.items() if not k.startswith(foreign)}
    return kept, [k for k in settings_ if k not in kept]


class LocalNode:
    """The node described by a `NodeConfig`."""

    def __init__(self, config: NodeConfig | None = None) -> None:
        self.config = config or NodeConfig()
        self.state = self.config.state_dir
        self.meta_file = self.state / "node.json"
        self.pid_file = self.state / "node.pid"
        self.logs_dir = Path(self.config.extra_settings.get("path.logs") or self.state / "logs")
        self.console_log = self.logs_dir / "console.log"
        self.engine: Engine | None = None  # chosen by prepare()

    def data_dir(self, flavor: str) -> Path:
        """One data folder per engine: neither can read the other's indices."""
        return Path(self.config.extra_settings.get("path.data") or self.state / "data" / flavor)

    # ---- queries -------------------------------------------------------------------------
    def metadata(self) -> dict | None:
        try:
            return json.loads(self.meta_file.read_text())
        except (OSError, ValueError):
            return None

    def running_pid(self) -> int | None:
        """Pid of the node this state folder started, if that process is still alive."""
        meta = self.metadata()
        pid = meta.get("pid") if meta else None
        if pid and _alive(pid):
            return pid
        return None

    def server_log(self) -> Path:
        return self.logs_dir / "intpkg.log"

    # ---- up --------------------------------------------------------------------------------
    def up(self, *, timeout: float = 240.0, quiet: bool = False) -> dict:
        """Start the node (or report the running one) and wait until it is yellow or green."""
        pid = self.running_pid()
        if pid:
            meta = self.metadata() or {}
            meta["already_running"] = True
            return meta
        cfg = self.config
        home, java_home = self.prepare(quiet=quiet)
        assert self.engine is not None
        proc = self._spawn(home, java_home)
        meta = {
            "pid": proc.pid,
            "url": cfg.url,
            "port": cfg.port,
            "heap": cfg.heap,
            "flavor": self.engine.flavor.name,
            "engine": self.engine.describe(),
            "engine_home": str(home),
            "java_home": str(java_home),
            "geoip_dir": str(cfg.geoip_dir) if cfg.geoip_dir else None,
            "started_at": time.time(),
        }
        self.meta_file.write_text(json.dumps(meta, indent=2))
        info = self._wait_healthy(proc, timeout)
        meta.update(version=info["version"]["number"], startup_seconds=round(time.time() - meta["started_at"], 1))
        self.meta_file.write_text(json.dumps(meta, indent=2))
        return meta

    def choose_engine(self, *, quiet: bool = False) -> Engine:
        """The engine this node runs (see `provision`), provisioned into the cache first if needed."""
        cfg = self.config
        return provision(cfg.cache_dir, distribution=cfg.distribution, offline=cfg.offline, quiet=quiet,
                         elasticsearch_blocked=elasticsearch_blocked())

    def prepare(self, *, quiet: bool = False) -> tuple[Path, Path]:
        """Check ports, choose and provision the engine, find Java, write the node's config; return (home, java).

        Says in one line on standard error which engine runs and why (unless `quiet`).
        """
        cfg = self.config
        check_port_free(cfg.port)
        check_port_free(cfg.transport_port, purpose="transport")
        engine = self.choose_engine(quiet=quiet)
        self.engine = engine
        if not quiet:
            print(f"engine: {engine.describe()}", file=sys.stderr)
            if engine.flavor is OPENSEARCH:
                print(f"hint: {HOW_TO_SUPPLY_ELASTICSEARCH}", file=sys.stderr)
        java_home = java_home_for(engine)
        home = engine.home
        if engine.flavor is OPENSEARCH and cfg.geoip_dir is not None:
            home = opensearch_home_with_geoip(engine.home, cfg.geoip_dir)
        self._prepare_state(home, engine)
        return home, java_home

    def _prepare_state(self, home: Path, engine: Engine) -> None:
        cfg = self.config
        conf = self.state / "config"
        data_dir = self.data_dir(engine.flavor.name)
        for folder in (data_dir, self.logs_dir, conf, self.state / "tmp"):
            folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(home / "config" / "log4j2.properties", conf / "log4j2.properties")
        # the stock options name paths relative to the engine home, which the node may not write
        jvm_options = (home / "config" / "jvm.options").read_text()
        for relative, absolute in (("file=logs/", f"file={self.logs_dir}/"),
                                   ("HeapDumpPath=data", f"HeapDumpPath={data_dir}"),
                                   ("ErrorFile=logs/", f"ErrorFile={self.logs_dir}/")):
            jvm_options = jvm_options.replace(relative, absolute)
        (conf / "jvm.options").write_text(jvm_options)
        (conf / "jvm.options.d").mkdir(exist_ok=True)
        (conf / "jvm.options.d" / "heap.options").write_text(f"-Xms{cfg.heap}\n-Xmx{cfg.heap}\n")
        extra, dropped = split_settings(cfg.extra_settings, engine.flavor.name)
        for name in dropped:
            print(f"warning: ignoring setting [{name}]: {engine.flavor.name} does not support it here",
                  file=sys.stderr)
        if engine.flavor is ELASTICSEARCH:
            engine_settings = dict(ELASTICSEARCH_SETTINGS)
            if cfg.geoip_dir is not None:  # the databases come from the GeoIP folder, not Elastic's service
                engine_settings["ingest.geoip.downloader.enabled"] = "false"
        else:
            engine_settings = dict(OPENSEARCH_SETTINGS)
        node_settings = {
            "cluster.name": "intpkg",
            "node.name": "intpkg-node",
            "network.host": "127.0.0.1",
            "http.port": str(cfg.port),
            "transport.port": str(cfg.transport_port),
            "discovery.type": "single-node",
            "path.data": str(data_dir),
            "path.logs": str(self.logs_dir),
            # a nearly full disk must not turn indices read-only under the tests
            "cluster.routing.allocation.disk.threshold_enabled": "false",
            **engine_settings,
            **extra,
        }
        settings_text = "".join(f"{k}: {json.dumps(v)}\n" for k, v in node_settings.items())
        (conf / engine.flavor.settings_file).write_text(settings_text)
        self._install_geoip_config_databases(engine)
        self.pid_file.unlink(missing_ok=True)
        drop = root_drop()
        if drop == "namespace":
            # root in the node's namespace may only write files root owns outside (a state folder that
            # an earlier `nobody` node owned is taken back)
            if any(p.stat().st_uid != 0 for p in (self.state, conf, data_dir, self.logs_dir)):
                subprocess.run(["chown", "-R", "0:0", str(self.state)], check=True)
        elif drop == "nobody":
            owned = {self.state, data_dir, self.logs_dir}
            for folder in owned:
                check_reachable_by_others(folder)
            subprocess.run(["chown", "-R", f"{UNPRIVILEGED_USER}:", *map(str, owned)], check=True)

    def _install_geoip_config_databases(self, engine: Engine) -> None:
        """Elasticsearch reads the GeoIP folder's databases from `<config>/ingest-geoip/`.

        The folder is emptied first: OpenSearch refuses a database there that its module bundles too
        (a state folder an Elasticsearch node used before would otherwise stop it from starting).
        """
        folder = self.state / "config" / "ingest-geoip"
        shutil.rmtree(folder, ignore_errors=True)
        source = self.config.geoip_dir
        if source is None or engine.flavor is not ELASTICSEARCH:
            return
        folder.mkdir(parents=True)
        for edition in EDITIONS:
            target = folder / f"GeoLite2-{edition}.mmdb"
            shutil.copyfile(geoip_database(source, edition), target)
            target.chmod(0o644)

    def command(self, home: Path, java_home: Path) -> tuple[list[str], dict[str, str]]:
        """Command line and environment that start the engine chosen by `prepare()` in the foreground."""
        assert self.engine is not None, "prepare() chooses the engine"
        flavor = self.engine.flavor
        env = {k: v for k, v in os.environ.items() if not k.startswith(settings.CLUSTER_ENV_PREFIXES)}
        env.update(HOME=str(self.state))
        env[flavor.java_home_env] = str(java_home)
        env[flavor.tmpdir_env] = str(self.state / "tmp")
        env[flavor.conf_env] = str(self.state / "config")
        env.pop(flavor.java_opts_env, None)
        if flavor is ELASTICSEARCH:  # the launcher's own JVM writes temporary files too
            env["CLI_JAVA_OPTS"] = f"-Djava.io.tmpdir={self.state / 'tmp'}"
        cmd = [str(home / flavor.launcher), "-p", str(self.pid_file)]
        drop = root_drop()
        if drop == "namespace":
            cmd = [*namespace_prefix(), *cmd]
        elif drop == "nobody":
            cmd = ["setpriv", f"--reuid={UNPRIVILEGED_USER}", f"--regid={group_of(UNPRIVILEGED_USER)}",
                   "--clear-groups", "--", *cmd]
        return cmd, env

    def _spawn(self, home: Path, java_home: Path) -> subprocess.Popen:
        cmd, env = self.command(home, java_home)
        console = open(self.console_log, "ab")  # noqa: SIM115 - handed to the child
        try:
            return subprocess.Popen(
                cmd, cwd=home, env=env, stdin=subprocess.DEVNULL, stdout=console,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        finally:
            console.close()

    def _wait_healthy(self, proc: subprocess.Popen, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        url = self.config.url
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self.meta_file.unlink(missing_ok=True)
                raise IntpkgError(
                    f"The search node failed to start (exit code {proc.returncode}). Last log lines "
                    f"({self.console_log}):\n{self.last_log_lines(25)}"
                )
            try:
                health = requests.get(f"{url}/_cluster/health", timeout=2).json()
                if health.get("status") in ("yellow", "green"):
                    return requests.get(url + "/", timeout=5).json()
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.5)
        self.down()
        raise IntpkgError(
            f"The search node did not become healthy within {timeout:.0f}s and was stopped. "
            f"Last log lines:\n{self.last_log_lines(25)}"
        )

    # ---- down / logs ---------------------------------------------------------------------------
    def down(self, timeout: float = 60.0) -> bool:
        """Stop the node and every process of its session. Returns False if nothing was running."""
        pid = self.running_pid()
        self.meta_file.unlink(missing_ok=True)
        if not pid:
            return False
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _group_alive(pid):
            time.sleep(0.2)
        if _group_alive(pid):
            _signal_group(pid, signal.SIGKILL)
            while _group_alive(pid):
                time.sleep(0.1)
        return True

    def last_log_lines(self, count: int) -> str:
        lines: list[str] = []
        for path in (self.console_log, self.server_log()):
            if path.is_file():
                lines.extend(path.read_text(errors="replace").splitlines()[-count:])
        return "\n".join(lines[-count:]) or "(no log output)"

    def follow_log(self, lines: int = 50, follow: bool = False) -> Iterator[str]:
        path = self.server_log()
        if not path.is_file():
            raise IntpkgError(f"No node log at {path}; has the node been started (intpkg stack up)?")
        with path.open(errors="replace") as fh:
            yield from fh.read().splitlines(keepends=True)[-lines:]
            while follow:
                line = fh.readline()
                if line:
                    yield line
                else:
                    time.sleep(0.5)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of this very process counts as gone
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[1][0] != "Z"
    except OSError:
        return True


def _group_alive(pgid: int) -> bool:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(") ", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


























