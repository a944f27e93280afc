"""One process at a time on a state folder: an exclusive `flock` on a lock file that names its holder.

The lock goes with the process (even on kill -9). The file holds `pid <n>` while it is held, so a
refusal can name the holder and `holder` can find it (how the UI finds a collector that outlived it).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def pid_lock(path: Path, refused: Callable[[str], Exception], *, wait: float = 1.0) -> Iterator[None]:
    """Hold an exclusive lock on `path`; when another process holds it for longer than `wait` seconds (a
    brief `holder` probe is waited out), raise `refused(<what the file says of its holder>)`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    raise refused(handle.read().strip() or "another process") from None
                time.sleep(0.05)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def holder(path: Path) -> int | None:
    """The pid of the process holding the lock on `path` (-1: held, pid not yet written), or None."""
    try:
        handle = open(path)
    except OSError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            words = handle.read().split()
            return int(words[1]) if len(words) == 2 and words[0] == "pid" and words[1].isdigit() else -1
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None
