"""Arguments shared by the commands that read a package checkout."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_package_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("package_dir", nargs="?", type=Path, default=Path("."),
                        help="package directory (default: the current directory)")


def add_ecs_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ecs-dir", type=Path, help="folder holding the ECS ecs_flat.yml (default: INTPKG_ECS_DIR)")
