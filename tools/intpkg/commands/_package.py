"""Arguments shared by the commands that read a package checkout."""

from __future__ import annotations

import argparse
from pathlib import Path

from intpkg import settings


def add_package_arg(parser: argparse.ArgumentParser, *, repository_fallback: bool = False) -> None:
    """PACKAGE_DIR, default the current folder; with `repository_fallback`, this repository's package when
    the current folder is not a package (test and benchmark commands run from anywhere in the checkout)."""
    if repository_fallback:
        parser.add_argument("package_dir", nargs="?", type=Path, metavar="PACKAGE_DIR", default=None,
                            help="package folder (default: the current folder if it is a package, else the "
                                 "repository's)")
    else:
        parser.add_argument("package_dir", nargs="?", type=Path, metavar="PACKAGE_DIR", default=Path("."),
                            help="package folder (default: the current folder)")


def package_dir(args: argparse.Namespace) -> Path:
    """The package folder the command works on (see `add_package_arg`)."""
    if args.package_dir is not None:
        return args.package_dir.resolve()
    cwd = Path.cwd()
    return cwd if (cwd / "manifest.yml").is_file() else settings.REPO_ROOT


def add_ecs_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ecs-dir", type=Path, help="folder holding the ECS ecs_flat.yml (default: INTPKG_ECS_DIR)")
