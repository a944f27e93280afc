"""A mock of the Cloudflare API for system tests: stream-format rules plus intpkg API handlers."""

from intpkg.mock.config import ConfigError, MockConfig, load_config
from intpkg.mock.server import MockServer

__all__ = ["ConfigError", "MockConfig", "MockServer", "load_config"]
