"""intpkg: tooling for the Cloudflare integration package (lint, build, test, collect)."""

__version__ = "0.1.0"
