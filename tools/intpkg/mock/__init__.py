"""A mock of the Cloudflare API for system tests and first runs: stream-format rules plus intpkg handlers.

Configuration: the package's `_dev/deploy/docker/docker-compose.yml` names a service running the
`docker.elastic.co/observability/stream` image with `http-server --config=<path>` (volumes map container
paths such as `/files` to host folders). The config file follows the stream format (see `config.py`) with
three intpkg extensions the stream image ignores:

* top-level `x-intpkg`: `accounts` and `zones` (id -> name/account/retention/bot_management), `credentials`
  (test tokens or email + global key, with owner, status, scope and permissions), `rate_limit` and
  `logpull_rate_limit` (`{quota, window}`), and named `datasets` (see `intpkg.cloudflare.mockapi.datasets`);
* a rule's `x-intpkg-handler: {kind, dataset, ...}` with kind `audit_v1`, `audit_v2`, `logpull`,
  `logpull_fields`, `token_verify` or `retention_flag` (see `intpkg.cloudflare.mockapi.handlers`);
* a rule's `x-intpkg-faults: [...]` (see `faults.py`).

Python API: `with MockServer.from_package(package_dir, **options) as mock:` then `mock.base_url` (the
package's `api_url`), `mock.requests` (redacted log), `mock.errors`, `mock.dataset(name)` (ground truth),
`mock.add_fault(kind, path=..., times=...)`, `mock.stop()`.
"""

from intpkg.mock.config import ConfigError, MockConfig, load_config
from intpkg.mock.server import MockServer

__all__ = ["ConfigError", "MockConfig", "MockServer", "load_config"]
