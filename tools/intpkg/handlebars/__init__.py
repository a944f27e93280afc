"""handlebars.js 4.7.8, the version Fleet renders stream templates with: from npm (`source`), run on V8 (`v8`)."""

from intpkg.handlebars.source import HandlebarsUnavailable
from intpkg.handlebars.v8 import Engine, HandlebarsError, Token, engine

__all__ = ["Engine", "HandlebarsError", "HandlebarsUnavailable", "Token", "engine"]
