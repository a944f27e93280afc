"""handlebars.js 4.7.8, the version Fleet renders stream templates with, on V8 (`engine`), from npm (`source`)."""

from intpkg.handlebars.engine import Engine, HandlebarsError, Token, engine
from intpkg.handlebars.source import HandlebarsUnavailable

__all__ = ["Engine", "HandlebarsError", "HandlebarsUnavailable", "Token", "engine"]
