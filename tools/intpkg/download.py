"""Downloads of third-party artifacts from official sites: verified, resumable-safe, fast to give up.

One home for every HTTP download intpkg makes (the Elasticsearch archive, the ECS reference):

- a download lands in `<target>.partial` and is renamed only when complete and verified, so a cut
  connection or a checksum mismatch never leaves a file that looks usable;
- a host that cannot be reached (DNS, refused, timeout) costs at most a few seconds, and is
  remembered as unreachable for an hour (`<cache>/unreachable/<host>`), so the next command does
  not wait again;
- progress is shown with tqdm on standard error.
"""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import requests

from intpkg.errors import IntpkgError

CONNECT_TIMEOUT = 5.0  # seconds to reach a host; with one retry-free attempt, ~5 s lost at most
READ_TIMEOUT = 30.0  # seconds without a byte before a transfer is given up
UNREACHABLE_FOR = 3600.0  # seconds a host that could not be reached is not tried again


class Unreachable(IntpkgError):
    """The host could not be reached (now, or recently enough to not try again)."""


def _memo(cache: Path, url: str) -> Path:
    host = urlparse(url).netloc.replace(":", "_") or "local"
    return cache / "unreachable" / host


def recently_unreachable(cache: Path, url: str) -> float | None:
    """Seconds since `url`'s host was found unreachable, if that was less than UNREACHABLE_FOR ago."""
    try:
        age = time.time() - _memo(cache, url).stat().st_mtime
    except OSError:
        return None
    return age if age < UNREACHABLE_FOR else None


def _remember_unreachable(cache: Path, url: str, reason: str) -> None:
    memo = _memo(cache, url)
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        memo.write_text(reason + "\n")
    except OSError:
        pass


def forget_unreachable(cache: Path, url: str) -> None:
    _memo(cache, url).unlink(missing_ok=True)


def _get(url: str, cache: Path, *, stream: bool) -> requests.Response:
    """GET `url`; connection failures raise Unreachable (and are remembered), HTTP errors IntpkgError."""
    age = recently_unreachable(cache, url)
    if age is not None:
        host = urlparse(url).netloc
        raise Unreachable(f"{host} was unreachable {age / 60:.0f} min ago; not trying again for an hour "
                          f"(delete {_memo(cache, url)} to retry now)")
    try:
        response = requests.get(url, stream=stream, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
    except (requests.ConnectionError, requests.Timeout) as exc:
        reason = f"{urlparse(url).netloc} is unreachable ({_short(exc)})"
        _remember_unreachable(cache, url, reason)
        raise Unreachable(reason) from None
    except requests.RequestException as exc:
        raise IntpkgError(f"Could not download {url}: {_short(exc)}") from None
    if response.status_code != 200:
        response.close()
        raise IntpkgError(f"{url} answered HTTP {response.status_code}")
    forget_unreachable(cache, url)
    return response


def fetch_text(url: str, cache: Path) -> str:
    """The body of a small text file (a checksum, a reference file)."""
    with _get(url, cache, stream=False) as response:
        return response.text


def fetch_file(url: str, target: Path, cache: Path, *, sha512: str | None = None, label: str = "",
               quiet: bool = False) -> Path:
    """Download `url` to `target` (kept when already there), verifying its SHA-512 when given.

    A short read (fewer bytes than Content-Length) or a checksum mismatch raises IntpkgError and
    leaves nothing behind.
    """
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha512()
    received = 0
    with _get(url, cache, stream=True) as response:
        expected = int(response.headers.get("Content-Length") or 0) or None
        progress = _progress(expected, label or target.name, quiet)
        try:
            with partial.open("wb") as fh:
                for chunk in response.iter_content(1 << 20):
                    fh.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    progress.update(len(chunk))
        except (requests.RequestException, OSError) as exc:
            partial.unlink(missing_ok=True)
            raise IntpkgError(f"The download of {url} broke off after {received} bytes ({_short(exc)}).") from None
        finally:
            progress.close()
    if expected is not None and received != expected:
        partial.unlink(missing_ok=True)
        raise IntpkgError(f"The download of {url} is truncated: {received} of {expected} bytes.")
    if sha512 is not None and digest.hexdigest() != sha512.lower():
        partial.unlink(missing_ok=True)
        raise IntpkgError(f"{url} has SHA-512 {digest.hexdigest()[:16]}…, but the published checksum is "
                          f"{sha512[:16]}…; the file was discarded.")
    partial.replace(target)
    return target


def _progress(total: int | None, label: str, quiet: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label, file=sys.stderr,
                disable=True if quiet else None, mininterval=1.0, leave=False)  # None: off when not a terminal


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _short(exc: BaseException) -> str:
    """The innermost reason of a requests/urllib3 error, without the URL noise."""
    text = str(exc)
    for marker in ("Failed to resolve", "Connection refused", "timed out", "Name or service not known"):
        if marker in text:
            return marker.lower()
    return exc.__class__.__name__ + (": " + text[:120] if text else "")

