"""`intpkg ui`: the Fleet-like integrations UI (catalog, policies, collector, data streams)."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from intpkg import settings
from intpkg.commands._package import add_package_arg
from intpkg.commands._target import add_target_args, target_from_args


def register(sub: argparse._SubParsersAction) -> None:
    ui = sub.add_parser("ui", help="serve the integrations UI (browse, add and configure, collect, watch)")
    add_package_arg(ui)
    add_ui_args(ui)
    add_target_args(ui)
    ui.set_defaults(func=cmd_ui)


def add_ui_args(parser: argparse.ArgumentParser, *, prefix: str = "") -> None:
    """The UI's address options (`prefix` "ui-" for `intpkg up`, whose other options they sit beside)."""
    parser.add_argument(f"--{prefix}host", dest="ui_host", default="127.0.0.1",
                        help=f"address to serve on (default 127.0.0.1; another needs an access token in "
                             f"{settings.UI_TOKEN_ENV}, at least 16 characters)")
    parser.add_argument(f"--{prefix}port", dest="ui_port", type=int, default=settings.DEFAULT_UI_PORT,
                        help=f"port (default {settings.DEFAULT_UI_PORT}; 0 picks a free one)")
    parser.add_argument("--registry", type=Path, action="append", default=[],
                        help="folder of built package zips (intpkg build) to list in the catalog; repeatable")


def cmd_ui(args: argparse.Namespace) -> int:
    from intpkg.ui.server import start_ui

    server = start_ui([args.package_dir.resolve(), *args.registry], settings.ui_home(), target_from_args(args),
                      host=args.ui_host, port=args.ui_port, token=settings.ui_token())
    print(f"integrations UI: {server.url} (Ctrl-C stops it; a running collector keeps running)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0
