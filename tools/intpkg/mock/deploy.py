"""Find the mock of a package: `_dev/deploy/docker/docker-compose.yml` -> stream service -> config + flags."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from intpkg.mock.config import ConfigError
from intpkg.yamlpos import ParseError, load_file

STREAM_IMAGE = "docker.elastic.co/observability/stream"
FLAG_NAMES = ("fault-rate", "fault-error-code", "delay-rate", "delay-duration")


@dataclass
class Deployment:
    """What the compose file says about the stream service."""

    compose_path: Path
    service: str
    config_path: Path
    path_map: list[tuple[PurePosixPath, Path]]
    flags: dict[str, str] = field(default_factory=dict)


def find_deployment(package_dir: Path, service: str | None = None) -> Deployment:
    """Read the package's compose file and locate the stream `http-server` service."""
    compose = package_dir / "_dev" / "deploy" / "docker" / "docker-compose.yml"
    if not compose.is_file():
        raise ConfigError(f"{compose}: not found (the package declares no docker mock under _dev/deploy/docker)")
    try:
        loaded = load_file(compose)
    except ParseError as exc:
        raise ConfigError(str(exc)) from None
    services = (loaded.data or {}).get("services") if isinstance(loaded.data, dict) else None
    if not isinstance(services, dict) or not services:
        raise ConfigError(f"{compose}:1:1: services: no services declared")
    candidates = [name for name, svc in services.items()
                  if isinstance(svc, dict) and str(svc.get("image", "")).startswith(STREAM_IMAGE)]
    if service is None:
        if not candidates:
            raise ConfigError(f"{compose}:1:1: services: no service uses the {STREAM_IMAGE} image")
        service = candidates[0]
    if service not in services:
        raise ConfigError(f"{compose}:1:1: services: no service named {service!r} "
                          f"(found {', '.join(map(str, services))})")
    svc = services[service]
    where = "{}:{}:{}".format(compose, *loaded.pos(("services", service)))
    command = svc.get("command") if isinstance(svc, dict) else None
    args = shlex.split(command) if isinstance(command, str) else [str(a) for a in command or []]
    if "http-server" not in args:
        raise ConfigError(f"{where}: services.{service}.command: expected the stream `http-server` command")
    flags = _flags(args[args.index("http-server") + 1:])
    if "config" not in flags:
        raise ConfigError(f"{where}: services.{service}.command: missing --config=<path>")
    path_map = []
    for volume in svc.get("volumes") or []:
        source, target = _volume(volume)
        if source is None:
            continue
        path_map.append((PurePosixPath(target), (compose.parent / source).resolve()))
    path_map.sort(key=lambda item: len(item[0].parts), reverse=True)
    config_inside = flags.pop("config")
    config_path = _map(config_inside, path_map, compose.parent)
    return Deployment(compose, service, config_path, path_map, {k: v for k, v in flags.items() if k in FLAG_NAMES})


def _flags(args: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            if not eq and i + 1 < len(args) and not args[i + 1].startswith("--"):
                value = args[i + 1]
                i += 1
            out[name] = value
        i += 1
    return out


def _volume(volume: object) -> tuple[str | None, str]:
    if isinstance(volume, dict):
        if volume.get("type", "bind") != "bind":
            return None, ""
        return str(volume.get("source")), str(volume.get("target"))
    parts = str(volume).split(":")
    if len(parts) < 2 or not parts[0].startswith((".", "/")):
        return None, ""
    return parts[0], parts[1]


def _map(inside: str, path_map: list[tuple[PurePosixPath, Path]], base: Path) -> Path:
    p = PurePosixPath(inside)
    for target, source in path_map:
        try:
            return source / p.relative_to(target)
        except ValueError:
            continue
    return base / inside.lstrip("/")
