"""The mock Cloudflare API: Cloudflare's HandlerSet registered into the generic mock (`intpkg.mock`).

Config extensions (see `intpkg.mock` for the stream format):

* top-level `x-intpkg`: `accounts` and `zones` (id -> name/account/retention/bot_management), `credentials`
  (test tokens or email + global key, with owner, status, scope and permissions), `rate_limit` and
  `logpull_rate_limit` (`{quota, window}`), and named `datasets` (see `datasets.py`);
* a rule's `x-intpkg-handler: {kind, dataset, ...}` with kind `audit_v1`, `audit_v2`, `logpull`,
  `logpull_fields`, `token_verify` or `retention_flag` (see `handlers.py`).

Python API: `with CloudflareMock.from_package(package_dir, **options) as mock:` then `mock.base_url` (the
package's `api_url`), `mock.requests` (redacted log), `mock.errors`, `mock.dataset(name)` (ground truth),
`mock.add_fault(kind, path=..., times=...)`, `mock.stop()`.
"""

from intpkg.cloudflare.mockapi.api import CloudflareApi, api_factory
from intpkg.cloudflare.mockapi.server import CloudflareMock

__all__ = ["CloudflareApi", "CloudflareMock", "api_factory"]
