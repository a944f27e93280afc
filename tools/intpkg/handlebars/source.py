"""Where handlebars.js comes from: the version Fleet uses, from its own registry, verified.

`handlebars_js()` is INTPKG_HANDLEBARS_JS when set; otherwise `dist/handlebars.js` of npm's
`handlebars@4.7.8`, provisioned once into `$INTPKG_HOME/cache/handlebars/4.7.8/`: `npm pack` fetches
the tarball, which must have the integrity pinned below (npm's `dist.integrity` of that version), and
the file is extracted from it. `SOURCE` in the folder records where it came from.
"""

from __future__ import annotations

from pathlib import Path

from intpkg import npm, settings
from intpkg.errors import IntpkgError

VERSION = "4.7.8"
PACKAGE = f"handlebars@{VERSION}"
INTEGRITY = "sha512-vafaFqs8MZkRrSX7sFVUdo3ap/eNiLnb4IakshzvP56X5Nr1iGKAIqdX6tMlm6HcNRIkr6AxO5jFEoJzzpT8aQ=="
MEMBER = "package/dist/handlebars.js"
FILE_NAME = "handlebars.js"


class HandlebarsUnavailable(IntpkgError):
    """handlebars.js (or the JavaScript engine that runs it) cannot be had; the message says what to do."""


def cache_dir() -> Path:
    return settings.intpkg_home() / "cache" / "handlebars" / VERSION


def handlebars_js() -> Path:
    """The handlebars.js file to load: INTPKG_HANDLEBARS_JS, else the verified npm copy (provisioned on first use)."""
    configured = settings.handlebars_js()
    if configured is not None:
        if not configured.is_file():
            raise HandlebarsUnavailable(f"INTPKG_HANDLEBARS_JS names {configured}, which is not a file")
        return configured
    try:
        return npm.provision_file(PACKAGE, INTEGRITY, MEMBER, cache_dir(), FILE_NAME)
    except IntpkgError as exc:
        raise HandlebarsUnavailable(f"handlebars.js {VERSION} could not be provisioned from npm's {PACKAGE}: {exc}. "
                                    f"Install npm ({npm.INSTALL_HINT}), or set INTPKG_HANDLEBARS_JS to a copy of "
                                    f"that package's dist/handlebars.js.") from None
