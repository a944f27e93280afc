"""`intpkg verify-credentials`: is the Cloudflare credential valid, and may it read what we collect?"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from intpkg.agent.policy import load_policy_file, plan_policies
from intpkg.cloudflare.verify import DEFAULT_API_URL, Check, Credentials
from intpkg.commands._package import add_package_arg
from intpkg.errors import IntpkgError
from intpkg.package import Package


def register(sub: argparse._SubParsersAction) -> None:
    verify = sub.add_parser(
        "verify-credentials",
        help="check the Cloudflare credential and its permissions for each enabled stream",
        description="Credentials come from CLOUDFLARE_API_TOKEN, or CLOUDFLARE_EMAIL + CLOUDFLARE_API_KEY (the "
                    "names Cloudflare's own tools use), or from the streams of a policy file.")
    add_package_arg(verify)
    verify.add_argument("--policy", type=Path, action="append",
                        help="take credentials, ids and streams from this policy (repeatable)")
    verify.add_argument("--api-url", help=f"scheme and host of the API (default {DEFAULT_API_URL})")
    verify.add_argument("--account-id", default=os.environ.get("CLOUDFLARE_ACCOUNT_ID"),
                        help="account whose audit logs are collected (CLOUDFLARE_ACCOUNT_ID)")
    verify.add_argument("--zone-id", action="append", default=[], help="zone for Logpull (repeatable)")
    verify.add_argument("--api-version", choices=["v2", "v1"], default="v2", help="audit logs API to probe")
    verify.set_defaults(func=cmd_verify)


def cmd_verify(args: argparse.Namespace) -> int:
    checks: list[Check] = []
    if args.policy:
        plans = plan_policies(Package.load(args.package_dir), [load_policy_file(path) for path in args.policy])
        checks = [Check.for_plan(plan, args.api_url) for plan in plans]
    else:
        creds = Credentials.from_env(dict(os.environ))
        if creds is None:
            raise IntpkgError("No Cloudflare credentials: set CLOUDFLARE_API_TOKEN (preferred), or CLOUDFLARE_EMAIL "
                              "and CLOUDFLARE_API_KEY, or pass --policy.")
        streams = {f"audit_{args.api_version}"} if args.account_id else set()
        if args.zone_id:
            streams.add("logpull")
        checks.append(Check(creds, args.api_url or DEFAULT_API_URL, args.account_id, args.zone_id, streams))

    ok = True
    for check in checks:
        if not check.has_credentials:
            raise IntpkgError("The policy's stream has neither api_token nor auth_email + auth_key.")
        print(f"{check.api_url} with {check.credentials.kind}:")
        report = check.run()
        for finding in report.findings:
            print(f"  {'ok  ' if finding.ok else 'FAIL'} {finding.message}")
        for warning in report.warnings:
            print(f"  warning: {warning}", file=sys.stderr)
        if not check.streams:
            print("  (no account or zone given: only the credential was checked)")
        ok = ok and report.ok
    print("All checks passed." if ok else "Some checks failed.")
    return 0 if ok else 1
