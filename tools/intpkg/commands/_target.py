"""Options shared by every command that talks to a cluster."""

from __future__ import annotations

import argparse
import sys
import threading

from intpkg.errors import IntpkgError
from intpkg.stack.client import ClusterUnreachable, SearchClient, Target
from intpkg.stack.node import NodeConfig


def add_target_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "cluster",
        "Target an existing Elasticsearch 8.x / OpenSearch cluster instead of the local node. "
        "Each flag has an environment variable: INTPKG_ES_URL, INTPKG_ES_API_KEY, INTPKG_ES_USERNAME, "
        "INTPKG_ES_PASSWORD, INTPKG_ES_CA_CERT, INTPKG_ES_INSECURE.",
    )
    group.add_argument("--es-url", dest="es_url", help="cluster URL, e.g. https://es.example.com:9200")
    group.add_argument("--es-api-key", dest="es_api_key", help="API key (base64 id:key)")
    group.add_argument("--es-username", dest="es_username")
    group.add_argument("--es-password", dest="es_password")
    group.add_argument("--es-ca-cert", dest="es_ca_cert", help="CA certificate (PEM) to trust")
    group.add_argument("--es-insecure", dest="es_insecure", action="store_true", help="skip TLS verification")


def target_from_args(args: argparse.Namespace) -> Target:
    """The external cluster named by flags/environment, else the local node's address.

    Nothing about the local node is provisioned or probed here: only its configured address is read.
    """
    target = Target.from_env(
        default_url=NodeConfig().url,
        url=args.es_url,
        api_key=args.es_api_key,
        username=args.es_username,
        password=args.es_password,
        ca_cert=args.es_ca_cert,
        insecure=args.es_insecure,
    )
    assert target is not None
    return target


def client_from_args(args: argparse.Namespace) -> SearchClient:
    target = target_from_args(args)
    try:
        return SearchClient(target)
    except IntpkgError:
        if not target.external:
            raise IntpkgError(
                f"No search node answers at {target.url}. Start the local one with `intpkg stack up`, "
                "or name a cluster with --es-url / INTPKG_ES_URL."
            ) from None
        raise


def wait_for_client(args: argparse.Namespace, stop: threading.Event, *, max_delay: float = 30.0) -> SearchClient:
    """`client_from_args`, waiting with backoff (1 s, doubling, at most `max_delay`) while the cluster does not
    answer: a collector started before its cluster waits instead of exiting. Wrong credentials are not waited
    for. Raises IntpkgError when `stop` is set first (SIGTERM/SIGINT)."""
    delay = 1.0
    while True:
        try:
            return client_from_args(args)
        except ClusterUnreachable as exc:
            print(f"waiting for the cluster: {exc} Retrying in {delay:g}s.", file=sys.stderr, flush=True)
            if stop.wait(delay):
                raise IntpkgError("stopped while waiting for the cluster") from None
            delay = min(delay * 2, max_delay)
