"""Local addresses: is a host loopback; ports on 127.0.0.1 for local nodes: is one free, and a free
HTTP/transport pair (transport = HTTP + 100)."""

from __future__ import annotations

import ipaddress
import socket

from intpkg.errors import IntpkgError


def is_loopback(host: str) -> bool:
    """`localhost` or a loopback address (servers bind there unless the user decides otherwise)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def port_is_free(port: int) -> bool:
    """True when nothing listens on (or holds) `port` on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # as the engine binds: connections of a node just stopped (TIME_WAIT) do not make the port busy
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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


def check_port_free(port: int, purpose: str = "HTTP") -> None:
    if not port_is_free(port):
        raise IntpkgError(
            f"Port {port} on 127.0.0.1 ({purpose}) is already in use by another process. Stop it, or pick "
            f"another port with --port / INTPKG_ES_PORT (the transport port is the HTTP port + 100)."
        )

