"""CLI commands: one module per top-level command, each exposing `register(subparsers)`."""
