"""`intpkg install` / `intpkg uninstall`: the package's assets in a cluster (local node or --es-url)."""

from __future__ import annotations

import argparse

from intpkg.assets.install import install_package, uninstall_package
from intpkg.commands._package import add_ecs_arg, add_package_arg
from intpkg.commands._target import add_target_args, client_from_args


def register(sub: argparse._SubParsersAction) -> None:
    install = sub.add_parser("install", help="install the package's templates and pipelines into the cluster")
    add_package_arg(install)
    add_ecs_arg(install)
    add_target_args(install)
    install.set_defaults(func=cmd_install)

    uninstall = sub.add_parser("uninstall", help="remove the package's templates and pipelines")
    add_package_arg(uninstall)
    uninstall.add_argument("--delete-data", action="store_true",
                           help="also delete the package's data streams and the users' @custom component templates")
    add_target_args(uninstall)
    uninstall.set_defaults(func=cmd_uninstall)


def cmd_install(args: argparse.Namespace) -> int:
    client = client_from_args(args)
    report = install_package(client, args.package_dir, ecs_dir=args.ecs_dir)
    for line in report.installed:
        print(f"installed {line}")
    for line in report.removed:
        print(f"removed   {line} (replaced version {report.previous_version})")
    print(f"Package installed into {client.target.url} ({client.flavor} {client.version}).")
    return 0


def cmd_uninstall(args: argparse.Namespace) -> int:
    client = client_from_args(args)
    removed = uninstall_package(client, args.package_dir, delete_data=args.delete_data)
    for line in removed:
        print(f"removed {line}")
    print(f"Package uninstalled from {client.target.url}." if removed else "Nothing of the package was installed.")
    return 0
