"""Running a node as root without being root: the engines refuse root, so the node drops it.

In a user namespace (`unshare --user`) the node runs as an unprivileged id that maps back to root
outside, so it can still use the root-owned state folder and /tmp. Where user namespaces are
unavailable it runs as `nobody` (setpriv), and its folders must be reachable by others.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from intpkg.errors import IntpkgError

UNPRIVILEGED_USER = "nobody"
NAMESPACE_UID = 65534  # the unprivileged id the node sees inside its user namespace


def tmp_writable_by_others() -> bool:
    return bool(Path("/tmp").stat().st_mode & 0o002)


def check_reachable_by_others(folder: Path) -> None:
    """The node runs as `nobody`: every parent of its folders must let others through."""
    for parent in folder.resolve().parents:
        if not parent.stat().st_mode & 0o001:
            raise IntpkgError(
                f"{folder} is not reachable by the user '{UNPRIVILEGED_USER}' the node runs as (its parent "
                f"{parent} has mode {oct(parent.stat().st_mode & 0o777)}). Choose a state folder outside it "
                "(--state-dir / INTPKG_STATE_DIR) or run intpkg as a non-root user."
            )


def group_of(user: str) -> str:
    import grp
    import pwd

    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name


_USERNS: bool | None = None


def user_namespaces_available() -> bool:
    """Whether `unshare --user` works here (checked once per process)."""
    global _USERNS
    if _USERNS is None:
        try:
            probe = subprocess.run([*namespace_prefix(), system_tool("true")], capture_output=True, timeout=10)
            _USERNS = probe.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _USERNS = False
    return _USERNS


def namespace_prefix() -> list[str]:
    """The command prefix that runs a program in a new user namespace as NAMESPACE_UID (root outside)."""
    return [system_tool("unshare"), "--user", f"--map-user={NAMESPACE_UID}", f"--map-group={NAMESPACE_UID}", "--"]


def root_drop() -> str | None:
    """How the node leaves root: "namespace" (unshare --user), "nobody" (setpriv), or None when not root."""
    if os.geteuid() != 0:
        return None
    return "namespace" if user_namespaces_available() else "nobody"


def system_tool(name: str) -> str:
    """Absolute path of a util-linux tool, found even when the caller's PATH is narrowed."""
    return shutil.which(name) or next((f"{d}/{name}" for d in ("/usr/bin", "/bin") if Path(d, name).is_file()), name)

