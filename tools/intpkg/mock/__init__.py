"""A generic mock HTTP API for system tests and first runs: stream-format rules plus registered handlers.

Configuration: the package's `_dev/deploy/docker/docker-compose.yml` names a service running the
`docker.elastic.co/observability/stream` image with `http-server --config=<path>` (volumes map container
paths such as `/files` to host folders). The config file follows the stream format (see `config.py`) with
three intpkg extensions the stream image ignores:

* top-level `x-intpkg`: settings for the server's HandlerSet (kept as `MockConfig.settings`);
* a rule's `x-intpkg-handler: {kind, ...}`: answered by the handler registered under `kind`
  (see `handlerset.py`; Cloudflare's are in `intpkg.cloudflare.mockapi`);
* a rule's `x-intpkg-faults: [...]` (see `faults.py`).

Python API: `with MockServer.from_package(package_dir, api=factory, **options) as mock:` then `mock.base_url`,
`mock.requests` (redacted log), `mock.errors`, `mock.add_fault(kind, path=..., times=...)`, `mock.stop()`.
This package imports no API of its own: an API registers into it (`intpkg.cloudflare.mockapi.CloudflareMock`).
"""

from intpkg.mock.config import ConfigError, MockConfig, load_config
from intpkg.mock.handlerset import Admission, ApiFactory, Call, HandlerSet
from intpkg.mock.server import MockServer

__all__ = ["Admission", "ApiFactory", "Call", "ConfigError", "HandlerSet", "MockConfig", "MockServer", "load_config"]
