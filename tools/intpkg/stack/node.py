"""Run one local single-node cluster: start, wait for health, report, stop.

Layout under the state folder (default `$INTPKG_HOME/node`):

    config/      the node's config folder (settings file, JVM options, log4j)
    data/<engine>/  index data (one folder per engine: elasticsearch, opensearch)
    logs/        the node's logs; `console.log` holds stdout/stderr of the process
    node.pid     written by the engine itself (`-p`)
    node.json    what `up` started: pid, url, version, heap

The node binds 127.0.0.1 only. The engine refuses to run as root, so when intpkg runs as root the
node runs in a user namespace as an unprivileged user id (`unshare --user`) that maps back to root
outside: it can still use the root-owned state folder and /tmp, which Elasticsearch's entitlement
agent needs. Where user namespaces are unavailable it runs as `nobody` (setpriv) instead.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

from intpkg import settings
from intpkg.errors import IntpkgError
from intpkg.stack.distribution import ENGINE_ENV, OPENSEARCH, Distribution, ensure_installed, selected
from intpkg.stack.java import find_java

GEOIP_EDITIONS = ("City", "ASN", "Country")
UNPRIVILEGED_USER = "nobody"
NAMESPACE_UID = 65534  # the unprivileged id the node sees inside its user namespace
DEFAULT_PORT = 9200
DEFAULT_HEAP = "1g"
# index-level settings do not belong in a node's settings (Elasticsearch refuses to start); dropped with a warning
INDEX_SETTING_PREFIXES = ("index.",)
# settings of Elasticsearch that OpenSearch does not know; dropped with a warning on OpenSearch
FOREIGN_SETTING_PREFIXES = ("xpack.", "ingest.geoip.downloader.", *INDEX_SETTING_PREFIXES)
# node settings that are always right for a local, single-user Elasticsearch node
ELASTICSEARCH_SETTINGS = {
    "xpack.security.enabled": "false",
    "ingest.geoip.downloader.enabled": "false",  # offline: the GeoIP databases come from INTPKG_GEOIP_DIR
    "action.destructive_requires_name": "false",  # tests clean up with wildcards
}


@dataclass
class NodeConfig:
    """How to run the local node; defaults come from the environment."""

    state_dir: Path = field(default_factory=lambda: _default_state_dir())
    cache_dir: Path = field(default_factory=lambda: settings.intpkg_home() / "cache")
    port: int = field(default_factory=lambda: int(os.environ.get("INTPKG_ES_PORT", DEFAULT_PORT)))
    heap: str = field(default_factory=lambda: os.environ.get("INTPKG_HEAP", DEFAULT_HEAP))
    geoip_dir: Path | None = field(default_factory=settings.geoip_dir)
    extra_settings: dict[str, str] = field(default_factory=dict)
    offline: bool = False
    distribution: Distribution = field(default_factory=lambda: default_distribution())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def transport_port(self) -> int:
        return int(self.extra_settings.get("transport.port", self.port + 100))


def default_distribution() -> Distribution:
    """INTPKG_ENGINE's engine; without it Elasticsearch, unless this machine cannot run it as root.

    Under root without user namespaces the node runs as `nobody`, and Elasticsearch's entitlement
    agent then needs a /tmp that `nobody` may write; where neither holds, OpenSearch (which has no
    such agent) is used instead, with a warning.
    """
    dist = selected()
    if os.environ.get(ENGINE_ENV) or dist.flavor != "elasticsearch":
        return dist
    if _root_drop() != "nobody" or _tmp_writable_by_others():
        return dist
    global _WARNED_FALLBACK
    if not _WARNED_FALLBACK:
        _WARNED_FALLBACK = True
        print("warning: running as root without user namespaces and with a /tmp that others may not write: "
              f"Elasticsearch cannot start here, using {OPENSEARCH.flavor} {OPENSEARCH.version} "
              f"(set {ENGINE_ENV} to choose)", file=sys.stderr)
    return OPENSEARCH


_WARNED_FALLBACK = False


def _tmp_writable_by_others() -> bool:
    return bool(Path("/tmp").stat().st_mode & 0o002)


def _default_state_dir() -> Path:
    return Path(os.environ.get("INTPKG_STATE_DIR") or settings.intpkg_home() / "node")


def split_settings(pairs: list[str], distribution: Distribution | None = None) -> tuple[dict[str, str], list[str]]:
    """Parse `key=value` items; return (kept settings, names dropped as foreign to the engine)."""
    opensearch = (distribution or default_distribution()).flavor == "opensearch"
    foreign = FOREIGN_SETTING_PREFIXES if opensearch else INDEX_SETTING_PREFIXES
    kept: dict[str, str] = {}
    dropped: list[str] = []
    for pair in pairs:
        if "=" not in pair:
            raise IntpkgError(f"Setting {pair!r} is not of the form key=value.")
        key, value = pair.split("=", 1)
        if key.startswith(foreign):
            dropped.append(key)
        else:
            kept[key] = value
    return kept, dropped


class LocalNode:
    """The node described by a `NodeConfig`."""

    def __init__(self, config: NodeConfig | None = None) -> None:
        self.config = config or NodeConfig()
        self.state = self.config.state_dir
        self.meta_file = self.state / "node.json"
        self.pid_file = self.state / "node.pid"
        self.logs_dir = Path(self.config.extra_settings.get("path.logs") or self.state / "logs")
        # one data folder per engine: neither can read the other's indices
        default_data = self.state / "data" / self.config.distribution.flavor
        self.data_dir = Path(self.config.extra_settings.get("path.data") or default_data)
        self.console_log = self.logs_dir / "console.log"

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
        proc = self._spawn(home, java_home)
        meta = {
            "pid": proc.pid,
            "url": cfg.url,
            "port": cfg.port,
            "heap": cfg.heap,
            "flavor": cfg.distribution.flavor,
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

    def _prepare_state(self, home: Path) -> None:
        cfg = self.config
        conf = self.state / "config"
        for folder in (self.data_dir, self.logs_dir, conf, self.state / "tmp"):
            folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(home / "config" / "log4j2.properties", conf / "log4j2.properties")
        # the stock options name paths relative to the engine home, which the node may not write
        jvm_options = (home / "config" / "jvm.options").read_text()
        for relative, absolute in (("file=logs/", f"file={self.logs_dir}/"),
                                   ("HeapDumpPath=data", f"HeapDumpPath={self.data_dir}"),
                                   ("ErrorFile=logs/", f"ErrorFile={self.logs_dir}/")):
            jvm_options = jvm_options.replace(relative, absolute)
        (conf / "jvm.options").write_text(jvm_options)
        (conf / "jvm.options.d").mkdir(exist_ok=True)
        (conf / "jvm.options.d" / "heap.options").write_text(f"-Xms{cfg.heap}\n-Xmx{cfg.heap}\n")
        engine_settings = ELASTICSEARCH_SETTINGS if cfg.distribution.flavor == "elasticsearch" else {}
        node_settings = {
            "cluster.name": "intpkg",
            "node.name": "intpkg-node",
            "network.host": "127.0.0.1",
            "http.port": str(cfg.port),
            "transport.port": str(cfg.transport_port),
            "discovery.type": "single-node",
            "path.data": str(self.data_dir),
            "path.logs": str(self.logs_dir),
            # a nearly full disk must not turn indices read-only under the tests
            "cluster.routing.allocation.disk.threshold_enabled": "false",
            **engine_settings,
            **cfg.extra_settings,
        }
        settings_text = "".join(f"{k}: {json.dumps(v)}\n" for k, v in node_settings.items())
        (conf / cfg.distribution.settings_file).write_text(settings_text)
        self.pid_file.unlink(missing_ok=True)
        drop = _root_drop()
        if drop == "namespace":
            # root in the node's namespace may only write files root owns outside (a state folder that
            # an earlier `nobody` node owned is taken back)
            if any(p.stat().st_uid != 0 for p in (self.state, conf, self.data_dir, self.logs_dir)):
                subprocess.run(["chown", "-R", "0:0", str(self.state)], check=True)
        elif drop == "nobody":
            owned = {self.state, self.data_dir, self.logs_dir}
            for folder in owned:
                _check_reachable_by_others(folder)
            subprocess.run(["chown", "-R", f"{UNPRIVILEGED_USER}:", *map(str, owned)], check=True)

    def _install_geoip(self, home: Path) -> None:
        """Install the configured GeoIP databases as the node's GeoLite2 databases.

        Elasticsearch reads them from `<config>/ingest-geoip/`; OpenSearch's module ships its own
        copies, which are replaced (the originals are kept as `.orig`).
        """
        if self.config.distribution.flavor == "elasticsearch":
            self._install_geoip_config_databases()
            return
        module = home / "modules" / "ingest-geoip"
        if not module.is_dir():
            return
        source = self.config.geoip_dir
        for edition in GEOIP_EDITIONS:
            target = module / f"GeoLite2-{edition}.mmdb"
            original = module / f"GeoLite2-{edition}.mmdb.orig"
            if target.exists() and not original.exists():
                shutil.copy2(target, original)
            if source is None:
                if original.exists():
                    shutil.copy2(original, target)
                continue
            found = _geoip_database(source, edition)
            shutil.copyfile(found, target)
            target.chmod(0o644)

    def _install_geoip_config_databases(self) -> None:
        folder = self.state / "config" / "ingest-geoip"
        shutil.rmtree(folder, ignore_errors=True)
        source = self.config.geoip_dir
        if source is None:
            return
        folder.mkdir(parents=True)
        for edition in GEOIP_EDITIONS:
            found = _geoip_database(source, edition)
            shutil.copyfile(found, folder / f"GeoLite2-{edition}.mmdb")
            (folder / f"GeoLite2-{edition}.mmdb").chmod(0o644)

    def command(self, home: Path, java_home: Path) -> tuple[list[str], dict[str, str]]:
        """Command line and environment that start the engine in the foreground."""
        cfg = self.config
        env = {k: v for k, v in os.environ.items() if not k.startswith(("INTPKG_ES_", "ELASTIC_PACKAGE_"))}
        dist = cfg.distribution
        env.update(HOME=str(self.state))
        env[dist.java_home_env] = str(java_home)
        env[dist.tmpdir_env] = str(self.state / "tmp")
        env[dist.conf_env] = str(self.state / "config")
        env.pop(dist.java_opts_env, None)
        if dist.flavor == "elasticsearch":  # the launcher's own JVM writes temporary files too
            env["CLI_JAVA_OPTS"] = f"-Djava.io.tmpdir={self.state / 'tmp'}"
        cmd = [str(home / dist.launcher), "-p", str(self.pid_file)]
        drop = _root_drop()
        if drop == "namespace":
            cmd = [*_namespace_prefix(), *cmd]
        elif drop == "nobody":
            cmd = ["setpriv", f"--reuid={UNPRIVILEGED_USER}", f"--regid={_group_of(UNPRIVILEGED_USER)}",
                   "--clear-groups", "--", *cmd]
        return cmd, env

    def prepare(self, *, quiet: bool = False) -> tuple[Path, Path]:
        """Check ports and Java, provision the engine, write the node's config; return (home, java)."""
        cfg = self.config
        _check_port_free(cfg.port)
        _check_port_free(cfg.transport_port, purpose="transport")
        needs_jdk = cfg.distribution.source is not None
        java_home = find_java(cfg.distribution.min_java, need_javac=needs_jdk)
        home = ensure_installed(cfg.distribution, cfg.cache_dir, java_home=java_home, offline=cfg.offline, quiet=quiet)
        self._prepare_state(home)
        self._install_geoip(home)
        return home, java_home

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


def port_is_free(port: int) -> bool:
    """True when nothing listens on (or holds) `port` on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pair(preferred: int | None = None, *, avoid: tuple[int, ...] = ()) -> int:
    """An HTTP port whose transport port (+100) is free too: `preferred` when both are free, else one from the OS."""
    if preferred is not None and port_is_free(preferred) and port_is_free(preferred + 100):
        return preferred
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port + 100 < 65536 and port not in avoid and port_is_free(port + 100):
            return port
    raise IntpkgError("No free pair of ports (HTTP and HTTP + 100) on 127.0.0.1.")


def _check_port_free(port: int, purpose: str = "HTTP") -> None:
    if not port_is_free(port):
        raise IntpkgError(
            f"Port {port} on 127.0.0.1 ({purpose}) is already in use by another process. Stop it, or pick "
            f"another port with --port / INTPKG_ES_PORT (the transport port is the HTTP port + 100)."
        )


def _check_reachable_by_others(folder: Path) -> None:
    """The node runs as `nobody`: every parent of its folders must let others through."""
    for parent in folder.resolve().parents:
        if not parent.stat().st_mode & 0o001:
            raise IntpkgError(
                f"{folder} is not reachable by the user '{UNPRIVILEGED_USER}' the node runs as (its parent "
                f"{parent} has mode {oct(parent.stat().st_mode & 0o777)}). Choose a state folder outside it "
                "(--state-dir / INTPKG_STATE_DIR) or run intpkg as a non-root user."
            )


def _group_of(user: str) -> str:
    import grp
    import pwd

    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name


def _geoip_database(source: Path, edition: str) -> Path:
    candidates = [source / f"GeoLite2-{edition}-Test.mmdb", source / f"GeoLite2-{edition}.mmdb"]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        raise IntpkgError(f"INTPKG_GEOIP_DIR={source} has no GeoLite2-{edition}-Test.mmdb or GeoLite2-{edition}.mmdb.")
    return found


_USERNS: bool | None = None


def user_namespaces_available() -> bool:
    """Whether `unshare --user` works here (checked once per process)."""
    global _USERNS
    if _USERNS is None:
        try:
            probe = subprocess.run([*_namespace_prefix(), _system_tool("true")], capture_output=True, timeout=10)
            _USERNS = probe.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _USERNS = False
    return _USERNS


def _namespace_prefix() -> list[str]:
    """The command prefix that runs a program in a new user namespace as NAMESPACE_UID (root outside)."""
    return [_system_tool("unshare"), "--user", f"--map-user={NAMESPACE_UID}", f"--map-group={NAMESPACE_UID}", "--"]


def _root_drop() -> str | None:
    """How the node leaves root: "namespace" (unshare --user), "nobody" (setpriv), or None when not root."""
    if os.geteuid() != 0:
        return None
    return "namespace" if user_namespaces_available() else "nobody"


def _system_tool(name: str) -> str:
    """Absolute path of a util-linux tool, found even when the caller's PATH is narrowed."""
    return shutil.which(name) or next((f"{d}/{name}" for d in ("/usr/bin", "/bin") if Path(d, name).is_file()), name)
